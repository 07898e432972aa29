/**
 * The app Worker of kv_bench.ts's task-ring rows: on `{ shared }` attaches two RingKv handles to
 * one ring (one awaiting each task with Atomics.waitAsync, one blocking on Atomics.wait); on
 * `{ from, count, blocking }` makes `count / 5` atomic commits of 10 sets each with one of them
 * (the same workload as the in-process "atomic of 10 sets" row), each commit one task, and
 * answers with commits/s.
 */
import { TaskRingClient } from "../kernel/task_ring/client.ts";
import type { TaskRingShared } from "../kernel/task_ring/layout.ts";
import { RingKv } from "../kernel/task_ring/kv_ring_client.ts";

const port = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};
const value = { name: "user", n: 12345, tags: ["a", "b"], active: true };
let awaiting: RingKv | undefined;
let blocking: RingKv | undefined;

port.onmessage = async (event) => {
  const data = event.data as
    | { shared: TaskRingShared }
    | { from: number; count: number; blocking: boolean };
  if ("shared" in data) {
    // One client, two handles: the worker runs one workload at a time, so tasks never overlap.
    const client = new TaskRingClient(data.shared);
    awaiting = new RingKv(client);
    blocking = new RingKv(client, { blocking: true });
    return port.postMessage("attached");
  }
  const kv = data.blocking ? blocking : awaiting;
  const started = performance.now();
  const commits = Math.floor(data.count / 5);
  for (let i = data.from; i < data.from + commits; i++) {
    const atomic = kv!.atomic();
    for (let j = 0; j < 10; j++) atomic.set(["user", (i * 10 + j) % 5000], value);
    await atomic.commit();
  }
  port.postMessage(commits / ((performance.now() - started) / 1000));
};
