import assert from "node:assert/strict";
import { withAppliance } from "../query/_appliance.ts";
import { openKv } from "../../dbengine/kv/mod.ts";
import { createTaskRingMemory } from "../../kernel/task_ring/layout.ts";
import { TaskRingServer } from "../../kernel/task_ring/server.ts";
import { KvTaskServer } from "../../kernel/task_ring/kv_task_server.ts";
import { runOps } from "./_kv_ops.ts";

const opsPerSeed = 500;
/** Seeds, each with how the app waits for its tasks. */
const seeds = [{ seed: 11, blocking: false }, { seed: 12, blocking: true }];

Deno.test("Deno.Kv over the task ring: the same operations give what in-process openKv gives", async () => {
  await withAppliance(async (appliance) => {
    const app = new Worker(new URL("./_kv_ring_app.ts", import.meta.url).href, { type: "module" });
    const ask = <T>(message: unknown) =>
      new Promise<T>((resolve, reject) => {
        app.onmessage = (event) => resolve(event.data);
        app.onerror = (event) => {
          event.preventDefault();
          reject(new Error(`app failed: ${event.message}`));
        };
        app.postMessage(message);
      });
    try {
      for (const { seed, blocking } of seeds) {
        const kernelKv = await openKv(":memory:");
        const localKv = await openKv(":memory:");
        const kvServer = new KvTaskServer(kernelKv);
        const shared = createTaskRingMemory(4, 1 << 20, []);
        const server = new TaskRingServer(appliance, shared, [], { kv: kvServer });
        const serving = server.serve();
        try {
          await ask({ shared, blocking });
          const overRing = await ask<string[]>({ seed, ops: opsPerSeed });
          const local = await runOps(localKv, seed, opsPerSeed);
          assert.equal(overRing.length, local.length);
          for (let i = 0; i < local.length; i++) {
            assert.equal(overRing[i], local[i], `seed ${seed} operation ${i}`);
          }
          assert.ok(server.stats.tasks > opsPerSeed / 2, `${server.stats.tasks} ring tasks`);
          // One atomic commit (2 checks, 10 mutations) is one task.
          const before = server.stats.tasks + server.stats.failed;
          const result = await ask<{ ok: boolean; counter: string }>({ atomic: true });
          assert.deepEqual(result, { ok: true, counter: "true" });
          assert.equal(
            server.stats.tasks + server.stats.failed - before,
            4,
            "get, get, commit, get",
          );
          assert.equal((await kernelKv.get(["x", 17])).value?.toString(), "[object Object]");
          assert.ok(kvServer.openIterators <= 256);
        } finally {
          await server.stop();
          await serving;
          kernelKv.close();
          localKv.close();
          await kernelKv.whenClosed();
          await localKv.whenClosed();
        }
      }
    } finally {
      app.terminate();
    }
  });
});
