/**
 * Reads byte ranges of snapshot files for the mount: whole chunks are decrypted through
 * SuedeVault.readFile and kept in a small LRU (FUSE reads 128 KiB at a time, chunks are about
 * 1 MiB), the chunk after a sequential read is fetched ahead, and holes are never decrypted.
 */
import type { SuedeVault } from "../api/suede-vault.ts";
import { blobIdHex, isHoleId } from "../core/ids.ts";
import type { Node } from "../core/types.ts";
import { WeightedLru } from "./lru.ts";

export const CHUNK_CACHE_BYTES = 64 * 1024 * 1024;

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
    let index = firstChunk(starts, offset);
    let copied = 0;
    for (; index < chunks.length && starts[index]! < end; index++) {
      const chunk = chunks[index]!;
      const from = Math.max(offset, starts[index]!) - starts[index]!;
      const to = Math.min(end - starts[index]!, chunk.sizeBytes);
      if (isHoleId(chunk.id)) into.fill(0, copied, copied + (to - from));
      else into.set((await this.chunk(node, index)).subarray(from, to), copied);
      copied += to - from;
    }
    // Sequential readers ask for the next chunk soon: decrypt it while the kernel copies this one.
    if (index < chunks.length && !isHoleId(chunks[index]!.id)) this.chunk(node, index).catch(() => undefined);
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
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
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
