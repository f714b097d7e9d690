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

/** The live records, numbered 0 … size − 1 (a BlobIndex of the live blobs is one). */
export interface RecordTable {
  readonly size: number;
  offsetOf(record: number): number;
  recordLengthOf(record: number): number;
}

export interface CompactionPlan {
  /** Record numbers to move, top of the log first, and where each goes: typed arrays, no object per move. */
  readonly moveRecords: Int32Array;
  readonly moveTargets: Float64Array;
  /** What stays free below logEnd after the moves: each at least RECORD_SIZE_MIN_BYTES, to be padded. */
  readonly holes: Span[];
}

export function planCompaction(live: RecordTable, metadata: readonly Span[], log: { readonly logStart: number; readonly logEnd: number }): CompactionPlan {
  const count = live.size;
  const offsets = new Float64Array(count);
  const lengths = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    offsets[i] = live.offsetOf(i);
    lengths[i] = live.recordLengthOf(i);
  }
  const byOffset = new Int32Array(count);
  for (let i = 0; i < count; i++) byOffset[i] = i;
  byOffset.sort((x, y) => offsets[x]! - offsets[y]!);
  const spans = [...metadata].sort((x, y) => x.offset - y.offset);
  // Holes: the gaps between occupied spans (live records and metadata merged in offset order).
  const holeStarts: number[] = [];
  const holeEnds: number[] = [];
  let cursor = log.logStart;
  const occupy = (offset: number, length: number) => {
    assert(offset >= cursor, `overlapping records at ${offset}`);
    if (offset > cursor) {
      assert(offset - cursor >= RECORD_SIZE_MIN_BYTES, `a hole of ${offset - cursor} bytes cannot be padded`);
      holeStarts.push(cursor);
      holeEnds.push(offset);
    }
    cursor = offset + length;
  };
  let m = 0;
  for (let k = 0; k < count; k++) {
    const record = byOffset[k]!;
    while (m < spans.length && spans[m]!.offset < offsets[record]!) occupy(spans[m]!.offset, spans[m++]!.length);
    occupy(offsets[record]!, lengths[record]!);
  }
  while (m < spans.length) occupy(spans[m]!.offset, spans[m++]!.length);
  assert(cursor <= log.logEnd, "records beyond the end of the log");
  const starts = Float64Array.from(holeStarts);
  const ends = Float64Array.from(holeEnds);
  const finder = new HoleFinder(starts, ends);
  const moveRecords = new Int32Array(count);
  const moveTargets = new Float64Array(count);
  let moves = 0;
  for (let k = count - 1; k >= 0; k--) {
    const record = byOffset[k]!;
    // Holes only ever shrink from the front; a record never moves up. What is left of a hole must
    // be empty or big enough for a padding record. The record's old place is not reused in this
    // pass: it stays live until the commit.
    const hole = finder.lowestFitting(lengths[record]!, offsets[record]!);
    if (hole === -1) continue;
    moveRecords[moves] = record;
    moveTargets[moves++] = starts[hole]!;
    starts[hole] = starts[hole]! + lengths[record]!;
    finder.resized(hole);
  }
  // Old places of moved records are free after the commit too, but they are still live now: they
  // are padded in a later prune. Only what the moves left of the holes is padded now.
  const holes: Span[] = [];
  for (let h = 0; h < starts.length; h++) if (ends[h]! > starts[h]!) holes.push({ offset: starts[h]!, length: ends[h]! - starts[h]! });
  return { moveRecords: moveRecords.slice(0, moves), moveTargets: moveTargets.slice(0, moves), holes };
}

/**
 * First-fit search in O(log holes): a max-tree over hole sizes answers "lowest hole with at least
 * length + RECORD_SIZE_MIN_BYTES", and a heap per exact size answers "lowest hole of exactly
 * length"; the lower of the two wins. Holes are ordered by start and keep that order as they
 * shrink from the front, so "starts below the record" is a prefix of them.
 */
class HoleFinder {
  private readonly leaves: number;
  private readonly tree: Float64Array;
  private readonly bySize = new Map<number, MinHeap>();

  /** Hole h is [starts[h], ends[h]); the caller moves starts[h] up and calls resized(h). */
  constructor(
    private readonly starts: Float64Array,
    private readonly ends: Float64Array,
  ) {
    let leaves = 1;
    while (leaves < starts.length) leaves *= 2;
    this.leaves = leaves;
    this.tree = new Float64Array(2 * leaves).fill(-1);
    for (let h = 0; h < starts.length; h++) this.resized(h);
  }

  resized(index: number): void {
    const size = this.ends[index]! - this.starts[index]!;
    const usable = size >= RECORD_SIZE_MIN_BYTES ? size : -1;
    let node = this.leaves + index;
    this.tree[node] = usable;
    for (node >>= 1; node >= 1; node >>= 1) this.tree[node] = Math.max(this.tree[2 * node]!, this.tree[2 * node + 1]!);
    if (usable > 0) {
      let heap = this.bySize.get(size);
      if (heap === undefined) this.bySize.set(size, (heap = new MinHeap()));
      heap.push(index);
    }
  }

  /** The lowest hole that starts below `below` and takes `length` bytes; -1 when none does. */
  lowestFitting(length: number, below: number): number {
    const limit = this.countStartingBelow(below);
    const roomy = this.leftmostAtLeast(length + RECORD_SIZE_MIN_BYTES, limit);
    const exact = this.lowestOfExactSize(length, limit);
    if (roomy === -1) return exact;
    if (exact === -1) return roomy;
    return Math.min(roomy, exact);
  }

  private countStartingBelow(offset: number): number {
    let low = 0;
    let high = this.starts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.starts[middle]! < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private leftmostAtLeast(size: number, limit: number): number {
    if (limit === 0 || this.tree[1]! < size) return -1;
    let node = 1;
    let lo = 0;
    let span = this.leaves;
    while (node < this.leaves) {
      span >>= 1;
      if (this.tree[2 * node]! >= size) node = 2 * node;
      else {
        node = 2 * node + 1;
        lo += span;
      }
      if (lo >= limit) return -1;
    }
    return lo < limit ? lo : -1;
  }

  private lowestOfExactSize(size: number, limit: number): number {
    const heap = this.bySize.get(size);
    if (heap === undefined) return -1;
    // Entries go stale when their hole shrinks: drop them as they surface.
    while (heap.size > 0) {
      const index = heap.peek();
      if (this.ends[index]! - this.starts[index]! === size) return index < limit ? index : -1;
      heap.pop();
    }
    return -1;
  }
}

class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): number {
    return this.items[0]!;
  }

  push(value: number): void {
    const items = this.items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]! < items[left]! ? right : left;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
  }
}
