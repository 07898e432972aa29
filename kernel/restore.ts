/**
 * `exodb restore`: turns a backup file into a data directory that boots.
 *
 * 1. The target must not exist or be an empty directory (a restore never mixes with data).
 * 2. Everything is built in `DIR.restoring` (removed first if an earlier restore died): the
 *    stream is verified frame by frame as it is read (`BackupReceiver`) and written by
 *    `RestoreWriter`; the first mismatch aborts, naming the block or LSN.
 * 3. Test boot: the temporary directory is mounted and recovered exactly as `exodb start`
 *    would (the WAL from the start LSN replays; full-page images repair fuzzy blocks), ends
 *    with a checkpoint, and every block and B+tree is verified (`exodb check`'s verifier).
 * 4. Only then is it fsynced and renamed to DIR. Any failure removes the temporary directory:
 *    nothing half-restored is ever under a name that boots.
 */
import { ExoError } from "../lib/errors.ts";
import { flushDirectory, openFileDevice } from "../hw/disk_file.ts";
import {
  ensureDirectory,
  isEmptyDirectory,
  pathExists,
  removeDirectory,
  renamePath,
} from "../hw/data_dir.ts";
import { BufferPool } from "../io/buffer_pool.ts";
import { dataFiles, openDataDir } from "../io/data_dir.ts";
import { Catalog } from "../dbengine/catalog.ts";
import { Storage } from "../dbengine/storage.ts";
import { verifyStorage } from "../dbengine/verify.ts";
import { BackupReceiver, type ReceiveProgress } from "../dbengine/backup/receiver.ts";
import { RestoreWriter } from "../dbengine/backup/restore_writer.ts";
import type { BackupHeader } from "../dbengine/backup/stream.ts";

/** Options for {@link restoreBackup}. */
export interface RestoreOptions {
  /** Buffer pool frames for the test boot (default 1024). */
  poolFrames?: number;
  onProgress?: (progress: ReceiveProgress, header: BackupHeader | undefined) => void;
}

/** What a restore did. */
export interface RestoreReport {
  header: BackupHeader;
  progress: ReceiveProgress;
  groupsReplayed: number;
  blocksChecked: number;
  trees: number;
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : trimmed.slice(0, slash);
}

/** Restores `file` into `dataDir` (see the module comment for the guarantees). */
export async function restoreBackup(
  file: string,
  dataDir: string,
  options: RestoreOptions = {},
): Promise<RestoreReport> {
  const target = dataDir.replace(/\/+$/, "");
  if (pathExists(target) && !isEmptyDirectory(target)) {
    throw new ExoError("58P02", `${target} is not empty; restore into a new directory`);
  }
  const temp = `${target}.restoring`;
  removeDirectory(temp); // an earlier restore that died: never bootable under this name
  ensureDirectory(temp);
  let writer: RestoreWriter | undefined;
  try {
    writer = new RestoreWriter(
      openFileDevice(join(temp, dataFiles.image), { create: true }),
      openFileDevice(join(temp, dataFiles.log), { create: true }),
    );
    const receiver = new BackupReceiver(writer);
    using input = await Deno.open(file, { read: true });
    const chunk = new Uint8Array(1024 * 1024);
    for (;;) {
      const n = await input.read(chunk);
      if (n === null) break;
      receiver.push(chunk.subarray(0, n));
      options.onProgress?.(receiver.progress, receiver.header);
    }
    const { header, trailer } = receiver.finish();
    writer.finish(trailer);
    writer.close();
    writer = undefined;

    const boot = await testBoot(temp, header, options.poolFrames ?? 1024);
    flushDirectory(temp);
    if (pathExists(target)) Deno.removeSync(target); // an empty directory (checked above)
    renamePath(temp, target);
    flushDirectory(parentOf(target));
    return { header, progress: receiver.progress, ...boot };
  } catch (error) {
    writer?.close();
    removeDirectory(temp);
    throw error;
  }
}

/** Mounts and recovers the restored directory as a boot would, then verifies it. */
async function testBoot(
  dir: string,
  header: BackupHeader,
  poolFrames: number,
): Promise<{ groupsReplayed: number; blocksChecked: number; trees: number }> {
  const data = openDataDir({
    dataDir: dir,
    blockSizeBytes: header.blockSizeBytes,
    imageInitialBytes: header.imageBlockCount * header.blockSizeBytes,
    imageExtentBytes: header.imageExtentBlocks * header.blockSizeBytes,
    logDeviceBytes: header.logBlockCount * header.blockSizeBytes,
    backend: "ffi",
    formatIfMissing: false,
  });
  try {
    const pool = new BufferPool(data.image.device, {
      frameCount: poolFrames,
      imageTag: data.image.imageTag,
    });
    const storage = await Storage.open(data.image, data.log, pool);
    const report = verifyStorage(storage, Catalog.open(storage));
    await storage.close();
    if (report.errors.length > 0) {
      throw new ExoError(
        "XX001",
        `restored image fails verification: ${report.errors.slice(0, 5).join("; ")}`,
      );
    }
    return {
      groupsReplayed: storage.recovery.groupsApplied,
      blocksChecked: report.blocksChecked,
      trees: report.trees,
    };
  } finally {
    data.image.close();
    data.log.close();
  }
}
