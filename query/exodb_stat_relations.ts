/**
 * ExoDB's own statistics views, served like the system catalogs (query/system_catalog.ts):
 * - exodb_stat_crossings: every crossing kind counted at hw/ (count, bytes moved, copies made)
 *   since the process started;
 * - exodb_stat_sessions: each client session's state, statements and charged crossings;
 * - exodb_stat_bufferpool: the buffer pool's frames, hit/miss/eviction counters;
 * - exodb_stat_io: block traffic of the disk image and the log device;
 * - exodb_stat_io_worker: the exo profile's I/O worker (submissions, syscalls it made, syncs);
 * - exodb_stat_nic: the NIC's path (io_uring or Deno TCP), traffic and the crossings it cost;
 * - exodb_stat_scheduler: the cooperative scheduler's classes (CPU, waits, queues), from the
 *   provider the kernel installs at boot;
 * - exodb_stat_maintenance: checkpoints, vacuum passes and scrubs the maintenance tasks finished
 *   (kernel/maintenance.ts), from the provider the kernel installs at boot.
 */
import { UringFlushDevice } from "../hw/disk_uring.ts";
import { crossingKinds, crossings } from "../hw/crossings.ts";
import type { NetStats } from "../hw/net.ts";
import { liveSessions } from "./session_stats.ts";
import { type SqlType, t } from "./sql_types.ts";
import { defineSystemRelation } from "./system_catalog.ts";
import type { SchedulerClassStats } from "../lib/task_context.ts";

/** pg_class oids for ExoDB's views, above PostgreSQL's own catalog oids. */
const firstViewOid = 9900;
let nextOid = firstViewOid;

function view(
  name: string,
  columns: [string, SqlType][],
  rows: Parameters<typeof defineSystemRelation>[0]["rows"],
): void {
  defineSystemRelation({ schema: "pg_catalog", name, oid: nextOid++, kind: "v", columns, rows });
}

view(
  "exodb_stat_crossings",
  [["kind", t.text], ["count", t.int8], ["bytes", t.int8], ["copies", t.int8]],
  () => {
    const snapshot = crossings.snapshot();
    return crossingKinds.map((kind) => ({
      kind,
      count: BigInt(snapshot[kind].count),
      bytes: BigInt(snapshot[kind].bytes),
      copies: BigInt(snapshot[kind].copies),
    }));
  },
);

view(
  "exodb_stat_sessions",
  [
    ["pid", t.int4],
    ["usename", t.name],
    ["application_name", t.text],
    ["state", t.text],
    ["backend_start", t.timestamptz],
    ["statements", t.int8],
    ...crossingKinds.map((kind): [string, SqlType] => [`${kind}s`, t.int8]),
    ["crossing_bytes", t.int8],
  ],
  () =>
    liveSessions().map((session) => {
      const row: Record<string, bigint | number | string> = {
        pid: session.backendPid,
        usename: session.user,
        application_name: session.settings.get("application_name") ?? "",
        state: session.active
          ? "active"
          : session.status === "T"
          ? "idle in transaction"
          : session.status === "E"
          ? "idle in transaction (aborted)"
          : "idle",
        backend_start: session.startedMicros,
        statements: BigInt(session.statements),
      };
      let bytes = 0;
      crossingKinds.forEach((kind, i) => {
        row[`${kind}s`] = BigInt(session.crossings[i * 3]!);
        bytes += session.crossings[i * 3 + 1]!;
      });
      row.crossing_bytes = BigInt(bytes);
      return row;
    }),
);

view(
  "exodb_stat_bufferpool",
  [
    ["frames", t.int8],
    ["resident", t.int8],
    ["pinned", t.int8],
    ["dirty", t.int8],
    ["hits", t.int8],
    ["misses", t.int8],
    ["evictions", t.int8],
    ["hit_ratio", t.float8],
  ],
  (session) => {
    const stats = session.catalog.storage.pool.stats();
    const lookups = stats.hits + stats.misses;
    return [{
      frames: BigInt(stats.frames),
      resident: BigInt(stats.resident),
      pinned: BigInt(stats.pinned),
      dirty: BigInt(stats.dirty),
      hits: BigInt(stats.hits),
      misses: BigInt(stats.misses),
      evictions: BigInt(stats.evictions),
      hit_ratio: lookups === 0 ? 1 : stats.hits / lookups,
    }];
  },
);

view(
  "exodb_stat_io",
  [
    ["device", t.text],
    ["block_size", t.int4],
    ["reads", t.int8],
    ["writes", t.int8],
    ["bytes_written", t.int8],
    ["syncs", t.int8],
    ["grouped_commits", t.int8],
    ["nic_ring_flushes", t.int8],
  ],
  (session) => {
    const storage = session.catalog.storage;
    // The log's write → sync pairs on the NIC's io_uring (exo's --log-flush nic-ring).
    const logRaw = storage.wal.device.raw;
    const ringFlushes = logRaw instanceof UringFlushDevice ? logRaw.stats.flushes : 0;
    const pool = storage.pool.stats();
    const wal = storage.wal.stats;
    const blockBytes = storage.store.blockSizeBytes;
    return [
      {
        device: "image",
        block_size: blockBytes,
        reads: BigInt(pool.reads),
        writes: BigInt(pool.writes),
        bytes_written: BigInt(pool.writes * blockBytes),
        syncs: 0n,
        grouped_commits: 0n,
        nic_ring_flushes: 0n,
      },
      {
        device: "log",
        block_size: blockBytes,
        reads: 0n,
        writes: BigInt(wal.flushes),
        bytes_written: BigInt(wal.appendedBytes),
        syncs: BigInt(wal.syncs),
        grouped_commits: BigInt(wal.groupedCommits),
        nic_ring_flushes: BigInt(ringFlushes),
      },
    ];
  },
);

/** The I/O worker's figures as exodb_stat_io_worker shows them (io/io_worker/ring_io.ts). */
export interface IoWorkerRow {
  submitted: number;
  completed: number;
  inFlight: number;
  kernelWaits: number;
  kernelSleeps: number;
  batches: number;
  syscalls: number;
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  syncs: number;
  syncsCoalesced: number;
  workerSleeps: number;
}

let ioWorkerRow: (() => IoWorkerRow | undefined) | undefined;

/** Installs what exodb_stat_io_worker reads (the kernel does at boot, on the exo profile). */
export function setIoWorkerStatsProvider(
  provider: (() => IoWorkerRow | undefined) | undefined,
): void {
  ioWorkerRow = provider;
}

// One row while the I/O worker runs (exo profile), none when devices are called directly.
view(
  "exodb_stat_io_worker",
  [
    ["submitted", t.int8],
    ["completed", t.int8],
    ["in_flight", t.int4],
    ["kernel_waits", t.int8],
    ["kernel_sleeps", t.int8],
    ["worker_batches", t.int8],
    ["worker_syscalls", t.int8],
    ["reads", t.int8],
    ["writes", t.int8],
    ["bytes_read", t.int8],
    ["bytes_written", t.int8],
    ["syncs", t.int8],
    ["syncs_coalesced", t.int8],
    ["worker_sleeps", t.int8],
  ],
  () => {
    const row = ioWorkerRow?.();
    if (row === undefined) return [];
    return [{
      submitted: BigInt(row.submitted),
      completed: BigInt(row.completed),
      in_flight: row.inFlight,
      kernel_waits: BigInt(row.kernelWaits),
      kernel_sleeps: BigInt(row.kernelSleeps),
      worker_batches: BigInt(row.batches),
      worker_syscalls: BigInt(row.syscalls),
      reads: BigInt(row.reads),
      writes: BigInt(row.writes),
      bytes_read: BigInt(row.bytesRead),
      bytes_written: BigInt(row.bytesWritten),
      syncs: BigInt(row.syncs),
      syncs_coalesced: BigInt(row.syncsCoalesced),
      worker_sleeps: BigInt(row.workerSleeps),
    }];
  },
);

let nicRow: (() => NetStats) | undefined;

/** Installs what exodb_stat_nic reads (the kernel does at boot; undefined removes it). */
export function setNicStatsProvider(provider: (() => NetStats) | undefined): void {
  nicRow = provider;
}

// One row: the NIC's path, its traffic, and the crossings the kernel thread made for it.
view(
  "exodb_stat_nic",
  [
    ["path", t.text],
    ["accepted", t.int8],
    ["receives", t.int8],
    ["sends", t.int8],
    ["bytes_received", t.int8],
    ["bytes_sent", t.int8],
    ["socket_calls", t.int8],
    ["ring_submitted", t.int8],
    ["ring_reaped", t.int8],
    ["idle_waits", t.int8],
  ],
  () => {
    const row = nicRow?.();
    if (row === undefined) return [];
    return [{
      path: row.path,
      accepted: BigInt(row.accepted),
      receives: BigInt(row.receives),
      sends: BigInt(row.sends),
      bytes_received: BigInt(row.bytesReceived),
      bytes_sent: BigInt(row.bytesSent),
      socket_calls: BigInt(row.socketCalls),
      ring_submitted: BigInt(row.submitted),
      ring_reaped: BigInt(row.reaped),
      idle_waits: BigInt(row.idleWaits),
    }];
  },
);

/** One scheduler class as exodb_stat_scheduler shows it: the kernel's figures, named. */
export type SchedulerClassRow = Omit<SchedulerClassStats, "vruntime"> & { name: string };

let schedulerRows: (() => SchedulerClassRow[]) | undefined;

/** Installs what exodb_stat_scheduler reads (the kernel does at boot; undefined removes it). */
export function setSchedulerStatsProvider(provider: (() => SchedulerClassRow[]) | undefined): void {
  schedulerRows = provider;
}

view(
  "exodb_stat_scheduler",
  [
    ["class", t.text],
    ["shares", t.int4],
    ["queued", t.int4],
    ["running", t.int4],
    ["cpu_ms", t.float8],
    ["wait_ms", t.float8],
    ["wait_ms_max", t.float8],
    ["slices", t.int8],
    ["stalls", t.int8],
    ["completed", t.int8],
    ["failed", t.int8],
    ["detached", t.int8],
  ],
  () =>
    (schedulerRows?.() ?? []).map((c) => ({
      class: c.name,
      shares: c.shares,
      queued: c.queued,
      running: c.running,
      cpu_ms: c.cpuMs,
      wait_ms: c.waitMs,
      wait_ms_max: c.waitMsMax,
      slices: BigInt(c.slices),
      stalls: BigInt(c.stalls),
      completed: BigInt(c.completed),
      failed: BigInt(c.failed),
      detached: BigInt(c.detached),
    })),
);

/** The maintenance counters as exodb_stat_maintenance shows them. */
export interface MaintenanceRow {
  checkpoints: number;
  vacuums: number;
  versionsRemoved: number;
  /** Slices the vacuum passes ran in (each yield starts one more). */
  vacuumSlices: number;
  /** The longest a vacuum pass held the thread between two yields, in milliseconds. */
  vacuumSliceMsMax: number;
  scrubs: number;
  /** Corrupt blocks the scrubs found, in total. */
  scrubErrors: number;
  failures: number;
  /** The last finished scrub, if any. */
  lastScrub: { blocksChecked: number } | undefined;
}

let maintenanceRow: (() => MaintenanceRow) | undefined;

/** Installs what exodb_stat_maintenance reads (the kernel does at boot; undefined removes it). */
export function setMaintenanceStatsProvider(provider: (() => MaintenanceRow) | undefined): void {
  maintenanceRow = provider;
}

view(
  "exodb_stat_maintenance",
  [
    ["checkpoints", t.int8],
    ["vacuums", t.int8],
    ["versions_removed", t.int8],
    ["vacuum_slices", t.int8],
    ["vacuum_slice_ms_max", t.float8],
    ["scrubs", t.int8],
    ["scrub_errors", t.int8],
    ["failures", t.int8],
    ["last_scrub_blocks", t.int8],
  ],
  () => {
    const m = maintenanceRow?.();
    if (m === undefined) return [];
    return [{
      checkpoints: BigInt(m.checkpoints),
      vacuums: BigInt(m.vacuums),
      versions_removed: BigInt(m.versionsRemoved),
      vacuum_slices: BigInt(m.vacuumSlices),
      vacuum_slice_ms_max: m.vacuumSliceMsMax,
      scrubs: BigInt(m.scrubs),
      scrub_errors: BigInt(m.scrubErrors),
      failures: BigInt(m.failures),
      last_scrub_blocks: BigInt(m.lastScrub?.blocksChecked ?? 0),
    }];
  },
);
