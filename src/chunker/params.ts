/** Chunk size bounds for the content-defined chunker (see cdc.ts). */
import { assert } from "../util/assert.ts";

export interface ChunkerParams {
  readonly minSizeBytes: number;
  readonly avgSizeBytes: number;
  readonly maxSizeBytes: number;
}

export const CHUNKER_PARAMS_DEFAULT: ChunkerParams = {
  minSizeBytes: 16 * 1024,
  avgSizeBytes: 64 * 1024,
  maxSizeBytes: 256 * 1024,
};

/** Chunks are held whole in memory and in one vault record, so the upper bound must stay modest. */
export const CHUNKER_MAX_SIZE_LIMIT_BYTES = 8 * 1024 * 1024;

/** Throws AssertionError unless params are usable by Chunker. */
export function assertChunkerParams(params: ChunkerParams): void {
  const { minSizeBytes: min, avgSizeBytes: avg, maxSizeBytes: max } = params;
  assert(Number.isSafeInteger(min) && min >= 1, `chunker min ${min} must be a positive integer`);
  assert(Number.isSafeInteger(avg) && Number.isSafeInteger(max), "chunker avg and max must be integers");
  assert(min < avg && avg < max, `chunker sizes must satisfy min < avg < max, got ${min}/${avg}/${max}`);
  assert(max <= CHUNKER_MAX_SIZE_LIMIT_BYTES, `chunker max ${max} exceeds ${CHUNKER_MAX_SIZE_LIMIT_BYTES}`);
  // Normalized chunking takes log2(avg) - 2 mask bits, which must be at least 1; max bounds avg below 2^31.
  assert(avg >= 8 && (avg & (avg - 1)) === 0, `chunker avg ${avg} must be a power of two >= 8`);
}

assertChunkerParams(CHUNKER_PARAMS_DEFAULT);
