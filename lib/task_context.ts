/**
 * The cooperation seam between the kernel's scheduler and the layers below it
 * (../shared/DESIGN.md, "Cooperative scheduling"; STYLE.md, TaskBudget). JavaScript cannot be
 * preempted, so long loops (B+tree scans, checkpoints, vacuum, scrubs, executor operators) ask
 * `shouldYield()` every so often and, when it says so, `await yield()`: the kernel then runs
 * whatever is more urgent and resumes them later. Lower layers take a TaskContext argument and
 * never import the kernel.
 */

/** Scheduling classes, most urgent first. */
export const taskClasses = ["interactive", "maintenance", "background"] as const;

/** One scheduling class: client statements; VACUUM / CREATE INDEX on request; checkpoints, scrubs. */
export type TaskClass = (typeof taskClasses)[number];

/** What a running task receives from whoever runs it. */
export interface TaskContext {
  /** The class the task runs in. */
  readonly taskClass: TaskClass;
  /** True once the task has used its slice (about a millisecond) and should yield. */
  shouldYield(): boolean;
  /**
   * Gives the thread to more urgent work; resolves when this task may run again. Rejects with
   * the cancellation reason when the task was cancelled.
   */
  yield(): Promise<void>;
  /** Awaits `work` (I/O) without holding the thread, then waits for this task's next turn. */
  suspend<T>(work: Promise<T>): Promise<T>;
  /** Set when the task is cancelled; long loops stop at their next yield. */
  readonly signal: AbortSignal | undefined;
}

/**
 * Runs `body` as a task of `taskClass` and settles with its result. The kernel installs its
 * scheduler's runner where lower layers start work (a session's statements); they never import
 * the kernel.
 */
export type TaskRunner = <T>(
  taskClass: TaskClass,
  name: string,
  body: (context: TaskContext) => Promise<T>,
) => Promise<T>;

/**
 * A context for code run outside any scheduler (tools, tests, boot): never asks to yield, and
 * `yield()` returns to the caller at once.
 */
export const unscheduledContext: TaskContext = {
  taskClass: "interactive",
  shouldYield: () => false,
  yield: () => Promise.resolve(),
  suspend: <T>(work: Promise<T>) => work,
  signal: undefined,
};

/** Observable figures of one class. */
export interface SchedulerClassStats {
  shares: number;
  /** Tasks waiting for the thread now. */
  queued: number;
  /** 1 while a task of this class holds the thread. */
  running: number;
  /** CPU time charged to this class (grant to yield, suspend, end or detach). */
  cpuMs: number;
  /** Time this class's tasks spent queued before a grant. */
  waitMs: number;
  /** The longest single wait. */
  waitMsMax: number;
  /** Grants. */
  slices: number;
  /** Slices that ran past twice the slice length (logged as stalls in Seastar). */
  stalls: number;
  /** Releases of a holder found waiting outside the thread (invariant 1). */
  detached: number;
  completed: number;
  failed: number;
  /** Virtual runtime (CPU ms × 1000 ÷ shares). */
  vruntime: number;
}
