/**
 * Measures resident memory with a given buffer pool over an existing data directory: random
 * point lookups and a full scan of table "t", then RSS. Run by storage_bench.ts in its own
 * process so nothing else in the benchmark inflates the figure.
 * Usage: storage_rss_child.ts <dataDir> <poolBytes> <rows>
 */
import { BufferPool } from "../io/buffer_pool.ts";
import { openDataDir } from "../io/data_dir.ts";
import { Catalog } from "../dbengine/catalog.ts";
import { Storage } from "../dbengine/storage.ts";
import { Rng } from "../lib/rng.ts";

const [dataDir, poolText, rowsText] = Deno.args;
const poolBytes = Number(poolText);
const rows = Number(rowsText);
const rssStart = Deno.memoryUsage().rss;
const data = openDataDir({
  dataDir: dataDir!,
  blockSizeBytes: 8192,
  imageInitialBytes: 16 * 1024 * 1024,
  imageExtentBytes: 64 * 1024 * 1024,
  logDeviceBytes: 256 * 1024 * 1024,
  backend: "ffi",
});
const pool = new BufferPool(data.image.device, {
  frameCount: poolBytes / 8192,
  imageTag: data.image.imageTag,
});
const storage = await Storage.open(data.image, data.log, pool);
const catalog = Catalog.open(storage);
const snapshot = storage.txns.snapshot();
const table = catalog.table("t", undefined, snapshot)!;
const rng = new Rng(3);
for (let i = 0; i < 100_000; i++) table.get(table.keyOf([rng.nextInt(rows)]), undefined, snapshot);
let scanned = 0;
let start: Uint8Array | undefined;
for (;;) {
  const batch = table.scan(
    undefined,
    snapshot,
    start ? { start, startInclusive: false, limit: 1000 } : { limit: 1000 },
  );
  scanned += batch.length;
  if (batch.length < 1000) break;
  start = batch[batch.length - 1]!.key;
}
storage.txns.release(snapshot);
const usage = Deno.memoryUsage();
console.log(JSON.stringify({
  poolBytes,
  imageBytes: data.image.blockCount * 8192,
  scanned,
  rssBytes: usage.rss,
  rssAtStartBytes: rssStart,
  heapUsedBytes: usage.heapUsed,
  poolStats: pool.stats(),
}));
data.image.close();
data.log.close();
