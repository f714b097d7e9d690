/** Little-endian byte reading and writing with bounds checks. FORMAT.md §1 "Conventions". */
import { assert } from "./assert.ts";

/** Thrown by ByteReader when a structure runs past its end; callers turn it into VaultCorruptError. */
export class ShortReadError extends Error {
  override name = "ShortReadError";
}

export class ByteReader {
  private offsetBytes = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offsetBytes;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offsetBytes;
  }

  private take(sizeBytes: number): number {
    if (sizeBytes < 0 || this.offsetBytes + sizeBytes > this.bytes.byteLength) {
      throw new ShortReadError(`need ${sizeBytes} bytes at ${this.offsetBytes}, have ${this.remaining}`);
    }
    const at = this.offsetBytes;
    this.offsetBytes += sizeBytes;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }

  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  /** A u64 that must fit in a JS number (offsets, sizes); larger values are corrupt input. */
  u64(): number {
    const value = this.view.getBigUint64(this.take(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ShortReadError(`u64 ${value} exceeds 2^53`);
    }
    return Number(value);
  }

  bytesView(sizeBytes: number): Uint8Array {
    const at = this.take(sizeBytes);
    return this.bytes.subarray(at, at + sizeBytes);
  }

  skip(sizeBytes: number): void {
    this.take(sizeBytes);
  }
}

export class ByteWriter {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offsetBytes = 0;

  constructor(sizeBytes: number) {
    this.bytes = new Uint8Array(sizeBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  get position(): number {
    return this.offsetBytes;
  }

  private take(sizeBytes: number): number {
    assert(this.offsetBytes + sizeBytes <= this.bytes.byteLength, "ByteWriter overflow");
    const at = this.offsetBytes;
    this.offsetBytes += sizeBytes;
    return at;
  }

  u8(value: number): this {
    this.view.setUint8(this.take(1), value);
    return this;
  }

  u16(value: number): this {
    this.view.setUint16(this.take(2), value, true);
    return this;
  }

  u32(value: number): this {
    this.view.setUint32(this.take(4), value, true);
    return this;
  }

  u64(value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, `u64 out of range: ${value}`);
    this.view.setBigUint64(this.take(8), BigInt(value), true);
    return this;
  }

  raw(data: Uint8Array): this {
    this.bytes.set(data, this.take(data.byteLength));
    return this;
  }

  zeros(sizeBytes: number): this {
    this.take(sizeBytes);
    return this;
  }

  /** The written bytes; the whole buffer when `full` (fixed-size structures keep zero padding). */
  finish(full = false): Uint8Array {
    return full ? this.bytes : this.bytes.subarray(0, this.offsetBytes);
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export const utf8 = {
  encode: (text: string): Uint8Array => new TextEncoder().encode(text),
  decode: (bytes: Uint8Array): string => new TextDecoder().decode(bytes),
};
