// Restored times through Node's utimes family, to the microsecond Node 20 can set.

/**
 * The seconds value to hand to Node's utimes family for a nanosecond timestamp. Node 20 takes times
 * as doubles and libuv truncates them to whole microseconds, so nanoseconds below the microsecond can
 * not be restored from Node. A plain `µs / 1e6` double may land a hair below the intended microsecond
 * (a double near 1.7e9 has ~0.24 µs resolution) and then truncate to the one before; aiming half a
 * microsecond past it, towards where libuv truncates from (up for times after 1970, down before),
 * makes the restored microsecond exact. Use utimesArgument to pass the value to Node.
 */
export function utimesSeconds(mtimeNs: bigint): number {
  let seconds = mtimeNs / 1_000_000_000n;
  let rest = mtimeNs % 1_000_000_000n;
  if (rest < 0n) {
    seconds -= 1n;
    rest += 1_000_000_000n;
  }
  const micros = Number(rest / 1000n);
  return Number(seconds) + (micros + (seconds < 0n ? -0.5 : 0.5)) / 1e6;
}

/**
 * The value to hand to fs.utimes/lutimes for a nanosecond timestamp. Node 20 replaces a negative
 * number (a time before 1970) with the current time, but passes a numeric string through unchanged,
 * so times before 1970 go as the string of the same double.
 */
export function utimesArgument(mtimeNs: bigint): number | string {
  const seconds = utimesSeconds(mtimeNs);
  return seconds < 0 ? String(seconds) : seconds;
}
