/**
 * Transactions: ids, commit sequence numbers, snapshots, visibility, row-lock waits and
 * deadlock detection. READ COMMITTED as in PostgreSQL: each statement reads a snapshot taken
 * when it starts (the commit sequence number then), sees its own transaction's earlier
 * statements, and never sees uncommitted work of others.
 *
 * Rules:
 * 1. A transaction's changes become visible to others only after its commit record is durable;
 *    it then gets the next commit sequence number (CSN). Snapshot S sees commits with CSN ≤ S.
 * 2. A version whose writer is not in the table of recent transactions and not in the aborted
 *    set was committed before every running statement began: visible to all.
 * 3. Rollback removes the transaction's versions before it ends, so an ended transaction leaves
 *    no invisible versions behind, except after a crash: such "losers" are named in the
 *    aborted set (kept in every checkpoint record) until vacuum has removed their versions.
 * 4. Waiting for a row lock is waiting for the holding transaction to end: a cooperative await,
 *    never a blocked thread. A wait that would close a cycle aborts the waiter (40P01).
 * 5. A rollback in slices (`rollbackInSlices`) is "aborting" until its last undo step: its
 *    versions are invisible, but it still holds its rows (writers wait, as for a running
 *    writer), vacuum leaves its versions to the undo, and checkpoints list it as active (a
 *    crash part-way makes it a loser). Otherwise a writer could put an index entry the undo
 *    then deletes.
 */
import { assert } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import type { TaskContext } from "../lib/task_context.ts";
import { yieldPoint } from "../lib/yield.ts";

/** Undo steps between two looks at the clock in a sliced rollback (each a B+tree delete). */
const undoStepsPerLook = 16;

/** SQLSTATE 40P01: the transaction was chosen as a deadlock victim. */
export class DeadlockError extends ExoError {
  override name = "DeadlockError";
  constructor(waiter: number, holder: number) {
    super(
      "40P01",
      `deadlock detected: transaction ${waiter} waits for ${holder}, which waits for ${waiter}`,
    );
  }
}

/** A change to undo on rollback: delete `key` from the tree that `undo` closes over. */
export type UndoStep = () => void;

/** States of a transaction. */
export type TxnState = "active" | "committing" | "committed" | "aborting" | "aborted";

export class Transaction {
  readonly id: number;
  state: TxnState = "active";
  /** CSN of the commit (0 until committed). */
  commitCsn = 0;
  /** Current statement number: own versions written by earlier statements are visible. */
  cid = 0;
  /** Undo steps, in the order the changes were made. */
  readonly undo: UndoStep[] = [];
  /** The transaction this one waits for, for deadlock detection. */
  waitingFor: Transaction | undefined;
  /**
   * Work to run once every running and future statement sees this transaction as committed
   * (e.g. freeing the pages of a dropped table that older snapshots may still be reading).
   */
  readonly afterCommitVisible: (() => void)[] = [];
  /** Work to run the moment the transaction ends, committed or not (cache invalidation). */
  readonly onEnd: (() => void)[] = [];
  readonly #ended: Promise<void>;
  #resolveEnded: () => void = () => {};

  constructor(id: number) {
    this.id = id;
    this.#ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  /** Settles when the transaction has committed or rolled back. */
  get ended(): Promise<void> {
    return this.#ended;
  }

  /** Marks the end (used by the manager). */
  finish(state: "committed" | "aborted"): void {
    this.state = state;
    for (const action of this.onEnd.splice(0)) action();
    this.#resolveEnded();
  }
}

/** What the manager needs from storage to make commits and rollbacks durable. */
export interface TxnLog {
  /**
   * Appends the commit record and resolves when it is durable — or at once when
   * `synchronous` is false (synchronous_commit = off: a crash may lose the last commits, never
   * make a transaction partial).
   */
  commit(txn: number, synchronous?: boolean): Promise<void>;
  /** Appends an abort record (after the undo is done); no flush needed. */
  abort(txn: number): void;
  /** Runs page changes as one atomic group for `txn` (`freesOnly`: it only removes). */
  run<T>(txn: number, body: () => T, freesOnly?: boolean): T;
}

export class TransactionManager {
  readonly #log: TxnLog;
  #nextId: number;
  #csn = 0;
  /** Running and recently ended transactions, by id. */
  readonly #recent = new Map<number, Transaction>();
  /** Rollbacks in slices under way (rule 5), until each settles. */
  readonly #rollingBack = new Set<Promise<void>>();
  /** Committed transactions still in #recent, oldest CSN first, for pruning. */
  readonly #committedQueue: Transaction[] = [];
  /** Writers whose versions must be ignored (losers of a crash), until vacuum clears them. */
  readonly aborted: Set<number>;
  /** Snapshot CSNs of running statements, with counts. */
  readonly #snapshots = new Map<number, number>();
  readonly stats = { begun: 0, committed: 0, rolledBack: 0, deadlocks: 0, lockWaits: 0 };

  constructor(log: TxnLog, nextId: number, aborted: Iterable<number>) {
    assert(nextId >= 1, "transaction ids start at 1");
    this.#log = log;
    this.#nextId = nextId;
    this.aborted = new Set(aborted);
  }

  /** The id the next transaction will get (recorded in checkpoints). */
  get nextId(): number {
    return this.#nextId;
  }

  /**
   * Ids of transactions whose commit record has not been appended yet (recorded in checkpoints,
   * so recovery can tell losers). A committing transaction's record is already in the log
   * before the checkpoint record: listing it could make recovery, starting after that record,
   * mistake an acknowledged commit for a loser.
   */
  activeIds(): number[] {
    return [...this.#recent.values()]
      .filter((t) => t.state === "active" || t.state === "aborting") // rule 5
      .map((t) => t.id);
  }

  begin(): Transaction {
    const txn = new Transaction(this.#nextId++);
    this.#recent.set(txn.id, txn);
    this.stats.begun++;
    return txn;
  }

  /** Takes a statement snapshot; release it with {@link release} when the statement ends. */
  /**
   * How many transactions with changes have committed (each takes the next commit sequence
   * number): unchanged means no committed write since, so nothing new for vacuum to remove.
   */
  get lastCommitCsn(): number {
    return this.#csn;
  }

  snapshot(): number {
    const csn = this.#csn;
    this.#snapshots.set(csn, (this.#snapshots.get(csn) ?? 0) + 1);
    return csn;
  }

  release(snapshot: number): void {
    const count = this.#snapshots.get(snapshot);
    assert(count !== undefined, `snapshot ${snapshot} released twice`);
    if (count === 1) this.#snapshots.delete(snapshot);
    else this.#snapshots.set(snapshot, count - 1);
    this.#prune();
  }

  /** Is a version written by `writer` in statement `cid` visible to `reader` at `snapshot`? */
  visible(writer: number, cid: number, reader: Transaction | undefined, snapshot: number): boolean {
    if (reader !== undefined && writer === reader.id) return cid < reader.cid;
    const txn = this.#recent.get(writer);
    if (txn === undefined) return !this.aborted.has(writer);
    return txn.state === "committed" && txn.commitCsn <= snapshot;
  }

  /** The running transaction that wrote a version, if it has not ended. */
  running(writer: number): Transaction | undefined {
    const txn = this.#recent.get(writer);
    return txn !== undefined &&
        (txn.state === "active" || txn.state === "committing" || txn.state === "aborting")
      ? txn
      : undefined;
  }

  /** True when every running and future statement sees `writer`'s versions as committed. */
  visibleToAll(writer: number): boolean {
    return !this.#recent.has(writer) && !this.aborted.has(writer);
  }

  /** True when versions of `writer` are dead for good (rolled back, or a crash loser). */
  isAborted(writer: number): boolean {
    return this.aborted.has(writer) || this.#recent.get(writer)?.state === "aborted";
  }

  /** Waits until `holder` ends; throws DeadlockError when that would close a wait cycle. */
  async waitFor(waiter: Transaction, holder: Transaction): Promise<void> {
    assert(waiter !== holder, "a transaction never waits for itself");
    for (let t: Transaction | undefined = holder; t !== undefined; t = t.waitingFor) {
      if (t === waiter) {
        this.stats.deadlocks++;
        throw new DeadlockError(waiter.id, holder.id);
      }
    }
    this.stats.lockWaits++;
    waiter.waitingFor = holder;
    try {
      await holder.ended;
    } finally {
      waiter.waitingFor = undefined;
    }
  }

  /** Commits: durable commit record, then visible (rule 1). */
  async commit(txn: Transaction, options: { synchronous?: boolean } = {}): Promise<void> {
    assert(txn.state === "active", `commit of a ${txn.state} transaction`);
    if (txn.undo.length === 0) {
      this.#end(txn, "committed"); // read-only: nothing to make durable
      return;
    }
    txn.state = "committing";
    try {
      await this.#log.commit(txn.id, options.synchronous ?? true);
    } catch (error) {
      // The log failed: whether the commit record reached disk is unknown, so the outcome is
      // decided by recovery after restart. Until then the transaction's locks stay held.
      throw error;
    }
    txn.commitCsn = ++this.#csn;
    this.#end(txn, "committed");
    this.#committedQueue.push(txn);
    this.#prune();
  }

  /** Rolls back: undoes every change (newest first), then logs the abort. */
  rollback(txn: Transaction): void {
    assert(txn.state === "active", `rollback of a ${txn.state} transaction`);
    txn.state = "aborted"; // rule 3: its versions are invisible from this moment
    if (txn.undo.length > 0) {
      // One group per undone change: each is atomic alone, and a crash part-way leaves a loser
      // whose remaining versions recovery marks aborted.
      for (let i = txn.undo.length - 1; i >= 0; i--) this.#log.run(txn.id, txn.undo[i]!, true);
    }
    this.#endRollback(txn);
  }

  /** After the last undo step: the abort record (when anything was undone), then the end. */
  #endRollback(txn: Transaction): void {
    if (txn.undo.length > 0) this.#log.abort(txn.id);
    this.#end(txn, "aborted");
    this.#recent.delete(txn.id); // no versions of it remain
  }

  /**
   * Rolls back like {@link rollback}, yielding between undo steps (through `context`, else the
   * time slicer) so a large rollback does not hold the thread; rule 5 covers the meantime. A
   * yield that fails (the task was cancelled) does not stop it: the rest runs without yields.
   */
  async rollbackInSlices(txn: Transaction, context?: TaskContext): Promise<void> {
    assert(txn.state === "active", `rollback of a ${txn.state} transaction`);
    if (txn.undo.length <= undoStepsPerLook) return this.rollback(txn);
    txn.state = "aborting"; // rule 5
    const undo = this.#undoInSlices(txn, context);
    this.#rollingBack.add(undo);
    try {
      await undo;
    } finally {
      this.#rollingBack.delete(undo);
    }
  }

  /** Settles when no rollback in slices is under way (a clean shutdown waits for them). */
  async rollbacksDone(): Promise<void> {
    while (this.#rollingBack.size > 0) {
      await Promise.allSettled([...this.#rollingBack]);
    }
  }

  async #undoInSlices(txn: Transaction, context: TaskContext | undefined): Promise<void> {
    let yielding = true;
    for (let i = txn.undo.length - 1; i >= 0; i--) {
      this.#log.run(txn.id, txn.undo[i]!, true);
      if (yielding && i % undoStepsPerLook === 0) {
        try {
          await yieldPoint(context);
        } catch {
          yielding = false;
        }
      }
    }
    this.#endRollback(txn);
  }

  #end(txn: Transaction, state: "committed" | "aborted"): void {
    this.stats[state === "committed" ? "committed" : "rolledBack"]++;
    txn.finish(state);
    if (state === "committed" && txn.commitCsn === 0) {
      this.#recent.delete(txn.id);
      this.#runAfterVisible(txn);
    }
  }

  /** Drops committed transactions every running statement already sees (rule 2). */
  #prune(): void {
    if (this.#committedQueue.length === 0) return;
    let oldest = this.#csn;
    for (const snapshot of this.#snapshots.keys()) if (snapshot < oldest) oldest = snapshot;
    while (this.#committedQueue.length > 0 && this.#committedQueue[0]!.commitCsn <= oldest) {
      const txn = this.#committedQueue.shift()!;
      this.#recent.delete(txn.id);
      this.#runAfterVisible(txn);
    }
  }

  #runAfterVisible(txn: Transaction): void {
    if (txn.afterCommitVisible.length === 0) return;
    this.#log.run(txn.id, () => {
      for (const action of txn.afterCommitVisible.splice(0)) action();
    });
  }
}
