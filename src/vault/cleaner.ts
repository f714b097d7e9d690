/**
 * Planning the cleaner's moves (pure). Holes are the stretches of the committed log that hold
 * nothing live: no live blob and none of the current commit's metadata. Live records are taken
 * from the top of the log down and each is moved into the lowest hole below it that fits it
 * (first fit), so the live data ends up packed at the bottom and the file can be truncated.
 * A destination is always inside a hole and never overlaps any live record or another move.
 */
import { assert } from "../util/assert.ts";
import { RECORD_OVERHEAD_BYTES } from "./format.ts";

export const RECORD_SIZE_MIN_BYTES = RECORD_OVERHEAD_BYTES + 32;

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

export interface CompactionPlan {
  readonly moves: Move[];
  /** What stays free below logEnd after the moves: each at least RECORD_SIZE_MIN_BYTES, to be padded. */
  readonly holes: Span[];
}

export function planCompaction(
  live: readonly { readonly offset: number; readonly recordLength: number }[],
  metadata: readonly Span[],
  log: { readonly logStart: number; readonly logEnd: number },
): CompactionPlan {
  const occupied: Span[] = [...live.map((e) => ({ offset: e.offset, length: e.recordLength })), ...metadata].sort((a, b) => a.offset - b.offset);
  const holes: Hole[] = [];
  let cursor = log.logStart;
  for (const span of occupied) {
    assert(span.offset >= cursor, `overlapping records at ${span.offset}`);
    if (span.offset > cursor) {
      assert(span.offset - cursor >= RECORD_SIZE_MIN_BYTES, `a hole of ${span.offset - cursor} bytes cannot be padded`);
      holes.push({ start: cursor, end: span.offset });
    }
    cursor = span.offset + span.length;
  }
  assert(cursor <= log.logEnd, "records beyond the end of the log");
  const all = [...holes];
  const moves: Move[] = [];
  const byOffsetDescending = [...live].sort((a, b) => b.offset - a.offset);
  for (const record of byOffsetDescending) {
    // Holes only ever shrink from the front; a record never moves up.
    // What is left of a hole must be empty or big enough for a padding record.
    const fits = (h: Hole) => {
      const rest = h.end - h.start - record.recordLength;
      return rest === 0 || rest >= RECORD_SIZE_MIN_BYTES;
    };
    const hole = holes.find((h) => fits(h) && h.start < record.offset);
    if (hole === undefined) continue;
    moves.push({ from: record.offset, to: hole.start, length: record.recordLength });
    hole.start += record.recordLength;
    // A hole smaller than the smallest record can never be used: drop it so searches stay short.
    if (hole.end - hole.start < RECORD_SIZE_MIN_BYTES) holes.splice(holes.indexOf(hole), 1);
    // The record's old place is not reused in this pass: it stays live until the commit.
  }
  // Old places of moved records are free after the commit too, but they are still live now: they
  // are padded in a later prune. Only what the moves left of the holes is padded now.
  return { moves, holes: all.filter((h) => h.end > h.start).map((h) => ({ offset: h.start, length: h.end - h.start })) };
}
