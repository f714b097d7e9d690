/**
 * Whether restore creates its next small file with a synchronous open on the main thread or on the
 * libuv pool. A create on ext4 or tmpfs usually costs 5–10 µs, far less than a pool round trip costs
 * the main thread (a thread wake-up, a callback and a promise; half of a restore's context switches,
 * issue 5). But ext4 without a journal skips inodes freed in the last 30 s, and a create after a
 * large delete then scans the inode table (~300 µs each measured here, up to tens of ms): on the
 * main thread that would stall the whole restore, on the pool the creates overlap with everything
 * else. So creates are timed, and while they run slow they go to the pool for a spell.
 */

/** A create slower than this is slow: a pool round trip costs the main thread ~30 µs. */
const SLOW_CREATE_NS = 100_000;
/**
 * Slow creates in a row that send creates to the pool. On a busy machine one create now and then
 * measures slow because the thread lost its core during the call; a scanning allocator makes
 * nearly every create slow (p50 265 µs measured after deleting 20k files).
 */
const SLOW_IN_A_ROW = 3;
/** Creates sent to the pool before a synchronous one measures again. */
const POOL_SPELL_CREATES = 256;

export class CreatePace {
  private slowInARow = 0;
  private poolLeft = 0;

  /** True when the next create should be a synchronous call (then report its time with measured). */
  synchronous(): boolean {
    if (this.poolLeft === 0) return true;
    this.poolLeft--;
    return false;
  }

  /** The time a synchronous create took. */
  measured(ns: number): void {
    if (ns <= SLOW_CREATE_NS) {
      this.slowInARow = 0;
      return;
    }
    if (++this.slowInARow < SLOW_IN_A_ROW) return;
    this.poolLeft = POOL_SPELL_CREATES;
    // The probe after the spell decides alone: slow, another spell; fast, synchronous again.
    this.slowInARow = SLOW_IN_A_ROW - 1;
  }
}
