/**
 * The app Worker of task_ring_kv_test.ts: runs a seeded random Deno.Kv operation sequence
 * (tests/kv/_random_ops.ts) through a RingKv (awaiting each task, or blocking on Atomics.wait,
 * as the attach message says) and answers with one outcome line per operation,
 * then the whole database listed; on `{ atomic: true }` makes one atomic commit of 2 checks and
 * 10 mutations.
 */
import { TaskRingClient } from "../../kernel/task_ring/client.ts";
import type { TaskRingShared } from "../../kernel/task_ring/layout.ts";
import { RingKv } from "../../kernel/task_ring/kv_ring_client.ts";
import { KvU64 } from "../../dbengine/kv/mod.ts";
import { afterClose, runOps } from "./_kv_ops.ts";

const port = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

let kv: RingKv | undefined;

port.onmessage = async (event) => {
  const data = event.data as
    | { shared: TaskRingShared; blocking: boolean }
    | { seed: number; ops: number }
    | { atomic: true }
    | { close: true };
  if ("shared" in data) {
    kv = new RingKv(new TaskRingClient(data.shared), { blocking: data.blocking });
    return port.postMessage("attached");
  }
  if ("close" in data) return port.postMessage(await afterClose(kv!));
  if ("atomic" in data) {
    const a = await kv!.get(["x", 1]);
    const b = await kv!.get(["x", 2]);
    const op = kv!.atomic().check(a).check(b);
    for (let i = 0; i < 8; i++) op.set(["x", 10 + i], { i });
    op.sum(["n", "c"], 5n).max(["n", "m"], 9n);
    const result = await op.commit();
    return port.postMessage({
      ok: result.ok,
      counter: String((await kv!.get(["n", "c"])).value instanceof KvU64),
    });
  }
  port.postMessage(await runOps(kv!, data.seed, data.ops));
};
