/**
 * Live SQL sessions and what each has cost, for exodb_stat_sessions: statements run and the
 * crossings made while they ran (hw/crossings.ts counters read before and after each
 * statement). One kernel thread interleaves sessions at their waits, so a statement that waits
 * (a lock, a log sync, a yield) is also charged what other sessions did meanwhile: per-session
 * figures are exact for one session at a time and an upper bound otherwise; the global
 * counters (exodb_stat_crossings) are always exact.
 */
import {
  type CrossingKind,
  crossingKinds,
  crossings,
  crossingSlotsCount,
} from "../hw/crossings.ts";

/** What exodb_stat_sessions shows of one session (an SqlSession provides it). */
export interface SessionStats {
  readonly backendPid: number;
  readonly user: string;
  readonly settings: Map<string, string>;
  /** ReadyForQuery status: idle, in a block, in a failed block. */
  readonly status: "I" | "T" | "E";
  /** A statement is running. */
  readonly active: boolean;
  /** Session start, microseconds since 2000-01-01 UTC. */
  readonly startedMicros: number;
  readonly statements: number;
  /** Crossings charged to the session: three slots per kind (count, bytes, copies). */
  readonly crossings: Float64Array;
}

const live = new Map<number, SessionStats>();
/** The counters when a statement ends (one statement ends at a time: no await in between). */
const after = new Float64Array(crossingSlotsCount);

/** Lists a session in exodb_stat_sessions until {@link unregisterSession}. */
export function registerSession(stats: SessionStats): void {
  live.set(stats.backendPid, stats);
}

export function unregisterSession(stats: SessionStats): void {
  if (live.get(stats.backendPid) === stats) live.delete(stats.backendPid);
}

/** Every live session, by pid. */
export function liveSessions(): SessionStats[] {
  return [...live.values()].sort((a, b) => a.backendPid - b.backendPid);
}

/** New, empty counters for a session. */
export function newSessionCrossings(): Float64Array {
  return new Float64Array(crossingSlotsCount);
}

/**
 * Charges to `target` the crossings made since `start` was filled (`crossings.copyInto(start)`
 * when the statement began; the session keeps one such array, as one statement runs at a time).
 */
export function chargeSince(target: Float64Array, start: Float64Array): void {
  crossings.copyInto(after);
  for (let i = 0; i < target.length; i++) target[i] = target[i]! + after[i]! - start[i]!;
}

/** Charges `count` crossings of `kind` moving `bytes` to `target` (what a session did itself). */
export function chargeDirect(
  target: Float64Array,
  kind: CrossingKind,
  count: number,
  bytes: number,
): void {
  const base = crossingKinds.indexOf(kind) * 3;
  target[base] = target[base]! + count;
  target[base + 1] = target[base + 1]! + bytes;
}
