/** zstd before encryption, kept only when it saves at least 1/32 of the bytes. FORMAT.md §5.3. */
import zstd from "zstd-napi";
import zstdBinding from "zstd-napi/binding.js";
import { RECORD_FLAG_ZSTD } from "./format.ts";

export const COMPRESSION_LEVEL_DEFAULT = 3;

export interface Compressed {
  readonly flags: number;
  readonly payload: Uint8Array;
}

export class Codec {
  private readonly compressor = new zstd.Compressor();
  private readonly decompressor = new zstd.Decompressor();

  constructor(level: number = COMPRESSION_LEVEL_DEFAULT) {
    this.compressor.setParameters({ compressionLevel: level });
  }

  compress(raw: Uint8Array): Compressed {
    if (raw.byteLength < 64) return { flags: 0, payload: raw };
    const packed = this.compressor.compress(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
    if (packed.byteLength > raw.byteLength - (raw.byteLength >> 5)) return { flags: 0, payload: raw };
    return { flags: RECORD_FLAG_ZSTD, payload: packed };
  }

  /** Throws on malformed input; callers map that to VaultCorruptError. */
  decompress(flags: number, payload: Uint8Array, rawLength: number): Uint8Array {
    if ((flags & RECORD_FLAG_ZSTD) === 0) return payload;
    const packed = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    // Exactly one frame that declares the record's raw length: the decompressor then allocates
    // what the authenticated header promised and no more (no decompression bomb).
    const declared = zstdBinding.getFrameContentSize(packed);
    if (declared !== rawLength) throw new Error(`zstd frame declares ${String(declared)} bytes, expected ${rawLength}`);
    if (zstdBinding.findFrameCompressedSize(packed) !== packed.byteLength) throw new Error("zstd payload is not exactly one frame");
    const raw = this.decompressor.decompress(packed);
    if (raw.byteLength !== rawLength) throw new Error(`decompressed ${raw.byteLength} bytes, expected ${rawLength}`);
    return raw;
  }
}
