/**
 * Point lookups and RSS with a given buffer pool over an existing data directory holding table
 * `scale_t (id int primary key, …)`: timed random lookups (one snapshot each, as a SELECT
 * takes), then a scan of up to `scanRows` rows, then RSS. Run by scaling_suite.ts in its own
 * process so nothing else inflates the figure. Prints one JSON line.
 * Usage: pool_child.ts <dataDir> <poolBytes> <rows> <lookups> <scanRows>
 */
import { Rng } from "../../lib/rng.ts";
import { openStorage } from "./storage_open.ts";

const [dataDir, poolText, rowsText, lookupsText, scanText] = Deno.args;
const poolBytes = Number(poolText);
const rows = Number(rowsText);
const lookups = Number(lookupsText);
const scanRows = Number(scanText);
const rssAtStartBytes = Deno.memoryUsage().rss;
const opened = await openStorage(dataDir!, poolBytes);
const { storage, catalog } = opened;
const rng = new Rng(5);
const snapshot0 = storage.txns.snapshot();
const table = catalog.table("scale_t", undefined, snapshot0)!;
storage.txns.release(snapshot0);
// Warm: one pass of lookups fills the pool with what it can hold.
const lookup = () => {
  const snapshot = storage.txns.snapshot();
  try {
    return table.get(table.keyOf([1 + rng.nextInt(rows)]), undefined, snapshot);
  } finally {
    storage.txns.release(snapshot);
  }
};
for (let i = 0; i < lookups; i++) lookup();
const batchNs: number[] = [];
const batch = 1000;
for (let done = 0; done < lookups; done += batch) {
  const started = performance.now();
  for (let i = 0; i < batch; i++) lookup();
  batchNs.push(((performance.now() - started) * 1e6) / batch);
}
batchNs.sort((a, b) => a - b);
let scanned = 0;
let start: Uint8Array | undefined;
const snapshot = storage.txns.snapshot();
while (scanned < scanRows) {
  const page = table.scan(
    undefined,
    snapshot,
    start ? { start, startInclusive: false, limit: 1000 } : { limit: 1000 },
  );
  scanned += page.length;
  if (page.length < 1000) break;
  start = page[page.length - 1]!.key;
}
storage.txns.release(snapshot);
const stats = opened.pool.stats();
console.log(JSON.stringify({
  poolBytes,
  imageBytes: opened.data.image.blockCount * 8192,
  lookupMedianNs: batchNs[batchNs.length >> 1],
  scanned,
  rssBytes: Deno.memoryUsage().rss,
  rssAtStartBytes,
  poolStats: stats,
}));
opened.abandon();
