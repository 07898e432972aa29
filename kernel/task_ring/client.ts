/**
 * The app's side of a task ring, for code running in a Worker inside the appliance: name a
 * registered procedure, pass its parameters (PostgreSQL text format, null for NULL), get its
 * rows back — one submission entry and one completion per task, however many statements the
 * procedure runs.
 */
import { RingConsumer, RingProducer } from "../../io/ring/spsc_ring.ts";
import { type TaskRingShared, TaskStatus } from "./layout.ts";

/** The rows of a task's last statement, as text. */
export interface TaskResult {
  tag: string;
  columns: string[];
  rows: (string | null)[][];
}

/** A task that failed in the kernel, with its SQLSTATE. */
export class TaskRingError extends Error {
  override name = "TaskRingError";
  readonly sqlState: string;
  constructor(sqlState: string, message: string) {
    super(message);
    this.sqlState = sqlState;
  }
}

/** Submits tasks one at a time and waits for each completion. */
export class TaskRingClient {
  readonly #shared: TaskRingShared;
  readonly #submissions: RingProducer;
  readonly #completions: RingConsumer;
  readonly #arena: Uint8Array;
  readonly #procedureIds = new Map<string, number>();
  #nextTaskId = 0;

  constructor(shared: TaskRingShared) {
    this.#shared = shared;
    this.#submissions = new RingProducer(shared.submissions);
    this.#completions = new RingConsumer(shared.completions);
    this.#arena = new Uint8Array(shared.arena);
    shared.procedures.forEach((name, id) => this.#procedureIds.set(name, id));
  }

  /** Runs `procedure` and blocks this Worker (Atomics.wait) until it completes. */
  runSync(procedure: string, params: (string | null)[] = []): TaskResult {
    const taskId = this.#submit(procedure, params);
    while (this.#completions.peek(1) === 0) this.#completions.waitForEntries(10_000, 64);
    return this.#take(taskId);
  }

  /** Runs `procedure` without blocking this isolate's event loop. */
  async run(procedure: string, params: (string | null)[] = []): Promise<TaskResult> {
    const taskId = this.#submit(procedure, params);
    while (this.#completions.peek(1) === 0) await this.#completions.waitForEntriesAsync(10_000);
    return this.#take(taskId);
  }

  #submit(procedure: string, params: (string | null)[]): number {
    const procedureId = this.#procedureIds.get(procedure);
    if (procedureId === undefined) {
      throw new TaskRingError("42883", `task ring procedure "${procedure}" is not registered`);
    }
    const { slots, slotBytes } = this.#shared;
    const taskId = this.#nextTaskId;
    this.#nextTaskId = (taskId + 1) | 0;
    const slotStart = (taskId & (slots - 1)) * slotBytes;
    const request = new TextEncoder().encode(JSON.stringify(params));
    if (request.length > slotBytes >> 1) {
      throw new TaskRingError(
        "54000",
        `task parameters of ${request.length} bytes overrun the slot`,
      );
    }
    this.#arena.set(request, slotStart);
    if (this.#submissions.reserve(1) === 0) {
      throw new TaskRingError("53400", "task ring is full"); // one task at a time: cannot happen
    }
    const at = this.#submissions.slot(0);
    const words = this.#submissions.words;
    words[at] = taskId;
    words[at + 1] = procedureId;
    words[at + 2] = request.length;
    words[at + 3] = 0;
    this.#submissions.publish(1);
    return taskId;
  }

  #take(taskId: number): TaskResult {
    const ring = this.#completions;
    const at = ring.entry(0);
    const gotId = ring.words[at]!;
    const status = ring.words[at + 1]!;
    const resultBytes = ring.words[at + 2]!;
    ring.release(1);
    if (gotId !== taskId) {
      throw new Error(`Task ring completion for task ${gotId}, expected ${taskId}`);
    }
    const { slots, slotBytes } = this.#shared;
    const start = (taskId & (slots - 1)) * slotBytes + (slotBytes >> 1);
    const text = new TextDecoder().decode(this.#arena.slice(start, start + resultBytes));
    const result = JSON.parse(text);
    if (status !== TaskStatus.done) throw new TaskRingError(result.sqlState, result.message);
    return result as TaskResult;
  }
}
