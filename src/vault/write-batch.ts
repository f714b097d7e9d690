/**
 * The records waiting for the vault's next positioned writev, in log order. Records that are
 * consecutive views of one larger buffer form a run. A run that is at least half of its buffer (a
 * big file's block of records, sealed into one buffer) is written from that buffer, no copy. A
 * smaller run (small files' records arrive packed, and only the new ones are written) is copied
 * into a shared block: the batch then never keeps a whole packed buffer alive for one new record,
 * and a run of such records goes out as one iovec instead of one each. A view's bytes must stay as
 * they are until take().
 */

/** Size of a shared block (a quarter of a write batch: fewer bytes held by blocks half written). */
const BLOCK_BYTES = 256 * 1024;

export class WriteBatch {
  private buffers: Uint8Array[] = [];
  private bytesQueued = 0;
  private block: Uint8Array = new Uint8Array(0);
  private blockUsed = 0;
  /** Where in `block` the run that is the last entry of `buffers` starts (-1: the last entry is not a run). */
  private runStart = -1;
  /** The run of views not yet queued or copied: its buffer and byte range. */
  private pending: { buffer: ArrayBufferLike; start: number; end: number } | null = null;
  /** Where the last run written from its own buffer ended: the rest of that buffer counts as its continuation. */
  private kept: { buffer: ArrayBufferLike; end: number } | null = null;

  /** Bytes queued since the last take(). */
  get bytes(): number {
    return this.bytesQueued;
  }

  add(record: Uint8Array): void {
    this.bytesQueued += record.byteLength;
    if (record.byteLength === record.buffer.byteLength) {
      // Owns its buffer: queued as it is, no copy.
      this.settle();
      this.buffers.push(record);
      this.runStart = -1;
      return;
    }
    const pending = this.pending;
    if (pending !== null && pending.buffer === record.buffer && pending.end === record.byteOffset) {
      pending.end += record.byteLength;
      return;
    }
    this.settle();
    this.pending = { buffer: record.buffer, start: record.byteOffset, end: record.byteOffset + record.byteLength };
  }

  /** The pending run goes to the queue: as a view of its buffer when it is most of it, else copied. */
  private settle(): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    const run = new Uint8Array(pending.buffer, pending.start, pending.end - pending.start);
    const continues = this.kept !== null && this.kept.buffer === pending.buffer && this.kept.end === pending.start;
    if (continues || 2 * run.byteLength >= pending.buffer.byteLength) {
      this.buffers.push(run);
      this.runStart = -1;
      this.kept = { buffer: pending.buffer, end: pending.end };
      return;
    }
    if (this.blockUsed + run.byteLength > this.block.byteLength) {
      // Writes in flight keep reading the old block's runs; the new one starts fresh.
      this.block = new Uint8Array(Math.max(BLOCK_BYTES, run.byteLength));
      this.blockUsed = 0;
      this.runStart = -1;
    }
    this.block.set(run, this.blockUsed);
    this.blockUsed += run.byteLength;
    if (this.runStart < 0) {
      this.runStart = this.blockUsed - run.byteLength;
      this.buffers.push(this.block.subarray(this.runStart, this.blockUsed));
    } else {
      this.buffers[this.buffers.length - 1] = this.block.subarray(this.runStart, this.blockUsed);
    }
  }

  /** The queued buffers in order; the batch starts empty again (later runs go after these in the block). */
  take(): Uint8Array[] {
    this.settle();
    const buffers = this.buffers;
    this.buffers = [];
    this.bytesQueued = 0;
    this.runStart = -1;
    return buffers;
  }
}
