/**
 * Boot and shutdown: the composition root. The only place that builds concrete devices, the
 * buffer pool, the storage engine and the listener, and hands them to the layers above.
 *
 * Boot stages, each timed for the boot log: config (validated by the caller), mount (format on
 * first boot), recover, listen. Shutdown: stop listening, close sessions, stop maintenance,
 * checkpoint, close the devices.
 *
 * Invariant: when the storage engine stops accepting changes (a failed log sync, a failure
 * inside an atomic page change), the kernel restarts the engine in place — devices closed
 * without flushing, then mounted and recovered from the log — as PostgreSQL restarts after a
 * PANIC. The listener stays up throughout.
 */
import { formatBytes } from "../lib/units.ts";
import { checkLimits } from "../lib/limits.ts";
import type { NetConnection, NetListener } from "../hw/net.ts";
import { TcpListener } from "../hw/net_tcp.ts";
import { UringNic } from "../hw/net_uring.ts";
import { Uring } from "../hw/uring.ts";
import { UringFlushDevice } from "../hw/disk_uring.ts";
import { BufferPool } from "../io/buffer_pool.ts";
import { crc32cImplementation } from "../io/crc32c.ts";
import { type DataDir, dataFiles, openDataDir } from "../io/data_dir.ts";
import { Storage } from "../dbengine/storage.ts";
import { Catalog } from "../dbengine/catalog.ts";
import { type Maintenance, startMaintenance } from "./maintenance.ts";
import { RingIo } from "../io/io_worker/ring_io.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";
import { StatementLog } from "./statement_log.ts";
import type { Config } from "./config.ts";
import { servePostgres } from "./pg_session.ts";
import {
  setIoWorkerStatsProvider,
  setMaintenanceStatsProvider,
  setNicStatsProvider,
  setSchedulerStatsProvider,
} from "../query/exodb_stat_relations.ts";
import { setScrubStarter } from "../query/functions.ts";
import { BackendWriter } from "../io/pgwire/messages.ts";
import type { Logger } from "./log.ts";

/** Serves one accepted connection until it ends. */
export type ConnectionHandler = (connection: NetConnection, appliance: Appliance) => Promise<void>;

/** The mounted storage engine; replaced as a whole when the kernel restarts it. */
export interface Engine {
  data: DataDir;
  pool: BufferPool;
  storage: Storage;
  catalog: Catalog;
  maintenance: Maintenance;
}

/** A booted appliance. */
export interface Appliance {
  config: Config;
  /** The current engine (read it per statement: a restart replaces it). */
  engine: Engine;
  listener: NetListener;
  /** The cooperative scheduler that runs statements and maintenance as tasks. */
  scheduler: Scheduler;
  /** How many times the engine was restarted to recover from a failure. */
  restarts: number;
  /** The I/O worker's rings (exo profile), or undefined when devices are called directly. */
  io: RingIo | undefined;
  /** Where sessions log finished statements (a ring drained in the background on exo). */
  statementLog: StatementLog;
  /** Restarts the engine: close without flushing, mount, recover. */
  restartEngine(reason: string): Promise<void>;
  /** Stops accepting, ends sessions, flushes and closes the devices. */
  shutdown(): Promise<void>;
  /** Settles when the accept loop has ended. */
  served: Promise<void>;
}

/** A handler that logs the connection and closes it (tests of the accept loop). */
export const closeAfterLogLine: ConnectionHandler = (connection) => {
  connection.close();
  return Promise.resolve();
};

function elapsedMs(since: number): string {
  return `${(performance.now() - since).toFixed(1)} ms`;
}

/** Mounts (formatting on first boot) and recovers the storage engine, logging each stage. */
async function mountEngine(
  config: Config,
  logger: Logger,
  scheduler: Scheduler,
  io: RingIo | undefined,
  ring?: Uring,
): Promise<Engine> {
  let stage = performance.now();
  const data = openDataDir({
    dataDir: config.dataDir,
    blockSizeBytes: config.blockSizeBytes,
    imageInitialBytes: config.imageInitialBytes,
    imageExtentBytes: config.imageExtentBytes,
    logDeviceBytes: config.logDeviceBytes,
    backend: config.profile === "exo" ? "ffi" : "op",
    ...(io !== undefined
      ? {
        openDevice: (path: string, create: boolean) => {
          const device = io.open(path, create, config.ioPath === "ring" ? "ring" : "direct");
          if (ring === undefined || !path.endsWith(`/${dataFiles.log}`)) return device;
          const log = UringFlushDevice.wrap(device, path, ring);
          if (log instanceof UringFlushDevice) log.host = { busy: () => scheduler.busy };
          return log;
        },
      }
      : {}),
  });
  const superblock = data.image.superblock;
  logger.info(
    `boot mount ${elapsedMs(stage)} (${
      data.formatted ? "formatted" : "mounted"
    } ${config.dataDir}: ` +
      `image ${superblock.imageId}, ${superblock.blockCount} blocks of ${
        formatBytes(superblock.blockSizeBytes)
      })`,
  );
  for (const repair of data.repairs) logger.warn(`boot repair ${repair}`);

  stage = performance.now();
  const frameCount = Math.floor(config.poolSizeBytes / config.blockSizeBytes);
  const pool = new BufferPool(data.image.device, { frameCount, imageTag: data.image.imageTag });
  let storage: Storage;
  try {
    storage = await Storage.open(data.image, data.log, pool);
  } catch (error) {
    data.image.close();
    data.log.close();
    throw error;
  }
  // The conventional profile has no group commit: a sync per commit (dbengine/wal, rule 4).
  storage.wal.groupCommit = config.profile === "exo";
  const catalog = Catalog.open(storage);
  const maintenance = startMaintenance(storage, catalog, logger, { scheduler });
  const recovery = storage.recovery;
  logger.info(
    `boot recover ${
      elapsedMs(stage)
    } (${recovery.recordsRead} log records read from LSN ${recovery.redoFromLsn}, ` +
      `${recovery.groupsApplied} page groups replayed, ${recovery.pagesApplied} pages changed, ` +
      `${recovery.losers.length} unfinished transactions; buffer pool ${frameCount} frames)`,
  );
  if (recovery.droppedRecords > 0) {
    logger.warn(
      `boot repair dropped ${recovery.droppedRecords} records of an incomplete last page group`,
    );
  }
  if (recovery.endReason !== "zeroed") {
    logger.warn(
      `boot repair log cut at LSN ${recovery.endLsn}: ${recovery.endReason} (a torn last write)`,
    );
  }
  return { data, pool, storage, catalog, maintenance };
}

/** Boots on a validated config. `configMs` is how long validation took, for the boot log. */
export async function boot(
  config: Config,
  logger: Logger,
  options: {
    configMs?: number;
    handler?: ConnectionHandler;
    watchdogMs?: number;
    /** Scheduler options beside the configured mode (profiling hooks, tests). */
    scheduler?: Omit<SchedulerOptions, "mode">;
  } = {},
): Promise<Appliance> {
  checkLimits();
  logger.info(
    `boot config ${
      (options.configMs ?? 0).toFixed(1)
    } ms (profile ${config.profile}, crc32c ${crc32cImplementation}, scheduler ${config.scheduler})`,
  );
  // The exo profile's disk I/O runs on the I/O worker, through rings (io/io_worker); the
  // conventional profile makes one runtime op per step on the kernel thread.
  const io = config.profile === "exo" && config.ioPath !== "direct"
    ? await RingIo.start()
    : undefined;
  if (config.profile === "exo" && config.ioPath !== "direct" && io === undefined) {
    logger.warn("boot io: FFI unavailable, the exo profile calls the devices directly");
  }
  // The NIC's io_uring, opened before the engine so the log device's group-commit flush can
  // share it (hw/disk_uring.ts): a commit's write → sync rides on the enter that sends replies.
  const sharedRing = config.profile === "exo" && config.netPath === "ring" &&
      config.logFlush === "nic-ring" && io !== undefined
    ? Uring.open(UringNic.ringEntries(config.maxConnections))
    : undefined;
  // Each scheduler tick drains the I/O worker's completions (syncs settle before the next grant).
  // Each tick also reaps the NIC ring's completions (set once the listener exists).
  let tickNic: UringNic | undefined;
  const scheduler = new Scheduler({
    onTick: () => {
      io?.poll();
      if (tickNic !== undefined) tickNic.tick();
      else sharedRing?.reap();
    },
    onIdle: () => tickNic?.idle(),
    ...options.scheduler,
    mode: config.scheduler,
  });
  // exodb_stat_scheduler reads this scheduler (process-wide, like exodb_scrub()).
  setSchedulerStatsProvider(() =>
    Object.entries(scheduler.stats()).map(([name, stats]) => ({ name, ...stats }))
  );
  setIoWorkerStatsProvider(() => {
    if (io === undefined) return undefined;
    const { worker, ...ring } = io.stats();
    return {
      ...ring,
      kernelWaits: ring.syncWaits,
      kernelSleeps: ring.syncSleeps,
      ...worker,
      workerSleeps: worker.sleeps,
    };
  });
  let engine: Engine;
  try {
    engine = await mountEngine(config, logger, scheduler, io, sharedRing);
  } catch (error) {
    sharedRing?.close();
    io?.close();
    throw error;
  }
  setMaintenanceStatsProvider(() => ({
    ...engine.maintenance.stats,
    lastScrub: engine.maintenance.lastScrub,
  }));

  const stage = performance.now();
  let listener: NetListener;
  let nic: UringNic | undefined;
  try {
    // The exo profile's NIC is io_uring (one enter per kernel turn for every connection's
    // receives and sends, completions read at each tick); elsewhere Deno's TCP, an op per call.
    nic = config.profile === "exo" && config.netPath === "ring"
      ? UringNic.listen(config.host, config.port, config.maxConnections, sharedRing)
      : undefined;
    if (config.profile === "exo" && config.netPath === "ring" && nic === undefined) {
      logger.warn("boot net: io_uring unavailable here, client sockets use Deno's TCP");
    }
    listener = nic ?? new TcpListener(config.host, config.port);
  } catch (error) {
    engine.maintenance.stop();
    await engine.storage.close();
    engine.data.image.close();
    engine.data.log.close();
    sharedRing?.close();
    io?.close();
    throw error;
  }
  logger.info(
    `boot listen ${elapsedMs(stage)} (${listener.hostname}:${listener.port}, ${
      nic !== undefined ? "io_uring" : "Deno TCP"
    })`,
  );
  setNicStatsProvider(() => listener.stats());
  if (nic !== undefined) {
    nic.host = { busy: () => scheduler.busy, nowMs: () => performance.now() };
    tickNic = nic;
  }
  const statementLog = new StatementLog({
    path: `${config.dataDir.replace(/\/$/, "")}/statements.log`,
    mode: config.profile === "exo" ? "ring" : "direct",
    runDrain: (drain) => {
      scheduler.spawn("background", "statement log drain", drain).catch(() => {});
    },
  });
  // `SELECT exodb_scrub()` starts the background scrub of the current engine (process-wide:
  // the last appliance booted in this process owns it).
  setScrubStarter(() => {
    const { maintenance } = engine;
    const last = maintenance.lastScrub;
    void maintenance.scrub().catch(() => {}); // logged and counted by maintenance
    return last === undefined
      ? "scrub started"
      : `scrub started (last: ${last.blocksChecked} blocks checked, ${last.errors.length} corrupt)`;
  });

  const handler = options.handler ??
    ((connection, served) => servePostgres(connection, served, logger));
  const open = new Set<NetConnection>();
  let stopping = false;
  let restarting: Promise<void> | undefined;
  const appliance: Appliance = {
    config,
    get engine() {
      return engine;
    },
    listener,
    scheduler,
    restarts: 0,
    io,
    statementLog,
    restartEngine(reason: string) {
      restarting ??= (async () => {
        logger.error(`engine restart: ${reason}`);
        engine.maintenance.stop();
        // Close without flushing: the pool may hold changes the log does not cover.
        engine.data.image.close();
        engine.data.log.close();
        engine = await mountEngine(config, logger, scheduler, io, sharedRing);
        appliance.restarts++;
      })().finally(() => {
        restarting = undefined;
      });
      return restarting;
    },
    served: Promise.resolve(),
    async shutdown() {
      if (stopping) return;
      stopping = true;
      clearInterval(watchdog);
      listener.close();
      for (const connection of open) connection.close();
      await appliance.served;
      await restarting;
      await engine.maintenance.stop(); // a vacuum pass in slices would dirty pages after close
      const dirty = engine.pool.stats().dirty;
      await engine.storage.close(); // a final checkpoint: the next boot replays nothing
      engine.data.image.close();
      engine.data.log.close();
      sharedRing?.close();
      io?.close();
      statementLog.close();
      logger.info(
        `shutdown clean (${dirty} dirty blocks written, checkpoint at LSN ${engine.storage.wal.lastLsn})`,
      );
    },
  };
  const watchdog = setInterval(() => {
    const storage = engine.storage;
    const failure = storage.wal.failed
      ? "the log failed to sync"
      : storage.store.poisoned !== undefined
      ? `a change failed part-way (${storage.store.poisoned})`
      : undefined;
    if (failure !== undefined && restarting === undefined && !stopping) {
      appliance.restartEngine(failure).catch((error) =>
        logger.error(`engine restart failed: ${error}`)
      );
    }
  }, options.watchdogMs ?? 500);
  appliance.served = (async () => {
    for (;;) {
      const connection = await listener.accept();
      if (connection === null) return;
      if (stopping) {
        connection.close();
        continue;
      }
      if (open.size >= config.maxConnections) {
        // PostgreSQL's answer past max_connections; the descriptor is released at once.
        const refusal = new BackendWriter();
        refusal.errorResponse({
          severity: "FATAL",
          code: "53300",
          message: "sorry, too many clients already",
        });
        connection.write(refusal.take()).catch(() => {}).finally(() => connection.close());
        continue;
      }
      logger.info(`connection from ${connection.peer}`);
      open.add(connection);
      handler(connection, appliance)
        .catch((error) => logger.error(`session ${connection.peer}: ${error}`))
        .finally(() => {
          connection.close();
          open.delete(connection);
        });
    }
  })();
  return appliance;
}
