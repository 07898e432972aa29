/**
 * The periodic vacuum runs in slices (kernel/maintenance.ts invariant 3): a statement spawned
 * while a pass is under way runs before the pass ends, stop() ends a pass at its next step, and
 * the SQL VACUUM statement yields between steps. Ordering is observed, never time: the
 * scheduler's clock here moves 50 µs per look, so "the slice is used" comes after a fixed
 * number of steps.
 */
import assert from "node:assert/strict";
import type { Appliance } from "../../kernel/boot.ts";
import { Logger } from "../../kernel/log.ts";
import { startMaintenance } from "../../kernel/maintenance.ts";
import { Scheduler } from "../../kernel/scheduler.ts";
import type { Table } from "../../dbengine/table.ts";
import { parseSql } from "../../query/sql_parser.ts";
import { SqlSession } from "../../query/sql_session.ts";
import { type TaskContext, unscheduledContext } from "../../lib/task_context.ts";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";

const rows = 3_000;

/** A table `t` with `rows` keys, each updated once: `rows` dead versions for vacuum. */
async function dirtyTable(appliance: Appliance): Promise<Table> {
  const { run } = sqlRunner(appliance);
  await run("CREATE TABLE t (id int PRIMARY KEY, v int)");
  await run(`INSERT INTO t SELECT g, 0 FROM generate_series(1, ${rows}) g`);
  await run("UPDATE t SET v = 1");
  const { catalog, storage } = appliance.engine;
  const snapshot = storage.txns.snapshot();
  const table = catalog.table("t", undefined, snapshot)!;
  storage.txns.release(snapshot);
  return table;
}

/** Maintenance on a private scheduler with a clock that moves 50 µs per look; timers idle. */
function slicedMaintenance(appliance: Appliance) {
  let nowMs = 0;
  const clock = { nowMs: () => (nowMs += 0.05) };
  const scheduler = new Scheduler({ clock, defer: (grant) => queueMicrotask(grant) });
  const { storage, catalog } = appliance.engine;
  const maintenance = startMaintenance(storage, catalog, new Logger("error", () => {}), {
    scheduler,
    vacuumIntervalMs: 3_600_000,
    checkpointIntervalMs: 3_600_000,
  });
  return { scheduler, maintenance };
}

const versionCount = (table: Table) => table.rows.tree.batch({ limit: 1_000_000 }).length;

Deno.test("a statement spawned during a vacuum pass runs before the pass ends", async () => {
  await withAppliance(async (appliance) => {
    const table = await dirtyTable(appliance);
    const { scheduler, maintenance } = slicedMaintenance(appliance);
    try {
      const order: string[] = [];
      let removedWhenStatementRan = -1;
      const vacuum = maintenance.vacuumNow().then(() => order.push("vacuum pass done"));
      // vacuumNow returned at the pass's first yield: the pass is under way.
      assert.ok(maintenance.stats.versionsRemoved > 0, "the first slice did some work");
      const statement = scheduler.spawn("interactive", "statement", () => {
        removedWhenStatementRan = maintenance.stats.versionsRemoved;
        order.push("statement");
      });
      await Promise.all([vacuum, statement]);
      assert.deepEqual(order, ["statement", "vacuum pass done"]);
      assert.ok(
        removedWhenStatementRan > 0 && removedWhenStatementRan < rows,
        `the statement ran mid-pass (${removedWhenStatementRan} of ${rows} removed)`,
      );
      assert.equal(maintenance.stats.vacuums, 1);
      assert.equal(maintenance.stats.versionsRemoved, rows);
      assert.equal(maintenance.stats.failures, 0);
      assert.ok(maintenance.stats.vacuumSlices > 3, `${maintenance.stats.vacuumSlices} slices`);
      assert.equal(versionCount(table), rows, "one version per row left");
    } finally {
      await maintenance.stop();
    }
  });
});

Deno.test("stop() during a vacuum pass settles at the next step; the rest stays noted", async () => {
  await withAppliance(async (appliance) => {
    const table = await dirtyTable(appliance);
    const { maintenance } = slicedMaintenance(appliance);
    const pass = maintenance.vacuumNow();
    const removedAtStop = maintenance.stats.versionsRemoved;
    assert.ok(removedAtStop > 0 && removedAtStop < rows, `${removedAtStop} removed at the stop`);
    await maintenance.stop();
    await pass;
    assert.equal(maintenance.stats.versionsRemoved, removedAtStop, "no step after the stop");
    assert.equal(maintenance.stats.vacuums, 0, "the pass did not finish");
    assert.equal(maintenance.stats.failures, 0);
    assert.equal(table.rows.needsVacuum(), true, "the keys not reached are still noted");
    assert.equal(table.vacuum(0).versions, rows - removedAtStop, "the next pass removes them");
    assert.equal(versionCount(table), rows);
  });
});

Deno.test("exodb_stat_maintenance shows the vacuum's slices and its longest one", async () => {
  await withAppliance(async (appliance) => {
    await dirtyTable(appliance);
    await appliance.engine.maintenance.vacuumNow(); // the appliance's own scheduler and clock
    const { run } = sqlRunner(appliance);
    const [view] = await run(
      "SELECT vacuums, versions_removed, vacuum_slices, vacuum_slice_ms_max " +
        "FROM exodb_stat_maintenance",
    );
    const [vacuums, removed, slices, sliceMsMax] = view!.rows![0]!.map((v) => Number(v));
    assert.equal(vacuums, 1);
    assert.equal(removed, rows);
    assert.ok(slices! >= 1, `${slices}`);
    assert.ok(sliceMsMax! > 0, `${sliceMsMax}`);
  });
});

Deno.test("the VACUUM statement yields between its steps", async () => {
  await withAppliance(async (appliance) => {
    const table = await dirtyTable(appliance);
    let yields = 0;
    const context: TaskContext = {
      ...unscheduledContext,
      taskClass: "maintenance",
      shouldYield: () => true,
      yield: () => {
        yields++;
        return Promise.resolve();
      },
    };
    const session = new SqlSession(() => appliance.engine);
    session.taskRunner = (_taskClass, _name, body) => body(context);
    for (const { statement } of parseSql("VACUUM t")) await session.execute(statement);
    assert.ok(yields >= rows / 32 - 1, `${yields} yields for ${rows} keys in steps of 32`);
    assert.equal(versionCount(table), rows, "and removed every dead version");
    assert.equal(table.rows.needsVacuum(), false);
  });
});
