/**
 * Reads records of one kind into the page cache ahead of their readers, in offset order and long
 * runs. A re-run reads the parent's tree parts one directory at a time, each known only once its
 * parent directory's part was read: cold, that chain of small preads waits on the disk once per
 * level. Read here, with no chain, the walk's own reads then come from the cache.
 */
import type { BlobIndex } from "./blob-index.ts";
import type { RecordKindCode } from "./format.ts";
import type { VaultFile } from "./vault-file.ts";

/** Records this close are read as one run, gap included (as the record reader merges them). */
const GAP_BYTES_MAX = 16 * 1024;
const RUN_BYTES_MAX = 1024 * 1024;
/** Reads at once: the libuv pool has 4 threads; one stays free for the readers being helped. */
const READS_IN_FLIGHT = 3;

export interface PrefetchRun {
  readonly offset: number;
  readonly length: number;
}

/** The records of this kind below end, as merged runs in offset order; null when they exceed maxBytes. */
export function prefetchRuns(index: BlobIndex, kind: RecordKindCode, end: number, maxBytes: number): PrefetchRun[] | null {
  const starts: number[] = [];
  const ends: number[] = [];
  for (let entry = 0; entry < index.size; entry++) {
    if (index.kindOf(entry) !== kind) continue;
    const offset = index.offsetOf(entry);
    const recordEnd = offset + index.recordLengthOf(entry);
    if (recordEnd > end) continue;
    starts.push(offset);
    ends.push(recordEnd);
  }
  const order = Array.from(starts.keys()).sort((a, b) => starts[a]! - starts[b]!);
  const runs: PrefetchRun[] = [];
  let total = 0;
  let runStart = -1;
  let runEnd = 0;
  const close = (): void => {
    runs.push({ offset: runStart, length: runEnd - runStart });
    total += runEnd - runStart;
  };
  for (const i of order) {
    const offset = starts[i]!;
    if (runStart >= 0 && (offset > runEnd + GAP_BYTES_MAX || Math.max(runEnd, ends[i]!) - runStart > RUN_BYTES_MAX)) {
      close();
      runStart = -1;
    }
    if (runStart < 0) {
      runStart = offset;
      runEnd = ends[i]!;
    } else runEnd = Math.max(runEnd, ends[i]!);
  }
  if (runStart >= 0) close();
  return total > maxBytes ? null : runs;
}

/** Reads the runs, last first (bytes discarded: only the page cache keeps them), until done or stopped. */
export class Prefetch {
  private next = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly file: VaultFile,
    private readonly runs: readonly PrefetchRun[],
  ) {
    const readers: Promise<void>[] = [];
    for (let i = 0; i < Math.min(READS_IN_FLIGHT, runs.length); i++) readers.push(this.reader());
    this.done = Promise.all(readers).then(() => undefined);
  }

  private async reader(): Promise<void> {
    // Newest first: the previous backup wrote trees bottom-up, so the walk, top-down, needs the last written first.
    while (!this.stopped && this.next < this.runs.length) {
      const run = this.runs[this.runs.length - 1 - this.next++]!;
      try {
        await this.file.readAt(run.offset, run.length);
      } catch {
        return; // only a hint: the real read reports the error
      }
    }
  }

  /** No new reads; resolves when those in flight are done (the file may then be closed). */
  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }
}
