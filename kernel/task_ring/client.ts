/**
 * The app's side of a task ring, for code running in a Worker inside the appliance: name a
 * registered procedure, pass its parameters (PostgreSQL text format, null for NULL), get its
 * rows back; or run a step program (program_builder.ts) with its parameters and get the values
 * it emitted — one submission entry and one completion per task, however many statements or
 * steps it runs.
 */
import { RingConsumer, RingProducer } from "../../io/ring/spsc_ring.ts";
import { TaskKind, type TaskRingShared, TaskStatus } from "./layout.ts";
import { decodeResult, encodeConstants, type ProgramValue } from "./program_format.ts";
import type { StepProgram } from "./program_builder.ts";

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
  /** The class of the error the kernel caught (e.g. "ExoError", "TypeError"). */
  readonly errorClass: string;
  constructor(sqlState: string, message: string, errorClass = "ExoError") {
    super(message);
    this.sqlState = sqlState;
    this.errorClass = errorClass;
  }
}

/** A completed task's raw outcome: status and a copy of its result bytes. */
export interface RawTaskOutcome {
  status: number;
  result: Uint8Array;
}

/** How a client waits for a completion. */
export interface TaskRingClientOptions {
  /**
   * How long to poll the completion ring before sleeping on it (Atomics.wait / waitAsync):
   * a task that completes within it costs the app no wake-up, and the kernel no futex wake.
   * Default {@link defaultSpinMs}; 0 sleeps at once (after a few checks).
   */
  spinMs?: number;
}

/** How long a client polls for its completion before it sleeps, by default. */
export const defaultSpinMs = 0.2;

/** Submits tasks one at a time and waits for each completion. */
export class TaskRingClient {
  readonly #spinMs: number;
  /** How long the last task took from submission to completion (0 before the first). */
  #lastTaskMs = 0;
  readonly #shared: TaskRingShared;
  readonly #submissions: RingProducer;
  readonly #completions: RingConsumer;
  readonly #arena: Uint8Array;
  readonly #procedureIds = new Map<string, number>();
  #nextTaskId = 0;

  constructor(shared: TaskRingShared, options: TaskRingClientOptions = {}) {
    this.#spinMs = options.spinMs ?? defaultSpinMs;
    this.#shared = shared;
    this.#submissions = new RingProducer(shared.submissions);
    this.#completions = new RingConsumer(shared.completions);
    this.#arena = new Uint8Array(shared.arena);
    shared.procedures.forEach((name, id) => this.#procedureIds.set(name, id));
  }

  /** Runs `procedure` and blocks this Worker (Atomics.wait) until it completes. */
  runSync(procedure: string, params: (string | null)[] = []): TaskResult {
    const taskId = this.#submitProcedure(procedure, params);
    this.#waitSync();
    return this.#procedureResult(this.#take(taskId));
  }

  /** Runs `procedure` without blocking this isolate's event loop. */
  async run(procedure: string, params: (string | null)[] = []): Promise<TaskResult> {
    const taskId = this.#submitProcedure(procedure, params);
    await this.#wait();
    return this.#procedureResult(this.#take(taskId));
  }

  /**
   * Runs a step program with `params` as one task (verified by the kernel, then run in one
   * transaction) and blocks this Worker until it completes; returns the values it emitted.
   */
  runProgramSync(program: StepProgram, params: readonly ProgramValue[] = []): ProgramValue[] {
    const taskId = this.#submitProgram(program, params);
    this.#waitSync();
    return this.#programResult(this.#take(taskId));
  }

  /** {@link runProgramSync} without blocking this isolate's event loop. */
  async runProgram(
    program: StepProgram,
    params: readonly ProgramValue[] = [],
  ): Promise<ProgramValue[]> {
    const taskId = this.#submitProgram(program, params);
    await this.#wait();
    return this.#programResult(this.#take(taskId));
  }

  /** Submits a request of `kind` and waits (without blocking) for its raw outcome. */
  async runRaw(kind: number, request: Uint8Array): Promise<RawTaskOutcome> {
    const taskId = this.#reserveSlot(request.length);
    this.#arena.set(request, this.#slotStart(taskId));
    this.#publish(taskId, kind, 0, request.length);
    await this.#wait();
    return this.#take(taskId);
  }

  /** {@link runRaw}, blocking this Worker (Atomics.wait) until the task completes. */
  runRawSync(kind: number, request: Uint8Array): RawTaskOutcome {
    const taskId = this.#reserveSlot(request.length);
    this.#arena.set(request, this.#slotStart(taskId));
    this.#publish(taskId, kind, 0, request.length);
    this.#waitSync();
    return this.#take(taskId);
  }

  #waitSync(): void {
    const startedMs = performance.now();
    if (!this.#spinFor(startedMs)) {
      while (this.#completions.peek(1) === 0) this.#completions.waitForEntries(10_000, 64);
    }
    this.#lastTaskMs = performance.now() - startedMs;
  }

  async #wait(): Promise<void> {
    const startedMs = performance.now();
    if (!this.#spinFor(startedMs)) {
      while (this.#completions.peek(1) === 0) {
        await this.#completions.waitForEntriesAsync(10_000);
      }
    }
    this.#lastTaskMs = performance.now() - startedMs;
  }

  /**
   * Polls the completion ring for up to the spin time; true once a completion is there. Most
   * tasks finish in microseconds, well before a sleeping thread would be woken. Adaptive: after
   * a task that outlasted the spin time (one waiting for a log sync, say) the next wait sleeps
   * at once, so slow tasks do not burn a core the I/O worker or the kernel could use.
   */
  #spinFor(startedMs: number): boolean {
    const ring = this.#completions;
    for (let i = 0; i < 64; i++) if (ring.peek(1) > 0) return true;
    if (this.#spinMs <= 0 || this.#lastTaskMs > this.#spinMs) return false;
    const until = startedMs + this.#spinMs;
    for (;;) {
      for (let i = 0; i < 256; i++) if (ring.peek(1) > 0) return true;
      if (performance.now() >= until) return false;
    }
  }

  #slotStart(taskId: number): number {
    return (taskId & (this.#shared.slots - 1)) * this.#shared.slotBytes;
  }

  /** Picks the next task id after checking that `requestBytes` fits a slot's request half. */
  #reserveSlot(requestBytes: number): number {
    if (requestBytes > this.#shared.slotBytes >> 1) {
      throw new TaskRingError("54000", `task request of ${requestBytes} bytes overruns the slot`);
    }
    const taskId = this.#nextTaskId;
    this.#nextTaskId = (taskId + 1) | 0;
    return taskId;
  }

  #publish(taskId: number, kind: number, procedureId: number, requestBytes: number): void {
    if (this.#submissions.reserve(1) === 0) {
      throw new TaskRingError("53400", "task ring is full"); // one task at a time: cannot happen
    }
    const at = this.#submissions.slot(0);
    const words = this.#submissions.words;
    words[at] = taskId;
    words[at + 1] = procedureId;
    words[at + 2] = requestBytes;
    words[at + 3] = kind;
    this.#submissions.publish(1);
  }

  #submitProcedure(procedure: string, params: (string | null)[]): number {
    const procedureId = this.#procedureIds.get(procedure);
    if (procedureId === undefined) {
      throw new TaskRingError("42883", `task ring procedure "${procedure}" is not registered`);
    }
    const request = new TextEncoder().encode(JSON.stringify(params));
    const taskId = this.#reserveSlot(request.length);
    this.#arena.set(request, this.#slotStart(taskId));
    this.#publish(taskId, TaskKind.procedure, procedureId, request.length);
    return taskId;
  }

  #submitProgram(program: StepProgram, params: readonly ProgramValue[]): number {
    const constants = encodeConstants(program.constants(params));
    const requestBytes = program.code.length + constants.length;
    const taskId = this.#reserveSlot(requestBytes);
    const start = this.#slotStart(taskId);
    this.#arena.set(program.code, start);
    this.#arena.set(constants, start + program.code.length);
    this.#publish(taskId, TaskKind.program, 0, requestBytes);
    return taskId;
  }

  #take(taskId: number): RawTaskOutcome {
    const ring = this.#completions;
    const at = ring.entry(0);
    const gotId = ring.words[at]!;
    const status = ring.words[at + 1]!;
    const resultBytes = ring.words[at + 2]!;
    ring.release(1);
    if (gotId !== taskId) {
      throw new Error(`Task ring completion for task ${gotId}, expected ${taskId}`);
    }
    const start = this.#slotStart(taskId) + (this.#shared.slotBytes >> 1);
    // One copy out of shared memory (TextDecoder does not read shared buffers).
    return { status, result: this.#arena.slice(start, start + resultBytes) };
  }

  #failure(outcome: RawTaskOutcome): TaskRingError {
    const { sqlState, message, errorClass } = JSON.parse(new TextDecoder().decode(outcome.result));
    return new TaskRingError(sqlState, message, errorClass);
  }

  #procedureResult(outcome: RawTaskOutcome): TaskResult {
    if (outcome.status !== TaskStatus.done) throw this.#failure(outcome);
    return JSON.parse(new TextDecoder().decode(outcome.result)) as TaskResult;
  }

  #programResult(outcome: RawTaskOutcome): ProgramValue[] {
    if (outcome.status !== TaskStatus.done) throw this.#failure(outcome);
    return decodeResult(outcome.result);
  }
}
