/**
 * Statements as scheduler tasks: over the wire and in process, the long-running work (a long
 * statement, vacuum, checkpoint) yields slice by slice and others run in between.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";
import { parseSql } from "../../query/sql_parser.ts";
import { SqlSession } from "../../query/sql_session.ts";
import type { Appliance } from "../../kernel/boot.ts";
import { type TaskContext, unscheduledContext } from "../../lib/task_context.ts";

/** A session whose statements run through the appliance's scheduler, as pg_session's do. */
function scheduledSession(appliance: Appliance) {
  const session = new SqlSession(() => appliance.engine);
  session.taskRunner = appliance.scheduler.runner;
  return async (sql: string) => {
    const results = [];
    for (const { statement } of parseSql(sql)) results.push(await session.execute(statement));
    return results;
  };
}

/** A context that asks to yield at every look and counts the yields. */
function countingContext() {
  const counts = { yields: 0 };
  const context: TaskContext = {
    ...unscheduledContext,
    taskClass: "background",
    shouldYield: () => true,
    yield: () => {
      counts.yields++;
      return Promise.resolve();
    },
  };
  return { counts, context };
}

Deno.test("wire statements run as interactive tasks; CHECKPOINT and VACUUM as maintenance", async () => {
  await withAppliance(async (appliance) => {
    const client = new pg.Client({
      host: "127.0.0.1",
      port: appliance.listener.port,
      user: "exodb",
      database: "exodb",
    });
    await client.connect();
    try {
      const before = appliance.scheduler.stats();
      await client.query("create table t (id int primary key, v text)");
      await client.query("insert into t select g, 'x' from generate_series(1, 2000) g");
      await client.query("select count(*) from t");
      await client.query("checkpoint");
      await client.query("vacuum t");
      const view = await client.query(
        "select class, cpu_ms, completed, slices from exodb_stat_scheduler order by class",
      );
      const row = (c: string) => view.rows.find((r: { class: string }) => r.class === c)!;
      const interactive = row("interactive");
      assert.ok(
        Number(interactive.completed) - before.interactive.completed >= 3,
        JSON.stringify(view.rows),
      );
      assert.ok(Number(interactive.cpu_ms) > before.interactive.cpuMs, "interactive CPU time");
      assert.ok(
        Number(row("maintenance").completed) - before.maintenance.completed >= 2,
        JSON.stringify(view.rows),
      );
      const maintenance = await client.query(
        "select checkpoints, scrubs from exodb_stat_maintenance",
      );
      assert.equal(maintenance.rows.length, 1);
    } finally {
      await client.end();
    }
  });
});

Deno.test("--scheduler=fifo boots a fifo scheduler; fair is the default", async () => {
  await withAppliance((appliance) => {
    assert.equal(appliance.scheduler.mode, "fair");
    return Promise.resolve();
  });
  await withAppliance((appliance) => {
    assert.equal(appliance.scheduler.mode, "fifo");
    return Promise.resolve();
  }, { scheduler: "fifo" });
});

Deno.test("a long statement yields to a short one that arrives meanwhile", async () => {
  await withAppliance(async (appliance) => {
    const setup = sqlRunner(appliance);
    await setup.run("CREATE TABLE big (id int PRIMARY KEY, v text)");
    await setup.run("INSERT INTO big SELECT g, repeat('z', 50) FROM generate_series(1, 6000) g");
    const long = scheduledSession(appliance);
    const short = scheduledSession(appliance);
    const finished: string[] = [];
    const slicesBefore = appliance.scheduler.stats().interactive.slices;
    const longDone = long("SELECT count(*) FROM big a JOIN big b ON a.v = b.v AND a.id = b.id")
      .then(() => finished.push("long"));
    // The long statement holds the thread from its spawn until its first yield point.
    const shortDone = short("SELECT 1").then(() => finished.push("short"));
    await Promise.all([longDone, shortDone]);
    assert.deepEqual(finished, ["short", "long"]);
    const slices = appliance.scheduler.stats().interactive.slices - slicesBefore;
    assert.ok(slices >= 3, `the long statement ran in slices (${slices} grants in all)`);
  });
});

Deno.test("checkpoints yield through their context", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await run("INSERT INTO t SELECT g, repeat('q', 100) FROM generate_series(1, 3000) g");
    const { storage, pool } = appliance.engine;
    const dirty = pool.stats().dirty;
    assert.ok(dirty > 10, `${dirty} dirty pages`);
    const checkpoint = countingContext();
    await storage.checkpoint(checkpoint.context);
    assert.equal(pool.stats().dirty, 0);
    // Off the thread (exo): one look per batch of 64 staged blocks and per run read back;
    // else one per frame of the sweep and one per written block read back.
    const looks = storage.image.device.writesOffThread
      ? 2 * Math.ceil(dirty / 64)
      : pool.frameCount + dirty;
    assert.ok(checkpoint.counts.yields >= looks, `${checkpoint.counts.yields} < ${looks}`);
  });
});

Deno.test("a checkpoint runs in slices: statements complete while it writes", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await run("INSERT INTO t SELECT g, repeat('c', 200) FROM generate_series(1, 4000) g");
    const statement = scheduledSession(appliance);
    assert.ok(appliance.engine.pool.stats().dirty > 100);
    let done = false;
    const checkpoint = appliance.engine.maintenance.checkpointNow().then(() => done = true);
    let during = 0;
    while (!done) {
      await statement("SELECT count(*) FROM t WHERE id < 10");
      if (!done) during++;
    }
    await checkpoint;
    assert.ok(during >= 1, "statements ran between the checkpoint's slices");
    assert.equal(appliance.engine.maintenance.stats.checkpoints, 1);
  });
});

Deno.test("a large rollback runs in slices; a writer of its rows waits for it to end", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY, v int, tag text)");
    await run("CREATE INDEX t_tag ON t (tag)");
    await run("INSERT INTO t SELECT g, 0, 'old' FROM generate_series(1, 3000) g");
    const big = scheduledSession(appliance);
    const other = scheduledSession(appliance);
    await big("BEGIN");
    await big("UPDATE t SET v = v + 1, tag = 'gone'"); // row 1 first: undone last
    await big("INSERT INTO t SELECT g, 0, 'new' FROM generate_series(3001, 6000) g");
    const slicesBefore = appliance.scheduler.stats().interactive.slices;
    let rolledBack = false;
    const rollback = big("ROLLBACK").then(() => rolledBack = true);
    // Reads go on meanwhile (the rolled-back versions are invisible at once); a writer of a
    // row the rollback still holds waits for its end.
    let readsDuring = 0;
    while (!rolledBack && readsDuring < 10_000) {
      const [result] = await other("SELECT v FROM t WHERE id = 5");
      assert.equal(String(result!.rows![0]![0]), "0");
      readsDuring++;
      if (readsDuring === 3) {
        // The same index entry the rolled-back update made: were it put before the undo
        // deleted that one, the index would lose the committed row.
        await other("UPDATE t SET v = 7, tag = 'gone' WHERE id = 1");
        assert.ok(rolledBack, "the update of a row the rollback held waited for its end");
      }
    }
    await rollback;
    assert.ok(readsDuring >= 3, `${readsDuring} reads ran during the rollback`);
    const slices = appliance.scheduler.stats().interactive.slices - slicesBefore;
    assert.ok(slices > readsDuring, `the rollback ran in slices (${slices} grants)`);
    const [old] = await run("SELECT count(*), sum(v) FROM t WHERE tag = 'old'");
    assert.deepEqual(old!.rows![0]!.map(String), ["2999", "0"]);
    const [gone] = await run("SELECT id, v FROM t WHERE tag = 'gone'");
    assert.deepEqual(gone!.rows!.map((r) => r.map(String)), [["1", "7"]]);
    const [all] = await run("SELECT count(*) FROM t");
    assert.equal(String(all!.rows![0]![0]), "3000");
  });
});
