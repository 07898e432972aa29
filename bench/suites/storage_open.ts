/**
 * Opens a data directory with the storage engine directly (no SQL, no listener), for the
 * scaling suite's child processes and its recovery measurement.
 */
import { BufferPool } from "../../io/buffer_pool.ts";
import { type DataDir, openDataDir } from "../../io/data_dir.ts";
import { Catalog } from "../../dbengine/catalog.ts";
import { Storage } from "../../dbengine/storage.ts";

/** An opened engine over one data directory. */
export interface OpenedStorage {
  data: DataDir;
  pool: BufferPool;
  storage: Storage;
  catalog: Catalog;
  /** Closes the devices without flushing (what a crash leaves). */
  abandon(): void;
}

/** Opens (formatting if empty) `dataDir` with a pool of `poolBytes`; runs recovery. */
export async function openStorage(dataDir: string, poolBytes: number): Promise<OpenedStorage> {
  const data = openDataDir({
    dataDir,
    blockSizeBytes: 8192,
    imageInitialBytes: 16 * 1024 * 1024,
    imageExtentBytes: 64 * 1024 * 1024,
    logDeviceBytes: 1024 * 1024 * 1024,
    backend: "ffi",
  });
  const pool = new BufferPool(data.image.device, {
    frameCount: Math.max(64, Math.floor(poolBytes / 8192)),
    imageTag: data.image.imageTag,
  });
  const storage = await Storage.open(data.image, data.log, pool);
  return {
    data,
    pool,
    storage,
    catalog: Catalog.open(storage),
    abandon() {
      data.image.close();
      data.log.close();
    },
  };
}
