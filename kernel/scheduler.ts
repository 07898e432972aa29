/**
 * The cooperative scheduler: one kernel thread runs tasks in three classes (interactive,
 * maintenance, background; lib/task_context.ts). Client statements are interactive tasks
 * (query/sql_session.ts runs them through the {@link TaskRunner} the kernel installs), VACUUM,
 * CHECKPOINT and CREATE INDEX on request are maintenance, periodic checkpoints, vacuum and the
 * scrub are background (kernel/maintenance.ts).
 *
 * Two modes. `fair` (the default) is Seastar's model (STYLE.md §6): each class has shares and a
 * virtual runtime that grows by CPU time × (1000 ÷ shares); the class with the lowest virtual
 * runtime runs next, ties going to the more urgent class. So when every class is busy, CPU
 * follows shares (interactive 1000 : maintenance 250 : background 100 by default), and a class
 * that was idle is raised to the floor when it wakes (less a small credit, `wakeCreditMs`: a
 * stream of short statements is "idle" for microseconds between them and must keep its
 * preference), so it cannot bank idle time and then monopolize the thread. `fifo` grants in arrival order, with no class preference (the baseline
 * the scheduler benchmark compares with).
 *
 * Invariants:
 * 1. At most one task holds the thread; it holds it from its grant until it yields, suspends
 *    (awaits I/O through `suspend`), ends, or leaves the thread idle: a task still holding when
 *    a later macrotask runs is awaiting something outside the thread (a log flush, a row lock,
 *    I/O) and is released then (counted as `detached`). Such a task, when it resumes, runs to
 *    its next yield point or its end and then queues like any other. Only a release charges CPU.
 * 2. fair: a queued task of class c waits at most `maxDelayMs[c]` plus one slice: a task waiting
 *    longer is picked ahead of virtual runtime (aging), so background work never starves.
 *    fifo: the task that queued first is granted first.
 * 3. Every queue is bounded (`queueLengthMax`); a full queue refuses new tasks with 53400.
 * 4. A task spawned while the thread is free and nothing waits starts at once (it arrived from
 *    the event loop already); every other grant happens from `defer` (a macrotask in
 *    production), so sockets and timers run between slices. Before granting a slice to a
 *    non-interactive class, fair mode lets the event loop poll sockets (`pollDefer`), so a
 *    client statement that arrived meanwhile is queued and preferred. The clock and both
 *    deferrals are injected, so tests are deterministic.
 */
import { setImmediate } from "node:timers";
import { ExoError } from "../lib/errors.ts";
import { pollMs } from "../lib/yield.ts";
import {
  type SchedulerClassStats,
  type TaskClass,
  taskClasses,
  type TaskContext,
  type TaskRunner,
} from "../lib/task_context.ts";

/** Where the scheduler reads the time (milliseconds, monotonic). */
export interface SchedulerClock {
  nowMs(): number;
}

/** How the next task is chosen: class shares with aging, or plain arrival order. */
export type SchedulerMode = "fair" | "fifo";

/** Scheduler modes, for the config schema. */
export const schedulerModes = ["fair", "fifo"] as const;

/** Options for {@link Scheduler}. */
export interface SchedulerOptions {
  /** fair (class shares, aging) or fifo (arrival order); fair by default. */
  mode?: SchedulerMode;
  /** The work an interactive task may do before `shouldYield()` says yield; 1 ms by default. */
  sliceMs?: number;
  /**
   * The slice of maintenance and background tasks; 0.5 ms by default. Shorter, because a client
   * statement that arrives during one waits for its end (nothing preempts it).
   */
  backgroundSliceMs?: number;
  /**
   * How much of its own CPU time a waking class may keep ahead of the busy ones (fair mode): a
   * class that was idle starts at the floor of the busy classes' virtual runtimes minus this
   * much. So the stream of short statements, idle for microseconds between them, keeps its
   * preference over a background task, while no class banks a long idle period. 5 ms by default.
   */
  wakeCreditMs?: number;
  /** Shares per class; more shares, more CPU when classes compete. */
  shares?: Partial<Record<TaskClass, number>>;
  /** Longest a queued task of each class waits before it jumps the virtual-runtime order. */
  maxDelayMs?: Partial<Record<TaskClass, number>>;
  /** Most queued tasks per class. */
  queueLengthMax?: number;
  clock?: SchedulerClock;
  /**
   * Runs `grant` later. Default {@link macrotaskDefer}: `setImmediate`, and at least every
   * `pollMs` an immediately completing async op so the event loop polls sockets (lib/yield.ts
   * has the measurements: `setTimeout(0)` chains are clamped to ~2–4 ms per hop, and
   * `setImmediate` alone lets socket reads wait tens of milliseconds behind busy work).
   */
  defer?: (grant: () => void) => void;
  /**
   * Runs `grant` after the event loop polled sockets (fair mode, before a non-interactive
   * slice). Default {@link pollingDefer}: an immediately completing async op (~12 µs).
   */
  pollDefer?: (grant: () => void) => void;
  /**
   * Runs `grant` after the event loop went idle and polled sockets (fair mode, before a
   * non-interactive slice while client statements ran in the last `interactiveRecentMs`).
   * Default `setTimeout(0)`: the only way measured to make Deno poll sockets promptly while
   * work is ready (an immediately completing op is polled first, sockets only every few
   * milliseconds), at the price of ~1–2 ms idle per background slice, so background work gets
   * at most about a fifth of the thread while clients are active, and all of it otherwise.
   */
  idleDefer?: (grant: () => void) => void;
  /** How long after a client statement the scheduler keeps using `idleDefer`; 20 ms by default. */
  interactiveRecentMs?: number;
  /**
   * Runs `check` in a later macrotask (invariant 1: a holder still holding then is waiting
   * outside the thread). Default `setImmediate`.
   */
  watch?: (check: () => void) => void;
  /** Called at every release with the slice just ended (profiling, stall logs). */
  onSlice?: (slice: SliceRecord) => void;
  /**
   * Called at every tick (each grant of the thread, before the task runs): the kernel drains
   * the I/O worker's completions here, so finished syncs settle before the next grant.
   */
  onTick?: () => void;
  /**
   * Called when the thread goes idle: a task released it and nothing is queued, or fair mode
   * holds a background slice back for the event loop. The kernel's turn is over until an event
   * arrives (the NIC submits what it corked and watches for completions).
   */
  onIdle?: () => void;
}

/** One ended slice, for {@link SchedulerOptions.onSlice}. */
export interface SliceRecord {
  taskClass: TaskClass;
  name: string;
  /** When it was granted (the scheduler's clock). */
  grantedAtMs: number;
  ranMs: number;
  /** Released because it was found waiting outside the thread (invariant 1). */
  detached: boolean;
}

/** Options for {@link Scheduler.spawn}. */
export interface SpawnOptions {
  /** Cancels the task: its next `yield()` rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Observable figures of one class (defined in lib/ so the SQL views can name them too). */
export type { SchedulerClassStats } from "../lib/task_context.ts";

interface Waiter {
  readonly task: ScheduledTask;
  readonly readyAtMs: number;
  /** Arrival order across every class (fifo mode). */
  readonly sequence: number;
  readonly grant: () => void;
}

class ClassQueue {
  /** Oldest first; `head` indexes the next to grant (shifted out in amortized O(1)). */
  waiters: Waiter[] = [];
  head = 0;
  readonly stats: SchedulerClassStats;
  constructor(shares: number) {
    this.stats = {
      shares,
      queued: 0,
      running: 0,
      cpuMs: 0,
      waitMs: 0,
      waitMsMax: 0,
      slices: 0,
      stalls: 0,
      detached: 0,
      completed: 0,
      failed: 0,
      vruntime: 0,
    };
  }
  get length(): number {
    return this.waiters.length - this.head;
  }
  peek(): Waiter | undefined {
    return this.waiters[this.head];
  }
  shift(): Waiter {
    const waiter = this.waiters[this.head++]!;
    if (this.head > 64 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
    return waiter;
  }
}

const defaultShares: Record<TaskClass, number> = {
  interactive: 1000,
  maintenance: 250,
  background: 100,
};
const defaultMaxDelayMs: Record<TaskClass, number> = {
  interactive: 20,
  maintenance: 50,
  background: 100,
};

const performanceClock: SchedulerClock = { nowMs: () => performance.now() };

let lastPollMs = performance.now();
const pollInput = new Uint8Array(1);

/** The production grant deferral (see {@link SchedulerOptions.defer}). */
export function macrotaskDefer(grant: () => void): void {
  const now = performance.now();
  if (now - lastPollMs >= pollMs) pollingDefer(grant);
  else setImmediate(grant);
}

/** Runs `grant` after an async op that completes at once: the event loop polls I/O first. */
export function pollingDefer(grant: () => void): void {
  lastPollMs = performance.now();
  crypto.subtle.digest("SHA-1", pollInput).then(grant);
}

/** One spawned task: its class, whether it holds the thread, and the context it yields through. */
class ScheduledTask implements TaskContext {
  readonly taskClass: TaskClass;
  readonly name: string;
  readonly signal: AbortSignal | undefined;
  readonly #scheduler: Scheduler;
  holding = false;

  constructor(
    scheduler: Scheduler,
    taskClass: TaskClass,
    name: string,
    signal: AbortSignal | undefined,
  ) {
    this.#scheduler = scheduler;
    this.taskClass = taskClass;
    this.name = name;
    this.signal = signal;
  }

  shouldYield(): boolean {
    // A task running without a grant (resumed after a detach) queues at its first yield point.
    return !this.holding || this.#scheduler.sliceUsed(this.taskClass);
  }

  yield(): Promise<void> {
    return this.#scheduler.yieldTask(this);
  }

  suspend<T>(work: Promise<T>): Promise<T> {
    return this.#scheduler.suspendTask(this, work);
  }
}

/** Runs tasks of three classes on the one kernel thread, cooperatively. */
export class Scheduler {
  /** The interactive slice (ms). */
  readonly sliceMs: number;
  readonly mode: SchedulerMode;
  readonly #sliceMs: Record<TaskClass, number>;
  readonly #wakeCreditMs: number;
  readonly #clock: SchedulerClock;
  readonly #defer: (grant: () => void) => void;
  readonly #pollDefer: (grant: () => void) => void;
  readonly #idleDefer: (grant: () => void) => void;
  readonly #interactiveRecentMs: number;
  #lastInteractiveMs = -Infinity;
  readonly #watch: (check: () => void) => void;
  readonly #onSlice: ((slice: SliceRecord) => void) | undefined;
  readonly #onTick: (() => void) | undefined;
  readonly #onIdle: (() => void) | undefined;
  readonly #queueLengthMax: number;
  readonly #maxDelayMs: Record<TaskClass, number>;
  readonly #queues: Record<TaskClass, ClassQueue>;
  #running: ScheduledTask | undefined;
  #grantedAtMs = 0;
  /** A dispatch is queued through `defer` or `pollDefer`. */
  #dispatchPending = false;
  /** A dispatch is queued through `idleDefer` (slow: an interactive arrival does not wait for it). */
  #idleDispatchPending = false;
  #watchPending = false;
  #queuedCount = 0;
  #sequence = 0;
  #idleWaiters: (() => void)[] = [];
  #live = 0;

  /** Spawns through this scheduler (what the kernel installs in lower layers). */
  readonly runner: TaskRunner = (taskClass, name, body) => this.spawn(taskClass, name, body);

  constructor(options: SchedulerOptions = {}) {
    this.mode = options.mode ?? "fair";
    this.sliceMs = options.sliceMs ?? 1;
    const backgroundSliceMs = options.backgroundSliceMs ?? 0.5;
    this.#sliceMs = {
      interactive: this.sliceMs,
      maintenance: backgroundSliceMs,
      background: backgroundSliceMs,
    };
    this.#wakeCreditMs = options.wakeCreditMs ?? 5;
    this.#clock = options.clock ?? performanceClock;
    this.#defer = options.defer ?? macrotaskDefer;
    this.#pollDefer = options.pollDefer ?? (options.defer ?? pollingDefer);
    this.#idleDefer = options.idleDefer ?? (options.defer ?? ((grant) => setTimeout(grant, 0)));
    this.#interactiveRecentMs = options.interactiveRecentMs ?? 20;
    this.#watch = options.watch ?? setImmediate;
    this.#onSlice = options.onSlice;
    this.#onTick = options.onTick;
    this.#onIdle = options.onIdle;
    this.#queueLengthMax = options.queueLengthMax ?? 1024;
    this.#maxDelayMs = { ...defaultMaxDelayMs, ...options.maxDelayMs };
    const shares = { ...defaultShares, ...options.shares };
    for (const c of taskClasses) {
      if (!(shares[c] > 0)) {
        throw new RangeError(`Shares of ${c} must be positive: got ${shares[c]}`);
      }
    }
    this.#queues = {
      interactive: new ClassQueue(shares.interactive),
      maintenance: new ClassQueue(shares.maintenance),
      background: new ClassQueue(shares.background),
    };
  }

  /**
   * Queues `body` in `taskClass`; it starts when granted the thread and receives the context it
   * yields through. Settles with the body's result.
   */
  spawn<T>(
    taskClass: TaskClass,
    name: string,
    body: (context: TaskContext) => Promise<T> | T,
    options: SpawnOptions = {},
  ): Promise<T> {
    const queue = this.#queues[taskClass];
    if (queue.length >= this.#queueLengthMax) {
      return Promise.reject(
        new ExoError(
          "53400",
          `The ${taskClass} queue is full: ${this.#queueLengthMax} tasks wait (task "${name}")`,
        ),
      );
    }
    const task = new ScheduledTask(this, taskClass, name, options.signal);
    this.#live++;
    if (this.#running === undefined && !this.#dispatchPending && this.#mayStartAtOnce(task)) {
      this.#grant(task, this.#clock.nowMs(), 0);
      return this.#run(task, body);
    }
    return new Promise<T>((resolve, reject) => {
      this.#enqueue(task, () => this.#run(task, body).then(resolve, reject), true);
    });
  }

  /** Runs a granted task's body; the task is finished (released, counted) before it settles. */
  async #run<T>(
    task: ScheduledTask,
    body: (context: TaskContext) => Promise<T> | T,
  ): Promise<T> {
    let value: T;
    try {
      value = await body(task);
    } catch (error) {
      this.#finish(task, false);
      throw error;
    }
    this.#finish(task, true);
    return value;
  }

  /** Figures per class (copies). */
  stats(): Record<TaskClass, SchedulerClassStats> {
    const out = {} as Record<TaskClass, SchedulerClassStats>;
    for (const c of taskClasses) {
      const queue = this.#queues[c];
      out[c] = { ...queue.stats, queued: queue.length };
    }
    return out;
  }

  /** Tasks waiting for the thread, all classes. */
  get queued(): number {
    return this.#queuedCount;
  }

  /** Resolves when no task is queued, running or suspended. */
  idle(): Promise<void> {
    if (this.#live === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** True once the current holder, of `taskClass`, has used its slice. */
  sliceUsed(taskClass: TaskClass): boolean {
    return this.#clock.nowMs() - this.#grantedAtMs >= this.#sliceMs[taskClass];
  }

  /** {@link TaskContext.yield} of `task`. */
  yieldTask(task: ScheduledTask): Promise<void> {
    this.#release(task);
    if (task.signal?.aborted) return Promise.reject(task.signal.reason);
    return new Promise<void>((resume) => this.#enqueue(task, resume, false));
  }

  /** {@link TaskContext.suspend} of `task`. */
  async suspendTask<T>(task: ScheduledTask, work: Promise<T>): Promise<T> {
    this.#release(task);
    try {
      return await work;
    } finally {
      await new Promise<void>((resume) => this.#enqueue(task, resume, true));
    }
  }

  /** A waking class starts near the floor of the busy ones: idle time is not banked. */
  #wake(task: ScheduledTask): void {
    const queue = this.#queues[task.taskClass];
    if (queue.length > 0 || this.#running?.taskClass === task.taskClass) return;
    let floor = Infinity;
    for (const c of taskClasses) {
      const other = this.#queues[c];
      if (c !== task.taskClass && (other.length > 0 || this.#running?.taskClass === c)) {
        floor = Math.min(floor, other.stats.vruntime);
      }
    }
    if (floor === Infinity) return;
    const credit = this.#wakeCreditMs * 1000 / queue.stats.shares;
    queue.stats.vruntime = Math.max(queue.stats.vruntime, floor - credit);
  }

  /** Queues a grant; `waking` when the task was not just running (new, or back from I/O). */
  #enqueue(task: ScheduledTask, grant: () => void, waking: boolean): void {
    if (waking) this.#wake(task);
    this.#queues[task.taskClass].waiters.push({
      task,
      readyAtMs: this.#clock.nowMs(),
      sequence: this.#sequence++,
      grant,
    });
    this.#queuedCount++;
    this.#scheduleDispatch();
  }

  #release(task: ScheduledTask, detached = false): void {
    if (!task.holding) return;
    const queue = this.#queues[task.taskClass];
    const now = this.#clock.nowMs();
    const ranMs = now - this.#grantedAtMs;
    if (task.taskClass === "interactive") this.#lastInteractiveMs = now;
    queue.stats.cpuMs += ranMs;
    queue.stats.vruntime += ranMs * 1000 / queue.stats.shares;
    if (ranMs > 2 * this.#sliceMs[task.taskClass]) queue.stats.stalls++;
    this.#onSlice?.({
      taskClass: task.taskClass,
      name: task.name,
      grantedAtMs: this.#grantedAtMs,
      ranMs,
      detached,
    });
    queue.stats.running = 0;
    task.holding = false;
    this.#running = undefined;
    this.#scheduleDispatch();
    if (this.#queuedCount === 0) this.#onIdle?.();
  }

  /**
   * A task holds the thread or is about to get it. Not while fair mode holds a queued
   * non-interactive slice back for the event loop (`idleDefer`): that wait is idle time.
   */
  get busy(): boolean {
    return this.#running !== undefined || this.#dispatchPending;
  }

  #finish(task: ScheduledTask, ok: boolean): void {
    this.#release(task);
    const stats = this.#queues[task.taskClass].stats;
    if (ok) stats.completed++;
    else stats.failed++;
    this.#live--;
    if (this.#live === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  #scheduleDispatch(): void {
    if (this.#dispatchPending || this.#running !== undefined || this.#queuedCount === 0) return;
    // fair: let the event loop poll sockets before a non-interactive slice, so statements that
    // arrived meanwhile go first; while clients are active, by going idle (invariant 4).
    const poll = this.mode === "fair" && this.#queues.interactive.length === 0;
    if (poll && this.#clock.nowMs() - this.#lastInteractiveMs < this.#interactiveRecentMs) {
      if (this.#idleDispatchPending) return;
      this.#idleDispatchPending = true;
      this.#idleDefer(() => {
        this.#idleDispatchPending = false;
        this.#dispatch();
      });
      this.#onIdle?.(); // the thread idles until then: the NIC watches for statements itself
      return;
    }
    this.#dispatchPending = true;
    (poll ? this.#pollDefer : this.#defer)(() => {
      this.#dispatchPending = false;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    if (this.#running !== undefined) return;
    const now = this.#clock.nowMs();
    const taskClass = this.mode === "fifo" ? this.#pickFifo() : this.#pickFair(now);
    if (taskClass === undefined) return;
    const waiter = this.#queues[taskClass].shift();
    this.#queuedCount--;
    this.#grant(waiter.task, now, now - waiter.readyAtMs);
    waiter.grant();
  }

  #grant(task: ScheduledTask, now: number, waitedMs: number): void {
    this.#onTick?.();
    const stats = this.#queues[task.taskClass].stats;
    stats.waitMs += waitedMs;
    stats.waitMsMax = Math.max(stats.waitMsMax, waitedMs);
    stats.slices++;
    stats.running = 1;
    task.holding = true;
    this.#running = task;
    this.#grantedAtMs = now;
    if (!this.#watchPending) {
      this.#watchPending = true;
      this.#watch(() => this.#checkHolder());
    }
  }

  /** Runs in a later macrotask than any grant before it: a holder now waits outside (rule 1). */
  #checkHolder(): void {
    this.#watchPending = false;
    const holder = this.#running;
    if (holder === undefined) return;
    this.#queues[holder.taskClass].stats.detached++;
    this.#release(holder, true);
  }

  /**
   * A task spawned while the thread is free starts at once when nothing waits, or (fair mode)
   * when it is interactive, no interactive task waits and the next dispatch would pick it anyway
   * (no waiter overdue, its virtual runtime lowest): the class preference applied on arrival,
   * without waiting for an idle dispatch (invariant 4), and the other classes keep their share.
   */
  #mayStartAtOnce(task: ScheduledTask): boolean {
    this.#wake(task);
    if (this.#queuedCount === 0) return true;
    if (this.mode !== "fair" || task.taskClass !== "interactive") return false;
    if (this.#queues.interactive.length > 0) return false;
    const now = this.#clock.nowMs();
    const vruntime = this.#queues.interactive.stats.vruntime;
    for (const c of taskClasses) {
      const queue = this.#queues[c];
      const oldest = queue.peek();
      if (oldest === undefined) continue;
      if (now - oldest.readyAtMs >= this.#maxDelayMs[c]) return false;
      if (queue.stats.vruntime < vruntime) return false;
    }
    return true;
  }

  /** fifo: the class whose oldest waiter arrived first. */
  #pickFifo(): TaskClass | undefined {
    let first: TaskClass | undefined;
    let firstSequence = Infinity;
    for (const c of taskClasses) {
      const oldest = this.#queues[c].peek();
      if (oldest !== undefined && oldest.sequence < firstSequence) {
        first = c;
        firstSequence = oldest.sequence;
      }
    }
    return first;
  }

  /** fair: the most overdue aged class, else the lowest virtual runtime. */
  #pickFair(now: number): TaskClass | undefined {
    let aged: TaskClass | undefined;
    let agedOverdueMs = 0;
    let lowest: TaskClass | undefined;
    for (const c of taskClasses) {
      const queue = this.#queues[c];
      const oldest = queue.peek();
      if (oldest === undefined) continue;
      const overdueMs = now - oldest.readyAtMs - this.#maxDelayMs[c];
      if (overdueMs >= 0 && (aged === undefined || overdueMs > agedOverdueMs)) {
        aged = c;
        agedOverdueMs = overdueMs;
      }
      if (lowest === undefined || queue.stats.vruntime < this.#queues[lowest].stats.vruntime) {
        lowest = c;
      }
    }
    return aged ?? lowest;
  }
}
