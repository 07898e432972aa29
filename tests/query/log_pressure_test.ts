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

Deno.test("a statement that finds the log full fails with 53100 and the server still shuts down cleanly", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("create table kept (n int primary key); insert into kept values (1), (2)");
    const wal = appliance.engine.storage.wal;
    const release = wal.holdRecycling(wal.insertLsn); // as a backup does: nothing can be recycled
    try {
      await assert.rejects(
        run("insert into kept select g from generate_series(3, 100000) g"),
        { sqlState: "53100" },
      );
    } finally {
      release();
    }
    assert.deepEqual((await run("select count(*) from kept"))[0]!.rows, [[2n]]);
  }, { "log-size": "2MiB", "pool-size": "16MiB" });
});
