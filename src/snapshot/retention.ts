/**
 * Retention (`suede forget`): which snapshots a policy keeps. Pure: no I/O, no clock (the caller
 * passes nowMs), no implicit time zone when the caller passes one.
 *
 * The semantics are restic's `forget` (internal/restic/snapshot_policy.go, ApplyPolicy, restic ≥ 0.17):
 * - snapshots are considered newest first (timeMs descending; equal times: higher number first);
 * - `tags`: a snapshot is kept when it has ALL tags of any entry (an entry is a comma-separated
 *   list, whitespace trimmed; an empty tag matches a snapshot without tags); not counted;
 * - `within`: kept when strictly newer than (latest − duration), where latest is the newest snapshot
 *   that is not in the future (timeMs < nowMs), and the subtraction is calendar arithmetic in the
 *   time zone for years/months/days (Go's AddDate) followed by an absolute subtraction of hours;
 * - `last`, `hourly`, `daily`, `weekly`, `monthly`, `yearly` (counts; -1 = unlimited): for each kind,
 *   a snapshot is kept when its bucket (calendar fields in the time zone) differs from the bucket of
 *   the previous snapshot kept for that kind and the count is not exhausted; each keep uses one count.
 *   Like restic ≥ 0.17, the oldest snapshot is also kept by every kind that still has counts left
 *   (reason "oldest <kind> snapshot" when its bucket was already kept), so a young history is not cut.
 *
 * Pins (suede's addition; restic has none): pinned snapshots are always kept (reason "pinned") and are
 * invisible to the count buckets: the buckets run over the unpinned snapshots alone, exactly as restic
 * would over that list, so a pin never uses up a slot (keep-last 3 keeps 3 unpinned snapshots besides
 * the pins). `within` and `tags` are not counted, so they still add their reasons to pinned snapshots,
 * and a pinned snapshot can be the "latest" that `within` measures from.
 */

import type { Snapshot } from "../core/types.ts";

export interface DurationSpec {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
}

export interface RetentionPolicy {
  readonly last?: number;
  readonly hourly?: number;
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly yearly?: number;
  readonly within?: DurationSpec;
  /**
   * Keep snapshots having any of these tag sets (restic's --keep-tag): a snapshot is kept if it has
   * ALL tags of any listed entry; entries are comma-separated tag lists.
   */
  readonly tags?: readonly string[];
}

export interface RetentionDecision {
  readonly snapshot: Snapshot;
  readonly keep: boolean;
  /** Why it is kept, in evaluation order, e.g. "pinned", "has tags [a, b]", "within 2d", "last snapshot", "daily snapshot", "oldest daily snapshot". Empty when removed. */
  readonly reasons: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Durations

const UNIT_FIELDS = { y: "years", m: "months", d: "days", h: "hours" } as const;
type Unit = keyof typeof UNIT_FIELDS;

/**
 * Parses restic's duration format: one or more `<digits><unit>` with unit y (years), m (months),
 * d (days) or h (hours), in any order, e.g. "1y2m3d4h", "2d", "36h". Surrounding whitespace is
 * ignored. Stricter than restic on purpose: the empty string, negative numbers, a repeated unit and
 * non-ASCII digits are errors (restic silently accepts or even panics on them).
 */
export function parseDuration(text: string): DurationSpec {
  const input = text.trim();
  const bad = (why: string): Error =>
    new Error(`invalid duration ${JSON.stringify(text)}: ${why} (expected e.g. "2d", "36h" or "1y2m3d4h"; units y, m, d, h)`);
  if (input === "") throw bad("it is empty");
  const fields: Record<string, number> = { years: 0, months: 0, days: 0, hours: 0 };
  const seen = new Set<string>();
  let i = 0;
  while (i < input.length) {
    const start = i;
    while (i < input.length && input.charCodeAt(i) >= 0x30 && input.charCodeAt(i) <= 0x39) i++;
    if (i === start) {
      const ch = input[i] ?? "";
      throw bad(ch === "-" ? "negative numbers are not allowed" : `expected a number at ${JSON.stringify(input.slice(i))}`);
    }
    const digits = input.slice(start, i);
    const unit = input[i];
    if (unit === undefined) throw bad(`no unit after the number ${digits}`);
    if (!Object.hasOwn(UNIT_FIELDS, unit)) throw bad(`unknown unit ${JSON.stringify(unit)} after the number ${digits}`);
    if (seen.has(unit)) throw bad(`the unit "${unit}" appears twice`);
    seen.add(unit);
    const value = Number(digits);
    if (!Number.isSafeInteger(value)) throw bad(`the number ${digits} is too large`);
    fields[UNIT_FIELDS[unit as Unit]] = value;
    i++;
  }
  return { years: fields["years"]!, months: fields["months"]!, days: fields["days"]!, hours: fields["hours"]! };
}

/** restic's Duration.String ("1y2m3d4h", zero fields omitted); the zero duration formats as "0h". */
export function formatDuration(d: DurationSpec): string {
  let s = "";
  if (d.years !== 0) s += `${d.years}y`;
  if (d.months !== 0) s += `${d.months}m`;
  if (d.days !== 0) s += `${d.days}d`;
  if (d.hours !== 0) s += `${d.hours}h`;
  return s === "" ? "0h" : s;
}

function isZeroDuration(d: DurationSpec): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}

// ---------------------------------------------------------------------------------------------
// Policy

const COUNT_KINDS = ["last", "hourly", "daily", "weekly", "monthly", "yearly"] as const;
type CountKind = (typeof COUNT_KINDS)[number];

/** restic's ExpirePolicy.Empty: no tag entries, every count 0 and no (non-zero) within. */
export function isEmptyPolicy(p: RetentionPolicy): boolean {
  if (p.tags !== undefined && p.tags.length > 0) return false;
  if (p.within !== undefined && !isZeroDuration(p.within)) return false;
  return COUNT_KINDS.every((kind) => (p[kind] ?? 0) === 0);
}

function validatePolicy(p: RetentionPolicy): void {
  for (const kind of COUNT_KINDS) {
    const n = p[kind];
    if (n !== undefined && !(Number.isSafeInteger(n) && n >= -1)) {
      throw new Error(`retention policy: keep-${kind} must be a whole number, or -1 for unlimited; got ${n}`);
    }
  }
  if (p.within !== undefined) {
    for (const field of ["years", "months", "days", "hours"] as const) {
      const v = p.within[field];
      if (!(Number.isSafeInteger(v) && v >= 0)) throw new Error(`retention policy: within.${field} must be a whole number ≥ 0; got ${v}`);
    }
  }
}

/** restic's splitTagList: split at commas, trim whitespace around each tag (empty tags stay). */
function splitTagList(entry: string): string[] {
  return entry.split(",").map((t) => t.trim());
}

/** restic's Snapshot.HasTags: all tags present; an empty tag matches a snapshot with no tags at all. */
function hasTags(snapshot: Snapshot, list: readonly string[]): boolean {
  for (const tag of list) {
    if (tag === "" && snapshot.tags.length === 0) return true;
    if (!snapshot.tags.includes(tag)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Calendar fields in a time zone (Intl; handles DST and historical offsets)

interface WallTime {
  readonly year: number;
  readonly month: number; // 1..12
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-US-u-ca-gregory-nu-latn", {
        timeZone,
        hourCycle: "h23",
        era: "short",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch (cause) {
      throw new Error(`unknown time zone ${JSON.stringify(timeZone)} (expected an IANA name such as "Europe/Berlin")`, { cause });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

function wallTime(ms: number, timeZone: string): WallTime {
  const fields: Record<string, number> = {};
  let bc = false;
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    if (part.type === "era") bc = part.value.startsWith("B");
    else if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  const year = fields["year"]!;
  return {
    year: bc ? 1 - year : year,
    month: fields["month"]!,
    day: fields["day"]!,
    hour: fields["hour"]!,
    minute: fields["minute"]!,
    second: fields["second"]!,
  };
}

/** Date.UTC without its 0..99 → 1900s quirk; out-of-range months and days carry over as in Go's time.Date. */
function utcMs(year: number, month1: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month1 - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

/** The zone's UTC offset (ms) at an instant. */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallTime(ms, timeZone);
  const wholeSecond = Math.floor(ms / 1000) * 1000;
  return utcMs(w.year, w.month, w.day, w.hour, w.minute, w.second, 0) - wholeSecond;
}

/**
 * Go's t.AddDate(years, months, days) for a time in a zone: add to the wall-clock fields, let
 * overflow carry (Mar 31 − 1 month = Feb 31 = Mar 3), then map the wall time back to an instant the
 * way Go's time.Date does (offset looked up at the wall time read as UTC, corrected once).
 */
function addDate(ms: number, years: number, months: number, days: number, timeZone: string): number {
  const w = wallTime(ms, timeZone);
  const subSecond = ms - Math.floor(ms / 1000) * 1000;
  const wall = utcMs(w.year + years, w.month + months, w.day + days, w.hour, w.minute, w.second, subSecond);
  const offset = offsetAt(wall, timeZone);
  const utc = wall - offset;
  const corrected = offsetAt(utc, timeZone);
  return corrected === offset ? utc : wall - corrected;
}

/** Go's Time.ISOWeek as restic's bucket: ISO year × 100 + ISO week. */
function isoYearWeek(year: number, month: number, day: number): number {
  const date = utcMs(year, month, day, 0, 0, 0, 0);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(date + (3 - weekday) * 86_400_000);
  const isoYear = thursday.getUTCFullYear();
  const jan1 = utcMs(isoYear, 1, 1, 0, 0, 0, 0);
  const week = Math.floor((thursday.getTime() - jan1) / 86_400_000 / 7) + 1;
  return isoYear * 100 + week;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

function bucketKey(kind: Exclude<CountKind, "last">, w: WallTime): string {
  switch (kind) {
    case "hourly":
      return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}`;
    case "daily":
      return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
    case "weekly":
      return String(isoYearWeek(w.year, w.month, w.day));
    case "monthly":
      return `${pad(w.year, 4)}-${pad(w.month)}`;
    case "yearly":
      return pad(w.year, 4);
  }
}

const REASON: Readonly<Record<CountKind, string>> = {
  last: "last snapshot",
  hourly: "hourly snapshot",
  daily: "daily snapshot",
  weekly: "weekly snapshot",
  monthly: "monthly snapshot",
  yearly: "yearly snapshot",
};

// ---------------------------------------------------------------------------------------------
// applyRetention

/** Newest first; equal times: higher snapshot number first. */
function newestFirst(a: Snapshot, b: Snapshot): number {
  return b.timeMs - a.timeMs || b.number - a.number;
}

/**
 * Decides, for every snapshot, whether the policy keeps it. Returns one decision per input
 * snapshot, ordered newest first. An empty policy keeps everything (reason "policy is empty");
 * callers are expected to refuse to run one. Throws Error on an invalid policy or time zone.
 */
export function applyRetention(
  snapshots: readonly Snapshot[],
  policy: RetentionPolicy,
  options: { readonly nowMs: number; readonly timeZone?: string },
): RetentionDecision[] {
  validatePolicy(policy);
  if (!Number.isFinite(options.nowMs)) throw new Error(`applyRetention: nowMs must be a finite number; got ${options.nowMs}`);
  const timeZone = options.timeZone ?? new Intl.DateTimeFormat().resolvedOptions().timeZone;
  formatterFor(timeZone); // validates the zone even when no snapshot needs it

  const sorted = [...snapshots].sort(newestFirst);
  const reasons: string[][] = sorted.map((s) => (s.pinned ? ["pinned"] : []));

  if (isEmptyPolicy(policy)) {
    return sorted.map((snapshot, i) => ({ snapshot, keep: true, reasons: [...reasons[i]!, "policy is empty"] }));
  }

  // Not counted: tags, then within (restic's order), for pinned and unpinned snapshots alike.
  const tagLists = (policy.tags ?? []).map(splitTagList);
  const within = policy.within !== undefined && !isZeroDuration(policy.within) ? policy.within : null;
  let withinAfter = Number.NEGATIVE_INFINITY; // restic's zero "latest" when every snapshot is in the future
  if (within !== null) {
    let latest: number | null = null;
    for (const s of sorted) {
      if (s.timeMs < options.nowMs && (latest === null || s.timeMs > latest)) latest = s.timeMs;
    }
    if (latest !== null) {
      withinAfter = addDate(latest, -within.years, -within.months, -within.days, timeZone) - within.hours * 3_600_000;
    }
  }
  const withinReason = within === null ? "" : `within ${formatDuration(within)}`;
  sorted.forEach((s, i) => {
    const r = reasons[i]!;
    for (const list of tagLists) if (hasTags(s, list)) r.push(`has tags [${list.join(", ")}]`);
    if (within !== null && s.timeMs > withinAfter) r.push(withinReason);
  });

  // Counted buckets over the unpinned snapshots only ("nr" is the position in that list, as in restic).
  const counted = sorted.flatMap((s, i) => (s.pinned ? [] : [i]));
  const buckets = COUNT_KINDS.map((kind) => ({ kind, count: policy[kind] ?? 0, last: null as string | null }));
  const needsCalendar = buckets.some((b) => b.kind !== "last" && b.count !== 0);
  counted.forEach((i, nr) => {
    const wall = needsCalendar ? wallTime(sorted[i]!.timeMs, timeZone) : null;
    const oldest = nr === counted.length - 1;
    for (const b of buckets) {
      if (!(b.count > 0 || b.count === -1)) continue;
      const key = b.kind === "last" ? `#${nr}` : bucketKey(b.kind, wall!);
      if (key !== b.last || oldest) {
        reasons[i]!.push(key === b.last ? `oldest ${REASON[b.kind]}` : REASON[b.kind]);
        b.last = key;
        if (b.count > 0) b.count--;
      }
    }
  });

  return sorted.map((snapshot, i) => ({ snapshot, keep: reasons[i]!.length > 0, reasons: reasons[i]! }));
}
