/**
 * The kernel's log: leveled lines with a stage tag, to standard error. (The exo profile's
 * in-memory diagnostic ring drained in the background comes with the kernel issue.)
 */

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Where log lines go; tests pass an array sink. */
export type LogSink = (line: string) => void;

export class Logger {
  readonly #level: number;
  readonly #sink: LogSink;

  constructor(level: LogLevel, sink: LogSink = (line) => console.error(line)) {
    this.#level = rank[level];
    this.#sink = sink;
  }

  debug(message: string): void {
    this.#emit("debug", message);
  }
  info(message: string): void {
    this.#emit("info", message);
  }
  warn(message: string): void {
    this.#emit("warn", message);
  }
  error(message: string): void {
    this.#emit("error", message);
  }

  #emit(level: LogLevel, message: string): void {
    if (rank[level] < this.#level) return;
    this.#sink(`exodb ${level.padEnd(5)} ${message}`);
  }
}
