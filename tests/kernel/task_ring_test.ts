import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";
import { createTaskRingMemory } from "../../kernel/task_ring/layout.ts";
import { TaskRingServer } from "../../kernel/task_ring/server.ts";
import { type TransferAppReport, transferProcedure } from "../../apps/transfer_app.ts";

Deno.test("an app Worker runs 5-statement tasks through a task ring, one entry each", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE accounts (id int PRIMARY KEY, balance int)");
    await run("INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 10) g");
    const shared = createTaskRingMemory(4, 4096, [transferProcedure.name]);
    const server = new TaskRingServer(appliance, shared, [transferProcedure]);
    const serving = server.serve();
    const transfers: [number, number, number][] = [];
    for (let i = 0; i < 40; i++) transfers.push([1 + (i % 10), 1 + ((i * 7 + 3) % 10), i + 1]);
    const app = new Worker(new URL("../../apps/transfer_app.ts", import.meta.url).href, {
      type: "module",
    });
    try {
      const report = await new Promise<TransferAppReport>((resolve, reject) => {
        app.onmessage = (event: MessageEvent<TransferAppReport>) => resolve(event.data);
        app.onerror = (event) => {
          event.preventDefault();
          reject(new Error(`app failed: ${event.message}`));
        };
        app.postMessage({ shared, transfers });
      });
      assert.equal(report.done, 40);
      assert.equal(report.badInput?.sqlState, "22P02", JSON.stringify(report.badInput));
      assert.equal(server.stats.failed, 1);
      assert.equal(server.stats.tasks, 41);
      // The model: apply the same transfers.
      const model = new Array<number>(11).fill(1000);
      for (const [from, to, amount] of transfers) {
        model[from]! -= amount;
        model[to]! += amount;
      }
      assert.deepEqual(report.lastRows, [["1", String(model[1])], ["2", String(model[2])]]);
      const [rows] = await run("SELECT id, balance FROM accounts ORDER BY id");
      assert.deepEqual(rows!.rows!.map((r) => Number(r[1])), model.slice(1));
      const [open] = await run("SELECT count(*) FROM accounts");
      assert.equal(String(open!.rows![0]![0]), "10", "the failed task left no open transaction");
    } finally {
      app.terminate();
      await server.stop();
      await serving;
    }
  });
});

Deno.test("an app Worker runs transfers as verified step programs, one entry each", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE accounts (id int PRIMARY KEY, balance int)");
    await run("INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 10) g");
    const shared = createTaskRingMemory(4, 4096, []);
    const server = new TaskRingServer(appliance, shared, []);
    const serving = server.serve();
    const transfers: [number, number, number][] = [];
    for (let i = 0; i < 40; i++) transfers.push([1 + (i % 10), 1 + ((i * 7 + 3) % 10), i + 1]);
    const app = new Worker(new URL("../../apps/transfer_app.ts", import.meta.url).href, {
      type: "module",
    });
    try {
      const report = await new Promise<TransferAppReport>((resolve, reject) => {
        app.onmessage = (event: MessageEvent<TransferAppReport>) => resolve(event.data);
        app.onerror = (event) => {
          event.preventDefault();
          reject(new Error(`app failed: ${event.message}`));
        };
        app.postMessage({ shared, transfers, via: "program" });
      });
      assert.equal(report.done, 40);
      assert.equal(report.badInput?.sqlState, "P0001", JSON.stringify(report.badInput));
      assert.equal(report.badInput?.message, "insufficient funds");
      assert.equal(server.stats.failed, 1);
      assert.equal(server.stats.tasks, 41);
      const model = new Array<number>(11).fill(1000);
      for (const [from, to, amount] of transfers) {
        model[from]! -= amount;
        model[to]! += amount;
      }
      assert.deepEqual(report.lastRows, [["1", String(model[1])], ["2", String(model[2])]]);
      const [rows] = await run("SELECT id, balance FROM accounts ORDER BY id");
      assert.deepEqual(
        rows!.rows!.map((r) => Number(r[1])),
        model.slice(1),
        "the failed transfer left no trace",
      );
    } finally {
      app.terminate();
      await server.stop();
      await serving;
    }
  });
});
