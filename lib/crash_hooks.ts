/**
 * Named crash points for crash tests. Production code calls `crashPoint(name)` at moments
 * where a crash is interesting (before a WAL write, between write and sync, mid-split, mid-
 * checkpoint). Unarmed it is one map lookup; armed (by a test harness, through
 * `armCrashPoint`), it calls the harness's `onHit` when the named point is reached for the Nth
 * time — typically a SIGKILL of the process itself.
 */

/** Crash point names used across the engine. */
export type CrashPointName = "wal-write" | "wal-sync" | "commit-ack" | "btree-split" | "checkpoint";

const armed = new Map<string, { remaining: number; onHit: () => void }>();

/** Marks a crash point; does nothing unless a harness armed it. */
export function crashPoint(name: CrashPointName): void {
  if (armed.size === 0) return;
  const entry = armed.get(name);
  if (entry === undefined) return;
  if (--entry.remaining === 0) entry.onHit();
}

/** Arms `name` to call `onHit` on its `nth` hit (test harnesses only). */
export function armCrashPoint(name: CrashPointName, nth: number, onHit: () => void): void {
  armed.set(name, { remaining: nth, onHit });
}
