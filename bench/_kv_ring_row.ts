/**
 * kv_bench.ts's task-ring row: atomic commits of 10 sets made by an app Worker through a RingKv
 * (each commit one task-ring task; the Worker awaiting each with waitAsync, or blocking on
 * Atomics.wait) against the kernel's openKv handle on the "exodb file" directory, rounds
 * interleaved with the same workload in-process on that handle.
 */
import { boot } from "../kernel/boot.ts";
import { resolveConfig } from "../kernel/config.ts";
import { Logger } from "../kernel/log.ts";
import type { Kv } from "../dbengine/kv/kv.ts";
import { createTaskRingMemory } from "../kernel/task_ring/layout.ts";
import { TaskRingServer } from "../kernel/task_ring/server.ts";
import { KvTaskServer } from "../kernel/task_ring/kv_task_server.ts";

/** Per-round rates (commits/s) over the ring (awaiting, blocking) and in-process. */
export interface RingRow {
  ring: number[];
  ringBlocking: number[];
  inProcess: number[];
}

/** Runs the row: `inProcess(from, count)` does the same workload in-process, returns commits. */
export async function ringAtomicRow(
  kv: Kv,
  dir: string,
  rounds: number,
  opsPerRound: number,
  inProcess: (from: number, count: number) => Promise<number>,
): Promise<RingRow> {
  const dataDir = `${dir}/appliance`;
  Deno.mkdirSync(dataDir);
  const resolved = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "8MiB" }, {});
  if (!resolved.ok) throw new Error("bad bench configuration");
  const appliance = await boot(resolved.config, new Logger("error", () => {}));
  const shared = createTaskRingMemory(4, 64 * 1024, []);
  const server = new TaskRingServer(appliance, shared, [], { kv: new KvTaskServer(kv) });
  const serving = server.serve();
  const app = new Worker(new URL("./_kv_ring_app.ts", import.meta.url).href, { type: "module" });
  const ask = <T>(message: unknown) =>
    new Promise<T>((resolve) => {
      app.onmessage = (event) => resolve(event.data);
      app.postMessage(message);
    });
  const row: RingRow = { ring: [], ringBlocking: [], inProcess: [] };
  try {
    await ask({ shared });
    let from = 0;
    for (let round = 0; round < rounds; round++) {
      row.ring.push(await ask<number>({ from, count: opsPerRound, blocking: false }));
      row.ringBlocking.push(await ask<number>({ from, count: opsPerRound, blocking: true }));
      const started = performance.now();
      const done = await inProcess(from, opsPerRound);
      row.inProcess.push(done / ((performance.now() - started) / 1000));
      from += opsPerRound;
    }
  } finally {
    app.terminate();
    await server.stop();
    await serving;
    await appliance.shutdown();
  }
  return row;
}
