/**
 * Planning the cleaner's moves (pure). Holes are the stretches of the committed log that hold
 * nothing live: no live blob and none of the current commit's metadata. Live records are taken
 * from the top of the log down and each is moved into the lowest hole below it that fits it
 * (first fit), so the live data ends up packed at the bottom and the file can be truncated.
 * A destination is always inside a hole and never overlaps any live record or another move.
 */
import { assert } from "../util/assert.ts";
import { RECORD_OVERHEAD_BYTES } from "./format.ts";

const RECORD_SIZE_MIN_BYTES = RECORD_OVERHEAD_BYTES + 32;

export interface Span {
  readonly offset: number;
  readonly length: number;
}

export interface Move {
  readonly from: number;
  readonly to: number;
  readonly length: number;
}

interface Hole {
  start: number;
  end: number;
}

export function planCompaction(
  live: readonly { readonly offset: number; readonly recordLength: number }[],
  metadata: readonly Span[],
  log: { readonly logStart: number; readonly logEnd: number },
): Move[] {
  const occupied: Span[] = [...live.map((e) => ({ offset: e.offset, length: e.recordLength })), ...metadata].sort((a, b) => a.offset - b.offset);
  const holes: Hole[] = [];
  let cursor = log.logStart;
  for (const span of occupied) {
    assert(span.offset >= cursor, `overlapping records at ${span.offset}`);
    if (span.offset > cursor) holes.push({ start: cursor, end: span.offset });
    cursor = span.offset + span.length;
  }
  assert(cursor <= log.logEnd, "records beyond the end of the log");
  const moves: Move[] = [];
  const byOffsetDescending = [...live].sort((a, b) => b.offset - a.offset);
  for (const record of byOffsetDescending) {
    // Holes only ever shrink from the front; a record never moves up.
    const hole = holes.find((h) => h.end - h.start >= record.recordLength && h.start < record.offset);
    if (hole === undefined) continue;
    moves.push({ from: record.offset, to: hole.start, length: record.recordLength });
    hole.start += record.recordLength;
    // A hole smaller than the smallest record can never be used: drop it so searches stay short.
    if (hole.end - hole.start < RECORD_SIZE_MIN_BYTES) holes.splice(holes.indexOf(hole), 1);
    // The record's old place is not reused in this pass: it stays live until the commit.
  }
  return moves;
}
