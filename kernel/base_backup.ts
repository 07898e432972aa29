/**
 * The server side of `exodb backup`: the `EXODB_BASE_BACKUP` command, a replication-style
 * simple query answered with one binary COPY OUT whose CopyData messages carry the backup
 * stream (format in dbengine/backup/stream.ts). It runs on the server's own listener, so it is
 * authenticated like any session (trust or SCRAM-SHA-256) and needs no extra port or
 * permission; any authenticated session may run it (ExoDB has no roles yet).
 */
import type { Storage } from "../dbengine/storage.ts";
import { type BackupSendReport, backupStream } from "../dbengine/backup/sender.ts";
import type { Logger } from "./log.ts";

/** True when a simple query is the base backup command (case-insensitive, optional `;`). */
export function isBaseBackupCommand(sql: string): boolean {
  return /^\s*exodb_base_backup\s*;?\s*$/i.test(sql);
}

/**
 * Streams a backup of `storage` through `write` (awaited per chunk: a slow client slows only
 * its own backup, and other sessions run between chunks). Log recycling is held from the start
 * checkpoint until the stream ends, also when `write` throws (client gone).
 */
export async function sendBaseBackup(
  storage: Storage,
  write: (chunk: Uint8Array) => Promise<void>,
  logger: Logger,
): Promise<BackupSendReport> {
  const started = performance.now();
  const report: BackupSendReport = { blockFrames: 0, walRecords: 0, startLsn: 0, endLsn: 0 };
  let bytes = 0;
  try {
    for await (const chunk of backupStream(storage, {}, report)) {
      await write(chunk);
      bytes += chunk.length;
    }
  } catch (error) {
    logger.warn(`base backup ended after ${bytes} bytes: ${(error as Error).message}`);
    throw error;
  }
  const ms = performance.now() - started;
  logger.info(
    `base backup sent ${report.blockFrames} blocks and ${report.walRecords} WAL records ` +
      `(LSN ${report.startLsn}..${report.endLsn}, ${(bytes / 1048576).toFixed(1)} MiB in ${
        ms.toFixed(0)
      } ms)`,
  );
  return report;
}
