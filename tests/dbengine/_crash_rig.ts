/** Boots storage over memory devices wrapped in fault injectors, and "reboots" after a crash. */
import { FaultyDevice } from "../../hw/disk_faulty.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import { BufferPool } from "../../io/buffer_pool.ts";
import { formatDevice, mountDevice } from "../../io/disk_image.ts";
import { Storage } from "../../dbengine/storage.ts";

export const blockSize = 4096;

/** The media of one simulated machine: survive crashes, as disks do. */
export interface Media {
  image: MemoryDevice;
  log: MemoryDevice;
  imageId: string;
}

export function newMedia(logBlocks = 512): Media {
  const image = new MemoryDevice("image");
  const log = new MemoryDevice("log");
  const formatted = formatDevice(image, {
    role: "image",
    blockSizeBytes: blockSize,
    initialBlocks: 16,
    extentBlocks: 16,
  });
  const imageId = formatted.superblock.imageId;
  formatDevice(log, {
    role: "log",
    blockSizeBytes: blockSize,
    initialBlocks: logBlocks,
    extentBlocks: 16,
    imageId,
  });
  return { image, log, imageId };
}

/** A booted engine over faulty wrappers of the media. */
export interface Machine {
  storage: Storage;
  imageDevice: FaultyDevice;
  logDevice: FaultyDevice;
  /** The media as they stand: pass to `boot` again after a crash. */
  media: Media;
}

export async function boot(
  media: Media,
  seed: number,
  frames = 32,
  syncDelayMs = 0,
): Promise<Machine> {
  const imageInner = media.image.reopen();
  const logInner = media.log.reopen();
  const imageDevice = new FaultyDevice(imageInner, seed);
  const logDevice = new FaultyDevice(logInner, seed + 1);
  imageDevice.syncDelayMs = syncDelayMs;
  logDevice.syncDelayMs = syncDelayMs;
  const image = mountDevice(imageDevice, { role: "image", blockSizeBytes: blockSize });
  const log = mountDevice(logDevice, { role: "log", imageId: media.imageId });
  const pool = new BufferPool(image.device, { frameCount: frames, imageTag: image.imageTag });
  const storage = await Storage.open(image, log, pool);
  return {
    storage,
    imageDevice,
    logDevice,
    media: { image: imageInner, log: logInner, imageId: media.imageId },
  };
}

/** Power loss: unsynced writes on both devices are kept, dropped or garbled. */
export function powerLoss(machine: Machine): Media {
  machine.imageDevice.crash();
  machine.logDevice.crash();
  return machine.media;
}
