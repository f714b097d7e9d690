/**
 * Whether restore creates its next small file with a synchronous open on the main thread or on the
 * libuv pool. A create on ext4 or tmpfs usually costs 5–10 µs, far less than a pool round trip costs
 * the main thread (a thread wake-up, a callback and a promise: 0.6 s of its time for 19k files,
 * issue 5). But ext4 without a journal skips inodes freed in the last 30 s, and a create after a
 * large delete then scans the inode table (~300 µs each measured here, up to tens of ms): on the
 * main thread that would stall the whole restore, on the pool the creates overlap with everything
 * else. So creates are timed, and while they run slow they go to the pool for a spell.
 */

/** An average create slower than this goes to the pool: a pool round trip costs ~30 µs of main thread. */
const SLOW_CREATE_NS = 100_000;
/** Creates sent to the pool before a synchronous one measures again. */
const POOL_SPELL_CREATES = 256;
/** Weight of the newest measurement in the running average (1/8: one outlier does not decide). */
const AVERAGE_SHIFT = 3;

export class CreatePace {
  private averageNs = 0;
  private poolLeft = 0;

  /** True when the next create should be a synchronous call (then report its time with measured). */
  synchronous(): boolean {
    if (this.poolLeft === 0) return true;
    this.poolLeft--;
    return false;
  }

  /** The time a synchronous create took. */
  measured(ns: number): void {
    this.averageNs += (ns - this.averageNs) / (1 << AVERAGE_SHIFT);
    if (this.averageNs <= SLOW_CREATE_NS) return;
    this.poolLeft = POOL_SPELL_CREATES;
    // The probe after the spell starts from the threshold: one fast create brings creates back.
    this.averageNs = SLOW_CREATE_NS;
  }
}
