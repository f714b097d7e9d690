/**
 * Read buffers of the block path that both file workers can see (issue 5): a block's new chunks
 * that another worker seals are handed over as views of the owner's buffer instead of copies (on
 * the 512 MiB file, ~220 MB copied into fresh buffers per first backup). The owner reuses such a
 * buffer only after the other worker has sealed from it ("released", file-worker.ts sendBlock).
 */

/** A zeroed buffer of `bytes`: shared memory when another worker may seal from it, else private. */
export function blockBytes(bytes: number, shared: boolean): Uint8Array {
  return shared ? new Uint8Array(new SharedArrayBuffer(bytes)) : new Uint8Array(bytes);
}

/** Whether every view is of shared memory (so it can be handed to another worker without a copy). */
export function allShared(views: readonly Uint8Array[]): boolean {
  for (const view of views) if (!(view.buffer instanceof SharedArrayBuffer)) return false;
  return true;
}

/** The buffers a postMessage may move: shared memory is shared, never in a transfer list (it throws). */
export function movable(buffers: readonly ArrayBufferLike[]): ArrayBuffer[] {
  const moved: ArrayBuffer[] = [];
  for (const buffer of buffers) if (!(buffer instanceof SharedArrayBuffer)) moved.push(buffer);
  return moved;
}

/**
 * target.set(source, offset), with a copy out of shared memory done by memcpy: TypedArray's set
 * copies shared memory a byte at a time unless both sides are equally aligned (3-4× slower), and a
 * block's uncut tail starts anywhere. Buffer's fill with a buffer as value is one memcpy when the
 * range is exactly the value's length.
 */
export function copyBytes(target: Uint8Array, source: Uint8Array, offset = 0): void {
  if (source.byteLength === 0 || !(source.buffer instanceof SharedArrayBuffer)) {
    target.set(source, offset);
    return;
  }
  Buffer.from(target.buffer, target.byteOffset, target.byteLength).fill(source, offset, offset + source.byteLength);
}
