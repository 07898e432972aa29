/**
 * Polling on the task ring: while tasks keep coming the kernel finds each new submission
 * without sleeping on the ring (no futex wake needed from the app), and with polling off it
 * sleeps before every task; results are the same either way.
 */
import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";
import { createTaskRingMemory } from "../../kernel/task_ring/layout.ts";
import { TaskRingServer } from "../../kernel/task_ring/server.ts";
import { TaskRingClient } from "../../kernel/task_ring/client.ts";
import { ProgramBuilder } from "../../kernel/task_ring/program_builder.ts";

const tasks = 40;

interface Outcome {
  values: bigint[];
  stats: { tasks: number; polledTasks: number; sleeps: number };
}

async function runTasks(pollIdleMs: number): Promise<Outcome> {
  let outcome: Outcome | undefined;
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run(
      "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);" +
        "INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 10) g",
    );
    const shared = createTaskRingMemory(4, 4096, []);
    const server = new TaskRingServer(appliance, shared, [], { pollIdleMs });
    const serving = server.serve();
    const p = new ProgramBuilder();
    const id = p.param("int");
    const balance = p.register("int");
    p.readColumn(balance, p.get("accounts", id), "balance").emit(balance);
    const program = p.build();
    // Client and server share this thread here, so the client must not spin.
    const client = new TaskRingClient(shared, { spinMs: 0 });
    const values: bigint[] = [];
    try {
      for (let i = 0; i < tasks; i++) {
        const [value] = await client.runProgram(program, [BigInt(1 + (i % 10))]);
        values.push(value as bigint);
      }
    } finally {
      await server.stop();
      await serving;
    }
    outcome = { values, stats: { ...server.stats } };
  });
  return outcome!;
}

Deno.test("task ring: polling finds back-to-back tasks without sleeping; off, it sleeps each time", async () => {
  const expected = Array.from({ length: tasks }, (_, i) => BigInt((1 + (i % 10)) * 10));
  // A long idle time: however slow this machine, the next task arrives within it.
  const polled = await runTasks(10_000);
  assert.deepEqual(polled.values, expected);
  assert.equal(polled.stats.tasks, tasks);
  assert.ok(polled.stats.sleeps <= 1, `${polled.stats.sleeps} sleeps while polling`);
  const sleeping = await runTasks(0);
  assert.deepEqual(sleeping.values, expected);
  assert.equal(sleeping.stats.polledTasks, 0);
  assert.ok(sleeping.stats.sleeps >= tasks, `${sleeping.stats.sleeps} sleeps for ${tasks} tasks`);
});
