/**
 * The records waiting for the vault's next positioned writev, in log order. A record that is a
 * view of a larger buffer (small files' records arrive packed, many to a buffer) is copied into a
 * shared block: the batch then never keeps a whole packed buffer alive for one new record, and a
 * run of such records goes out as one iovec instead of one each.
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

  /** Bytes queued since the last take(). */
  get bytes(): number {
    return this.bytesQueued;
  }

  add(record: Uint8Array): void {
    this.bytesQueued += record.byteLength;
    if (record.byteLength === record.buffer.byteLength) {
      // Owns its buffer: queued as it is, no copy.
      this.buffers.push(record);
      this.runStart = -1;
      return;
    }
    if (this.blockUsed + record.byteLength > this.block.byteLength) {
      // Writes in flight keep reading the old block's runs; the new one starts fresh.
      this.block = new Uint8Array(Math.max(BLOCK_BYTES, record.byteLength));
      this.blockUsed = 0;
      this.runStart = -1;
    }
    this.block.set(record, this.blockUsed);
    this.blockUsed += record.byteLength;
    if (this.runStart < 0) {
      this.runStart = this.blockUsed - record.byteLength;
      this.buffers.push(this.block.subarray(this.runStart, this.blockUsed));
    } else {
      this.buffers[this.buffers.length - 1] = this.block.subarray(this.runStart, this.blockUsed);
    }
  }

  /** The queued buffers in order; the batch starts empty again (later runs go after these in the block). */
  take(): Uint8Array[] {
    const buffers = this.buffers;
    this.buffers = [];
    this.bytesQueued = 0;
    this.runStart = -1;
    return buffers;
  }
}
