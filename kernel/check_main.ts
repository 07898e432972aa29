/**
 * `exodb check`: the offline verifier, run by cli.ts with the data directory's permissions.
 * Recovers the image as a boot would (so a crashed image is checked as the server would see
 * it), then verifies every block and every B+tree. Exit status 0 when clean, 1 on any error.
 */
import { ExoError } from "../lib/errors.ts";
import { BufferPool } from "../io/buffer_pool.ts";
import { openDataDir } from "../io/data_dir.ts";
import { Catalog } from "../dbengine/catalog.ts";
import { Storage } from "../dbengine/storage.ts";
import { verifyStorage } from "../dbengine/verify.ts";
import { configSchema } from "./config.ts";

const json = Deno.args.find((arg) => arg.startsWith("--config-json="))?.slice(
  "--config-json=".length,
);
if (json === undefined) {
  console.error("exodb: kernel/check_main.ts is started by `deno task exodb check`");
  Deno.exit(2);
}
const config = configSchema.parse({
  ...JSON.parse(json),
  password: Deno.env.get("EXODB_PASSWORD") ?? "",
});
try {
  const data = openDataDir({
    dataDir: config.dataDir,
    blockSizeBytes: config.blockSizeBytes,
    imageInitialBytes: config.imageInitialBytes,
    imageExtentBytes: config.imageExtentBytes,
    logDeviceBytes: config.logDeviceBytes,
    backend: "ffi",
    formatIfMissing: false,
  });
  for (const repair of data.repairs) console.log(`repair: ${repair}`);
  const frameCount = Math.floor(config.poolSizeBytes / config.blockSizeBytes);
  const pool = new BufferPool(data.image.device, { frameCount, imageTag: data.image.imageTag });
  const storage = await Storage.open(data.image, data.log, pool);
  console.log(
    `recovered: ${storage.recovery.groupsApplied} page groups replayed in ${
      storage.recovery.elapsedMs.toFixed(1)
    } ms`,
  );
  const report = verifyStorage(storage, Catalog.open(storage));
  await storage.close();
  data.image.close();
  data.log.close();
  console.log(
    `checked ${report.blocksChecked} blocks and ${report.trees} B+trees (${report.entries} entries): ` +
      `${report.errors.length} errors, ${report.leakedBlocks.length} unreferenced blocks`,
  );
  for (const error of report.errors) console.log(`error: ${error}`);
  if (report.leakedBlocks.length > 0) {
    console.log(
      `unreferenced blocks (space lost to a crash, not damage): ${
        report.leakedBlocks.slice(0, 20).join(", ")
      }`,
    );
  }
  Deno.exit(report.errors.length > 0 ? 1 : 0);
} catch (error) {
  if (error instanceof ExoError) {
    console.log(`error: ${error.message}`);
    Deno.exit(1);
  }
  throw error;
}
