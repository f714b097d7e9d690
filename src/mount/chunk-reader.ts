/**
 * Reads byte ranges of snapshot files for the mount: whole chunks are decrypted through
 * SuedeVault.readFile and kept in a small LRU (FUSE reads 128 KiB at a time and a chunk may span
 * several reads), the next megabyte after a read is decrypted ahead, and holes are never read.
 */
import type { SuedeVault } from "../api/suede-vault.ts";
import { blobIdHex, isHoleId } from "../core/ids.ts";
import type { Node } from "../core/types.ts";
import { WeightedLru } from "./lru.ts";

export const CHUNK_CACHE_BYTES = 64 * 1024 * 1024;
/** How far past a read to decrypt ahead (a few FUSE reads' worth; chunks average 64 KiB). */
const READ_AHEAD_BYTES = 1024 * 1024;

export class ChunkReader {
  private readonly cache: WeightedLru<Promise<Uint8Array>>;
  private readonly starts = new WeakMap<Node, Float64Array>();

  constructor(
    private readonly vault: SuedeVault,
    maxBytes = CHUNK_CACHE_BYTES,
  ) {
    this.cache = new WeightedLru(maxBytes);
  }

  /** Copies up to `length` bytes at `offset` of the file into `into`; returns how many. */
  async read(node: Node, offset: number, length: number, into: Uint8Array): Promise<number> {
    const chunks = node.chunks ?? [];
    const end = Math.min(node.sizeBytes, offset + length);
    if (offset >= end) return 0;
    const starts = this.chunkStarts(node);
    const first = firstChunk(starts, offset);
    // Ask for every chunk the read touches at once (their records are read and opened concurrently).
    const pieces: { index: number; data: Promise<Uint8Array> | null }[] = [];
    let index = first;
    for (; index < chunks.length && starts[index]! < end; index++) {
      pieces.push({ index, data: isHoleId(chunks[index]!.id) ? null : this.chunk(node, index) });
    }
    // Sequential readers come back for what follows: decrypt it while the kernel copies this.
    for (let ahead = index; ahead < chunks.length && starts[ahead]! < end + READ_AHEAD_BYTES; ahead++) {
      if (!isHoleId(chunks[ahead]!.id)) this.chunk(node, ahead).catch(() => undefined);
    }
    let copied = 0;
    for (const piece of pieces) {
      const chunk = chunks[piece.index]!;
      const from = Math.max(offset, starts[piece.index]!) - starts[piece.index]!;
      const to = Math.min(end - starts[piece.index]!, chunk.sizeBytes);
      if (piece.data === null) into.fill(0, copied, copied + (to - from));
      else into.set((await piece.data).subarray(from, to), copied);
      copied += to - from;
    }
    return copied;
  }

  private chunk(node: Node, index: number): Promise<Uint8Array> {
    const chunk = node.chunks![index]!;
    const key = blobIdHex(chunk.id);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const loading = (async () => {
      const parts: Uint8Array[] = [];
      for await (const part of this.vault.readFile(node, { offsetBytes: this.chunkStarts(node)[index]!, lengthBytes: chunk.sizeBytes })) parts.push(part);
      // A view into a larger buffer (records opened as one run) would keep all of it alive in the
      // cache while the cache counts only the chunk: keep an own copy then.
      if (parts.length === 1 && parts[0]!.byteLength === parts[0]!.buffer.byteLength) return parts[0]!;
      return Buffer.concat(parts);
    })();
    this.cache.set(key, loading, chunk.sizeBytes);
    loading.catch(() => this.cache.delete(key));
    return loading;
  }

  private chunkStarts(node: Node): Float64Array {
    let starts = this.starts.get(node);
    if (starts === undefined) {
      const chunks = node.chunks ?? [];
      starts = new Float64Array(chunks.length);
      let position = 0;
      chunks.forEach((chunk, i) => {
        starts![i] = position;
        position += chunk.sizeBytes;
      });
      this.starts.set(node, starts);
    }
    return starts;
  }
}

/** The last chunk starting at or before offset. */
function firstChunk(starts: Float64Array, offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (starts[middle]! <= offset) low = middle;
    else high = middle - 1;
  }
  return Math.max(0, low);
}
