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
  const all = holes.map((h) => ({ ...h }));
  const finder = new HoleFinder(all);
  const moves: Move[] = [];
  const byOffsetDescending = [...live].sort((a, b) => b.offset - a.offset);
  for (const record of byOffsetDescending) {
    // Holes only ever shrink from the front; a record never moves up. What is left of a hole must
    // be empty or big enough for a padding record. The record's old place is not reused in this
    // pass: it stays live until the commit.
    const index = finder.lowestFitting(record.recordLength, record.offset);
    if (index === -1) continue;
    const hole = all[index]!;
    moves.push({ from: record.offset, to: hole.start, length: record.recordLength });
    hole.start += record.recordLength;
    finder.resized(index);
  }
  // Old places of moved records are free after the commit too, but they are still live now: they
  // are padded in a later prune. Only what the moves left of the holes is padded now.
  return { moves, holes: all.filter((h) => h.end > h.start).map((h) => ({ offset: h.start, length: h.end - h.start })) };
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

  constructor(private readonly holes: readonly Hole[]) {
    let leaves = 1;
    while (leaves < holes.length) leaves *= 2;
    this.leaves = leaves;
    this.tree = new Float64Array(2 * leaves).fill(-1);
    holes.forEach((_, i) => this.resized(i));
  }

  resized(index: number): void {
    const hole = this.holes[index]!;
    const size = hole.end - hole.start;
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
    let high = this.holes.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.holes[middle]!.start < offset) low = middle + 1;
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
      const hole = this.holes[index]!;
      if (hole.end - hole.start === size) return index < limit ? index : -1;
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
