/**
 * Background maintenance, run as background-class tasks of the cooperative scheduler
 * (kernel/scheduler.ts): periodic checkpoints (so recovery stays short and log space is
 * recycled), vacuum (so deleted and updated rows give their space back) and, on request, the
 * checksum scrub (kernel/scrub.ts). Timers only queue tasks; the scheduler decides when they run,
 * so client statements keep precedence and the work still gets its minimum share.
 *
 * Invariants:
 * 1. At most one task of each kind is queued or running at a time (a timer firing while the last
 *    one still runs does nothing).
 * 2. A failure is logged and counted; it never stops the timers or reaches a client.
 * 3. A vacuum pass runs in steps of `vacuumStepKeys` keys (dbengine/table.ts `startVacuum`) and yields whenever its slice is used, so no step holds the thread for more
 *    than a few keys' work; a stop takes effect at the next step.
 */
import type { Catalog } from "../dbengine/catalog.ts";
import type { Storage } from "../dbengine/storage.ts";
import { vacuumStepKeys } from "../dbengine/table.ts";
import type { Logger } from "./log.ts";
import { Scheduler } from "./scheduler.ts";
import { scrubImage, type ScrubReport } from "./scrub.ts";
import type { MaintenanceRow } from "../query/exodb_stat_relations.ts";

/** Options for {@link startMaintenance}. */
export interface MaintenanceOptions {
  checkpointIntervalMs?: number;
  vacuumIntervalMs?: number;
  /** The kernel's scheduler; a private one when absent (tests). */
  scheduler?: Scheduler;
}

/** Counters, for stats views and tests: exodb_stat_maintenance's figures, less the last scrub. */
export type MaintenanceStats = Omit<MaintenanceRow, "lastScrub">;

/** Handle to the background work. */
export interface Maintenance {
  /** Stops the timers; settles once a running vacuum pass has stopped (at its next step). */
  stop(): Promise<void>;
  stats: MaintenanceStats;
  /** The report of the last finished scrub. */
  lastScrub: ScrubReport | undefined;
  /**
   * Starts a full checksum scrub in the background class (or joins the one running) and
   * settles with its report. The SQL layer can expose it as `SELECT exodb_scrub()`.
   */
  scrub(): Promise<ScrubReport>;
  /** Runs one checkpoint task now (through the scheduler); settles when it is done. */
  checkpointNow(): Promise<void>;
  /** Runs one vacuum pass over every table now (through the scheduler). */
  vacuumNow(): Promise<void>;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Starts the maintenance timers of one mounted engine. */
export function startMaintenance(
  storage: Storage,
  catalog: Catalog,
  logger: Logger,
  options: MaintenanceOptions = {},
): Maintenance {
  const scheduler = options.scheduler ?? new Scheduler();
  const stats: MaintenanceStats = {
    checkpoints: 0,
    vacuums: 0,
    versionsRemoved: 0,
    vacuumSlices: 0,
    vacuumSliceMsMax: 0,
    scrubs: 0,
    scrubErrors: 0,
    failures: 0,
  };
  let lastCheckpointLsn = storage.wal.insertLsn;
  let checkpointing: Promise<void> | undefined;
  let vacuuming: Promise<void> | undefined;
  let scrubbing: Promise<ScrubReport> | undefined;
  let stopped = false;

  // Each task's slot (checkpointing, vacuuming, scrubbing) is freed in the first handler of its
  // settling, before its figures count it: whoever sees a task counted and asks for another
  // gets a new one, never the finished one.
  const checkpointNow = (): Promise<void> => {
    checkpointing ??= scheduler.spawn("background", "checkpoint", async (context) => {
      if (stopped || storage.store.poisoned !== undefined) return undefined;
      const lsn = storage.wal.insertLsn;
      await storage.checkpoint(context); // in slices; its syncs are suspended I/O
      return lsn;
    }).then((lsn) => {
      checkpointing = undefined;
      if (lsn === undefined) return;
      stats.checkpoints++;
      lastCheckpointLsn = lsn;
    }, (error) => {
      checkpointing = undefined;
      stats.failures++;
      logger.error(`checkpoint failed: ${message(error)}`);
    });
    return checkpointing;
  };

  const vacuumNow = (): Promise<void> => {
    vacuuming ??= scheduler.spawn("background", "vacuum", async (context) => {
      if (stopped || storage.store.poisoned !== undefined) return false;
      // The snapshot is held for the whole pass: a table dropped meanwhile keeps its trees
      // until the pass ends (catalog.ts frees them once every snapshot sees the drop).
      const snapshot = storage.txns.snapshot();
      let sliceStartMs = performance.now();
      stats.vacuumSlices++;
      const endSlice = () => {
        const sliceMs = performance.now() - sliceStartMs;
        if (sliceMs > stats.vacuumSliceMsMax) stats.vacuumSliceMsMax = sliceMs;
      };
      // Awaited only once the slice is used: an await per step would split the slice into
      // microtasks for nothing.
      const yieldSlice = async () => {
        endSlice();
        await context.yield();
        stats.vacuumSlices++;
        sliceStartMs = performance.now();
      };
      try {
        for (const def of catalog.tables(undefined, snapshot)) {
          // Steps of a few keys (invariant 3); statements run between the slices. Every step
          // decides whole keys at that moment, so what they do meanwhile is honoured
          // (dbengine/mvcc.ts rule 6); the handle keeps this pass's definition, and the held
          // snapshot keeps its trees.
          const pass = catalog.handle(def).startVacuum(0);
          for (;;) {
            if (stopped) return false;
            const step = pass.step(vacuumStepKeys);
            stats.versionsRemoved += step.versions + step.indexEntries;
            if (step.done) break;
            if (context.shouldYield()) await yieldSlice();
          }
          if (context.shouldYield()) await yieldSlice();
        }
      } finally {
        endSlice();
        storage.txns.release(snapshot);
      }
      return true;
    }).then((done) => {
      vacuuming = undefined;
      if (done) stats.vacuums++;
    }, (error) => {
      vacuuming = undefined;
      stats.failures++;
      logger.error(`vacuum failed: ${message(error)}`);
    });
    return vacuuming;
  };

  const maintenance: Maintenance = {
    stats,
    lastScrub: undefined,
    scrub() {
      scrubbing ??= scheduler.spawn(
        "background",
        "scrub",
        (context) => scrubImage(storage, context),
      )
        .then((report) => {
          scrubbing = undefined;
          stats.scrubs++;
          stats.scrubErrors += report.errors.length;
          maintenance.lastScrub = report;
          for (const error of report.errors) logger.error(`scrub: ${error}`);
          logger.info(
            `scrub checked ${report.blocksChecked} blocks (${report.blocksSkippedDirty} dirty in ` +
              `the pool skipped) in ${report.slices} slices: ${report.errors.length} corrupt`,
          );
          return report;
        }, (error) => {
          scrubbing = undefined;
          stats.failures++;
          logger.error(`scrub failed: ${message(error)}`);
          throw error;
        });
      return scrubbing;
    },
    checkpointNow,
    vacuumNow,
    stop() {
      stopped = true;
      clearInterval(checkpointTimer);
      clearInterval(vacuumTimer);
      return vacuuming ?? Promise.resolve();
    },
  };
  const checkpointTimer = setInterval(() => {
    if (storage.wal.insertLsn === lastCheckpointLsn || storage.store.poisoned !== undefined) return;
    void checkpointNow();
  }, options.checkpointIntervalMs ?? 30_000);
  // A periodic pass only after committed writes (a rolled-back transaction leaves no versions
  // behind): read-only workloads need none. The first
  // pass always runs (crash losers from recovery).
  let vacuumedAtCsn = -1;
  const vacuumTimer = setInterval(() => {
    if (storage.store.poisoned !== undefined) return;
    const csn = storage.txns.lastCommitCsn;
    if (csn === vacuumedAtCsn) return;
    vacuumedAtCsn = csn;
    void vacuumNow();
  }, options.vacuumIntervalMs ?? 10_000);
  return maintenance;
}
