/**
 * Background maintenance: periodic checkpoints (so recovery stays short and log space is
 * recycled) and vacuum (so deleted and updated rows give their space back). Runs on timers
 * between statements; each step is short or yields between tables. (The cooperative scheduler
 * with classes and shares comes with the kernel issue; until then these are plain timers.)
 */
import type { Catalog } from "../dbengine/catalog.ts";
import type { Storage } from "../dbengine/storage.ts";
import type { Logger } from "./log.ts";

/** Options for {@link startMaintenance}. */
export interface MaintenanceOptions {
  checkpointIntervalMs?: number;
  vacuumIntervalMs?: number;
}

/** Handle to stop the timers. */
export interface Maintenance {
  stop(): void;
  /** Counters, for stats views and tests. */
  stats: { checkpoints: number; vacuums: number; versionsRemoved: number; failures: number };
}

export function startMaintenance(
  storage: Storage,
  catalog: Catalog,
  logger: Logger,
  options: MaintenanceOptions = {},
): Maintenance {
  const stats = { checkpoints: 0, vacuums: 0, versionsRemoved: 0, failures: 0 };
  let lastCheckpointLsn = storage.wal.insertLsn;
  let vacuuming = false;
  const checkpointTimer = setInterval(() => {
    if (storage.wal.insertLsn === lastCheckpointLsn || storage.store.poisoned !== undefined) return;
    storage.checkpoint().then(() => {
      stats.checkpoints++;
      lastCheckpointLsn = storage.wal.insertLsn;
    }, (error) => {
      stats.failures++;
      logger.error(`checkpoint failed: ${error instanceof Error ? error.message : error}`);
    });
  }, options.checkpointIntervalMs ?? 30_000);
  const vacuumTimer = setInterval(async () => {
    if (vacuuming || storage.store.poisoned !== undefined) return;
    vacuuming = true;
    try {
      const snapshot = storage.txns.snapshot();
      const tables = catalog.tables(undefined, snapshot);
      storage.txns.release(snapshot);
      for (const def of tables) {
        const removed = catalog.handle(def).vacuum(0);
        stats.versionsRemoved += removed.versions + removed.indexEntries;
        await new Promise((resolve) => setTimeout(resolve, 0)); // let statements run between tables
      }
      stats.vacuums++;
    } catch (error) {
      stats.failures++;
      logger.error(`vacuum failed: ${error instanceof Error ? error.message : error}`);
    } finally {
      vacuuming = false;
    }
  }, options.vacuumIntervalMs ?? 10_000);
  return {
    stats,
    stop() {
      clearInterval(checkpointTimer);
      clearInterval(vacuumTimer);
    },
  };
}
