/**
 * The kernel's side of a task ring: takes submissions and runs each as one task of the
 * scheduler, in the app's class (interactive unless the ring says otherwise) — a procedure's statements in order on the ring's own SqlSession (the
 * rows of the last statement that returned rows, else the last statement's tag, are the
 * result), a step program (program_tasks.ts) in one transaction, or a Deno.Kv operation
 * (kv_task_server.ts) — and writes the result into the arena before posting the completion.
 *
 * Invariants:
 * 1. Tasks of one ring run one at a time, in submission order (one session, like a connection).
 * 2. A failing task completes with status failed and the SQLSTATE; the server keeps serving, and
 *    a failed statement inside an open transaction is rolled back before the next task.
 */
import { setImmediate } from "node:timers";
import { ExoError } from "../../lib/errors.ts";
import { RingConsumer, RingProducer } from "../../io/ring/spsc_ring.ts";
import { Binder } from "../../query/binder.ts";
import { formatValue, parseValue } from "../../query/pg_text.ts";
import type { Statement } from "../../query/sql_ast.ts";
import { parseSql } from "../../query/sql_parser.ts";
import { SqlSession, type StatementResult } from "../../query/sql_session.ts";
import { type SqlType, storable, t } from "../../query/sql_types.ts";
import type { SqlValue } from "../../dbengine/types.ts";
import type { Appliance } from "../boot.ts";
import type { TaskClass } from "../../lib/task_context.ts";
import { TaskKind, type TaskRingShared, TaskStatus } from "./layout.ts";
import { encodeResult } from "./program_format.ts";
import { ProgramTasks } from "./program_tasks.ts";
import type { KvTaskServer } from "./kv_task_server.ts";

/** One turn of the event loop (setImmediate runs after pending I/O callbacks). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A procedure: a name and the SQL of its statements (run in order, sharing $1…$n). */
export interface TaskProcedure {
  name: string;
  sql: string;
}

interface Prepared {
  statements: Statement[];
  /** Per statement, the inferred types of its parameters (bound once, at first use). */
  paramTypes: SqlType[][] | undefined;
}

/** Counters of one ring. */
export interface TaskRingServerStats {
  tasks: number;
  failed: number;
  statements: number;
  /** Tasks found by polling (no sleep, no wake-up), and sleeps on the submission ring. */
  polledTasks: number;
  sleeps: number;
}

/** What a ring serves besides its procedures. */
export interface TaskRingServerOptions {
  /** Serves Deno.Kv tasks (TaskKind.kv); without it they fail with 0A000. */
  kv?: KvTaskServer;
  /** The app's scheduler class: every task of the ring runs in it (default interactive). */
  taskClass?: TaskClass;
  /**
   * Polling after a task (io_uring's SQPOLL with its idle time): for this long after the last
   * task ended the kernel keeps looking at the submission ring instead of sleeping on it, so a
   * task arriving meanwhile costs no wake-up of either thread. 0 turns polling off (every wait
   * is a futex sleep). Default {@link defaultPollIdleMs}.
   */
  pollIdleMs?: number;
}

/** How long the kernel polls an app's ring after its last task, by default. */
export const defaultPollIdleMs = 0.2;
/**
 * The longest stretch the kernel spins on the ring before it lets the event loop run (sockets,
 * timers, other tasks): the bound polling puts on everyone else's latency.
 */
const pollSliceMs = 0.05;

/** Serves one app's task ring until stopped. */
export class TaskRingServer {
  readonly stats: TaskRingServerStats = {
    tasks: 0,
    failed: 0,
    statements: 0,
    polledTasks: 0,
    sleeps: 0,
  };
  readonly #appliance: Appliance;
  readonly #shared: TaskRingShared;
  readonly #submissions: RingConsumer;
  readonly #completions: RingProducer;
  readonly #arena: Uint8Array;
  readonly #session: SqlSession;
  readonly #procedures: Prepared[];
  /** Step-program tasks (verification cache, counters). */
  readonly programs: ProgramTasks;
  readonly #kv: KvTaskServer | undefined;
  readonly #taskClass: TaskClass;
  readonly #pollIdleMs: number;
  #stopped = false;
  #served: Promise<void> | undefined;

  constructor(
    appliance: Appliance,
    shared: TaskRingShared,
    procedures: TaskProcedure[],
    options: TaskRingServerOptions = {},
  ) {
    this.#appliance = appliance;
    this.programs = new ProgramTasks(() => appliance.engine);
    this.#kv = options.kv;
    this.#taskClass = options.taskClass ?? "interactive";
    this.#pollIdleMs = options.pollIdleMs ?? defaultPollIdleMs;
    this.#shared = shared;
    this.#submissions = new RingConsumer(shared.submissions);
    this.#completions = new RingProducer(shared.completions);
    this.#arena = new Uint8Array(shared.arena);
    this.#session = new SqlSession(() => appliance.engine);
    this.#procedures = procedures.map((procedure) => ({
      statements: parseSql(procedure.sql).map((parsed) => parsed.statement),
      paramTypes: undefined,
    }));
  }

  /** Starts the serving loop (idempotent); settles when stopped. */
  serve(): Promise<void> {
    this.#served ??= this.#loop();
    return this.#served;
  }

  /** Stops after the task in progress; the loop notices within 50 ms. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#served ?? Promise.resolve();
  }

  async #loop(): Promise<void> {
    const ring = this.#submissions;
    let lastTaskEndMs = -Infinity;
    while (!this.#stopped) {
      if (ring.peek(1) === 0) {
        if (performance.now() - lastTaskEndMs < this.#pollIdleMs) {
          if (this.#spin()) this.stats.polledTasks++;
          else await yieldToEventLoop(); // sockets, timers and other tasks run between spins
          continue;
        }
        this.stats.sleeps++;
        await ring.waitForEntriesAsync(50);
        continue;
      }
      const at = ring.entry(0);
      const taskId = ring.words[at]!;
      const procedureId = ring.words[at + 1]!;
      const requestBytes = ring.words[at + 2]!;
      const kind = ring.words[at + 3]!;
      ring.release(1);
      await this.#appliance.scheduler.spawn(
        this.#taskClass,
        "task ring",
        () => this.#runTask(taskId, kind, procedureId, requestBytes),
      );
      lastTaskEndMs = performance.now();
    }
  }

  /**
   * Spins on the submission ring for at most one poll slice; true when an entry arrived. Not
   * at all while other tasks wait for the thread: they go first (the spin is idle time).
   */
  #spin(): boolean {
    if (this.#appliance.scheduler.queued > 0) return false;
    const ring = this.#submissions;
    const until = performance.now() + pollSliceMs;
    for (;;) {
      for (let i = 0; i < 256; i++) if (ring.peek(1) > 0) return true;
      if (performance.now() >= until) return false;
    }
  }

  async #runTask(
    taskId: number,
    kind: number,
    procedureId: number,
    requestBytes: number,
  ): Promise<void> {
    const { slots, slotBytes } = this.#shared;
    const slotStart = (taskId & (slots - 1)) * slotBytes;
    const half = slotBytes >> 1;
    let status: number = TaskStatus.done;
    let payload: unknown;
    let encoded: Uint8Array | undefined;
    let rowCount = 0;
    try {
      if (requestBytes < 0 || requestBytes > half) {
        throw new ExoError("08P01", `task ring request of ${requestBytes} bytes overruns its slot`);
      }
      // One copy out of shared memory (TextDecoder does not read shared buffers).
      const request = this.#arena.slice(slotStart, slotStart + requestBytes);
      if (kind === TaskKind.program) {
        const values = await this.programs.run(request);
        rowCount = 1;
        encoded = encodeResult(values);
      } else if (kind === TaskKind.kv) {
        if (this.#kv === undefined) {
          throw new ExoError("0A000", "this task ring serves no Deno.Kv database");
        }
        encoded = await this.#kv.run(request);
      } else if (kind === TaskKind.procedure) {
        const procedure = this.#procedures[procedureId];
        if (procedure === undefined) {
          throw new ExoError("42883", `task ring procedure ${procedureId} does not exist`);
        }
        payload = await this.#procedureResult(procedure, request);
        rowCount = (payload as { rows: unknown[] }).rows.length;
      } else throw new ExoError("08P01", `task ring task kind ${kind} is unknown`);
    } catch (error) {
      status = TaskStatus.failed;
      rowCount = 0;
      encoded = undefined;
      payload = {
        sqlState: error instanceof ExoError ? error.sqlState : "XX000",
        message: error instanceof Error ? error.message : String(error),
        errorClass: error instanceof Error ? error.name : "Error",
      };
      if (this.#session.status !== "I") this.#session.abort();
    }
    encoded ??= new TextEncoder().encode(JSON.stringify(payload));
    if (encoded.length > half) {
      status = TaskStatus.failed;
      rowCount = 0;
      encoded = new TextEncoder().encode(JSON.stringify({
        sqlState: "54000",
        message: `task result of ${encoded.length} bytes does not fit its ${half}-byte slot`,
        errorClass: "ExoError",
      }));
    }
    this.#arena.set(encoded, slotStart + half);
    status === TaskStatus.done ? this.stats.tasks++ : this.stats.failed++;
    const out = this.#completions;
    const room = out.reserve(1);
    if (room === 0) throw new ExoError("XX000", "task ring completion ring is full"); // invariant 1
    const c = out.slot(0);
    out.words[c] = taskId;
    out.words[c + 1] = status;
    out.words[c + 2] = encoded.length;
    out.words[c + 3] = rowCount;
    out.publish(1);
  }

  /** Runs a procedure task; its result as `{tag, columns, rows}` with text values. */
  async #procedureResult(procedure: Prepared, request: Uint8Array): Promise<unknown> {
    const texts = request.length === 0 ? [] : JSON.parse(new TextDecoder().decode(request));
    if (!Array.isArray(texts)) {
      throw new ExoError("08P01", "task ring parameters must be an array");
    }
    const result = await this.#runProcedure(procedure, texts as (string | null)[]);
    const settings = this.#session.textSettings;
    const columns = result.columns ?? [];
    return {
      tag: result.tag,
      columns: columns.map((column) => column.name),
      rows: (result.rows ?? []).map((row) =>
        row.map((value, i) => formatValue(value, storable(columns[i]!.type), settings))
      ),
    };
  }

  async #runProcedure(procedure: Prepared, texts: (string | null)[]): Promise<StatementResult> {
    procedure.paramTypes ??= procedure.statements.map((statement) => this.#describe(statement));
    let last: StatementResult = { tag: "" };
    let withRows: StatementResult | undefined;
    for (let s = 0; s < procedure.statements.length; s++) {
      const types = procedure.paramTypes[s]!;
      const params: SqlValue[] = types.map((type, i) => {
        const text = texts[i];
        if (text === undefined) {
          throw new ExoError(
            "08P01",
            `task supplies ${texts.length} parameters, needs ${types.length}`,
          );
        }
        return text === null ? null : parseValue(text, storable(type), this.#session.textSettings);
      });
      last = await this.#session.execute(procedure.statements[s]!, params, types);
      if (last.rows !== undefined) withRows = last;
      this.stats.statements++;
    }
    return withRows ?? last;
  }

  /** Binds a statement once (no execution) to learn its parameter types. */
  #describe(statement: Statement): SqlType[] {
    const { storage, catalog } = this.#appliance.engine;
    const snapshot = storage.txns.snapshot();
    try {
      const binder = new Binder({
        catalog,
        txn: undefined,
        snapshot,
        paramTypes: [],
        settings: this.#session.textSettings,
      });
      if (statement.kind === "select") binder.select(statement);
      else if (
        statement.kind === "update" || statement.kind === "delete" || statement.kind === "insert"
      ) {
        this.#session.inferDmlParams(statement, binder);
      }
      const inferred = binder.ctx.paramTypes;
      return Array.from({ length: inferred.length }, (_, i) => {
        const type = inferred[i];
        return type === undefined || type.id === 0 ? t.text : type;
      });
    } finally {
      storage.txns.release(snapshot);
    }
  }
}
