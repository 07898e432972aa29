/**
 * Opens a storage engine for the KV layer without the kernel: a data directory (the same
 * format the server boots; formatted on first open) or memory devices. The KV data lives in its
 * own B+tree whose root the meta page names (`kvRoot`), created on first use.
 *
 * New directories are formatted with 32 KiB blocks, so a B+tree key holds Deno KV's 2048-byte
 * keys (a tree key is at most an eighth of a page); an existing directory keeps its block size.
 */
import { MemoryDevice } from "../../hw/disk_memory.ts";
import { pathExists } from "../../hw/data_dir.ts";
import { BufferPool } from "../../io/buffer_pool.ts";
import { dataFiles, openDataDir } from "../../io/data_dir.ts";
import { type DiskImage, formatDevice } from "../../io/disk_image.ts";
import { claimedBlockSize } from "../../io/superblock.ts";
import type { BTree } from "../btree/btree.ts";
import { Storage } from "../storage.ts";

/** Tree id of the KV tree (beside the catalog's reserved ids). */
export const kvTreeId = 0x7fff_0003;

/** Block size of directories the KV layer formats. */
export const kvBlockSizeBytes = 32 * 1024;

/** An open engine with the KV tree. */
export interface KvEngine {
  storage: Storage;
  tree: BTree;
  /** The directory path, or undefined for memory. */
  path: string | undefined;
  /** Checkpoints and closes the devices. */
  close(): Promise<void>;
}

function blockSizeOf(path: string): number {
  const imagePath = `${path.endsWith("/") ? path : path + "/"}${dataFiles.image}`;
  if (!pathExists(imagePath)) return kvBlockSizeBytes;
  const file = Deno.openSync(imagePath, { read: true });
  try {
    const head = new Uint8Array(4096);
    file.readSync(head);
    return claimedBlockSize(head) || kvBlockSizeBytes;
  } finally {
    file.close();
  }
}

/** Opens (formatting if new) the engine on `path`, or on memory devices when undefined. */
export async function openKvEngine(path: string | undefined): Promise<KvEngine> {
  let image: DiskImage;
  let log: DiskImage;
  if (path === undefined) {
    const block = kvBlockSizeBytes;
    image = formatDevice(new MemoryDevice("kv-image"), {
      role: "image",
      blockSizeBytes: block,
      initialBlocks: 32,
      extentBlocks: 64,
    });
    log = formatDevice(new MemoryDevice("kv-log"), {
      role: "log",
      blockSizeBytes: block,
      initialBlocks: (16 * 1024 * 1024) / block,
      extentBlocks: (16 * 1024 * 1024) / block,
      imageId: image.superblock.imageId,
    });
  } else {
    const blockSizeBytes = blockSizeOf(path);
    const data = openDataDir({
      dataDir: path,
      blockSizeBytes,
      imageInitialBytes: 1024 * 1024,
      imageExtentBytes: 16 * 1024 * 1024,
      logDeviceBytes: 64 * 1024 * 1024,
      backend: "ffi", // falls back to runtime ops without --allow-ffi
    });
    image = data.image;
    log = data.log;
  }
  const poolBytes = path === undefined ? 8 * 1024 * 1024 : 32 * 1024 * 1024;
  const frameCount = Math.max(16, Math.floor(poolBytes / image.device.blockSizeBytes));
  const pool = new BufferPool(image.device, { frameCount, imageTag: image.imageTag });
  let storage: Storage;
  try {
    storage = await Storage.open(image, log, pool);
  } catch (error) {
    image.close();
    log.close();
    throw error;
  }
  const store = storage.store;
  store.run(0, () => {
    if (store.meta("kvRoot") === 0) {
      store.setMeta("kvRoot", storage.createTreeWithId(kvTreeId).root);
    }
  });
  const tree = storage.openTree(store.meta("kvRoot"), kvTreeId);
  return {
    storage,
    tree,
    path,
    async close() {
      try {
        if (store.poisoned === undefined && !storage.wal.failed) await storage.close();
      } finally {
        image.close();
        log.close();
      }
    },
  };
}
