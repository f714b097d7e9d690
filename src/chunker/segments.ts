/**
 * Cutting one file on two threads with the SAME cut points as one sequential Chunker (issue 5: dedup
 * across snapshots and vaults depends on them).
 *
 * Why it is exact: Chunker.nextCut is stateless. The cut after a chunk start p depends only on p and
 * the bytes [p, p + max) (fewer at the file's end). So the whole cut sequence is the chain
 * p -> p + nextCut(p) from 0, and two chains that share one start share every cut after it.
 *
 * A helper cuts a segment [S, S + segmentBytes) speculatively, as if a chunk started at S
 * (segmentLengths), reading segmentBytes + max bytes (or to the file's end) so every chunk starting in
 * the segment is decided on exactly the bytes the sequential chunker would see. The thread on the
 * true chain arrives at some start t >= S (joinSegment): it cuts on from t itself until its start
 * is one of the speculative starts, and from there takes the speculative chunks unchanged. Usually
 * that is within a chunk or two; in a zero run (cuts every max bytes from wherever the run was
 * entered) it may take the whole segment, which is then simply cut twice, never wrongly.
 */
import type { Chunker } from "./cdc.ts";

/**
 * Lengths of the chunks that start in [0, segmentBytes) of window, cutting from 0, one by one (the
 * caller names each and may do other work between them). window holds the file's bytes from the
 * segment's start: segmentBytes + max of them, or fewer when it ends at the file's end (eof).
 */
export function* segmentLengths(chunker: Chunker, window: Uint8Array, segmentBytes: number, eof: boolean): Generator<number> {
  for (let start = 0; start < segmentBytes && start < window.length; ) {
    const length = chunker.nextCut(window, start, window.length, eof);
    if (length < 0) throw new RangeError(`segment window of ${window.length} bytes is too short for segment ${segmentBytes} without eof`);
    yield length;
    start += length;
  }
}

/** One chunk of a joined segment: its offset and length in the window; spec: its index in the speculative lengths, or -1 when cut anew. */
export interface JoinedChunk {
  readonly start: number;
  readonly length: number;
  readonly spec: number;
}

/**
 * The true chunks starting in [from, segmentBytes) of a segment cut by segmentLengths (lengths), given
 * the true chain's next start `from` (offset in window, >= 0). end: where the chain goes on after
 * them (>= segmentBytes, or window.length at eof).
 */
export function joinSegment(
  chunker: Chunker,
  window: Uint8Array,
  segmentBytes: number,
  eof: boolean,
  lengths: Uint32Array,
  from: number,
): { chunks: JoinedChunk[]; end: number } {
  const chunks: JoinedChunk[] = [];
  const limit = Math.min(segmentBytes, window.length);
  let start = from;
  let spec = 0;
  let specStart = 0;
  while (start < limit) {
    while (spec < lengths.length && specStart < start) specStart += lengths[spec++]!;
    if (spec < lengths.length && specStart === start) {
      // Re-synced: from this shared start on, both chains are the same.
      for (; spec < lengths.length; spec++) {
        chunks.push({ start, length: lengths[spec]!, spec });
        start += lengths[spec]!;
      }
      break;
    }
    const length = chunker.nextCut(window, start, window.length, eof);
    if (length < 0) throw new RangeError(`segment window of ${window.length} bytes is too short for segment ${segmentBytes} without eof`);
    chunks.push({ start, length, spec: -1 });
    start += length;
  }
  return { chunks, end: start };
}
