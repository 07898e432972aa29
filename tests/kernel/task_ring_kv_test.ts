import assert from "node:assert/strict";
import { withAppliance } from "../query/_appliance.ts";
import { openKv } from "../../dbengine/kv/mod.ts";
import { createTaskRingMemory } from "../../kernel/task_ring/layout.ts";
import { TaskRingServer } from "../../kernel/task_ring/server.ts";
import { KvTaskServer } from "../../kernel/task_ring/kv_task_server.ts";
import { afterClose, runOps } from "./_kv_ops.ts";
import { deserializeV8, serializeV8 } from "../../dbengine/kv/value_codec.ts";

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
          // A closed handle fails every call as a closed in-process handle does.
          const closedRing = await ask<string[]>({ close: true });
          const probe = await openKv(":memory:");
          assert.deepEqual(closedRing, await afterClose(probe));
          await probe.whenClosed();
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

Deno.test("the kernel keeps at most 256 list iterators a ring, dropping the oldest", async () => {
  const kv = await openKv(":memory:");
  try {
    for (let i = 0; i < 5; i++) await kv.set(["k", i], i);
    const server = new KvTaskServer(kv);
    const pull = async (request: Record<string, unknown>) =>
      deserializeV8(await server.run(serializeV8({ op: "pull", count: 2, ...request }))) as {
        entries: unknown[];
        done: boolean;
      };
    const create = { selector: { prefix: ["k"] }, options: { reverse: false, batchSize: 2 } };
    for (let id = 1; id <= 300; id++) {
      const first = await pull({ id, create });
      assert.equal(first.entries.length, 2);
      assert.equal(first.done, false);
    }
    assert.equal(server.openIterators, 256);
    await assert.rejects(pull({ id: 1 }), /list iterator 1 expired/);
    // A kept iterator resumes where it stopped; exhausted, it is forgotten.
    assert.equal((await pull({ id: 300 })).entries.length, 2);
    assert.deepEqual((await pull({ id: 300 })).done, true);
    assert.equal(server.openIterators, 255);
    // Released ids go with any request.
    await server.run(serializeV8({ op: "get", key: ["k", 0], released: [299, 298] }));
    assert.equal(server.openIterators, 253);
    await assert.rejects(server.run(new Uint8Array([1, 2, 3])), /does not decode/);
  } finally {
    kv.close();
    await kv.whenClosed();
  }
});
