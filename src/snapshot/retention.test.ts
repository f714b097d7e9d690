// Goal: applyRetention decides exactly what restic's `forget` policy (snapshot_policy.go, ≥ 0.17) would, in a given IANA zone across DST changes, plus suede's pins; parseDuration accepts restic's format and nothing else. Method: hand-derived keep-sets (local-time labels with offsets) over generated hourly series with gaps in Europe/Berlin and America/New_York, and fast-check properties (seed from SUEDE_FC_SEED, always logged) against simple oracles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import fc from "fast-check";
import type { Snapshot } from "../core/types.ts";
import {
  type DurationSpec,
  type RetentionDecision,
  type RetentionPolicy,
  applyRetention,
  formatDuration,
  isEmptyPolicy,
  parseDuration,
} from "./retention.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;
const FC = { seed: FC_SEED, numRuns: 200 } as const;

const BERLIN = "Europe/Berlin";
const NEW_YORK = "America/New_York";
const HOUR = 3_600_000;
const FAR_FUTURE = Date.parse("2030-01-01T00:00:00Z");

// ---------------------------------------------------------------------------------------------
// Fixtures

function snapshot(number: number, timeMs: number, extra: { tags?: readonly string[]; pinned?: boolean } = {}): Snapshot {
  return {
    number,
    timeMs,
    host: "host",
    user: "user",
    paths: ["/data"],
    tags: extra.tags ?? [],
    pinned: extra.pinned ?? false,
    parent: number > 1 ? number - 1 : null,
    root: [],
    stats: { files: 0, dirs: 0, sizeBytes: 0, filesNew: 0, filesChanged: 0, filesUnchanged: 0, bytesRead: 0, bytesAdded: 0, durationMs: 0, skipped: 0 },
  };
}

/** Snapshots every hour from startIso (count instants), skipping those inside any [from, to] (UTC ISO, inclusive); numbered 1… by time. */
function hourly(startIso: string, count: number, gaps: readonly (readonly [string, string])[] = []): Snapshot[] {
  const start = Date.parse(startIso);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = start + i * HOUR;
    if (!gaps.some(([from, to]) => t >= Date.parse(from) && t <= Date.parse(to))) times.push(t);
  }
  return times.map((t, i) => snapshot(i + 1, t));
}

/** "2026-03-29 03:30+02:00": local wall time with its UTC offset (unambiguous across DST; Date.parse reads it back). */
function label(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("sv-SE", {
    timeZone,
    timeZoneName: "longOffset",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(ms);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? "";
  const offset = get("timeZoneName").replace("GMT", "").replace("\u2212", "-") || "+00:00"; // sv-SE writes U+2212 MINUS SIGN
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}${offset}`;
}

const instantOf = (l: string): number => Date.parse(l.replace(" ", "T"));

/** Labels of the data's snapshots whose instants lie in [fromLabel, toLabel]. */
function span(data: readonly Snapshot[], timeZone: string, fromLabel: string, toLabel: string): string[] {
  const from = instantOf(fromLabel);
  const to = instantOf(toLabel);
  return data.filter((s) => s.timeMs >= from && s.timeMs <= to).map((s) => label(s.timeMs, timeZone));
}

function keptLabels(decisions: readonly RetentionDecision[], timeZone: string): string[] {
  return decisions.filter((d) => d.keep).map((d) => label(d.snapshot.timeMs, timeZone));
}

/** Compares kept snapshots with expected labels (newest first); each expected label must name a snapshot in data. */
function assertKeeps(data: readonly Snapshot[], policy: RetentionPolicy, timeZone: string, expected: readonly string[], nowMs = FAR_FUTURE): RetentionDecision[] {
  const times = new Set(data.map((s) => s.timeMs));
  for (const l of expected) assert.ok(times.has(instantOf(l)), `expected label ${l} names no snapshot of the data set`);
  const decisions = applyRetention(data, policy, { nowMs, timeZone });
  const want = [...expected].sort((a, b) => instantOf(b) - instantOf(a)).map((l) => label(instantOf(l), timeZone));
  assert.deepEqual(keptLabels(decisions, timeZone), want);
  return decisions;
}

function reasonsAt(decisions: readonly RetentionDecision[], l: string): readonly string[] {
  const d = decisions.find((x) => x.snapshot.timeMs === instantOf(l));
  assert.ok(d !== undefined, `no decision for ${l}`);
  return d.reasons;
}

/**
 * Berlin, spring: hourly at :30 UTC from 2026-03-24 00:30Z for 240 hours (last: 2026-04-03 01:30+02:00),
 * without local day 2026-03-27 and without 2026-03-31 08:30..13:30 local. CET→CEST on 2026-03-29 at
 * 02:00 (local 02:xx does not exist). ISO week 13 = Mar 23..29, week 14 = Mar 30..Apr 5. 210 snapshots.
 */
const SPRING = hourly("2026-03-24T00:30:00Z", 240, [
  ["2026-03-26T23:30:00Z", "2026-03-27T22:30:00Z"],
  ["2026-03-31T06:30:00Z", "2026-03-31T11:30:00Z"],
]);

/**
 * Berlin, autumn: hourly at :30 UTC from 2026-10-20 00:30Z for 240 hours (last: 2026-10-30 00:30+01:00),
 * without 2026-10-28 00:30..11:30 local. CEST→CET on 2026-10-25 at 03:00 (local 02:30 happens twice). 228 snapshots.
 */
const AUTUMN = hourly("2026-10-20T00:30:00Z", 240, [["2026-10-27T23:30:00Z", "2026-10-28T10:30:00Z"]]);

/**
 * New York, autumn: hourly at :30 UTC from 2026-10-27 04:30Z (00:30 EDT) for 240 hours (last: 2026-11-05
 * 22:30-05:00), without 2026-10-30 08:30..23:30 local. EDT→EST on 2026-11-01 at 02:00 (local 01:30
 * happens twice). ISO week 44 = Oct 26..Nov 1, week 45 = Nov 2..8. 224 snapshots.
 */
const NY_AUTUMN = hourly("2026-10-27T04:30:00Z", 240, [["2026-10-30T12:30:00Z", "2026-10-31T03:30:00Z"]]);

/** New York, New Year: daily at 12:00 local from 2025-12-20 to 2026-01-10 (22 snapshots). 2025-12-29..2026-01-04 is ISO week 2026-W01. */
const NY_NEW_YEAR = Array.from({ length: 22 }, (_, i) => snapshot(i + 1, Date.parse("2025-12-20T17:00:00Z") + i * 24 * HOUR));

test("hourly fixtures have the sizes and DST shapes the expectations assume", () => {
  assert.equal(SPRING.length, 210);
  assert.equal(AUTUMN.length, 228);
  assert.equal(NY_AUTUMN.length, 224);
  assert.equal(label(SPRING.at(-1)!.timeMs, BERLIN), "2026-04-03 01:30+02:00");
  assert.equal(label(AUTUMN.at(-1)!.timeMs, BERLIN), "2026-10-30 00:30+01:00");
  assert.equal(label(NY_AUTUMN.at(-1)!.timeMs, NEW_YORK), "2026-11-05 22:30-05:00");
  assert.equal(label(NY_NEW_YEAR[0]!.timeMs, NEW_YORK), "2025-12-20 12:00-05:00");
  assert.equal(label(NY_NEW_YEAR.at(-1)!.timeMs, NEW_YORK), "2026-01-10 12:00-05:00");
  assert.deepEqual(span(SPRING, BERLIN, "2026-03-29 00:00+01:00", "2026-03-29 04:00+02:00"), [
    "2026-03-29 00:30+01:00",
    "2026-03-29 01:30+01:00",
    "2026-03-29 03:30+02:00",
  ]);
  assert.deepEqual(span(AUTUMN, BERLIN, "2026-10-25 02:00+02:00", "2026-10-25 03:00+01:00"), ["2026-10-25 02:30+02:00", "2026-10-25 02:30+01:00"]);
});

// ---------------------------------------------------------------------------------------------
// Hand-derived tables

test("applyRetention keep-last 3 keeps the three newest", () => {
  const d = assertKeeps(SPRING, { last: 3 }, BERLIN, ["2026-04-03 01:30+02:00", "2026-04-03 00:30+02:00", "2026-04-02 23:30+02:00"]);
  assert.deepEqual(reasonsAt(d, "2026-04-02 23:30+02:00"), ["last snapshot"]);
});

test("applyRetention keep-daily 7 keeps the newest snapshot of each of the 7 newest local days, skipping the empty day", () => {
  assertKeeps(SPRING, { daily: 7 }, BERLIN, [
    "2026-04-03 01:30+02:00",
    "2026-04-02 23:30+02:00",
    "2026-04-01 23:30+02:00",
    "2026-03-31 23:30+02:00",
    "2026-03-30 23:30+02:00",
    "2026-03-29 23:30+02:00",
    "2026-03-28 23:30+01:00",
  ]);
});

test("applyRetention keep-daily beyond the history also keeps the oldest snapshot (restic ≥ 0.17)", () => {
  const d = assertKeeps(SPRING, { daily: 20 }, BERLIN, [
    "2026-04-03 01:30+02:00",
    "2026-04-02 23:30+02:00",
    "2026-04-01 23:30+02:00",
    "2026-03-31 23:30+02:00",
    "2026-03-30 23:30+02:00",
    "2026-03-29 23:30+02:00",
    "2026-03-28 23:30+01:00",
    "2026-03-26 23:30+01:00",
    "2026-03-25 23:30+01:00",
    "2026-03-24 23:30+01:00",
    "2026-03-24 01:30+01:00",
  ]);
  assert.deepEqual(reasonsAt(d, "2026-03-24 01:30+01:00"), ["oldest daily snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-03-24 23:30+01:00"), ["daily snapshot"]);
});

test("applyRetention keep-hourly 24 keep-daily 3 unions the 24 newest hours with 3 daily picks", () => {
  const d = assertKeeps(SPRING, { hourly: 24, daily: 3 }, BERLIN, [
    ...span(SPRING, BERLIN, "2026-04-02 02:30+02:00", "2026-04-03 01:30+02:00"),
    "2026-04-01 23:30+02:00",
  ]);
  assert.equal(d.filter((x) => x.keep).length, 25);
  assert.deepEqual(reasonsAt(d, "2026-04-03 01:30+02:00"), ["hourly snapshot", "daily snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-04-02 23:30+02:00"), ["hourly snapshot", "daily snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-04-02 22:30+02:00"), ["hourly snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-04-01 23:30+02:00"), ["daily snapshot"]);
});

test("applyRetention keep-weekly 2 keep-monthly 2 uses ISO weeks and local months", () => {
  const d = assertKeeps(SPRING, { weekly: 2, monthly: 2 }, BERLIN, [
    "2026-04-03 01:30+02:00", // week 14, April
    "2026-03-31 23:30+02:00", // March
    "2026-03-29 23:30+02:00", // week 13 (Sunday)
  ]);
  assert.deepEqual(reasonsAt(d, "2026-04-03 01:30+02:00"), ["weekly snapshot", "monthly snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-03-31 23:30+02:00"), ["monthly snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-03-29 23:30+02:00"), ["weekly snapshot"]);
});

test("applyRetention bucket keys follow the given time zone, not UTC", () => {
  // In UTC the week-13 Sunday ends at 2026-03-29 23:30Z (= 2026-03-30 01:30 in Berlin, already week 14).
  assertKeeps(SPRING, { weekly: 2, monthly: 2 }, "UTC", ["2026-04-02 23:30+00:00", "2026-03-31 23:30+00:00", "2026-03-29 23:30+00:00"]);
  // New York: the newest is 2026-04-02 19:30 EDT; the newest March snapshot is 2026-03-31 23:30 EDT (2026-04-01 03:30Z).
  assertKeeps(SPRING, { monthly: 2 }, NEW_YORK, ["2026-04-02 19:30-04:00", "2026-03-31 23:30-04:00"]);
});

test("applyRetention keep-weekly with counts left keeps the oldest of an already kept week", () => {
  const d = assertKeeps(SPRING, { weekly: 5 }, BERLIN, ["2026-04-03 01:30+02:00", "2026-03-29 23:30+02:00", "2026-03-24 01:30+01:00"]);
  assert.deepEqual(reasonsAt(d, "2026-03-24 01:30+01:00"), ["oldest weekly snapshot"]);
});

test("applyRetention keep-within 2d measures from the newest snapshot", () => {
  const d = assertKeeps(SPRING, { within: { years: 0, months: 0, days: 2, hours: 0 } }, BERLIN, span(SPRING, BERLIN, "2026-04-01 02:30+02:00", "2026-04-03 01:30+02:00"));
  assert.equal(d.filter((x) => x.keep).length, 48);
  assert.deepEqual(reasonsAt(d, "2026-04-01 02:30+02:00"), ["within 2d"]);
});

test("applyRetention keep-within uses calendar days across the spring DST change and ignores future snapshots as reference", () => {
  // now = 2026-03-30 12:00+02:00: the latest non-future snapshot is 11:30+02:00; 2 calendar days earlier is
  // 2026-03-28 11:30+01:00 (47 real hours). Everything strictly after it is kept, future snapshots included.
  const nowMs = instantOf("2026-03-30 12:00+02:00");
  const expected = span(SPRING, BERLIN, "2026-03-28 12:30+01:00", "2026-04-03 01:30+02:00");
  assert.equal(expected.length, 127);
  assertKeeps(SPRING, { within: parseDuration("2d") }, BERLIN, expected, nowMs);
  assertKeeps(SPRING, { within: parseDuration("1d23h") }, BERLIN, expected, nowMs);
  // 48 absolute hours reach one snapshot further back.
  assertKeeps(SPRING, { within: parseDuration("48h") }, BERLIN, ["2026-03-28 11:30+01:00", ...expected], nowMs);
});

test("applyRetention keep-within 1d across the autumn DST change spans 25 real hours", () => {
  const nowMs = instantOf("2026-10-25 13:00+01:00"); // latest non-future: 12:30+01:00
  assertKeeps(AUTUMN, { within: parseDuration("1d") }, BERLIN, span(AUTUMN, BERLIN, "2026-10-24 13:30+02:00", "2026-10-30 00:30+01:00"), nowMs);
  assertKeeps(AUTUMN, { within: parseDuration("24h") }, BERLIN, span(AUTUMN, BERLIN, "2026-10-24 14:30+02:00", "2026-10-30 00:30+01:00"), nowMs);
});

test("applyRetention keep-within 3d in New York across the fall-back keeps 73 real hours back", () => {
  const nowMs = instantOf("2026-11-02 07:00-05:00"); // latest non-future: 06:30-05:00; 3 days earlier: 2026-10-30 06:30-04:00
  assertKeeps(NY_AUTUMN, { within: parseDuration("3d") }, NEW_YORK, span(NY_AUTUMN, NEW_YORK, "2026-10-30 07:30-04:00", "2026-11-05 22:30-05:00"), nowMs);
  // 72 real hours end at 07:30-04:00 (kept only strictly after), and 08:30..23:30 that day is a gap.
  assertKeeps(NY_AUTUMN, { within: parseDuration("72h") }, NEW_YORK, span(NY_AUTUMN, NEW_YORK, "2026-10-31 00:30-04:00", "2026-11-05 22:30-05:00"), nowMs);
});

test("applyRetention keep-within resolves a cut in a DST gap or overlap like Go's time.Date", () => {
  // latest 2026-03-31 02:30+02:00 − 2d = wall 2026-03-29 02:30, which does not exist in Berlin. Go looks the
  // offset up at the wall time read as UTC (+02:00), finds the result (00:30Z) outside that offset's
  // period, looks up again (+01:00) and lands on 01:30Z = 03:30+02:00. Kept: strictly after it.
  const springNow = instantOf("2026-03-31 03:00+02:00");
  assertKeeps(SPRING, { within: parseDuration("2d") }, BERLIN, span(SPRING, BERLIN, "2026-03-29 04:30+02:00", "2026-04-03 01:30+02:00"), springNow);
  // latest 2026-10-27 02:30+01:00 − 2d = wall 2026-10-25 02:30, which happens twice; Go picks the later (+01:00).
  const autumnNow = instantOf("2026-10-27 03:00+01:00");
  assertKeeps(AUTUMN, { within: parseDuration("2d") }, BERLIN, span(AUTUMN, BERLIN, "2026-10-25 03:30+01:00", "2026-10-30 00:30+01:00"), autumnNow);
});

test("applyRetention keep-within keeps everything when every snapshot is in the future (restic's zero latest)", () => {
  const d = applyRetention(SPRING, { within: parseDuration("1h") }, { nowMs: SPRING[0]!.timeMs, timeZone: BERLIN });
  assert.ok(d.every((x) => x.keep && x.reasons.length === 1 && x.reasons[0] === "within 1h"));
});

test("applyRetention keep-yearly 1 keeps only the newest; keep-yearly 3 adds the oldest", () => {
  assertKeeps(SPRING, { yearly: 1 }, BERLIN, ["2026-04-03 01:30+02:00"]);
  const d = assertKeeps(SPRING, { yearly: 3 }, BERLIN, ["2026-04-03 01:30+02:00", "2026-03-24 01:30+01:00"]);
  assert.deepEqual(reasonsAt(d, "2026-03-24 01:30+01:00"), ["oldest yearly snapshot"]);
});

test("applyRetention combined last/daily/weekly/monthly/yearly policy unions the buckets with per-snapshot reasons", () => {
  const d = assertKeeps(SPRING, { last: 2, daily: 3, weekly: 2, monthly: 3, yearly: 1 }, BERLIN, [
    "2026-04-03 01:30+02:00",
    "2026-04-03 00:30+02:00",
    "2026-04-02 23:30+02:00",
    "2026-04-01 23:30+02:00",
    "2026-03-31 23:30+02:00",
    "2026-03-29 23:30+02:00",
    "2026-03-24 01:30+01:00",
  ]);
  assert.deepEqual(reasonsAt(d, "2026-04-03 01:30+02:00"), ["last snapshot", "daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-04-03 00:30+02:00"), ["last snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-03-24 01:30+01:00"), ["oldest monthly snapshot"]);
});

test("applyRetention combined within and counts report every matching reason", () => {
  const d = assertKeeps(SPRING, { within: parseDuration("3h"), daily: 2 }, BERLIN, [
    "2026-04-03 01:30+02:00",
    "2026-04-03 00:30+02:00",
    "2026-04-02 23:30+02:00",
  ]);
  assert.deepEqual(reasonsAt(d, "2026-04-03 01:30+02:00"), ["within 3h", "daily snapshot"]);
  assert.deepEqual(reasonsAt(d, "2026-04-02 23:30+02:00"), ["within 3h", "daily snapshot"]);
});

test("applyRetention keep-hourly counts the repeated autumn hour once (Berlin)", () => {
  const around = AUTUMN.filter((s) => s.timeMs >= instantOf("2026-10-24 23:30+02:00") && s.timeMs <= instantOf("2026-10-25 04:30+01:00"));
  assert.equal(around.length, 7);
  assertKeeps(around, { hourly: 5 }, BERLIN, [
    "2026-10-25 04:30+01:00",
    "2026-10-25 03:30+01:00",
    "2026-10-25 02:30+01:00",
    "2026-10-25 01:30+02:00",
    "2026-10-25 00:30+02:00",
  ]);
  // With two counts to spare, only the earlier 02:30 (same hour key) goes.
  assertKeeps(around, { hourly: 7 }, BERLIN, span(around, BERLIN, "2026-10-24 00:00+02:00", "2026-10-26 00:00+01:00").filter((l) => l !== "2026-10-25 02:30+02:00"));
  // In UTC every hour is distinct.
  assertKeeps(around, { hourly: 5 }, "UTC", ["2026-10-25 03:30+00:00", "2026-10-25 02:30+00:00", "2026-10-25 01:30+00:00", "2026-10-25 00:30+00:00", "2026-10-24 23:30+00:00"]);
});

test("applyRetention keep-hourly -1 keeps every hour bucket once across the whole autumn series", () => {
  const d = applyRetention(AUTUMN, { hourly: -1 }, { nowMs: FAR_FUTURE, timeZone: BERLIN });
  assert.deepEqual(
    d.filter((x) => !x.keep).map((x) => label(x.snapshot.timeMs, BERLIN)),
    ["2026-10-25 02:30+02:00"],
  );
  const ny = applyRetention(NY_AUTUMN, { hourly: -1 }, { nowMs: FAR_FUTURE, timeZone: NEW_YORK });
  assert.deepEqual(
    ny.filter((x) => !x.keep).map((x) => label(x.snapshot.timeMs, NEW_YORK)),
    ["2026-11-01 01:30-04:00"],
  );
});

test("applyRetention keep-daily 7 across the Berlin autumn change (a 25-hour day)", () => {
  assertKeeps(AUTUMN, { daily: 7 }, BERLIN, [
    "2026-10-30 00:30+01:00",
    "2026-10-29 23:30+01:00",
    "2026-10-28 23:30+01:00",
    "2026-10-27 23:30+01:00",
    "2026-10-26 23:30+01:00",
    "2026-10-25 23:30+01:00",
    "2026-10-24 23:30+02:00",
  ]);
});

test("applyRetention New York daily, weekly and monthly buckets across the fall-back and a month end", () => {
  assertKeeps(NY_AUTUMN, { daily: 3 }, NEW_YORK, ["2026-11-05 22:30-05:00", "2026-11-04 23:30-05:00", "2026-11-03 23:30-05:00"]);
  assertKeeps(NY_AUTUMN, { weekly: 2 }, NEW_YORK, ["2026-11-05 22:30-05:00", "2026-11-01 23:30-05:00"]);
  assertKeeps(NY_AUTUMN, { monthly: 2 }, NEW_YORK, ["2026-11-05 22:30-05:00", "2026-10-31 23:30-04:00"]);
  // In UTC, October ends at 2026-10-31 23:30Z = 19:30 EDT.
  assertKeeps(NY_AUTUMN, { monthly: 2 }, "UTC", ["2026-11-06 03:30+00:00", "2026-10-31 23:30+00:00"]);
  assertKeeps(NY_AUTUMN, { within: parseDuration("3d") }, NEW_YORK, span(NY_AUTUMN, NEW_YORK, "2026-11-02 23:30-05:00", "2026-11-05 22:30-05:00"));
});

test("applyRetention yearly, weekly and monthly across New Year use the ISO week-year", () => {
  assertKeeps(NY_NEW_YEAR, { yearly: 2 }, NEW_YORK, ["2026-01-10 12:00-05:00", "2025-12-31 12:00-05:00"]);
  const y = assertKeeps(NY_NEW_YEAR, { yearly: 5 }, NEW_YORK, ["2026-01-10 12:00-05:00", "2025-12-31 12:00-05:00", "2025-12-20 12:00-05:00"]);
  assert.deepEqual(reasonsAt(y, "2025-12-20 12:00-05:00"), ["oldest yearly snapshot"]);
  // Week 2026-W02 (Jan 5..11), 2026-W01 (Dec 29..Jan 4), 2025-W52 (Dec 22..28).
  assertKeeps(NY_NEW_YEAR, { weekly: 3 }, NEW_YORK, ["2026-01-10 12:00-05:00", "2026-01-04 12:00-05:00", "2025-12-28 12:00-05:00"]);
  assertKeeps(NY_NEW_YEAR, { monthly: -1 }, NEW_YORK, ["2026-01-10 12:00-05:00", "2025-12-31 12:00-05:00", "2025-12-20 12:00-05:00"]);
});

test("applyRetention keep-last -1 keeps every snapshot", () => {
  const d = applyRetention(SPRING, { last: -1 }, { nowMs: FAR_FUTURE, timeZone: BERLIN });
  assert.ok(d.every((x) => x.keep && x.reasons.length === 1 && x.reasons[0] === "last snapshot"));
});

test("applyRetention tag entries keep snapshots having all tags of any entry", () => {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const data = [
    snapshot(1, t0 + 1 * HOUR, { tags: ["a", "b"] }),
    snapshot(2, t0 + 2 * HOUR, { tags: ["a"] }),
    snapshot(3, t0 + 3 * HOUR, { tags: ["c", "x"] }),
    snapshot(4, t0 + 4 * HOUR, { tags: [] }),
    snapshot(5, t0 + 5 * HOUR, { tags: ["b"] }),
    snapshot(6, t0 + 6 * HOUR, { tags: ["b", "a", "c"] }),
  ];
  const d = applyRetention(data, { tags: [" a , b", "c"] }, { nowMs: FAR_FUTURE, timeZone: "UTC" });
  assert.deepEqual(
    d.map((x) => [x.snapshot.number, x.reasons]),
    [
      [6, ["has tags [a, b]", "has tags [c]"]],
      [5, []],
      [4, []],
      [3, ["has tags [c]"]],
      [2, []],
      [1, ["has tags [a, b]"]],
    ],
  );
  // restic: an empty tag matches snapshots without tags.
  const untagged = applyRetention(data, { tags: [""] }, { nowMs: FAR_FUTURE, timeZone: "UTC" });
  assert.deepEqual(untagged.filter((x) => x.keep).map((x) => x.snapshot.number), [4]);
});

test("applyRetention pinned snapshots are always kept and use no bucket slot", () => {
  const data = SPRING.map((s) => {
    const l = label(s.timeMs, BERLIN);
    return l === "2026-04-03 01:30+02:00" || l === "2026-03-25 12:30+01:00" || l === "2026-04-02 23:30+02:00" ? { ...s, pinned: true } : s;
  });
  const d = assertKeeps(data, { last: 3 }, BERLIN, [
    "2026-04-03 01:30+02:00",
    "2026-04-03 00:30+02:00",
    "2026-04-02 23:30+02:00",
    "2026-04-02 22:30+02:00",
    "2026-04-02 21:30+02:00",
    "2026-03-25 12:30+01:00",
  ]);
  assert.deepEqual(reasonsAt(d, "2026-04-03 01:30+02:00"), ["pinned"]);
  assert.deepEqual(reasonsAt(d, "2026-04-02 21:30+02:00"), ["last snapshot"]);
  // Daily buckets run over unpinned snapshots: 2026-04-03's bucket goes to 00:30, 2026-04-02's to 22:30.
  assertKeeps(data, { daily: 2 }, BERLIN, ["2026-04-03 01:30+02:00", "2026-04-03 00:30+02:00", "2026-04-02 23:30+02:00", "2026-04-02 22:30+02:00", "2026-03-25 12:30+01:00"]);
  // Pinned snapshots still collect uncounted reasons.
  const w = applyRetention(data, { within: parseDuration("1h") }, { nowMs: FAR_FUTURE, timeZone: BERLIN });
  assert.deepEqual(reasonsAt(w, "2026-04-03 01:30+02:00"), ["pinned", "within 1h"]);
});

test("applyRetention empty policy keeps everything", () => {
  const data = [snapshot(1, 1000), snapshot(2, 2000, { pinned: true })];
  assert.deepEqual(
    applyRetention(data, {}, { nowMs: FAR_FUTURE, timeZone: "UTC" }).map((x) => [x.snapshot.number, x.keep, x.reasons]),
    [
      [2, true, ["pinned", "policy is empty"]],
      [1, true, ["policy is empty"]],
    ],
  );
  assert.deepEqual(applyRetention([], { last: 1 }, { nowMs: 0, timeZone: "UTC" }), []);
});

test("applyRetention equal times order by snapshot number, higher first", () => {
  const data = [snapshot(7, 5000), snapshot(9, 5000), snapshot(8, 5000)];
  const d = applyRetention(data, { last: 1 }, { nowMs: FAR_FUTURE, timeZone: "UTC" });
  assert.deepEqual(d.map((x) => [x.snapshot.number, x.keep]), [[9, true], [8, false], [7, false]]);
});

test("applyRetention rejects invalid counts, durations and time zones", () => {
  const data = [snapshot(1, 1000)];
  const opts = { nowMs: FAR_FUTURE, timeZone: "UTC" };
  assert.throws(() => applyRetention(data, { last: -2 }, opts), /keep-last must be a whole number, or -1/);
  assert.throws(() => applyRetention(data, { daily: 1.5 }, opts), /keep-daily/);
  assert.throws(() => applyRetention(data, { within: { years: 0, months: 0, days: -1, hours: 0 } }, opts), /within\.days/);
  assert.throws(() => applyRetention(data, { last: 1 }, { nowMs: FAR_FUTURE, timeZone: "Mars/Olympus" }), /unknown time zone "Mars\/Olympus"/);
  assert.throws(() => applyRetention(data, { last: 1 }, { nowMs: Number.NaN, timeZone: "UTC" }), /nowMs/);
});

test("isEmptyPolicy is true only without tags, counts and a non-zero within", () => {
  assert.equal(isEmptyPolicy({}), true);
  assert.equal(isEmptyPolicy({ last: 0, daily: 0, tags: [], within: { years: 0, months: 0, days: 0, hours: 0 } }), true);
  assert.equal(isEmptyPolicy({ last: -1 }), false);
  assert.equal(isEmptyPolicy({ yearly: 1 }), false);
  assert.equal(isEmptyPolicy({ tags: [""] }), false);
  assert.equal(isEmptyPolicy({ within: { years: 0, months: 0, days: 0, hours: 1 } }), false);
});

test("parseDuration reads restic's format", () => {
  assert.deepEqual(parseDuration("1y2m3d4h"), { years: 1, months: 2, days: 3, hours: 4 });
  assert.deepEqual(parseDuration("2d"), { years: 0, months: 0, days: 2, hours: 0 });
  assert.deepEqual(parseDuration(" 4h1y "), { years: 1, months: 0, days: 0, hours: 4 });
  assert.deepEqual(parseDuration("0d"), { years: 0, months: 0, days: 0, hours: 0 });
  assert.deepEqual(parseDuration("007m"), { years: 0, months: 7, days: 0, hours: 0 });
});

test("parseDuration rejects bad input with a clear message", () => {
  assert.throws(() => parseDuration(""), /invalid duration "": it is empty/);
  assert.throws(() => parseDuration("5"), /no unit after the number 5/);
  assert.throws(() => parseDuration("5w"), /unknown unit "w" after the number 5/);
  assert.throws(() => parseDuration("d"), /expected a number at "d"/);
  assert.throws(() => parseDuration("-1d"), /negative numbers are not allowed/);
  assert.throws(() => parseDuration("1d2d"), /the unit "d" appears twice/);
  assert.throws(() => parseDuration("1d 2h"), /expected a number at " 2h"/);
  assert.throws(() => parseDuration("99999999999999999999h"), /too large/);
  assert.throws(() => parseDuration("١d"), /expected a number/); // Arabic-Indic digit
});

test("formatDuration writes restic's Duration.String", () => {
  assert.equal(formatDuration({ years: 1, months: 0, days: 3, hours: 0 }), "1y3d");
  assert.equal(formatDuration({ years: 0, months: 0, days: 0, hours: 0 }), "0h");
});

// ---------------------------------------------------------------------------------------------
// Properties

const ZONES = ["UTC", BERLIN, NEW_YORK, "Australia/Lord_Howe", "Asia/Kolkata"] as const;
const T_MIN = Date.parse("2024-01-01T00:00:00Z");
const T_MAX = Date.parse("2027-01-01T00:00:00Z");

/** Snapshots with random (possibly equal) times and unique numbers, in random order. */
const snapshotsArb = (pinnedToo: boolean) =>
  fc
    .array(
      fc.record({
        t: fc.oneof(fc.integer({ min: T_MIN, max: T_MAX }), fc.integer({ min: 0, max: 500 }).map((h) => T_MIN + h * 1_800_000)),
        pinned: pinnedToo ? fc.boolean() : fc.constant(false),
        tags: fc.subarray(["a", "b", "c"]),
      }),
      { maxLength: 60 },
    )
    .chain((rows) => fc.shuffledSubarray(rows.map((r, i) => snapshot(i + 1, r.t, { pinned: r.pinned, tags: r.tags })), { minLength: rows.length }));

const countArb = fc.oneof(fc.constant(0), fc.constant(-1), fc.integer({ min: 1, max: 12 }));
const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record(
  {
    last: countArb,
    hourly: countArb,
    daily: countArb,
    weekly: countArb,
    monthly: countArb,
    yearly: countArb,
    within: fc.record({ years: fc.nat(2), months: fc.nat(14), days: fc.nat(40), hours: fc.nat(50) }),
    tags: fc.array(fc.constantFrom("a", "b", "a,b", "b, c", ""), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const countsOnlyArb: fc.Arbitrary<RetentionPolicy> = fc.record(
  { last: countArb, hourly: countArb, daily: countArb, weekly: countArb, monthly: countArb, yearly: countArb },
  { requiredKeys: [] },
);

const newestFirst = (a: Snapshot, b: Snapshot): number => b.timeMs - a.timeMs || b.number - a.number;
const keptNumbers = (d: readonly RetentionDecision[]): number[] => d.filter((x) => x.keep).map((x) => x.snapshot.number).sort((a, b) => a - b);

test("applyRetention property: keep-last n keeps exactly the min(n, count) newest", () => {
  fc.assert(
    fc.property(snapshotsArb(false), fc.integer({ min: 1, max: 70 }), fc.constantFrom(...ZONES), (data, n, timeZone) => {
      const d = applyRetention(data, { last: n }, { nowMs: T_MAX, timeZone });
      const want = [...data].sort(newestFirst).slice(0, n).map((s) => s.number).sort((a, b) => a - b);
      assert.deepEqual(keptNumbers(d), want);
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

test("applyRetention property: the newest snapshot is kept whenever some count is 1 or more (or -1)", () => {
  fc.assert(
    fc.property(snapshotsArb(true), policyArb, fc.constantFrom(...ZONES), (data, policy, timeZone) => {
      fc.pre(data.length > 0 && ["last", "hourly", "daily", "weekly", "monthly", "yearly"].some((k) => (policy[k as "last"] ?? 0) !== 0));
      const d = applyRetention(data, policy, { nowMs: T_MAX, timeZone });
      assert.equal(d[0]!.snapshot, [...data].sort(newestFirst)[0]);
      assert.equal(d[0]!.keep, true);
      const newestUnpinned = d.find((x) => !x.snapshot.pinned);
      if (newestUnpinned !== undefined) assert.equal(newestUnpinned.keep, true);
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

test("applyRetention property: decisions cover every input exactly once, newest first, keep iff reasons", () => {
  fc.assert(
    fc.property(snapshotsArb(true), policyArb, fc.constantFrom(...ZONES), fc.integer({ min: T_MIN, max: T_MAX }), (data, policy, timeZone, nowMs) => {
      const d = applyRetention(data, policy, { nowMs, timeZone });
      assert.equal(d.length, data.length);
      assert.deepEqual(new Set(d.map((x) => x.snapshot)), new Set(data));
      assert.deepEqual(d.map((x) => x.snapshot), [...data].sort(newestFirst));
      for (const x of d) {
        assert.equal(x.keep, x.reasons.length > 0);
        if (x.snapshot.pinned) assert.equal(x.reasons[0], "pinned");
      }
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

test("applyRetention property: input order does not matter", () => {
  fc.assert(
    fc.property(snapshotsArb(true), policyArb, fc.constantFrom(...ZONES), (data, policy, timeZone) => {
      const a = applyRetention(data, policy, { nowMs: T_MAX, timeZone });
      const b = applyRetention([...data].reverse(), policy, { nowMs: T_MAX, timeZone });
      assert.deepEqual(b, a);
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

test("applyRetention property: raising one count never drops a kept snapshot", () => {
  const kinds = ["last", "hourly", "daily", "weekly", "monthly", "yearly"] as const;
  fc.assert(
    fc.property(snapshotsArb(true), countsOnlyArb, fc.constantFrom(...kinds), fc.integer({ min: 1, max: 5 }), fc.constantFrom(...ZONES), (data, policy, kind, extra, timeZone) => {
      const before = policy[kind] ?? 0;
      fc.pre(before !== -1 && !isEmptyPolicy(policy));
      const raised = { ...policy, [kind]: before + extra };
      const a = keptNumbers(applyRetention(data, policy, { nowMs: T_MAX, timeZone }));
      const b = new Set(keptNumbers(applyRetention(data, raised, { nowMs: T_MAX, timeZone })));
      for (const n of a) assert.ok(b.has(n), `snapshot ${n} dropped when keep-${kind} went from ${before} to ${before + extra}`);
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

test("applyRetention property: pinned snapshots do not change what happens to the others under count policies", () => {
  fc.assert(
    fc.property(snapshotsArb(true), countsOnlyArb, fc.constantFrom(...ZONES), (data, policy, timeZone) => {
      fc.pre(!isEmptyPolicy(policy));
      const all = applyRetention(data, policy, { nowMs: T_MAX, timeZone }).filter((x) => !x.snapshot.pinned);
      const alone = applyRetention(data.filter((s) => !s.pinned), policy, { nowMs: T_MAX, timeZone });
      assert.deepEqual(all, alone);
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

test("applyRetention property: keep-daily -1 in UTC keeps each day's newest plus the oldest", () => {
  fc.assert(
    fc.property(snapshotsArb(false), (data) => {
      fc.pre(data.length > 0);
      const sorted = [...data].sort(newestFirst);
      const want = new Set<number>();
      let lastDay = "";
      for (const s of sorted) {
        const day = new Date(s.timeMs).toISOString().slice(0, 10);
        if (day !== lastDay) want.add(s.number);
        lastDay = day;
      }
      want.add(sorted.at(-1)!.number);
      assert.deepEqual(keptNumbers(applyRetention(data, { daily: -1 }, { nowMs: T_MAX, timeZone: "UTC" })), [...want].sort((a, b) => a - b));
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

test("applyRetention property: keep-within of hours only is an absolute-time cut from the newest non-future snapshot", () => {
  fc.assert(
    fc.property(snapshotsArb(true), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: T_MIN, max: T_MAX }), fc.constantFrom(...ZONES), (data, hours, nowMs, timeZone) => {
      const past = data.filter((s) => s.timeMs < nowMs).map((s) => s.timeMs);
      const cut = past.length === 0 ? Number.NEGATIVE_INFINITY : Math.max(...past) - hours * HOUR;
      const want = data.filter((s) => s.pinned || s.timeMs > cut).map((s) => s.number).sort((a, b) => a - b);
      assert.deepEqual(keptNumbers(applyRetention(data, { within: { years: 0, months: 0, days: 0, hours } }, { nowMs, timeZone })), want);
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

const durationArb: fc.Arbitrary<DurationSpec> = fc.record({
  years: fc.nat(200),
  months: fc.nat(1000),
  days: fc.nat(100_000),
  hours: fc.nat(1_000_000),
});

test("parseDuration property: round trips formatDuration, in any unit order", () => {
  fc.assert(
    fc.property(durationArb, fc.constantFrom("ymdh", "hdmy", "dhym", "mydh"), (d, order) => {
      assert.deepEqual(parseDuration(formatDuration(d)), { ...d });
      const text = [...order].map((u) => `${d[({ y: "years", m: "months", d: "days", h: "hours" } as const)[u as "y"]]}${u}`).join("");
      assert.deepEqual(parseDuration(text), { ...d });
    }),
    FC,
  );
  console.log(SEED_NOTE);
});

test("parseDuration property: accepts exactly the grammar (digits+unit)+ with distinct units, rejects the rest", () => {
  const grammar = /^(?:[0-9]{1,15}[ymdh])+$/;
  const accepts = (s: string): boolean => {
    const t = s.trim();
    if (!grammar.test(t)) return false;
    const units = t.replace(/[0-9]/g, "");
    return new Set(units).size === units.length;
  };
  const noisy = fc.string({ unit: fc.constantFrom(..."0123456789ymdhwsY- ,.+") , maxLength: 12 });
  fc.assert(
    fc.property(fc.oneof(noisy, fc.string({ maxLength: 8 }), fc.string({ unit: "grapheme", maxLength: 6 })), (s) => {
      let parsed: DurationSpec | null = null;
      try {
        parsed = parseDuration(s);
      } catch (error) {
        assert.ok(error instanceof Error && error.message.startsWith("invalid duration "), String(error));
      }
      assert.equal(parsed !== null, accepts(s), `input ${JSON.stringify(s)}`);
    }),
    { ...FC, numRuns: 2000 },
  );
  console.log(SEED_NOTE);
});
