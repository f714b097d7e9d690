/** zstd before encryption, kept only when it saves at least 1/32 of the bytes. FORMAT.md §5.3. */
import binding from "zstd-napi/binding.js";
import { RECORD_FLAG_ZSTD } from "./format.ts";

export const COMPRESSION_LEVEL_DEFAULT = 3;

/** Room compressInto needs for a chunk of rawBytes (zstd's bound). */
export function compressRoomBytes(rawBytes: number): number {
  return binding.compressBound(rawBytes);
}

export interface Compressed {
  readonly flags: number;
  /** May be a view of the codec's own output buffer: valid until its next compress call. */
  readonly payload: Uint8Array;
}

/** Chunks this large (the chunker's smallest cut) are compressed by the context tuned for them. */
const TUNED_MIN_BYTES = 16 * 1024;

export class Codec {
  private readonly cctx = new binding.CCtx();
  /** For chunks of TUNED_MIN_BYTES or more at the default level; null at other levels. */
  private readonly chunkCctx: InstanceType<typeof binding.CCtx> | null = null;
  private readonly dctx = new binding.DCtx();
  /** Reused for every chunk: zstd-napi's Compressor allocates (and often copies) a new one per call. */
  private output = Buffer.alloc(0);

  constructor(level: number = COMPRESSION_LEVEL_DEFAULT) {
    this.cctx.setParameter(binding.CParameter.compressionLevel, level);
    if (level === COMPRESSION_LEVEL_DEFAULT) {
      // Tuned for chunks of 16-256 KiB (issue 5, scripts/benchmarks/zstd-params.ts): 4-byte matches
      // and tables sized for them, against level 3's 5-byte matches and tables for 128 KiB, stored
      // 0.3-0.9% fewer bytes with 6-9% less CPU on binaries and text. On files under 16 KiB they
      // stored 0.01% more, so those keep level 3's own parameters. Decoders need nothing new.
      this.chunkCctx = new binding.CCtx();
      this.chunkCctx.setParameter(binding.CParameter.compressionLevel, level);
      this.chunkCctx.setParameter(binding.CParameter.minMatch, 4);
      this.chunkCctx.setParameter(binding.CParameter.hashLog, 14);
      this.chunkCctx.setParameter(binding.CParameter.chainLog, 13);
    }
  }

  private contextFor(raw: Uint8Array): InstanceType<typeof binding.CCtx> {
    return this.chunkCctx !== null && raw.byteLength >= TUNED_MIN_BYTES ? this.chunkCctx : this.cctx;
  }

  /** The payload must be consumed (sealRecord encrypts it into a new record) before the next call. */
  compress(raw: Uint8Array): Compressed {
    if (raw.byteLength < 64) return { flags: 0, payload: raw };
    const bound = binding.compressBound(raw.byteLength);
    if (this.output.byteLength < bound) this.output = Buffer.allocUnsafe(bound);
    const length = this.compressInto(raw, this.output, 0);
    return length < 0 ? { flags: 0, payload: raw } : { flags: RECORD_FLAG_ZSTD, payload: this.output.subarray(0, length) };
  }

  /**
   * compress, but the zstd frame goes into out at offset (compressBound(raw) bytes of room there):
   * a run of chunks is compressed into one buffer and sealed from it (vault/seal.ts sealBlobRun).
   * Returns the frame's length, or -1 when the chunk is to be stored raw (the payload is raw itself).
   */
  compressInto(raw: Uint8Array, out: Uint8Array, offset: number): number {
    if (raw.byteLength < 64) return -1;
    const length = this.contextFor(raw).compress2(out.subarray(offset, offset + binding.compressBound(raw.byteLength)), raw);
    return length > raw.byteLength - (raw.byteLength >> 5) ? -1 : length;
  }

  /** Throws on malformed input; callers map that to VaultCorruptError. */
  decompress(flags: number, payload: Uint8Array, rawLength: number): Uint8Array {
    if ((flags & RECORD_FLAG_ZSTD) === 0) return payload;
    // An own buffer (not a pooled slice), as callers may keep or transfer it.
    const raw = Buffer.allocUnsafeSlow(rawLength);
    this.decompressInto(flags, payload, rawLength, raw);
    return raw;
  }

  /**
   * Like decompress, but into out (exactly rawLength bytes), also when the payload is stored raw:
   * the record-opening workers put a whole run's blobs in one buffer and hand over just that one.
   */
  decompressInto(flags: number, payload: Uint8Array, rawLength: number, out: Uint8Array): void {
    if (out.byteLength !== rawLength) throw new Error(`output holds ${out.byteLength} bytes, expected ${rawLength}`);
    if ((flags & RECORD_FLAG_ZSTD) === 0) {
      if (payload.byteLength !== rawLength) throw new Error(`stored ${payload.byteLength} bytes, expected ${rawLength}`);
      out.set(payload);
      return;
    }
    const written = this.dctx.decompress(out, checkedFrame(payload, rawLength));
    if (written !== rawLength) throw new Error(`decompressed ${written} bytes, expected ${rawLength}`);
  }
}

/**
 * The payload as exactly one zstd frame that declares the record's raw length: decompression then
 * allocates or fills what the authenticated header promised and no more (no decompression bomb).
 */
function checkedFrame(payload: Uint8Array, rawLength: number): Buffer {
  const packed = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const declared = binding.getFrameContentSize(packed);
  if (declared !== rawLength) throw new Error(`zstd frame declares ${String(declared)} bytes, expected ${rawLength}`);
  if (binding.findFrameCompressedSize(packed) !== packed.byteLength) throw new Error("zstd payload is not exactly one frame");
  return packed;
}
