/**
 * The app Worker of task_ring_bench.ts. On `{ mode, tasks }` it runs that many transfer tasks
 * of a procedure ("transfer": 5 statements ending in a COMMIT; "reads": 5 point SELECTs) and
 * answers with the elapsed milliseconds: "ring" submits each task as one ring entry; "messages"
 * runs the same five statements as five postMessage round trips to the kernel.
 */
import { TaskRingClient } from "../kernel/task_ring/client.ts";
import type { TaskRingShared } from "../kernel/task_ring/layout.ts";

type Command =
  | { kind: "attach"; shared: TaskRingShared }
  | {
    kind: "run";
    mode: "ring" | "messages";
    procedure: "transfer" | "reads";
    tasks: number;
    first: number;
  }
  | { kind: "reply" };

const port = self as unknown as {
  onmessage: ((event: MessageEvent<Command>) => void) | null;
  postMessage(message: unknown): void;
};

let client: TaskRingClient | undefined;
let replied: (() => void) | undefined;

function params(procedure: string, task: number): string[] {
  if (procedure === "reads") {
    return [0, 1, 2, 3, 4].map((k) => String(1 + ((task * 5 + k) % 100)));
  }
  return [String(1 + (task % 100)), String(1 + ((task * 7 + 3) % 100)), "1"];
}

async function viaMessages(procedure: string, task: number): Promise<void> {
  for (let step = 0; step < 5; step++) {
    await new Promise<void>((resolve) => {
      replied = resolve;
      port.postMessage({ kind: "step", procedure, step, params: params(procedure, task) });
    });
  }
}

port.onmessage = async (event) => {
  const command = event.data;
  if (command.kind === "reply") return replied?.();
  if (command.kind === "attach") {
    client = new TaskRingClient(command.shared);
    return port.postMessage({ kind: "attached" });
  }
  const started = performance.now();
  for (let i = 0; i < command.tasks; i++) {
    const task = command.first + i;
    if (command.mode === "ring") {
      client!.runSync(command.procedure, params(command.procedure, task));
    } else await viaMessages(command.procedure, task);
  }
  port.postMessage({ kind: "ran", elapsedMs: performance.now() - started });
};
