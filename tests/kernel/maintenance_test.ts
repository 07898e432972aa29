import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";
import { scrubImage, scrubRunBlocks } from "../../kernel/scrub.ts";
import { startMaintenance } from "../../kernel/maintenance.ts";
import type { Scheduler } from "../../kernel/scheduler.ts";
import { Logger } from "../../kernel/log.ts";
import { type TaskContext, unscheduledContext } from "../../lib/task_context.ts";
import { BlockDevice } from "../../hw/block_device.ts";
import type { RawDevice } from "../../hw/raw_device.ts";

Deno.test("checkpoint and vacuum run as background tasks of the kernel's scheduler", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await run("INSERT INTO t SELECT g, 'row ' || g::text FROM generate_series(1, 500) g");
    await run("DELETE FROM t WHERE id % 2 = 0");
    const { maintenance } = appliance.engine;
    const before = appliance.scheduler.stats().background;
    await maintenance.vacuumNow();
    await maintenance.checkpointNow();
    const after = appliance.scheduler.stats().background;
    assert.equal(maintenance.stats.vacuums, 1);
    assert.ok(maintenance.stats.versionsRemoved >= 250, `${maintenance.stats.versionsRemoved}`);
    assert.equal(maintenance.stats.checkpoints, 1);
    assert.equal(maintenance.stats.failures, 0);
    assert.equal(after.completed - before.completed, 2, "both ran as background tasks");
    assert.ok(after.cpuMs > before.cpuMs, "their CPU time was charged to the background class");
    const [count] = await run("SELECT count(*) FROM t");
    assert.equal(String(count!.rows![0]![0]), "250");
  });
});

Deno.test("the scrub verifies every used block and names a block corrupted at rest", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await run("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g");
    const { maintenance, storage } = appliance.engine;
    await maintenance.checkpointNow();
    const clean = await maintenance.scrub();
    assert.deepEqual(clean.errors, []);
    assert.ok(clean.blocksChecked > 20, `checked ${clean.blocksChecked} blocks`);
    assert.equal(clean.blocksChecked + clean.blocksSkippedDirty, clean.highWater - 2);

    // Flip one bit in the middle of a block that is clean in the pool, straight on the device.
    const device = storage.image.device;
    let victim = clean.highWater - 1;
    while (storage.pool.isDirty(victim)) victim--;
    const original = new Uint8Array(device.blockSizeBytes);
    device.read(victim, original);
    const damaged = original.slice();
    damaged[device.blockSizeBytes >> 1]! ^= 0x10;
    device.write(victim, damaged);
    try {
      const report = await maintenance.scrub();
      assert.equal(report.errors.length, 1, report.errors.join("; "));
      assert.match(report.errors[0]!, new RegExp(`block ${victim}\\b`));
      assert.equal(maintenance.stats.scrubErrors, 1);
      assert.equal(maintenance.stats.scrubs, 2);
    } finally {
      device.write(victim, original); // leave the image as it was for the clean shutdown
    }
  });
});

Deno.test("the scrub yields whenever its context says the slice is used", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await run("INSERT INTO t SELECT g, repeat('y', 500) FROM generate_series(1, 3000) g");
    const { storage, maintenance } = appliance.engine;
    await maintenance.checkpointNow();
    let asked = 0;
    let yields = 0;
    const context: TaskContext = {
      ...unscheduledContext,
      taskClass: "background",
      shouldYield: () => ++asked % 10 === 0,
      yield: () => {
        yields++;
        return Promise.resolve();
      },
    };
    const report = await scrubImage(storage, context);
    assert.deepEqual(report.errors, []);
    assert.equal(
      asked,
      Math.ceil((report.highWater - 2) / scrubRunBlocks),
      "asked once per run of blocks (one read request each)",
    );
    assert.equal(yields, Math.floor(asked / 10));
    assert.equal(report.slices, yields + 1);
    assert.ok(report.blocksChecked > 150, `checked ${report.blocksChecked}`);
  });
});

Deno.test("SELECT exodb_scrub() starts the background scrub", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY)");
    await run("INSERT INTO t SELECT g FROM generate_series(1, 100) g");
    const [first] = await run("SELECT exodb_scrub()");
    assert.equal(first!.rows![0]![0], "scrub started");
    const { maintenance } = appliance.engine;
    // The statement only queued the scrub: wait (bounded) for it to finish in the background.
    for (let i = 0; i < 5_000 && maintenance.stats.scrubs < 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal(maintenance.stats.scrubs, 1);
    const report = maintenance.lastScrub!;
    const [second] = await run("SELECT exodb_scrub()");
    assert.equal(
      second!.rows![0]![0],
      `scrub started (last: ${report.blocksChecked} blocks checked, 0 corrupt)`,
    );
    // The second call queued another scrub: it finishes by itself, once.
    for (let i = 0; i < 5_000 && maintenance.stats.scrubs < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal(maintenance.stats.scrubs, 2);
  });
});

Deno.test("a scrub or checkpoint counted as done frees its slot: the next request starts anew", async () => {
  await withAppliance(async (appliance) => {
    const { storage, catalog } = appliance.engine;
    // A scheduler whose tasks end when the test says, so the moment a task is counted is exact.
    const started: string[] = [];
    const finish = new Map<string, (value: unknown) => void>();
    const scheduler = {
      spawn: (_taskClass: string, name: string) => {
        started.push(name);
        return new Promise((resolve) => finish.set(name, resolve));
      },
    } as unknown as Scheduler;
    const maintenance = startMaintenance(storage, catalog, new Logger("error", () => {}), {
      scheduler,
      vacuumIntervalMs: 3_600_000,
      checkpointIntervalMs: 3_600_000,
    });
    const counted = async (read: () => number) => {
      for (let i = 0; i < 20 && read() === 0; i++) await null; // microtasks only
      assert.equal(read(), 1);
    };
    try {
      void maintenance.scrub();
      finish.get("scrub")!({
        blocksChecked: 0,
        blocksSkippedDirty: 0,
        highWater: 0,
        errors: [],
        slices: 1,
      });
      await counted(() => maintenance.stats.scrubs);
      void maintenance.scrub(); // at once: before, this joined the finished scrub
      void maintenance.checkpointNow();
      finish.get("checkpoint")!(storage.wal.insertLsn);
      await counted(() => maintenance.stats.checkpoints);
      void maintenance.checkpointNow();
      assert.deepEqual(started, ["scrub", "scrub", "checkpoint", "checkpoint"]);
    } finally {
      await maintenance.stop();
    }
  });
});

Deno.test("periodic vacuum passes run only after committed writes", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY)");
    const { storage, catalog } = appliance.engine;
    const maintenance = startMaintenance(storage, catalog, new Logger("error", () => {}), {
      scheduler: appliance.scheduler,
      vacuumIntervalMs: 10,
      checkpointIntervalMs: 60_000,
    });
    const settle = async (vacuums: number) => {
      for (let i = 0; i < 2_000 && maintenance.stats.vacuums < vacuums; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    try {
      await settle(1); // the first pass always runs
      assert.equal(maintenance.stats.vacuums, 1);
      await run("SELECT count(*) FROM t"); // reads only
      await new Promise((resolve) => setTimeout(resolve, 100)); // ~10 intervals
      assert.equal(maintenance.stats.vacuums, 1, "no pass without a committed write");
      await run("INSERT INTO t VALUES (1)");
      await settle(2);
      assert.equal(maintenance.stats.vacuums, 2);
    } finally {
      maintenance.stop();
    }
  });
});

Deno.test("the scrub reports a block that reads back bad off-thread only if a synchronous re-read agrees", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await run("INSERT INTO t SELECT g, repeat('z', 300) FROM generate_series(1, 1000) g");
    const { storage, maintenance } = appliance.engine;
    await maintenance.checkpointNow();
    const real = storage.image.device;
    const victim = 5; // a used block: its asynchronous read comes back torn, as if racing a write
    let asyncReads = 0;
    const racing: RawDevice = {
      name: real.raw.name,
      sizeBytes: () => real.raw.sizeBytes(),
      read: (target, offset) => real.raw.read(target, offset),
      write: (source, offset) => real.raw.write(source, offset),
      readBatch: (targets, offset) => real.raw.readBatch(targets, offset),
      writeBatch: (sources, offset) => real.raw.writeBatch(sources, offset),
      flush: () => real.raw.flush(),
      flushAsync: () => real.raw.flushAsync(),
      allocate: (bytes) => real.raw.allocate(bytes),
      close: () => {},
      readAsync: (target, offset) => {
        asyncReads++;
        real.raw.read(target, offset);
        const at = victim * real.blockSizeBytes - offset;
        if (at >= 0 && at < target.length) target[at + 100]! ^= 0xff;
        return Promise.resolve();
      },
    };
    const device = new BlockDevice(racing, real.blockSizeBytes);
    const view = {
      image: { device, imageTag: storage.image.imageTag },
      store: storage.store,
      pool: storage.pool,
    } as unknown as typeof storage;
    const report = await scrubImage(view, unscheduledContext);
    assert.ok(asyncReads > 0, "runs were read asynchronously");
    assert.ok(report.highWater > victim);
    assert.deepEqual(report.errors, [], "the synchronous re-read found the block intact");
    // The same torn read on a block that is also bad on disk is reported.
    const original = new Uint8Array(real.blockSizeBytes);
    real.read(victim, original);
    const damaged = original.slice();
    damaged[200]! ^= 0xff;
    real.write(victim, damaged);
    try {
      const again = await scrubImage(view, unscheduledContext);
      assert.equal(again.errors.length, 1);
      assert.match(again.errors[0]!, new RegExp(`block ${victim}\\b`));
    } finally {
      real.write(victim, original); // leave the image as it was for the clean shutdown
    }
  });
});
