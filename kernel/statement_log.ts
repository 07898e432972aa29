/**
 * The statement log: one line per statement (time, session, duration, outcome) in
 * `<data-dir>/statements.log`, like PostgreSQL's `log_min_duration_statement = 0`. The two
 * profiles write the same lines differently (../shared/DESIGN.md, "Two paths"):
 *
 * - exo: a statement's fields (end time, session, duration, outcome) go into an in-memory
 *   ring of typed slots, and a background drain formats and writes everything gathered in one
 *   write every `drainMs`; when the ring is full, lines are dropped and counted, never waited
 *   for (diagnostics must not slow queries down: not even by formatting the line).
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
  /** The exo ring: per slot end time (epoch ms), session pid and duration (ms), and the outcome. */
  readonly #ringNumbers: Float64Array;
  readonly #ringOutcomes: string[];
  #ringLength = 0;
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
    const slots = options.mode === "ring" ? this.#options.ringLines : 0;
    this.#ringNumbers = new Float64Array(slots * 3);
    this.#ringOutcomes = new Array<string>(slots);
    this.#open();
    if (options.mode === "ring") {
      this.#timer = setInterval(() => {
        if (this.#ringLength > 0) this.#options.runDrain(() => this.drain());
      }, this.#options.drainMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Records one finished statement. */
  record(pid: number, outcome: string, durationMs: number): void {
    if (this.#options.mode === "direct") {
      this.#write(formatLine(Date.now(), pid, durationMs, outcome));
      return;
    }
    const n = this.#ringLength;
    if (n >= this.#options.ringLines) {
      this.stats.dropped++;
      return;
    }
    this.#ringNumbers[n * 3] = Date.now();
    this.#ringNumbers[n * 3 + 1] = pid;
    this.#ringNumbers[n * 3 + 2] = durationMs;
    this.#ringOutcomes[n] = outcome;
    this.#ringLength = n + 1;
  }

  /** Formats and writes every line the ring holds in one write (exo); the drain timer calls it. */
  drain(): void {
    const count = this.#ringLength;
    if (count === 0) return;
    const numbers = this.#ringNumbers;
    const lines = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      lines[i] = formatLine(
        numbers[i * 3]!,
        numbers[i * 3 + 1]!,
        numbers[i * 3 + 2]!,
        this.#ringOutcomes[i]!,
      );
    }
    this.#ringOutcomes.fill("", 0, count);
    this.#ringLength = 0;
    this.#write(lines.join(""));
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

/** The ISO text (`YYYY-MM-DDTHH:MM:SS`) of the second last formatted: most lines share it. */
let formattedSecond = -1;
let formattedSecondText = "";

/** One line: ISO end time, [pid], duration in ms with three decimals, outcome. */
function formatLine(endEpochMs: number, pid: number, durationMs: number, outcome: string): string {
  // A Date and its ISO text per second, not per line (half the cost of a line, measured).
  const second = Math.floor(endEpochMs / 1000);
  if (second !== formattedSecond) {
    formattedSecond = second;
    formattedSecondText = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const ms = Math.floor(endEpochMs) - second * 1000;
  const msText = ms < 10 ? `00${ms}` : ms < 100 ? `0${ms}` : `${ms}`;
  return `${formattedSecondText}.${msText}Z [${pid}] duration: ${
    durationMs.toFixed(3)
  } ms  ${outcome}\n`;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
