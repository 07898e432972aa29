/** One statement writing many times the log's size waits for checkpoints instead of failing. */
import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "./_appliance.ts";

Deno.test("a single INSERT … SELECT and a key rebuild larger than the log complete", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    const walBefore = appliance.engine.storage.wal.stats.appendedBytes;
    await run("create table big (n int, filler text)");
    await run("insert into big select g, repeat('x', 200) from generate_series(1, 40000) g");
    await run("alter table big add primary key (n)");
    const written = appliance.engine.storage.wal.stats.appendedBytes - walBefore;
    const regionBytes = appliance.engine.storage.wal.regionBytes;
    assert.ok(written > 2 * regionBytes, `wrote ${written} bytes of log through ${regionBytes}`);
    assert.deepEqual((await run("select count(*), sum(n) from big"))[0]!.rows, [[
      40000n,
      800020000n,
    ]]);
  }, { "log-size": "2MiB", "pool-size": "16MiB" });
});
