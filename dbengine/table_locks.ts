/**
 * Table-level write locks, held to the end of the transaction (in memory: one process owns the
 * database). They close a lost-update hole between row writers and DDL that replaces or drops
 * a table's storage (ALTER TABLE, TRUNCATE, DROP TABLE): without them a writer still using the
 * old definition wrote into trees the committed DDL then dropped, and its commit was lost.
 *
 * Rules:
 * 1. A transaction's first row write to a table takes the table's *write* lock (shared with
 *    every other writer); storage-replacing DDL takes the *exclusive* lock.
 * 2. The exclusive lock is claimed first, then waits for every other writer to end: writers
 *    arriving meanwhile queue behind it, so it is not starved by a steady stream of them.
 * 3. A writer never waits for an exclusive claim while it already holds the write lock (the
 *    claimant waits for it instead); a writer that waited for a DDL that then committed would
 *    write under a definition that no longer exists: 40001, and the client retries. DDL that
 *    waited for DDL reads the new definition instead.
 * 4. Waits go through TransactionManager.waitFor, so a cycle with row locks is a deadlock
 *    (40P01), never a hang.
 */
import { ExoError } from "../lib/errors.ts";
import type { Transaction, TransactionManager } from "./txn.ts";

/** A table's definition changed under a writer that waited for the DDL to commit (40001). */
export class TableChangedError extends ExoError {
  override name = "TableChangedError";
  constructor(table: string) {
    super(
      "40001",
      `could not serialize access: relation "${table}" was changed by a concurrent transaction`,
    );
  }
}

export class TableLocks {
  readonly #txns: TransactionManager;
  /** Transactions holding each table's write lock, by table id. */
  readonly #writers = new Map<number, Set<Transaction>>();
  /** The transaction holding (or waiting to complete) each table's exclusive lock. */
  readonly #exclusive = new Map<number, Transaction>();

  constructor(txns: TransactionManager) {
    this.#txns = txns;
  }

  /** True when `txn` may write rows of table `tableId` now (the hot path: no await). */
  mayWrite(txn: Transaction, tableId: number): boolean {
    const exclusive = this.#exclusive.get(tableId);
    return exclusive === txn || (this.#writers.get(tableId)?.has(txn) ?? false);
  }

  /** Takes table `tableId`'s write lock for `txn` (rules 1 and 3). */
  async write(txn: Transaction, tableId: number, tableName: string): Promise<void> {
    if (this.mayWrite(txn, tableId)) return;
    for (;;) {
      const exclusive = this.#exclusive.get(tableId);
      if (exclusive === undefined || exclusive === txn) break;
      await this.#txns.waitFor(txn, exclusive);
      if (exclusive.state === "committed") throw new TableChangedError(tableName);
    }
    let writers = this.#writers.get(tableId);
    if (writers === undefined) this.#writers.set(tableId, writers = new Set());
    writers.add(txn);
    txn.onEnd.push(() => {
      const current = this.#writers.get(tableId);
      current?.delete(txn);
      if (current?.size === 0) this.#writers.delete(tableId);
    });
  }

  /**
   * Takes table `tableId`'s exclusive lock for `txn` (rules 1, 2). Resolves true when it had
   * to wait for another transaction to end (a writer, or DDL that may have changed the
   * definition): what committed meanwhile is not in the caller's snapshot, so the caller
   * reads the definition (and any rows it copies) again on a new one.
   */
  async exclusive(txn: Transaction, tableId: number): Promise<boolean> {
    let waited = false;
    for (;;) {
      const holder = this.#exclusive.get(tableId);
      if (holder === txn) break;
      if (holder === undefined) {
        this.#exclusive.set(tableId, txn);
        txn.onEnd.push(() => {
          if (this.#exclusive.get(tableId) === txn) this.#exclusive.delete(tableId);
        });
        break;
      }
      waited = true;
      await this.#txns.waitFor(txn, holder);
    }
    for (;;) {
      const other = [...this.#writers.get(tableId) ?? []].find((writer) => writer !== txn);
      if (other === undefined) return waited;
      waited = true;
      await this.#txns.waitFor(txn, other);
    }
  }
}
