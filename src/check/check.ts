/**
 * check: is every snapshot whole? Structural mode decodes every snapshot and tree and confirms each
 * referenced blob is indexed and its record header authenticates and names it. --read-data also
 * decrypts every data blob and recomputes its keyed hash. Damage is reported by snapshot and path.
 */
import type { BlobId } from "../core/ids.ts";
import { isHoleId } from "../core/ids.ts";
import type { Node, Snapshot } from "../core/types.ts";
import { SuedeError } from "../errors/errors.ts";
import { displayPath } from "../fs/display-path.ts";
import { joinPath } from "../fs/join.ts";
import { decodeSnapshot } from "../snapshot/snapshot-codec.ts";
import { readTreePart } from "../snapshot/tree-reader.ts";
import { TreeBudgetError, WalkBudget } from "../snapshot/walk-budget.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { TREE_DEPTH_MAX } from "../util/limits.ts";
import { RECORD_OVERHEAD_BYTES, RECORD_PREFIX_SIZE_BYTES } from "../vault/format.ts";
import { openRecordHeader } from "../vault/record.ts";
import type { Vault } from "../vault/vault.ts";

export interface CheckProblem {
  readonly snapshot: number | null;
  readonly path: string | null;
  readonly message: string;
}

export interface CheckReport {
  readonly snapshots: number;
  readonly trees: number;
  readonly blobs: number;
  readonly dataVerified: boolean;
  readonly bytesVerified: number;
  readonly problems: readonly CheckProblem[];
  readonly warnings: readonly string[];
  /**
   * What `check --repair` would rewrite. Committed damage (index, lost checkpoint) is also in
   * problems; a torn superblock or header copy is only listed here, since a crash can leave one.
   */
  readonly repairable: readonly string[];
}

export interface CheckOptions {
  readonly readData: boolean;
  readonly signal?: AbortSignal;
}

const PROBLEMS_MAX = 1000;

export async function checkVault(vault: Vault, options: CheckOptions): Promise<CheckReport> {
  const problems: CheckProblem[] = [];
  /** Per blob: undefined = not yet checked, null = fine, string = what is wrong. */
  const verdicts = new Map<string, string | null>();
  let trees = 0;
  let bytesVerified = 0;

  const add = (problem: CheckProblem) => {
    if (problems.length < PROBLEMS_MAX) problems.push(problem);
  };

  const verifyBlob = async (id: BlobId, full: boolean): Promise<string | null> => {
    const key = toHex(id);
    const known = verdicts.get(key);
    if (known !== undefined) return known;
    const location = vault.blobIndex.get(id);
    let verdict: string | null = null;
    if (location === undefined) {
      verdict = "blob is missing from the index";
    } else if (full) {
      try {
        const plain = await vault.getBlob(id);
        bytesVerified += plain.byteLength;
        if (!bytesEqual(vault.blobId(plain), id)) verdict = `content does not match its ID (offset ${location.offset})`;
      } catch (error) {
        throwIfIo(error);
        verdict = error instanceof Error ? error.message : String(error);
      }
    } else {
      const prefix = await vault.readRaw(location.offset, RECORD_PREFIX_SIZE_BYTES);
      const opened = openRecordHeader(vault.recordKeys, prefix);
      if (typeof opened === "string") verdict = `${opened} (offset ${location.offset})`;
      else if (!bytesEqual(opened.header.id, id) || opened.header.kind !== location.kind) verdict = `record at offset ${location.offset} holds another blob`;
      else if (opened.header.paddedLength + RECORD_OVERHEAD_BYTES !== location.recordLength) verdict = `record at offset ${location.offset} has the wrong length`;
    }
    verdicts.set(key, verdict);
    return verdict;
  };

  const walk = async (snapshot: number, parts: readonly BlobId[], dirPath: Buffer, depth: number, budget: WalkBudget): Promise<void> => {
    if (depth > TREE_DEPTH_MAX) {
      // Only a crafted vault nests this deep (a tree that contains itself): report, do not recurse.
      add({ snapshot, path: displayPath(dirPath), message: `directories nest deeper than ${TREE_DEPTH_MAX} levels` });
      return;
    }
    for (const partId of parts) {
      if (options.signal?.aborted === true) return;
      const verdict = await verifyBlob(partId, true);
      if (verdict !== null) {
        add({ snapshot, path: displayPath(dirPath), message: `directory listing damaged: ${verdict}` });
        continue;
      }
      let nodes: Node[];
      const isNew = !verdicts.has(`tree:${toHex(partId)}`);
      try {
        nodes = await readTreePart(vault, partId);
      } catch (error) {
        throwIfIo(error);
        add({ snapshot, path: displayPath(dirPath), message: error instanceof Error ? error.message : String(error) });
        continue;
      }
      if (isNew) trees++;
      verdicts.set(`tree:${toHex(partId)}`, null);
      for (const node of nodes) {
        budget.spend(node);
        const path = joinPath(dirPath, node.name);
        for (const chunk of node.chunks ?? []) {
          if (isHoleId(chunk.id)) continue;
          const chunkVerdict = await verifyBlob(chunk.id, options.readData);
          if (chunkVerdict !== null) {
            add({ snapshot, path: displayPath(path), message: `file content damaged: ${chunkVerdict}` });
            break;
          }
        }
        if (node.type === "dir") await walk(snapshot, node.subtree ?? [], path, depth + 1, budget);
      }
    }
  };

  let snapshots = 0;
  for (const ref of vault.snapshots) {
    let snapshot: Snapshot;
    try {
      snapshot = decodeSnapshot(await vault.getBlob(ref.id));
    } catch (error) {
      throwIfIo(error);
      add({ snapshot: ref.number, path: null, message: `snapshot record damaged: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    snapshots++;
    if (snapshot.number !== ref.number) add({ snapshot: ref.number, path: null, message: `snapshot record says number ${snapshot.number}` });
    try {
      await walk(ref.number, snapshot.root, Buffer.from("/"), 0, new WalkBudget(snapshot));
    } catch (error) {
      if (!(error instanceof TreeBudgetError)) throw error;
      // A crafted graph of shared subtrees: report the snapshot once and go on with the next one.
      add({ snapshot: ref.number, path: null, message: error.message });
    }
  }
  const blobs = [...verdicts.keys()].filter((k) => !k.startsWith("tree:")).length;
  const repairable: string[] = [];
  if (vault.damaged) {
    const what = vault.indexRebuilt ? "index records are damaged (the index was rebuilt in memory from the log)" : "the committed state is damaged";
    add({ snapshot: null, path: null, message: `${what}: ${vault.warnings.join("; ")}` });
    repairable.push(vault.indexRebuilt ? "rewrite the index from the log" : "commit the newest readable state anew");
  }
  for (const slot of await vault.damagedSuperblockSlots()) repairable.push(`rewrite superblock slot ${slot} (it does not authenticate)`);
  for (const copy of await vault.staleHeaderCopies()) repairable.push(`rewrite header copy ${copy} from the copy in use (damaged or left behind by an interrupted key change)`);
  return { snapshots, trees, blobs, dataVerified: options.readData, bytesVerified, problems, warnings: vault.warnings, repairable };
}

/**
 * A disk that cannot be read is not a damaged vault: check stops with the I/O error rather than
 * report damage that `check --repair --forget-damaged` would act on.
 */
function throwIfIo(error: unknown): void {
  if (error instanceof SuedeError && error.code === "IO") throw error;
}
