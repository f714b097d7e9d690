/**
 * The gear hash's byte loop in WebAssembly (issue 5). In JavaScript, TurboFan re-checks both typed
 * arrays' maps and reloads their length and data pointers for every byte (it hoists nothing out of
 * the loop): ~1 ns per byte, 15% of a 512 MiB file's first backup. In WebAssembly, the bytes
 * copied into its memory stretch by stretch included, cutting that file costs ~240 against ~530 ms
 * of CPU (scripts/benchmarks/chunk-cpu.ts). Same hash, same cuts: cdc.test.ts checks every cut
 * against a one-byte-at-a-time definition.
 *
 * The module (built below, no toolchain needed) has one page of memory: the gear table as 256
 * little-endian int32 at 0, the bytes to scan at DATA_AT. Its one function is
 *   scan(p, testFrom, end, mask) -> i32:
 *     hash = 0; for (; p < testFrom; p++) hash = (hash << 1) + gear[mem[p]];
 *     for (; p < end; p++) { hash = (hash << 1) + gear[mem[p]]; if ((hash & mask) == 0) return p; }
 *     return -1;
 */
import { assert } from "../util/assert.ts";

/** What this module uses of the WebAssembly global (the project's lib, ES2023 without DOM, has no types for it). */
interface WasmExports {
  readonly scan: (p: number, testFrom: number, end: number, mask: number) => number;
  readonly memory: { readonly buffer: ArrayBuffer };
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: unknown };
};

/** Where the bytes to scan go in the module's memory (after the 1 KiB gear table). */
const DATA_AT = 1024;
/** Bytes scanned per call: a stretch and the 32 bytes before it fit the one 64 KiB page. */
const STRETCH_BYTES = 16 * 1024;
/** The hash after a byte depends on the 32 bytes up to it only: each step shifts it left by one. */
const HASH_WINDOW_BYTES = 32;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function section(id: number, bytes: number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...Buffer.from(text, "ascii")];
}

/** The module's bytes (WebAssembly 1.0 binary format; opcodes named where used). */
function moduleBytes(): Uint8Array {
  const I32 = 0x7f;
  const [BLOCK, LOOP, IF, END, BR, BR_IF, RETURN, VOID] = [0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d, 0x0f, 0x40];
  const [GET, SET, TEE, CONST] = [0x20, 0x21, 0x22, 0x41];
  const [LOAD, LOAD8_U, EQZ, GE_U, ADD, AND, SHL] = [0x28, 0x2d, 0x45, 0x4f, 0x6a, 0x71, 0x74];
  // Locals: 0 p, 1 testFrom, 2 end, 3 mask (parameters), 4 hash.
  const step = [GET, 4, CONST, 1, SHL, GET, 0, LOAD8_U, 0, 0, CONST, 2, SHL, LOAD, 2, 0, ADD]; // (hash << 1) + gear[mem[p]]
  const next = [GET, 0, CONST, 1, ADD, SET, 0];
  const code = [
    ...[BLOCK, VOID, LOOP, VOID, GET, 0, GET, 1, GE_U, BR_IF, 1, ...step, SET, 4, ...next, BR, 0, END, END],
    ...[BLOCK, VOID, LOOP, VOID, GET, 0, GET, 2, GE_U, IF, VOID, CONST, 0x7f, RETURN, END], // -1 is 0x7f in signed LEB128
    ...[...step, TEE, 4, GET, 3, AND, EQZ, BR_IF, 1, ...next, BR, 0, END, END, GET, 0, END],
  ];
  const body = [1, 1, I32, ...code]; // one group of locals: one i32
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 1, I32]), // type 0: (i32 i32 i32 i32) -> i32
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0x00, 1]), // one memory of 1 page, no maximum
    ...section(7, [2, ...name("scan"), 0x00, 0, ...name("memory"), 0x02, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

let compiled: object | null = null;

/** A gear-hash scanner with its own copy of one gear table. */
export class GearScanner {
  private readonly scanAt: WasmExports["scan"];
  private readonly heap: Uint8Array;

  constructor(gear: Int32Array) {
    assert(gear.length === 256, `gear table must have 256 entries, got ${gear.length}`);
    compiled ??= new WebAssembly.Module(moduleBytes());
    const exports = new WebAssembly.Instance(compiled).exports as WasmExports;
    this.scanAt = exports.scan;
    // The memory never grows, so this view stays valid.
    this.heap = new Uint8Array(exports.memory.buffer);
    const table = new DataView(exports.memory.buffer, 0, DATA_AT);
    for (let i = 0; i < 256; i++) table.setInt32(i * 4, gear[i]!, true);
  }

  /**
   * The index of the first byte in [testFrom, end) after which the gear hash (hashed from hashFrom)
   * has no bit of mask set, or -1. Copies the bytes in stretches and scans each; a stretch re-derives
   * the hash from the 32 bytes before it, the same hash as carried over.
   */
  scan(data: Uint8Array, hashFrom: number, testFrom: number, end: number, mask: number): number {
    let warm = Math.max(hashFrom, testFrom - HASH_WINDOW_BYTES);
    for (let from = testFrom; from < end; ) {
      const to = Math.min(end, from + STRETCH_BYTES);
      // Copied to the same address modulo 8 as it has in data: a copy out of shared memory (the
      // file workers' read buffers) is done a byte at a time unless both sides are equally aligned.
      const at0 = DATA_AT + ((data.byteOffset + warm) & 7);
      this.heap.set(data.subarray(warm, to), at0);
      const at = this.scanAt(at0, at0 + (from - warm), at0 + (to - warm), mask);
      if (at >= 0) return at - at0 + warm;
      warm = Math.max(hashFrom, to - HASH_WINDOW_BYTES);
      from = to;
    }
    return -1;
  }
}
