/**
 * The storage engine's root: opens the log and the page store over a mounted image, recovers
 * at boot, formats a new image's meta page, runs checkpoints, and makes commits durable.
 *
 * Recovery (ARIES-style redo only; see page_store.ts for the group rules):
 * 1. Redo starts at the redo LSN of the checkpoint the image superblock names (or at the start
 *    of the log when no checkpoint was ever completed).
 * 2. Page records are applied a whole group at a time; an incomplete group (cut by the crash)
 *    is dropped.
 * 3. The first invalid record ends the log, unless a valid record follows it: then the log is
 *    corrupt in its durable part and boot is refused, naming the LSN (never silently dropping
 *    committed work).
 * 4. A checkpoint ends recovery, so the next recovery starts after everything replayed.
 *
 * Checkpoint: redo point = current insert LSN; write every dirty page; sync the image; append a
 * checkpoint record and make it durable; point the image superblock at it; recycle the log
 * before the redo point.
 */
import { assert } from "../lib/assert.ts";
import { type TaskContext, unscheduledContext } from "../lib/task_context.ts";
import { ExoError, SqlState } from "../lib/errors.ts";
import { crashPoint } from "../lib/crash_hooks.ts";
import { consecutiveRunEnd } from "../lib/block_runs.ts";
import type { BufferPool } from "../io/buffer_pool.ts";
import { checksumMatches, CorruptBlockError, verifyBlock } from "../io/block.ts";
import type { DiskImage } from "../io/disk_image.ts";
import { BTree } from "./btree/btree.ts";
import { markTreeNew } from "./mvcc.ts";
import { LoggedPageStore, metaBlock, redoGroup } from "./page_store.ts";
import { isPageRecord, readU64, RecordType, type WalRecord, writeU64 } from "./wal/record.ts";
import { firstLsn, Wal, WalReader } from "./wal/wal.ts";
import { TransactionManager, type TxnLog } from "./txn.ts";

/** Boot refused: the log is corrupt where committed work lives. */
export class RecoveryError extends ExoError {
  override name = "RecoveryError";
  constructor(message: string) {
    super(SqlState.dataCorrupted, message);
  }
}

/** What recovery did, for the boot log. */
export interface RecoveryReport {
  redoFromLsn: number;
  recordsRead: number;
  groupsApplied: number;
  pagesApplied: number;
  /** Records of an incomplete last group that were dropped. */
  droppedRecords: number;
  /** Where the log ended and why ("zeroed" is a clean end). */
  endLsn: number;
  endReason: string;
  commitsSeen: number;
  /** Transactions that were running at the crash: their versions are ignored until vacuum. */
  losers: number[];
  /** Transaction id of the last complete page group in the log (0 when none). */
  lastGroupTxn: number;
  elapsedMs: number;
  formatted: boolean;
}

/**
 * Frames a checkpoint sweeps between two looks at the clock: one, since a write through the
 * I/O worker's ring can take a millisecond under load (a look costs ~50 ns).
 */
const checkpointFramesPerStep = 1;

/** Blocks a staged checkpoint writes, or reads back, per batch (512 KiB of 8 KiB blocks). */
const checkpointBatchBlocks = 64;

/** A batch of a staged checkpoint: its blocks, their copies, and its writes' outcomes. */
interface StagedBatch {
  blocks: number[];
  copies: Uint8Array[];
  done: Promise<PromiseSettledResult<void>[]>;
  settled: boolean;
}

/** Frames a checkpoint scans for dirty ones between two looks at the clock. */
const dirtyScanFramesPerStep = 4096;

/** Options for {@link Storage.open}. */
export interface StorageOptions {
  /** Called before a checkpoint's or recovery's work, e.g. for hooks in crash tests. */
  onEvent?: (event: "checkpoint-start" | "checkpoint-pages-written" | "checkpoint-done") => void;
}

export class Storage {
  readonly image: DiskImage;
  readonly log: DiskImage;
  readonly pool: BufferPool;
  readonly wal: Wal;
  readonly store: LoggedPageStore;
  readonly recovery: RecoveryReport;
  readonly txns: TransactionManager;
  readonly #options: StorageOptions;
  #checkpointing: Promise<void> | undefined;
  #arena: Uint8Array | undefined;
  /** The last completed checkpoint: its record's LSN and its redo point (0, 0 before one). */
  #lastCheckpoint = { lsn: 0, redoLsn: 0 };

  private constructor(
    image: DiskImage,
    log: DiskImage,
    pool: BufferPool,
    wal: Wal,
    recovery: RecoveryReport,
    options: StorageOptions,
    txnState: { nextId: number; aborted: Iterable<number> },
  ) {
    this.image = image;
    this.log = log;
    this.pool = pool;
    this.wal = wal;
    this.store = new LoggedPageStore(pool, wal, image);
    // Started outside the group that noticed the pressure: a checkpoint runs groups of its own.
    this.store.onLogPressure = () => {
      if (this.#checkpointing !== undefined) return;
      queueMicrotask(() => {
        if (this.#checkpointing === undefined) this.checkpoint().catch(() => {});
      });
    };
    this.recovery = recovery;
    this.#options = options;
    pool.setWalFlusher({ flushTo: (lsn) => wal.flushSync(lsn) });
    const txnLog: TxnLog = {
      commit: (txn, synchronous) => this.commit(txn, synchronous),
      abort: (txn) => {
        this.wal.append(RecordType.abort, 0, txn, new Uint8Array(0));
      },
      run: (txn, body, freesOnly) => this.store.run(txn, body, freesOnly),
    };
    this.txns = new TransactionManager(txnLog, txnState.nextId, txnState.aborted);
  }

  /** Recovers (or formats) and returns a ready engine. */
  static async open(
    image: DiskImage,
    log: DiskImage,
    pool: BufferPool,
    options: StorageOptions = {},
  ): Promise<Storage> {
    const started = performance.now();
    const reader = new WalReader(log.device);
    const checkpointLsn = image.superblock.checkpointLsn;
    let redoLsn = firstLsn;
    let checkpointState: CheckpointState = { redoLsn, nextTxnId: 1, active: [], aborted: [] };
    if (checkpointLsn !== 0) {
      const record = reader.recordAt(checkpointLsn, undefined);
      if (typeof record === "string" || record.type !== RecordType.checkpoint) {
        throw new RecoveryError(
          `Cannot recover: the checkpoint record at LSN ${checkpointLsn} named by ${image.device.name} is invalid (${
            typeof record === "string" ? record : `type ${record.type}`
          })`,
        );
      }
      const decoded = decodeCheckpoint(record.payload);
      redoLsn = decoded.redoLsn;
      checkpointState = decoded;
    }
    const report: RecoveryReport = {
      redoFromLsn: redoLsn,
      recordsRead: 0,
      groupsApplied: 0,
      pagesApplied: 0,
      droppedRecords: 0,
      endLsn: redoLsn,
      endReason: "",
      commitsSeen: 0,
      losers: [],
      lastGroupTxn: 0,
      elapsedMs: 0,
      formatted: false,
    };
    // Groups are redone as soon as their last record is read; only the group being read is
    // held (copied, since the reader's buffer moves on).
    const pending: WalRecord[] = [];
    // Transactions: which wrote, which ended (for losers and the next id).
    const wrote = new Set<number>(checkpointState.active);
    const ended = new Set<number>();
    let maxTxn = checkpointState.nextTxnId - 1;
    const end = reader.scan(redoLsn, 0, (record) => {
      report.recordsRead++;
      if (record.txn > maxTxn) maxTxn = record.txn;
      if (!isPageRecord(record.type)) {
        report.droppedRecords += pending.length; // a group cut short by a crash
        pending.length = 0;
        if (record.type === RecordType.commit) report.commitsSeen++;
        if (record.type === RecordType.commit || record.type === RecordType.abort) {
          ended.add(record.txn);
        }
        return;
      }
      if (record.txn !== 0) wrote.add(record.txn);
      pending.push(copyRecord(record));
      if (record.flags & 1) {
        report.pagesApplied += redoGroup(pool, image, pending, record.lsn + record.length);
        report.groupsApplied++;
        pending.length = 0;
        report.lastGroupTxn = record.txn;
      }
    });
    report.droppedRecords += pending.length;
    report.endLsn = end.endLsn;
    report.endReason = end.reason;
    {
      // Even a zeroed end is checked: a lost write of durable records reads as zeros too.
      const valid = reader.findValidAfter(end.endLsn);
      if (valid !== undefined) {
        throw new RecoveryError(
          `Cannot recover: WAL record at LSN ${end.endLsn} is corrupt (${end.reason}) but valid records follow at LSN ${valid}`,
        );
      }
    }
    const insertLsn = Math.ceil(end.endLsn / 512) * 512;
    const wal = new Wal(log.device, { insertLsn, lastLsn: end.lastLsn, recycleLsn: redoLsn });
    report.losers = [...wrote].filter((txn) => !ended.has(txn)).sort((a, b) => a - b);
    const storage = new Storage(image, log, pool, wal, report, options, {
      nextId: maxTxn + 1,
      aborted: [...checkpointState.aborted, ...report.losers],
    });
    storage.store.fullPageLsn = insertLsn;
    if (!storage.store.hasMeta()) {
      storage.store.run(0, () => storage.store.formatMeta());
      report.formatted = true;
    }
    await storage.checkpoint();
    report.elapsedMs = performance.now() - started;
    return storage;
  }

  /** Creates a new empty B+tree and returns it (its root block never changes). */
  createTree(): BTree {
    const tree = this.store.run(0, () => {
      const treeId = this.store.meta("nextTreeId");
      this.store.setMeta("nextTreeId", treeId + 1);
      return BTree.create(this.store, treeId);
    });
    markTreeNew(tree); // no loser versions in it: vacuum starts from noted keys (mvcc.ts)
    return tree;
  }

  /** Creates a new empty B+tree with a reserved id (catalog trees). */
  createTreeWithId(treeId: number): BTree {
    return this.store.run(0, () => BTree.create(this.store, treeId));
  }

  /** Opens an existing tree by root block and id. */
  openTree(root: number, treeId: number): BTree {
    return new BTree(this.store, root, treeId);
  }

  /**
   * Appends a commit record for `txn` and resolves once it is durable. Starts a background
   * checkpoint when the log is half full, so log space is recycled before it runs out.
   */
  commit(txn: number, synchronous = true): Promise<void> {
    const payload = new Uint8Array(8);
    let lsn: number;
    try {
      lsn = this.wal.append(RecordType.commit, 0, txn, payload);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.wal.usedFraction() > 0.5 && this.#checkpointing === undefined) {
      this.checkpoint().catch(() => {}); // a failure surfaces on the next write
    }
    const durable = this.wal.flush(lsn + 1);
    if (synchronous) return durable;
    durable.catch(() => {}); // asynchronous commit: a failed flush fails the next write instead
    return Promise.resolve();
  }

  /**
   * Back-pressure for long writers: while the log is more than three quarters used, the running
   * (or a new) checkpoint, which recycles it; undefined when there is room. Statements await it
   * at their yield points, so a long COPY or INSERT … SELECT slows to what checkpoints can
   * recycle instead of failing with 53100.
   */
  logSpace(): Promise<void> | undefined {
    if (this.wal.usedFraction() <= 0.75) return undefined;
    return this.checkpoint().catch(() => {}); // a failed checkpoint surfaces on the next write
  }

  /**
   * Runs a checkpoint (one at a time; a second call waits for the running one, without holding
   * the thread). It works in slices, yielding through `context`; without one (boot, shutdown,
   * log pressure, tests) it does not yield, as before the scheduler ran checkpoints.
   */
  checkpoint(context: TaskContext = unscheduledContext): Promise<void> {
    if (this.#checkpointing !== undefined) return context.suspend(this.#checkpointing);
    this.#checkpointing = this.#checkpoint(context).finally(() => {
      this.#checkpointing = undefined;
    });
    return this.#checkpointing;
  }

  /**
   * A fuzzy checkpoint in slices: every page dirty when it starts is written by the sweep (a
   * page dirtied again behind the sweep changed after `redoLsn`, so the log covers it), and
   * statements run between slices.
   */
  async #checkpoint(context: TaskContext): Promise<void> {
    this.#options.onEvent?.("checkpoint-start");
    const redoLsn = this.wal.insertLsn;
    this.store.fullPageLsn = redoLsn; // rule 2 of page_store.ts: first change after this logs an image
    this.store.logMetaImage(); // the meta page is repairable from every redo point (page_store.ts)
    // The log made durable first, without holding the thread: otherwise the first page write
    // would sync all of it synchronously (WAL before data; a rolled-back bulk change can leave
    // megabytes unflushed).
    await context.suspend(this.wal.flush());
    if (this.image.device.writesOffThread) await this.#writeDirtyStaged(context);
    else {
      for (let frame = 0; frame < this.pool.frameCount;) {
        frame = this.pool.flushFrames(frame, checkpointFramesPerStep);
        if (context.shouldYield()) await context.yield();
      }
    }
    const written = this.pool.takeWritten();
    crashPoint("checkpoint");
    await context.suspend(this.image.device.flushAsync());
    await this.#verifyWritten(written, context);
    this.#options.onEvent?.("checkpoint-pages-written");
    const payload = encodeCheckpoint({
      redoLsn,
      nextTxnId: this.txns.nextId,
      active: this.txns.activeIds(),
      aborted: [...this.txns.aborted],
    });
    const lsn = this.wal.append(RecordType.checkpoint, 0, 0, payload);
    await context.suspend(this.wal.flush());
    await context.suspend(this.image.writeSuperblockAsync({ checkpointLsn: lsn }));
    this.#lastCheckpoint = { lsn, redoLsn };
    this.wal.recycleTo(redoLsn);
    this.#options.onEvent?.("checkpoint-done");
  }

  /**
   * Reads back every block written since the previous checkpoint and compares its stored
   * checksum with the one it was written with: a lost (dropped) or misdirected write is caught
   * here, before the checkpoint could make the log that repairs it unnecessary. On a mismatch
   * the checkpoint is abandoned (the log is kept) and the store stops accepting changes; a
   * restart recovers the page from its full-page image in the log.
   */
  async #verifyWritten(written: Map<number, number>, context: TaskContext): Promise<void> {
    if (this.image.device.readsOffThread) return this.#verifyWrittenInRuns(written, context);
    const scratch = new Uint8Array(this.image.device.blockSizeBytes);
    for (const [block, checksum] of written) {
      if (context.shouldYield()) await context.yield();
      // Checked right before the read (both synchronous): a newer write is checked next time.
      if (this.pool.rewrittenSince(block)) continue;
      this.image.device.read(block, scratch);
      this.#checkReadBack(block, checksum, scratch);
    }
  }

  /**
   * {@link #verifyWritten} on a device that reads off the thread: the written blocks in block
   * order, each run of consecutive ones read back as one request while statements run.
   */
  async #verifyWrittenInRuns(written: Map<number, number>, context: TaskContext): Promise<void> {
    const blockBytes = this.image.device.blockSizeBytes;
    const blocks = [...written.keys()].sort((a, b) => a - b);
    const scratch = this.#checkpointArena();
    for (let first = 0; first < blocks.length;) {
      if (context.shouldYield()) await context.yield();
      const end = consecutiveRunEnd(blocks, first, checkpointBatchBlocks);
      const run = scratch.subarray(0, (end - first) * blockBytes);
      await context.suspend(this.image.device.readRunAsync(blocks[first]!, run));
      for (let i = first; i < end; i++) {
        const block = blocks[i]!;
        // Checked after the read: a write since the sweep may have raced it (and is checked
        // by the next checkpoint).
        if (this.pool.rewrittenSince(block)) continue;
        const offset = (i - first) * blockBytes;
        this.#checkReadBack(block, written.get(block)!, run.subarray(offset, offset + blockBytes));
      }
      first = end;
    }
  }

  /**
   * Writes every block dirty when the checkpoint started through the device's queue, off the
   * thread: in block order, a batch at a time, staged (buffer-pool rule 5) so statements keep
   * changing the pages meanwhile; each run of consecutive blocks is one request. The next batch
   * is staged while the last one's writes are in flight.
   *
   * Invariant: a batch is staged and submitted in one synchronous step. Between the two, a
   * statement could write a newer version of a staged block, which the staged copy would then
   * overwrite on disk.
   */
  async #writeDirtyStaged(context: TaskContext): Promise<void> {
    const pool = this.pool;
    const device = this.image.device;
    const blockBytes = device.blockSizeBytes;
    const dirty: number[] = [];
    for (let frame = 0; frame < pool.frameCount;) {
      frame = pool.collectDirty(frame, dirtyScanFramesPerStep, dirty);
      if (context.shouldYield()) await context.yield();
    }
    dirty.sort((a, b) => a - b);
    // Two halves: one batch is staged in one while the other's writes are in flight.
    const halves = [0, 1].map((h) => {
      const bytes = checkpointBatchBlocks * blockBytes;
      return this.#checkpointArena().subarray(h * bytes, (h + 1) * bytes);
    });
    let inFlight: StagedBatch | undefined;
    for (let next = 0, half = 0; next < dirty.length; half ^= 1) {
      if (context.shouldYield()) await context.yield();
      const arena = halves[half]!;
      const batch: StagedBatch = { blocks: [], copies: [], done: undefined!, settled: false };
      while (next < dirty.length && batch.blocks.length < checkpointBatchBlocks) {
        const block = dirty[next++]!;
        const at = batch.blocks.length * blockBytes;
        const copy = arena.subarray(at, at + blockBytes);
        // Skipped when evicted (written then) or no longer dirty.
        if (pool.stage(block, copy) === undefined) continue;
        batch.blocks.push(block);
        batch.copies.push(copy);
      }
      const writes: Promise<void>[] = [];
      for (let first = 0; first < batch.blocks.length;) {
        const end = consecutiveRunEnd(batch.blocks, first, checkpointBatchBlocks);
        const run = arena.subarray(first * blockBytes, end * blockBytes);
        writes.push(device.writeRunAsync(batch.blocks[first]!, run));
        first = end;
      }
      batch.done = Promise.allSettled(writes).then((outcomes) => {
        batch.settled = true;
        return outcomes;
      });
      const previous = inFlight;
      inFlight = batch;
      // The other half is staged next: its batch must have settled first.
      if (previous !== undefined) await this.#settleBatch(previous, batch, context);
    }
    if (inFlight !== undefined) await this.#settleBatch(inFlight, undefined, context);
  }

  /**
   * Waits for a staged batch's writes (suspended unless they already settled), unstages its
   * copies, and fails the checkpoint if one failed, after `next` (in flight too) settled.
   */
  async #settleBatch(
    batch: StagedBatch,
    next: StagedBatch | undefined,
    context: TaskContext,
  ): Promise<void> {
    const outcomes = batch.settled ? await batch.done : await context.suspend(batch.done);
    for (let i = 0; i < batch.blocks.length; i++) {
      this.pool.unstage(batch.blocks[i]!, batch.copies[i]!);
    }
    const failed = outcomes.find((o) => o.status === "rejected");
    if (failed === undefined) return;
    if (next !== undefined) await this.#settleBatch(next, undefined, context).catch(() => {});
    // The frames were marked clean: only the log still holds these pages' changes.
    const error = failed.reason;
    this.store.poison(
      error instanceof ExoError ? error : new ExoError(
        SqlState.ioError,
        `checkpoint write to ${this.image.device.name} failed: ${
          error instanceof Error ? error.message : String(error)
        }; restart to recover from the log`,
      ),
    );
    throw error;
  }

  /**
   * The buffer a checkpoint stages its batches in and reads them back into (one checkpoint runs
   * at a time). Kept for the engine's life: the I/O worker is given its address, which costs a
   * runtime op the first time a buffer is seen (hw/libc.ts).
   */
  #checkpointArena(): Uint8Array {
    this.#arena ??= new Uint8Array(2 * checkpointBatchBlocks * this.image.device.blockSizeBytes);
    return this.#arena;
  }

  /** Compares a block read back with the checksum it was written with (see #verifyWritten). */
  #checkReadBack(block: number, checksum: number, scratch: Uint8Array): void {
    const stored = new DataView(scratch.buffer, scratch.byteOffset).getUint32(0, true);
    // The stored checksum must be the one written (a dropped or misdirected write leaves
    // another) and must match the bytes (a torn write keeps the new header, not the body).
    if (stored !== checksum || !checksumMatches(scratch)) {
      const error = new ExoError(
        SqlState.dataCorrupted,
        `lost or misdirected write detected on block ${block} of ${this.image.device.name}: ` +
          `it reads back with checksum ${stored.toString(16)}, written with ${
            checksum.toString(16)
          }; restart to recover it from the log`,
      );
      this.#imageDamagedNeighbors(block, scratch);
      this.store.poison(error);
      this.lostWritesDetected++;
      throw error;
    }
  }

  /**
   * A write meant for `block` did not land there. If it was misdirected it damaged a nearby
   * block instead — the neighbor on either side in the fault model (an off-by-one block
   * address). Each neighbor that no longer verifies but is still in the pool (whose frame holds
   * its right contents) gets a full-page image in the log, made durable now, so the restart that
   * follows repairs it too; one that is not resident stays damaged and reads as XX001.
   */
  #imageDamagedNeighbors(block: number, scratch: Uint8Array): void {
    let imaged = 0;
    for (const neighbor of [block - 1, block + 1]) {
      if (neighbor < metaBlock || neighbor >= this.image.blockCount) continue;
      if (!this.pool.isResident(neighbor)) continue;
      this.image.device.read(neighbor, scratch);
      try {
        verifyBlock(scratch, this.image.device.name, neighbor, 0);
        continue; // intact
      } catch (error) {
        if (!(error instanceof CorruptBlockError)) throw error;
      }
      this.store.run(0, () => {
        const guard = this.pool.pin(neighbor);
        try {
          this.store.changed(guard, { kind: "image" });
        } finally {
          guard.release();
        }
      });
      imaged++;
    }
    if (imaged > 0) this.wal.flushSync();
  }

  /**
   * Starts an online backup: runs a checkpoint, then holds log recycling from its redo point
   * until `release` is called. Every block on the image is then at least as new as that redo
   * point, and every change after it (each first change with a full-page image) stays in the
   * log, so blocks copied at any later moment plus the log from the redo point to the end of the
   * copy recover to a consistent state.
   */
  async beginBackup(): Promise<{ checkpointLsn: number; redoLsn: number; release: () => void }> {
    await this.checkpoint();
    // Synchronous from here: no checkpoint can recycle between reading and holding.
    const { lsn, redoLsn } = this.#lastCheckpoint;
    assert(lsn !== 0, "a completed checkpoint");
    return { checkpointLsn: lsn, redoLsn, release: this.wal.holdRecycling(redoLsn) };
  }

  /** How many lost or misdirected writes checkpoints have caught. */
  lostWritesDetected = 0;

  /** Flushes everything and checkpoints: a clean shutdown. */
  async close(): Promise<void> {
    await this.txns.rollbacksDone(); // their undo steps change pages
    await this.checkpoint();
    // A checkpoint that was already running may have begun before the last changes (a rollback
    // after a failed statement, say): then one more, which begins after all of them.
    if (this.pool.stats().dirty > 0) await this.checkpoint();
    assert(this.pool.stats().dirty === 0, "no dirty pages after the final checkpoint");
  }
}

/**
 * Checkpoint record payload: redo LSN u64, next transaction id u64, count u32 and ids u64 of the
 * transactions running at the redo point, count u32 and ids u64 of the aborted set.
 */
interface CheckpointState {
  redoLsn: number;
  nextTxnId: number;
  active: number[];
  aborted: number[];
}

function encodeCheckpoint(state: CheckpointState): Uint8Array {
  const payload = new Uint8Array(24 + 8 * (state.active.length + state.aborted.length));
  const view = new DataView(payload.buffer);
  writeU64(view, 0, state.redoLsn);
  writeU64(view, 8, state.nextTxnId);
  let at = 16;
  for (const list of [state.active, state.aborted]) {
    view.setUint32(at, list.length, true);
    at += 4;
    for (const id of list) {
      writeU64(view, at, id);
      at += 8;
    }
  }
  return payload;
}

function decodeCheckpoint(payload: Uint8Array): CheckpointState {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const lists: number[][] = [];
  let at = 16;
  for (let i = 0; i < 2; i++) {
    const count = view.getUint32(at, true);
    at += 4;
    const list: number[] = [];
    for (let j = 0; j < count; j++, at += 8) list.push(readU64(view, at));
    lists.push(list);
  }
  return {
    redoLsn: readU64(view, 0),
    nextTxnId: readU64(view, 8),
    active: lists[0]!,
    aborted: lists[1]!,
  };
}

function copyRecord(record: WalRecord): WalRecord {
  return { ...record, payload: record.payload.slice() };
}
