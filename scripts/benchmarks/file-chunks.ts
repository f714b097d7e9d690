/**
 * A file's chunks as the backup cuts them (the real chunker with a random key and default sizes),
 * zero chunks (holes) left out: the sample the sealing and zstd scripts measure on.
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { Chunker, gearTableFromKey } from "../../src/chunker/cdc.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../../src/chunker/params.ts";

/** Reads up to `bytes` of `path` from `offset` and cuts them; the chunks are views of one buffer. */
export function fileChunks(path: string, bytes: number, offset = 0): Buffer[] {
  const data = Buffer.allocUnsafe(bytes);
  const fd = openSync(path, "r");
  let filled = 0;
  try {
    while (filled < bytes) {
      const n = readSync(fd, data, filled, bytes - filled, offset + filled);
      if (n <= 0) break;
      filled += n;
    }
  } finally {
    closeSync(fd);
  }
  const chunker = new Chunker(CHUNKER_PARAMS_DEFAULT, gearTableFromKey(randomBytes(32)));
  const chunks: Buffer[] = [];
  for (let start = 0; start < filled; ) {
    const length = chunker.nextCut(data, start, filled, true);
    const chunk = data.subarray(start, start + length);
    start += length;
    if (!chunk.every((b) => b === 0)) chunks.push(chunk);
  }
  return chunks;
}
