/**
 * Content-defined chunking with FastCDC: W. Xia et al., "FastCDC: a Fast and Efficient Content-Defined
 * Chunking Approach for Data Deduplication" (USENIX ATC 2016) and "The Design of Fast Content-Defined
 * Chunking for Data Deduplication Based Storage Systems" (IEEE TPDS 2020).
 *
 * A gear rolling hash, cut-point skipping below the minimum size, and normalized chunking level 2
 * (a harder mask before the average size, an easier one after) to narrow the size distribution.
 *
 * The gear table is derived from a secret key, so chunk boundaries depend on that secret as well as on
 * the content. With a public table, the sequence of chunk lengths of a known file is a fingerprint an
 * observer of the vault could match; keying it removes that (the vault also hides record lengths).
 */
import { createCipheriv } from "node:crypto";
import { assert } from "../util/assert.ts";
import { GearScanner } from "./gear-scan.ts";
import { assertChunkerParams, type ChunkerParams } from "./params.ts";

export const GEAR_KEY_SIZE_BYTES = 32;

/**
 * The 256-entry gear table for a 32-byte key: the AES-256-CTR keystream (zero IV) over 1024 zero bytes,
 * read as little-endian u32. The key must be a dedicated subkey: the fixed IV would be a nonce reuse if
 * the same key also encrypted data in CTR mode.
 */
export function gearTableFromKey(key: Uint8Array): Uint32Array {
  assert(key.byteLength === GEAR_KEY_SIZE_BYTES, `gear key must be ${GEAR_KEY_SIZE_BYTES} bytes, got ${key.byteLength}`);
  const cipher = createCipheriv("aes-256-ctr", key, new Uint8Array(16));
  const stream = Buffer.concat([cipher.update(new Uint8Array(256 * 4)), cipher.final()]);
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const gear = new Uint32Array(256);
  for (let i = 0; i < 256; i++) gear[i] = view.getUint32(i * 4, true);
  return gear;
}

/** A mask selecting the top `bits` bits of a 32-bit value, as an int32. */
function topBitsMask(bits: number): number {
  return -1 << (32 - bits);
}

/**
 * Finds chunk boundaries. Stateless: every nextCut call scans from its `start`, so after a -1 the
 * caller's next call (with more data) rescans up to max bytes. That is at most half the work again
 * when callers feed blocks of >= 2 * max bytes, and it keeps the chunker free of hidden state.
 */
export class Chunker {
  private readonly minSize: number;
  private readonly avgSize: number;
  private readonly maxSize: number;
  private readonly maskSmall: number;
  private readonly maskLarge: number;
  // Holds its own int32 copy of the table: later edits of the caller's table cannot move cuts.
  private readonly scanner: GearScanner;

  constructor(params: ChunkerParams, gear: Uint32Array) {
    assertChunkerParams(params);
    assert(gear.length === 256, `gear table must have 256 entries, got ${gear.length}`);
    this.minSize = params.minSizeBytes;
    this.avgSize = params.avgSizeBytes;
    this.maxSize = params.maxSizeBytes;
    const avgBits = Math.log2(params.avgSizeBytes);
    // Normalized chunking level 2: cuts are 4x rarer below avg and 4x likelier above it.
    // Bit k of the shift-left gear hash only depends on the last k + 1 bytes, so take mask bits from the
    // top, where each bit mixes in the most bytes.
    this.maskSmall = topBitsMask(avgBits + 2);
    this.maskLarge = topBitsMask(avgBits - 2);
    this.scanner = new GearScanner(new Int32Array(gear.buffer, gear.byteOffset, 256));
  }

  /**
   * Length of the chunk starting at data[start] within data[start, end), or -1 when !eof and no cut is
   * found yet (the caller must call again with more data after start). A cut is always returned when
   * end - start >= max. With eof, whatever remains is a chunk (possibly shorter than min; 0 when empty).
   * A cut depends only on the bytes from start up to it, so feeding more data never moves a cut.
   */
  nextCut(data: Uint8Array, start: number, end: number, eof: boolean): number {
    // Checked before the message is built: a template string per call is work on every chunk.
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= data.length)) {
      assert(false, `nextCut range [${start}, ${end}) outside data of length ${data.length}`);
    }
    const available = end - start;
    if (available <= this.minSize) return eof ? available : -1;
    const limit = available < this.maxSize ? available : this.maxSize;
    const normal = limit < this.avgSize ? limit : this.avgSize;
    // The first min bytes are neither hashed nor cut: no cut can land there, and skipping is FastCDC's
    // main speedup. The hash warms up within 32 bytes, well before a cut is likely.
    const from = start + this.minSize;
    const normalEnd = start + normal;
    const limitEnd = start + limit;
    let last = this.scanner.scan(data, from, from, normalEnd, this.maskSmall);
    // The hash after a byte depends on the 32 bytes up to it only (each step shifts left by one), so the
    // large-mask stretch re-derives it from the 32 bytes before it instead of carrying it over.
    if (last < 0 && normalEnd < limitEnd) {
      last = this.scanner.scan(data, normalEnd - 32 > from ? normalEnd - 32 : from, normalEnd, limitEnd, this.maskLarge);
    }
    if (last >= 0) return last + 1 - start;
    return eof || available >= this.maxSize ? limit : -1;
  }
}

/** Splits a whole buffer into [start, length] chunks; an empty buffer yields none. */
export function* chunkAll(chunker: Chunker, data: Uint8Array): Generator<[start: number, length: number]> {
  let start = 0;
  while (start < data.length) {
    const length = chunker.nextCut(data, start, data.length, true);
    yield [start, length];
    start += length;
  }
}
