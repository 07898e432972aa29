/**
 * The exo profile's checkpoint writes its pages through the I/O worker (staged, buffer-pool
 * rule 5) while statements keep changing them: after a restart that recovers from that
 * checkpoint, every committed change is there and every block verifies.
 */
import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";

Deno.test("a checkpoint staged through the I/O worker while rows change loses nothing across a restart", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    const rows = 4000;
    await run("CREATE TABLE t (id int PRIMARY KEY, v int, pad text)");
    await run(
      `INSERT INTO t SELECT g, 0, repeat('p', 300) FROM generate_series(1, ${rows}) g`,
    );
    const { storage, maintenance } = appliance.engine;
    assert.ok(storage.image.device.writesOffThread, "the exo profile writes off the thread");
    await maintenance.checkpointNow();
    await run("UPDATE t SET v = 1"); // every leaf dirty
    const dirty = storage.pool.stats().dirty;
    assert.ok(dirty > 100, `${dirty} dirty pages`);
    const writesBefore = storage.pool.stats().writes;
    // Change rows while the checkpoint's batches are in flight (it suspends on each).
    let settled = false;
    const checkpoint = maintenance.checkpointNow().finally(() => settled = true);
    let expected = rows;
    let during = 0;
    for (let k = 0; !settled && k < 500; k++) {
      await run(`UPDATE t SET v = v + 1 WHERE id % 50 = ${k % 50}`);
      expected += rows / 50;
      during++;
    }
    await checkpoint;
    assert.ok(during > 0, "statements ran while the checkpoint was writing");
    assert.ok(storage.pool.stats().writes - writesBefore >= dirty, "every dirty page written");
    assert.equal(maintenance.stats.failures, 0, "the read-back found no lost write");
    await run(`UPDATE t SET v = v + 1 WHERE id <= 10`); // after the checkpoint: only in the log
    expected += 10;

    await appliance.restartEngine("test: recover from the staged checkpoint");
    const again = sqlRunner(appliance);
    const [sum] = await again.run("SELECT sum(v), count(*) FROM t");
    assert.deepEqual(sum!.rows![0]!.map(String), [String(expected), String(rows)]);
    const report = await appliance.engine.maintenance.scrub();
    assert.deepEqual(report.errors, []);
    assert.ok(report.blocksChecked > 100, `${report.blocksChecked} blocks checked`);
  });
});
