/**
 * The data directory: one disk image (`exodb.img`) and one log device (`exodb.wal`), formatted
 * on first boot and mounted afterwards. No file per table; after this, storage is addressed only
 * by block number.
 *
 * Invariants:
 * 1. A new image is formatted under temporary names, flushed, then renamed into place (image
 *    first, then log) and the directory flushed: a crash during first boot never leaves a
 *    half-formatted image under the real name.
 * 2. A refused mount writes nothing. Repairs (rewriting a damaged superblock copy) happen only
 *    after both devices have passed every check.
 */
import { MountError } from "../lib/errors.ts";
import { type FileBackend, flushDirectory, openFileDevice } from "../hw/disk_file.ts";
import { ensureDirectory, pathExists, removeFile, renamePath } from "../hw/data_dir.ts";
import type { RawDevice } from "../hw/raw_device.ts";
import { type DiskImage, formatDevice, mountDevice } from "./disk_image.ts";

/** File names inside the data directory. */
export const dataFiles = { image: "exodb.img", log: "exodb.wal" } as const;

/** Options for {@link openDataDir}. */
export interface DataDirOptions {
  dataDir: string;
  blockSizeBytes: number;
  imageInitialBytes: number;
  imageExtentBytes: number;
  logDeviceBytes: number;
  backend: FileBackend;
  /**
   * Opens a device file instead of `backend` (the exo profile's I/O worker, io/io_worker);
   * `create` means the file must not exist yet.
   */
  openDevice?: (path: string, create: boolean) => RawDevice;
  /** Format when there is no image (default true; the offline checker passes false). */
  formatIfMissing?: boolean;
}

/** The mounted devices of a data directory. */
export interface DataDir {
  image: DiskImage;
  log: DiskImage;
  /** True when this boot formatted the devices. */
  formatted: boolean;
  /** Repairs made at mount, for the boot log. */
  repairs: string[];
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

function openDevice(options: DataDirOptions, path: string, create: boolean): RawDevice {
  return options.openDevice?.(path, create) ??
    openFileDevice(path, { create, backend: options.backend });
}

/** Formats the data directory if it holds no image, then mounts both devices. */
export function openDataDir(options: DataDirOptions): DataDir {
  const imagePath = join(options.dataDir, dataFiles.image);
  const logPath = join(options.dataDir, dataFiles.log);
  let formatted = false;
  ensureDirectory(options.dataDir);
  if (!pathExists(imagePath)) {
    if (options.formatIfMissing === false) {
      throw new MountError(
        `Cannot open ${options.dataDir}: it holds no ExoDB image (${dataFiles.image})`,
      );
    }
    if (pathExists(logPath)) {
      throw new MountError(
        `Cannot boot: ${logPath} exists without ${imagePath}; move the log device away to format a new image`,
      );
    }
    formatNew(options, imagePath, logPath);
    formatted = true;
  }
  const imageRaw = openDevice(options, imagePath, false);
  let image: DiskImage;
  try {
    image = mountDevice(imageRaw, { role: "image", blockSizeBytes: options.blockSizeBytes });
  } catch (error) {
    imageRaw.close();
    throw error;
  }
  if (!pathExists(logPath)) {
    // Invariant 1: a crash between the two renames of a first boot leaves the log under its
    // temporary name next to a never-mounted image; finish the rename.
    const logTemp = `${logPath}.new`;
    if (image.superblock.sequence === 1 && pathExists(logTemp)) {
      renamePath(logTemp, logPath);
      flushDirectory(options.dataDir);
    } else {
      image.close();
      throw new MountError(`Cannot boot: log device ${logPath} is missing`);
    }
  }
  const logRaw = openDevice(options, logPath, false);
  let log: DiskImage;
  try {
    log = mountDevice(logRaw, {
      role: "log",
      blockSizeBytes: options.blockSizeBytes,
      imageId: image.superblock.imageId,
    });
  } catch (error) {
    logRaw.close();
    image.close();
    throw error;
  }
  const repairs = [...image.mountReport, ...log.mountReport];
  if (image.mountReport.length > 0) image.writeSuperblock();
  if (log.mountReport.length > 0) log.writeSuperblock();
  return { image, log, formatted, repairs };
}

function formatNew(options: DataDirOptions, imagePath: string, logPath: string): void {
  const imageTemp = `${imagePath}.new`;
  const logTemp = `${logPath}.new`;
  removeFile(imageTemp);
  removeFile(logTemp);
  const block = options.blockSizeBytes;
  const image = formatDevice(
    openDevice(options, imageTemp, true),
    {
      role: "image",
      blockSizeBytes: block,
      initialBlocks: options.imageInitialBytes / block,
      extentBlocks: options.imageExtentBytes / block,
    },
  );
  const imageId = image.superblock.imageId;
  image.close();
  const log = formatDevice(openDevice(options, logTemp, true), {
    role: "log",
    blockSizeBytes: block,
    initialBlocks: options.logDeviceBytes / block,
    extentBlocks: options.logDeviceBytes / block,
    imageId,
    zeroFill: true, // synced on every commit: see FormatOptions.zeroFill
  });
  log.close();
  flushDirectory(options.dataDir);
  renamePath(imageTemp, imagePath);
  renamePath(logTemp, logPath);
  flushDirectory(options.dataDir);
}
