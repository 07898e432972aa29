/**
 * The cooperative scheduler: one kernel thread runs tasks in three classes (interactive,
 * maintenance, background; lib/task_context.ts). Seastar's model (STYLE.md §6): each class has
 * shares and a virtual runtime that grows by CPU time × (1000 ÷ shares); the class with the
 * lowest virtual runtime runs next, ties going to the more urgent class. So when every class is
 * busy, CPU follows shares (interactive 1000 : maintenance 250 : background 100 by default),
 * and a class that was idle is raised to the floor when it wakes, so it cannot bank idle time
 * and then monopolize the thread.
 *
 * Invariants:
 * 1. At most one task holds the thread; it holds it from its grant until it yields, suspends
 *    (awaits I/O through `suspend`) or ends. Only then is its CPU time charged.
 * 2. A queued task of class c waits at most `maxDelayMs[c]` plus one slice: a task waiting
 *    longer is picked ahead of virtual runtime (aging), so background work never starves.
 * 3. Every queue is bounded (`queueLengthMax`); a full queue refuses new tasks with 53400.
 * 4. Every grant happens from `defer` (a macrotask in production), so sockets and timers run
 *    between slices; the clock and `defer` are injected, so tests are deterministic.
 */
import { setImmediate } from "node:timers";
import { ExoError } from "../lib/errors.ts";
import { pollMs } from "../lib/yield.ts";
import { type TaskClass, taskClasses, type TaskContext } from "../lib/task_context.ts";

/** Where the scheduler reads the time (milliseconds, monotonic). */
export interface SchedulerClock {
  nowMs(): number;
}

/** Options for {@link Scheduler}. */
export interface SchedulerOptions {
  /** The work a task may do before `shouldYield()` says yield; 1 ms by default. */
  sliceMs?: number;
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
}

/** Options for {@link Scheduler.spawn}. */
export interface SpawnOptions {
  /** Cancels the task: its next `yield()` rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Observable figures of one class. */
export interface SchedulerClassStats {
  shares: number;
  /** Tasks waiting for the thread now. */
  queued: number;
  /** 1 while a task of this class holds the thread. */
  running: number;
  /** CPU time charged to this class (grant to yield, suspend or end). */
  cpuMs: number;
  /** Time this class's tasks spent queued before a grant. */
  waitMs: number;
  /** The longest single wait. */
  waitMsMax: number;
  /** Grants. */
  slices: number;
  /** Slices that ran past twice the slice length (logged as stalls in Seastar). */
  stalls: number;
  completed: number;
  failed: number;
  /** Virtual runtime (CPU ms × 1000 ÷ shares). */
  vruntime: number;
}

interface Task {
  readonly taskClass: TaskClass;
  readonly name: string;
  holding: boolean;
}

interface Waiter {
  readonly task: Task;
  readonly readyAtMs: number;
  readonly grant: () => void;
}

class ClassQueue {
  readonly waiters: Waiter[] = [];
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
      completed: 0,
      failed: 0,
      vruntime: 0,
    };
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
  if (now - lastPollMs >= pollMs) {
    lastPollMs = now;
    crypto.subtle.digest("SHA-1", pollInput).then(grant);
  } else {
    setImmediate(grant);
  }
}

/** Runs tasks of three classes on the one kernel thread, cooperatively. */
export class Scheduler {
  readonly sliceMs: number;
  readonly #clock: SchedulerClock;
  readonly #defer: (grant: () => void) => void;
  readonly #queueLengthMax: number;
  readonly #maxDelayMs: Record<TaskClass, number>;
  readonly #queues: Record<TaskClass, ClassQueue>;
  #running: Task | undefined;
  #grantedAtMs = 0;
  #dispatchPending = false;
  #idleWaiters: (() => void)[] = [];
  #live = 0;

  constructor(options: SchedulerOptions = {}) {
    this.sliceMs = options.sliceMs ?? 1;
    this.#clock = options.clock ?? performanceClock;
    this.#defer = options.defer ?? macrotaskDefer;
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
    if (queue.waiters.length >= this.#queueLengthMax) {
      return Promise.reject(
        new ExoError(
          "53400",
          `The ${taskClass} queue is full: ${this.#queueLengthMax} tasks wait (task "${name}")`,
        ),
      );
    }
    const task: Task = { taskClass, name, holding: false };
    const context = this.#context(task, options.signal);
    this.#live++;
    return new Promise<T>((resolve, reject) => {
      this.#enqueue(task, () => {
        let result: Promise<T>;
        try {
          result = Promise.resolve(body(context));
        } catch (error) {
          result = Promise.reject(error);
        }
        result.then(
          (value) => {
            this.#finish(task, true);
            resolve(value);
          },
          (error) => {
            this.#finish(task, false);
            reject(error);
          },
        );
      }, true);
    });
  }

  /** Figures per class (copies). */
  stats(): Record<TaskClass, SchedulerClassStats> {
    const out = {} as Record<TaskClass, SchedulerClassStats>;
    for (const c of taskClasses) {
      const queue = this.#queues[c];
      out[c] = { ...queue.stats, queued: queue.waiters.length };
    }
    return out;
  }

  /** Resolves when no task is queued, running or suspended. */
  idle(): Promise<void> {
    if (this.#live === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #context(task: Task, signal: AbortSignal | undefined): TaskContext {
    return {
      taskClass: task.taskClass,
      signal,
      shouldYield: (): boolean => this.#clock.nowMs() - this.#grantedAtMs >= this.sliceMs,
      yield: (): Promise<void> => {
        this.#release(task);
        if (signal?.aborted) return Promise.reject(signal.reason);
        return new Promise<void>((resume) => this.#enqueue(task, resume, false));
      },
      suspend: async <T>(work: Promise<T>): Promise<T> => {
        this.#release(task);
        try {
          return await work;
        } finally {
          await new Promise<void>((resume) => this.#enqueue(task, resume, true));
        }
      },
    };
  }

  /** Queues a grant; `waking` when the task was not just running (new, or back from I/O). */
  #enqueue(task: Task, grant: () => void, waking: boolean): void {
    const queue = this.#queues[task.taskClass];
    if (waking && queue.waiters.length === 0 && this.#running?.taskClass !== task.taskClass) {
      // A waking class starts at the floor of the busy ones: idle time is not banked.
      let floor = Infinity;
      for (const c of taskClasses) {
        const other = this.#queues[c];
        if (c !== task.taskClass && (other.waiters.length > 0 || this.#running?.taskClass === c)) {
          floor = Math.min(floor, other.stats.vruntime);
        }
      }
      if (floor !== Infinity) queue.stats.vruntime = Math.max(queue.stats.vruntime, floor);
    }
    queue.waiters.push({ task, readyAtMs: this.#clock.nowMs(), grant });
    this.#scheduleDispatch();
  }

  #release(task: Task): void {
    if (!task.holding) return;
    const queue = this.#queues[task.taskClass];
    const ranMs = this.#clock.nowMs() - this.#grantedAtMs;
    queue.stats.cpuMs += ranMs;
    queue.stats.vruntime += ranMs * 1000 / queue.stats.shares;
    if (ranMs > 2 * this.sliceMs) queue.stats.stalls++;
    queue.stats.running = 0;
    task.holding = false;
    this.#running = undefined;
    this.#scheduleDispatch();
  }

  #finish(task: Task, ok: boolean): void {
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
    if (this.#dispatchPending || this.#running !== undefined) return;
    this.#dispatchPending = true;
    this.#defer(() => this.#dispatch());
  }

  #dispatch(): void {
    this.#dispatchPending = false;
    if (this.#running !== undefined) return;
    const now = this.#clock.nowMs();
    const taskClass = this.#pick(now);
    if (taskClass === undefined) return;
    const queue = this.#queues[taskClass];
    const waiter = queue.waiters.shift()!;
    const waitedMs = now - waiter.readyAtMs;
    queue.stats.waitMs += waitedMs;
    queue.stats.waitMsMax = Math.max(queue.stats.waitMsMax, waitedMs);
    queue.stats.slices++;
    queue.stats.running = 1;
    waiter.task.holding = true;
    this.#running = waiter.task;
    this.#grantedAtMs = now;
    waiter.grant();
  }

  /** The class to run next: the most overdue aged one, else the lowest virtual runtime. */
  #pick(now: number): TaskClass | undefined {
    let aged: TaskClass | undefined;
    let agedOverdueMs = 0;
    let lowest: TaskClass | undefined;
    for (const c of taskClasses) {
      const queue = this.#queues[c];
      const oldest = queue.waiters[0];
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
