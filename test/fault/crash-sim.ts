// Power-loss simulation in the manner of SQLite's test6.c crash VFS. Test seam: while recording,
// VaultFile.prototype.writeAt/sync/truncate are wrapped (the methods still run) so every write,
// fdatasync and truncate one real operation issues on the vault file is logged in order. crashStates
// then rebuilds the file as a power cut would leave it: everything before the k-th sync is durable;
// each write or truncate issued after it (up to the next sync) is independently applied, dropped or
// torn (per 512-byte or 4 KiB sector: new bytes, old bytes, or garbage), which also covers reordering.
import { VaultFile } from "../../src/vault/vault-file.ts";
import type { Prng } from "../helpers/prng.ts";

export type FileOp =
  | { readonly kind: "write"; readonly offset: number; readonly bytes: Buffer }
  | { readonly kind: "truncate"; readonly sizeBytes: number }
  | { readonly kind: "sync" };

/** Sector sizes a tear follows: 512-byte and 4 KiB (Advanced Format) devices, alternating per random state. */
const SECTORS = [512, 4096] as const;

/** Runs fn and returns the operations it issued on the file at `path` (other files are ignored). */
export async function recordFileOps(path: string, fn: () => Promise<void>): Promise<FileOp[]> {
  const ops: FileOp[] = [];
  const proto = VaultFile.prototype;
  const original = { writeAt: proto.writeAt, sync: proto.sync, truncate: proto.truncate };
  proto.writeAt = async function (this: VaultFile, offset, buffers) {
    if (this.path === path) ops.push({ kind: "write", offset, bytes: Buffer.concat(buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))) });
    return original.writeAt.call(this, offset, buffers);
  };
  proto.sync = async function (this: VaultFile) {
    await original.sync.call(this);
    if (this.path === path) ops.push({ kind: "sync" });
  };
  proto.truncate = async function (this: VaultFile, sizeBytes) {
    if (this.path === path) ops.push({ kind: "truncate", sizeBytes });
    return original.truncate.call(this, sizeBytes);
  };
  try {
    await fn();
  } finally {
    Object.assign(proto, original);
  }
  return ops;
}

function applyWrite(image: Buffer, offset: number, bytes: Buffer): Buffer {
  const end = offset + bytes.length;
  const out = end > image.length ? Buffer.concat([image, Buffer.alloc(end - image.length)]) : image;
  bytes.copy(out, offset);
  return out;
}

function apply(image: Buffer, op: FileOp): Buffer {
  if (op.kind === "write") return applyWrite(image, op.offset, op.bytes);
  if (op.kind === "truncate") return op.sizeBytes <= image.length ? Buffer.from(image.subarray(0, op.sizeBytes)) : Buffer.concat([image, Buffer.alloc(op.sizeBytes - image.length)]);
  return image;
}

/** A write of which each sector is kept new, left old or filled with garbage. */
function tornWrite(image: Buffer, op: Extract<FileOp, { kind: "write" }>, prng: Prng, sector: number): Buffer {
  let out = image;
  const end = op.offset + op.bytes.length;
  for (let start = op.offset; start < end; start = (Math.floor(start / sector) + 1) * sector) {
    const stop = Math.min(end, (Math.floor(start / sector) + 1) * sector);
    const choice = prng.below(3);
    if (choice === 0) out = applyWrite(out, start, op.bytes.subarray(start - op.offset, stop - op.offset));
    else if (choice === 2) out = applyWrite(out, start, prng.bytes(stop - start));
    // choice 1: the sector keeps its old bytes (or stays beyond EOF).
  }
  return out;
}

export interface CrashState {
  /** How many syncs completed before the power cut. */
  readonly syncsDone: number;
  readonly variant: "durable-only" | "all-pending" | "random";
  readonly image: Buffer;
}

/**
 * Every power-cut image of `ops` applied to `base`: for each sync boundary k (0 … number of syncs),
 * the state with only the durable prefix, the state with all pending ops applied, and `randomPerCut`
 * states with each pending op applied, dropped or torn.
 */
export function* crashStates(base: Buffer, ops: readonly FileOp[], prng: Prng, randomPerCut: number): Generator<CrashState> {
  let durable: Buffer = Buffer.from(base);
  let syncsDone = 0;
  let index = 0;
  while (true) {
    const pending: FileOp[] = [];
    while (index < ops.length && ops[index]!.kind !== "sync") pending.push(ops[index++]!);
    yield { syncsDone, variant: "durable-only", image: durable };
    if (pending.length > 0) {
      yield { syncsDone, variant: "all-pending", image: pending.reduce<Buffer>(apply, Buffer.from(durable)) };
      for (let i = 0; i < randomPerCut; i++) {
        let image: Buffer = Buffer.from(durable);
        for (const op of pending) {
          const choice = prng.below(3);
          if (choice === 0) image = apply(image, op);
          else if (choice === 2 && op.kind === "write") image = tornWrite(image, op, prng, SECTORS[i % SECTORS.length]!);
        }
        yield { syncsDone, variant: "random", image };
      }
    }
    durable = pending.reduce<Buffer>(apply, durable);
    if (index >= ops.length) return;
    index++; // the sync itself
    syncsDone++;
  }
}

export function syncCount(ops: readonly FileOp[]): number {
  return ops.filter((op) => op.kind === "sync").length;
}
