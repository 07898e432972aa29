/**
 * 5-step tasks run by an app Worker against the in-process appliance: through a task ring (one
 * submission entry and one completion per task) vs as 5 postMessage round trips (one message
 * hop per step). The kernel does the same work either way; the difference is the crossings.
 *
 * - SQL procedures: a transfer (BEGIN; debit; credit; read both balances; COMMIT, so one log
 *   flush each) and 5 point SELECTs, 5 statements each.
 * - Step programs (engine steps, verified by the kernel): 5 point reads by primary key, and a
 *   transfer (read source, write it, read target, write it, commit). The baseline sends each
 *   engine step as one message, which the kernel runs with the same table calls.
 *
 * Batches of each mode alternate; each sample is the mean per task over one batch.
 *
 * Usage: deno task bench:task-ring [--quick]
 */
import { machineLine, type Measurement, saveResult, summarize, table } from "./harness.ts";
import { boot } from "../kernel/boot.ts";
import { resolveConfig } from "../kernel/config.ts";
import { Logger } from "../kernel/log.ts";
import { parseSql } from "../query/sql_parser.ts";
import { SqlSession } from "../query/sql_session.ts";
import { parseValue } from "../query/pg_text.ts";
import { Binder } from "../query/binder.ts";
import { storable, t } from "../query/sql_types.ts";
import { createTaskRingMemory } from "../kernel/task_ring/layout.ts";
import { TaskRingServer } from "../kernel/task_ring/server.ts";
import { transferProcedure } from "../apps/transfer_app.ts";
import type { Transaction } from "../dbengine/txn.ts";
import type { EngineStepMessage } from "./_task_ring_app.ts";

const quick = Deno.args.includes("--quick");
/** `--json=PATH`: also write the figures there (the `taskring` suite of `exodb bench` reads them). */
const jsonPath = Deno.args.find((a) => a.startsWith("--json="))?.slice("--json=".length);
const samples = quick ? 3 : 15;
const tasksPerSample = quick ? 20 : 200;

const dataDir = Deno.makeTempDirSync({ prefix: "exodb-taskring-" });
const resolved = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "16MiB" }, {});
if (!resolved.ok) throw new Error("bad bench configuration");
const appliance = await boot(resolved.config, new Logger("error", () => {}));
try {
  const setup = new SqlSession(() => appliance.engine);
  for (
    const { statement } of parseSql(
      "CREATE TABLE accounts (id int PRIMARY KEY, balance int);" +
        "INSERT INTO accounts SELECT g, 1000000 FROM generate_series(1, 100) g",
    )
  ) await setup.execute(statement);

  const readsProcedure = {
    name: "reads",
    sql: [1, 2, 3, 4, 5].map((k) => `SELECT balance FROM accounts WHERE id = $${k}`).join("; "),
  };
  const procedures = [transferProcedure, readsProcedure];
  const shared = createTaskRingMemory(4, 4096, procedures.map((p) => p.name));
  const server = new TaskRingServer(appliance, shared, procedures);
  const serving = server.serve();
  // The same ring with polling off on both sides: every task a futex wake each way.
  const sharedSleeping = createTaskRingMemory(4, 4096, procedures.map((p) => p.name));
  const serverSleeping = new TaskRingServer(appliance, sharedSleeping, procedures, {
    pollIdleMs: 0,
  });
  const servingSleeping = serverSleeping.serve();

  // The message baseline: one session, each statement parsed and typed once, run per message.
  const session = new SqlSession(() => appliance.engine);
  const stepsOf = (sql: string) =>
    parseSql(sql).map(({ statement }) => {
      const { storage, catalog } = appliance.engine;
      const snapshot = storage.txns.snapshot();
      try {
        const binder = new Binder({
          catalog,
          txn: undefined,
          snapshot,
          paramTypes: [],
          settings: session.textSettings,
        });
        if (statement.kind === "select") binder.select(statement);
        else if (statement.kind === "update") session.inferDmlParams(statement, binder);
        const types = Array.from(
          { length: binder.ctx.paramTypes.length },
          (_, i) => binder.ctx.paramTypes[i] ?? t.text,
        );
        return { statement, types };
      } finally {
        storage.txns.release(snapshot);
      }
    });
  const steps: Record<string, ReturnType<typeof stepsOf>> = {
    transfer: stepsOf(transferProcedure.sql),
    reads: stepsOf(readsProcedure.sql),
  };

  const app = new Worker(new URL("./_task_ring_app.ts", import.meta.url).href, {
    type: "module",
  });
  // The engine-step baseline: each message runs one table call, as the program's step does.
  let open: Transaction | undefined;
  const engineStep = async (message: EngineStepMessage): Promise<number | undefined> => {
    const { storage, catalog } = appliance.engine;
    const snapshot = storage.txns.snapshot();
    try {
      const table = catalog.table("accounts", open, snapshot)!;
      switch (message.op) {
        case "read":
          return table.getByPrimaryKey([message.id], undefined, snapshot)![1] as number;
        case "readForUpdate":
          if (open === undefined) {
            open = storage.txns.begin();
            open.cid++;
          }
          return table.getByPrimaryKey([message.id], open, snapshot)![1] as number;
        case "write": {
          const txn = open!;
          await table.update(txn, table.keyOf([message.id]), (row) => [row[0]!, message.balance]);
          txn.cid++;
          return undefined;
        }
        case "commit": {
          const txn = open!;
          open = undefined;
          await storage.txns.commit(txn, { synchronous: true });
          return undefined;
        }
      }
    } finally {
      storage.txns.release(snapshot);
    }
  };

  let onReply: ((data: { kind: string; elapsedMs?: number }) => void) | undefined;
  app.onmessage = async (event) => {
    const data = event.data;
    if (data.kind === "engine") {
      app.postMessage({ kind: "reply", value: await engineStep(data) });
      return;
    }
    if (data.kind === "step") {
      const step = steps[data.procedure]![data.step]!;
      const params = step.types.map((type, i) =>
        parseValue(data.params[i], storable(type), session.textSettings)
      );
      await session.execute(step.statement, params, step.types);
      app.postMessage({ kind: "reply" });
      return;
    }
    onReply?.(data);
  };
  const ask = (message: unknown) =>
    new Promise<{ kind: string; elapsedMs?: number }>((resolve) => {
      onReply = resolve;
      app.postMessage(message);
    });
  await ask({ kind: "attach", shared, sharedSleeping });

  const modes = [
    { mode: "messages", task: "transfer", name: "transfer (5 stmts, COMMIT), 5 postMessages" },
    { mode: "ringSleep", task: "transfer", name: "transfer, 1 ring entry, sleeping" },
    { mode: "ring", task: "transfer", name: "transfer, 1 ring entry, polled" },
    { mode: "messages", task: "reads", name: "5 point reads, 5 postMessages" },
    { mode: "ringSleep", task: "reads", name: "5 point reads, 1 ring entry, sleeping" },
    { mode: "ring", task: "reads", name: "5 point reads, 1 ring entry, polled" },
    { mode: "messages", task: "engineReads", name: "5 engine reads, 5 postMessages" },
    { mode: "ringSleep", task: "engineReads", name: "5 engine reads, 1 ring program, sleeping" },
    { mode: "ring", task: "engineReads", name: "5 engine reads, 1 ring program, polled" },
    { mode: "messages", task: "engineTransfer", name: "engine transfer (5 steps), 5 postMessages" },
    {
      mode: "ringSleep",
      task: "engineTransfer",
      name: "engine transfer, 1 ring program, sleeping",
    },
    { mode: "ring", task: "engineTransfer", name: "engine transfer, 1 ring program, polled" },
  ] as const;
  const perTaskNs: number[][] = modes.map(() => []);
  let first = 0;
  // Warm-up batch of each, then interleaved samples.
  for (const { mode, task } of modes) {
    await ask({ kind: "run", mode, task, tasks: tasksPerSample, first });
  }
  for (let s = 0; s < samples; s++) {
    for (let m = 0; m < modes.length; m++) {
      const { mode, task } = modes[m]!;
      const reply = await ask({ kind: "run", mode, task, tasks: tasksPerSample, first });
      first += tasksPerSample;
      perTaskNs[m]!.push((reply.elapsedMs! * 1e6) / tasksPerSample);
    }
  }
  const results: Measurement[] = modes.map((m, i) => summarize({ name: m.name }, perTaskNs[i]!));
  console.log(`5-step tasks from an app Worker, per task — ${machineLine()}\n`);
  for (let m = 0; m < modes.length; m += 3) {
    if (m > 0) console.log();
    console.log(table(results.slice(m, m + 3), modes[m]!.name));
  }
  const ratio = (a: Measurement, b: Measurement) => (a.medianNs / b.medianNs).toFixed(1);
  const line = (label: string, m: number) =>
    `${label}: polled ring ${ratio(results[m]!, results[m + 2]!)}×, sleeping ring ` +
    `${ratio(results[m]!, results[m + 1]!)}× faster than 5 postMessages`;
  console.log();
  console.log(`${line("SQL transfer", 0)}; ${line("5 point reads", 3)}.`);
  console.log(
    `Step programs (goal >= 20×): ${line("5 engine reads", 6)}; ${line("engine transfer", 9)}. ${
      server.programs.stats.verified + serverSleeping.programs.stats.verified
    } ` +
      `verifications, ${
        server.programs.stats.cacheHits + serverSleeping.programs.stats.cacheHits
      } cache hits; polled ring: ${server.stats.polledTasks} of ${server.stats.tasks} tasks ` +
      `found by polling, ${server.stats.sleeps} sleeps; ` +
      `${server.stats.failed + serverSleeping.stats.failed} failed.`,
  );
  const figures = {
    machine: machineLine(),
    samples,
    tasksPerSample,
    results,
    polled: { ...server.stats },
    sleeping: { ...serverSleeping.stats },
  };
  saveResult(quick ? "task_ring.quick" : "task_ring", figures);
  if (jsonPath !== undefined) Deno.writeTextFileSync(jsonPath, JSON.stringify(figures));
  app.terminate();
  await server.stop();
  await serverSleeping.stop();
  await serving;
  await servingSleeping;
} finally {
  await appliance.shutdown();
  Deno.removeSync(dataDir, { recursive: true });
}
