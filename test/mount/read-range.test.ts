// Goal: SuedeVault.readFile with a byte range returns exactly the source bytes, wherever the range
// starts and ends (chunk boundaries, holes, past the end). Method: back up a multi-chunk file with a
// zero run, then compare many seeded random ranges and every chunk edge against the source bytes.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../../src/index.ts";
import { Prng } from "../helpers/prng.ts";

const KDF = { iterations: 1, memoryKiB: 8, parallelism: 1 };

async function readRange(vault: SuedeVault, node: Awaited<ReturnType<SuedeVault["stat"]>>, offsetBytes: number, lengthBytes: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of vault.readFile(node, { offsetBytes, lengthBytes })) parts.push(part);
  return Buffer.concat(parts);
}

test("ranged reads return the source bytes at every offset", async () => {
  const dir = await mkdtemp(join(tmpdir(), "suede-range-"));
  try {
    const prng = new Prng(6);
    // Random data, a 3 MiB zero run (stored as holes), then more random data: many chunks.
    const content = Buffer.concat([prng.bytes(5 * 1024 * 1024 + 17), Buffer.alloc(3 * 1024 * 1024), prng.bytes(2 * 1024 * 1024 + 3)]);
    await writeFile(join(dir, "big.bin"), content);
    const vaultPath = join(dir, "v.suede");
    const secret = { passphrase: "range" };
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const writer = await SuedeVault.open(vaultPath, { secret, writable: true });
    await writer.backup({ paths: [join(dir, "big.bin")] });
    await writer.close();

    const vault = await SuedeVault.open(vaultPath, { secret });
    try {
      const node = await vault.stat("latest", join(dir, "big.bin"));
      assert.ok((node.chunks ?? []).length > 4, "the file spans several chunks");
      assert.ok(Buffer.from(await readRange(vault, node, 0, content.length)).equals(content));
      let edge = 0;
      for (const chunk of node.chunks ?? []) {
        for (const at of [edge - 1, edge, edge + 1]) {
          if (at < 0) continue;
          assert.ok((await readRange(vault, node, at, 4096)).equals(content.subarray(at, at + 4096)), `4 KiB at chunk edge ${at}`);
        }
        edge += chunk.sizeBytes;
      }
      for (let i = 0; i < 200; i++) {
        const offset = prng.below(content.length + 1000);
        const length = prng.below(300 * 1024);
        assert.ok((await readRange(vault, node, offset, length)).equals(content.subarray(offset, offset + length)), `${length} bytes at ${offset}`);
      }
      assert.equal((await readRange(vault, node, content.length + 5, 10)).length, 0, "past the end reads nothing");
    } finally {
      await vault.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
