// Goal: a vault crafted by someone who holds the key cannot make suede recurse without end, write
// outside the target, or crash. Method: through the vault layer, commit snapshots whose trees were
// written by hand — a directory that contains itself (its blob ID chosen, not hashed), and entries
// named "..", "a/b" and repeated names — then run ls -R, find, check and restore through the CLI.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encode } from "@msgpack/msgpack";
import type { Node } from "../../src/core/types.ts";
import { EXIT_CODES } from "../../src/errors/exit-codes.ts";
import { encodeSnapshot } from "../../src/snapshot/snapshot-codec.ts";
import { encodeTreePart } from "../../src/snapshot/tree-codec.ts";
import { systemClock } from "../../src/util/clock.ts";
import { systemRandom } from "../../src/util/random.ts";
import { Vault } from "../../src/vault/vault.ts";
import { PASSPHRASE, initVault, suede } from "../helpers/cli.ts";

function dirNode(name: string, subtree: Uint8Array[]): Node {
  return { name: Buffer.from(name), type: "dir", mode: 0o40755, uid: 0, gid: 0, user: "", group: "", mtimeNs: 0n, ctimeNs: 0n, inode: 1n, device: 1n, nlink: 2, sizeBytes: 0, subtree };
}

function fileNode(name: string): Node {
  return { name: Buffer.from(name), type: "file", mode: 0o100644, uid: 0, gid: 0, user: "", group: "", mtimeNs: 0n, ctimeNs: 0n, inode: 2n, device: 1n, nlink: 1, sizeBytes: 0, chunks: [] };
}

/** Commits a snapshot whose root is `root`, after storing the given tree blobs under chosen IDs. */
async function craft(vaultPath: string, trees: [Uint8Array, Uint8Array][], root: Uint8Array, counts = { files: 1, dirs: 1 }): Promise<number> {
  const vault = await Vault.open(vaultPath, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: true, deps: { clock: systemClock, random: systemRandom } });
  try {
    for (const [id, bytes] of trees) await vault.putBlob("tree", id, bytes);
    const number = vault.allocateSnapshotNumber();
    const stats = { ...counts, sizeBytes: 0, filesNew: 0, filesChanged: 0, filesUnchanged: 0, bytesRead: 0, bytesAdded: 0, durationMs: 0, skipped: 0 };
    const bytes = encodeSnapshot({ number, timeMs: 1, host: "h", user: "u", paths: ["/"], tags: [], pinned: false, parent: null, root: [root], stats });
    const id = vault.blobId(bytes);
    await vault.putBlob("snapshot", id, bytes);
    vault.setSnapshots([...vault.snapshots, { number, id }]);
    await vault.commit();
    return number;
  } finally {
    await vault.close();
  }
}

test("a directory that contains itself: ls -R, find, check and restore stop with exit 13 (no hang, no stack overflow)", { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-crafted-"));
  try {
    const vault = join(dir, "v.vault");
    await initVault(vault);
    const loopId = randomBytes(32);
    const number = await craft(vault, [[loopId, encodeTreePart([dirNode("d", [loopId]), fileNode("f")])]], loopId);
    for (const args of [["ls", vault, String(number), "-R"], ["find", vault, "nothing-matches"]]) {
      const result = await suede(args);
      assert.equal(result.code, EXIT_CODES.VAULT_CORRUPT, `${args[0]}: ${result.stderr}`);
      // The snapshot records 1 directory, so the walk stops at its directory budget (or the depth bound).
      assert.match(result.stdout + result.stderr, /nest deeper than 4096 levels|holds more than the 1 directories it recorded/, args[0]);
    }
    // check also recomputes each tree's keyed ID, so it names the forged tree before walking it.
    const check = await suede(["check", vault]);
    assert.equal(check.code, EXIT_CODES.VAULT_CORRUPT, check.stderr);
    assert.match(check.stdout, new RegExp(`^damaged: snapshot ${number}: /: directory listing damaged: content does not match its ID`, "m"));
    const target = join(dir, "out");
    const restore = await suede(["restore", vault, String(number), "--target", target]);
    assert.notEqual(restore.code, 0, "a cyclic snapshot is not restored as if whole");
    assert.equal(restore.signal, null);
    assert.doesNotMatch(restore.stderr, /RangeError|Maximum call stack/);
    assert.match(restore.stderr, /nests deeper than any backup makes|holds more than the 1 directories it recorded|name too long|ENAMETOOLONG/i);
  } finally {
    // The restore left thousands of nested directories: rm(1) removes them without recursion.
    execFileSync("rm", ["-rf", dir]);
  }
});

test("trees naming '..', 'a/b' or a name twice are refused as damage; restore writes nothing outside the target", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-crafted-"));
  try {
    const vault = join(dir, "v.vault");
    await initVault(vault);
    // encodeTreePart writes whatever it is given; the reader must refuse it.
    const evil = [
      encodeTreePart([fileNode("..")]),
      encodeTreePart([dirNode("..", [])]),
      encodeTreePart([fileNode("a/b")]),
      encodeTreePart([fileNode("x"), fileNode("x")]),
      encode([1, [["\u0000"]]]),
    ];
    for (const bytes of evil) {
      const id = randomBytes(32);
      const number = await craft(vault, [[id, bytes]], id);
      const target = join(dir, `out-${number}`);
      const restore = await suede(["restore", vault, String(number), "--target", target]);
      assert.equal(restore.code, EXIT_CODES.VAULT_CORRUPT, restore.stderr);
      assert.equal(restore.stderr.trim().split("\n").length, 1, restore.stderr);
      assert.deepEqual(existsSync(target) ? readdirSync(target) : [], []);
      const ls = await suede(["ls", vault, String(number)]);
      assert.equal(ls.code, EXIT_CODES.VAULT_CORRUPT, ls.stderr);
    }
    assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith("out-")).sort(), ["v.vault"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a DAG of shared subtrees (2^40 paths in 41 trees): ls -R, find, diff, restore and check stop at the snapshot's recorded counts with exit 13", { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "suede-crafted-"));
  try {
    const vault = join(dir, "v.vault");
    await initVault(vault);
    // Level 0 holds one file; level i holds directories "a" and "b", both level i-1. IDs are the real
    // keyed hashes, so check cannot tell the trees from honest ones by their IDs.
    const keyer = await Vault.open(vault, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
    const trees: [Uint8Array, Uint8Array][] = [];
    let below = encodeTreePart([fileNode("f")]);
    trees.push([keyer.blobId(below), below]);
    for (let level = 1; level <= 40; level++) {
      const id = trees[trees.length - 1]![0];
      below = encodeTreePart([dirNode("a", [id]), dirNode("b", [id])]);
      trees.push([keyer.blobId(below), below]);
    }
    await keyer.close();
    // The snapshot claims 41 directories (what 41 distinct trees hold) and, as a lie, 2^40 files: the
    // directory count alone must stop the walk.
    const number = await craft(vault, trees, trees[trees.length - 1]![0], { files: 2 ** 40, dirs: 41 });
    const budgetMessage = new RegExp(`snapshot ${number} holds more than the 41 directories it recorded`);
    const timings: string[] = [];
    const run = async (args: string[]) => {
      const start = Date.now();
      const result = await suede(args);
      timings.push(`${args[0]} ${Date.now() - start} ms`);
      return result;
    };
    for (const args of [["ls", vault, String(number), "-R"], ["find", vault, "nothing-matches"]]) {
      const result = await run(args);
      assert.equal(result.code, EXIT_CODES.VAULT_CORRUPT, `${args[0]}: ${result.stderr}`);
      assert.match(result.stderr, budgetMessage, args[0]);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    }
    // diff against an honest snapshot (the DAG's root tree stands in for the other side's root).
    const honest = await craft(vault, [], trees[0]![0], { files: 1, dirs: 0 });
    const diff = await run(["diff", vault, String(honest), String(number)]);
    assert.equal(diff.code, EXIT_CODES.VAULT_CORRUPT, diff.stderr);
    assert.match(diff.stderr, budgetMessage);
    const check = await run(["check", vault]);
    assert.equal(check.code, EXIT_CODES.VAULT_CORRUPT, check.stderr);
    assert.match(check.stdout, new RegExp(`^damaged: snapshot ${number}: .*holds more than the 41 directories it recorded`, "m"));
    assert.doesNotMatch(check.stdout, new RegExp(`snapshot ${honest}:`), "the honest snapshot checks clean");
    const restore = await run(["restore", vault, String(number), "--target", join(dir, "out")]);
    assert.equal(restore.code, EXIT_CODES.VAULT_CORRUPT, restore.stderr);
    assert.match(restore.stderr, budgetMessage);
    t.diagnostic(timings.join(", "));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
