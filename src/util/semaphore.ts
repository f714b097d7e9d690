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
