/**
 * A textual progress bar on standard error: one line redrawn in place on a terminal, one line per
 * step otherwise (CI logs), so standard output stays free for the report path.
 */

const encoder = new TextEncoder();
const barWidth = 28;

/** Progress across every selected suite's steps. */
export class Progress {
  #total = 0;
  #done = 0;
  #suite = "";
  readonly #started = performance.now();
  readonly #terminal: boolean;
  readonly #write: (text: string) => void;

  /** `write` defaults to standard error; tests pass a collector. */
  constructor(write?: (text: string) => void, terminal?: boolean) {
    this.#write = write ?? ((text) => Deno.stderr.writeSync(encoder.encode(text)));
    this.#terminal = terminal ?? Deno.stderr.isTerminal();
  }

  /** Adds `steps` to the total (called once per suite before anything runs). */
  plan(steps: number): void {
    this.#total += steps;
  }

  /** Names the suite now running. */
  suite(name: string): void {
    this.#suite = name;
  }

  /** Marks one step done, naming what it was. */
  step(label: string): void {
    this.#done = Math.min(this.#total, this.#done + 1);
    this.#draw(label);
  }

  /** Shows what is running now without counting a step (long steps). */
  note(label: string): void {
    this.#draw(label);
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.#terminal) this.#write("\n");
  }

  /** The line as drawn, for tests. */
  line(label: string): string {
    const fraction = this.#total === 0 ? 1 : this.#done / this.#total;
    const filled = Math.round(fraction * barWidth);
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(0);
    return `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${this.#done}/${this.#total} ${
      (fraction * 100).toFixed(0).padStart(3)
    }% ${seconds}s ${this.#suite}: ${label}`;
  }

  #draw(label: string): void {
    const text = this.line(label);
    if (this.#terminal) {
      const columns = (() => {
        try {
          return Deno.consoleSize().columns;
        } catch {
          return 100;
        }
      })();
      this.#write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
    } else {
      this.#write(text + "\n");
    }
  }
}
