/**
 * The statement log: one line per statement (time, session, duration, outcome) in
 * `<data-dir>/statements.log`, like PostgreSQL's `log_min_duration_statement = 0`. The two
 * profiles write the same lines differently (../shared/DESIGN.md, "Two paths"):
 *
 * - exo: lines go into an in-memory ring (a bounded array) and a background drain writes
 *   everything gathered in one write every `drainMs`; when the ring is full, lines are dropped
 *   and counted, never waited for (diagnostics must not slow queries down).
 * - conventional: every line is its own synchronous write (a runtime op and a syscall) before
 *   the statement's answer goes out.
 *
 * Invariants:
 * 1. Lines are written in the order statements finished.
 * 2. The file stays under `rotateBytes` (plus one drain): past it, it is renamed to
 *    `statements.log.1` (replacing the older one) and a new file starts.
 * 3. A failing write never fails a statement: it is counted and the log goes on.
 */
import * as fs from "node:fs";
import { crossings } from "../hw/crossings.ts";

/** Options for {@link openStatementLog}. */
export interface StatementLogOptions {
  /** The file; `${path}.1` is its rotated predecessor. */
  path: string;
  mode: "ring" | "direct";
  /** Ring capacity in lines (exo). */
  ringLines?: number;
  /** How often the ring is drained, in milliseconds (exo). */
  drainMs?: number;
  /** Size at which the file is rotated. */
  rotateBytes?: number;
  /** Runs a drain (the kernel spawns it as a background-class task); default: at once. */
  runDrain?: (drain: () => void) => void;
}

/** Figures for tests and views. */
export interface StatementLogStats {
  lines: number;
  writes: number;
  dropped: number;
  failures: number;
}

/** Where sessions report finished statements. */
export class StatementLog {
  readonly #options: Required<StatementLogOptions>;
  #fd: number | undefined;
  #sizeBytes = 0;
  #ring: string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #encoder = new TextEncoder();
  readonly stats: StatementLogStats = { lines: 0, writes: 0, dropped: 0, failures: 0 };

  /** `ring` (exo) or `direct` (conventional). */
  get mode(): "ring" | "direct" {
    return this.#options.mode;
  }

  constructor(options: StatementLogOptions) {
    this.#options = {
      ringLines: 16_384,
      drainMs: 200,
      rotateBytes: 64 * 1024 * 1024,
      runDrain: (drain) => drain(),
      ...options,
    };
    this.#open();
    if (options.mode === "ring") {
      this.#timer = setInterval(() => {
        if (this.#ring.length > 0) this.#options.runDrain(() => this.drain());
      }, this.#options.drainMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Records one finished statement. */
  record(pid: number, outcome: string, durationMs: number): void {
    const line = `${new Date().toISOString()} [${pid}] duration: ${
      durationMs.toFixed(3)
    } ms  ${outcome}\n`;
    if (this.#options.mode === "direct") {
      this.#write(line);
      return;
    }
    if (this.#ring.length >= this.#options.ringLines) {
      this.stats.dropped++;
      return;
    }
    this.#ring.push(line);
  }

  /** Writes every line the ring holds in one write (exo); the drain timer calls it. */
  drain(): void {
    if (this.#ring.length === 0) return;
    const text = this.#ring.join("");
    this.#ring = [];
    this.#write(text);
  }

  /** Drains and closes the file. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.drain();
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  #write(text: string): void {
    if (this.#fd === undefined) {
      this.stats.failures++;
      return;
    }
    const bytes = this.#encoder.encode(text);
    try {
      fs.writeSync(this.#fd, bytes);
      crossings.add("runtime_op", 1, bytes.length);
      crossings.add("syscall", 1);
      this.stats.writes++;
      this.stats.lines += countLines(text);
      this.#sizeBytes += bytes.length;
      if (this.#sizeBytes >= this.#options.rotateBytes) this.#rotate();
    } catch {
      this.stats.failures++;
    }
  }

  #open(): void {
    try {
      this.#fd = fs.openSync(this.#options.path, "a", 0o600);
      this.#sizeBytes = fs.fstatSync(this.#fd).size;
    } catch {
      this.#fd = undefined;
      this.stats.failures++;
    }
  }

  #rotate(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    try {
      fs.renameSync(this.#options.path, `${this.#options.path}.1`);
    } catch {
      this.stats.failures++;
    }
    this.#open();
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
