/** A counting semaphore with weights: bounds files and bytes in flight in the pipeline. */
import { assert } from "./assert.ts";

export class Semaphore {
  private available: number;
  private readonly waiting: { weight: number; resolve: () => void }[] = [];

  constructor(private readonly capacity: number) {
    assert(capacity > 0, "semaphore capacity must be positive");
    this.available = capacity;
  }

  /** Resolves to a release function. A weight above capacity waits for everything to drain. */
  async acquire(weight: number): Promise<() => void> {
    const needed = Math.min(weight, this.capacity);
    if (this.waiting.length === 0 && this.available >= needed) {
      this.available -= needed;
    } else {
      await new Promise<void>((resolve) => this.waiting.push({ weight: needed, resolve }));
    }
    return this.releaser(needed);
  }

  /**
   * acquire() without the wait: a release function when the weight is free now (and nobody waits
   * before us), else null. Saves an async step per call where acquire is called per small file.
   */
  tryAcquire(weight: number): (() => void) | null {
    const needed = Math.min(weight, this.capacity);
    if (this.waiting.length > 0 || this.available < needed) return null;
    this.available -= needed;
    return this.releaser(needed);
  }

  /** True when tryAcquire(weight) would succeed: a weight taken and given back in one synchronous step needs no release. */
  isFree(weight: number): boolean {
    return this.waiting.length === 0 && this.available >= Math.min(weight, this.capacity);
  }

  private releaser(needed: number): () => void {
    let released = false;
    return () => {
      assert(!released, "semaphore released twice");
      released = true;
      this.available += needed;
      this.wake();
    };
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.available >= this.waiting[0]!.weight) {
      const next = this.waiting.shift()!;
      this.available -= next.weight;
      next.resolve();
    }
  }
}
