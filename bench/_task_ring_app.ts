/**
 * The app Worker of task_ring_bench.ts. On `{ mode, task, tasks, first }` it runs that many tasks
 * and answers with the elapsed milliseconds.
 *
 * Tasks: "transfer" (SQL: 5 statements ending in a COMMIT), "reads" (SQL: 5 point SELECTs),
 * "engineReads" (5 engine steps: read a row by primary key, 5 times), "engineTransfer" (5
 * engine steps: read the source row, write it, read the target row, write it, commit).
 *
 * Modes: "ring" submits each task as one ring entry (a procedure for the SQL tasks, a step
 * program for the engine tasks) on a ring the kernel polls while tasks keep coming and this
 * Worker spins on for its completion; "ringSleep" does the same on a ring where both sides
 * sleep on the futex at once (a wake-up each way per task); "messages" runs the same five
 * statements or engine steps as five postMessage round trips to the kernel.
 */
import { TaskRingClient } from "../kernel/task_ring/client.ts";
import type { TaskRingShared } from "../kernel/task_ring/layout.ts";
import { ProgramBuilder, type StepProgram } from "../kernel/task_ring/program_builder.ts";
import { transferProgram } from "../apps/transfer_app.ts";

/** Task names. */
export type BenchTask = "transfer" | "reads" | "engineReads" | "engineTransfer";

/**
 * One engine step sent as a message (the baseline of the engine tasks); readForUpdate begins
 * the kernel-side transaction if none is open, commit ends it.
 */
export type EngineStepMessage =
  | { kind: "engine"; op: "read"; id: number }
  | { kind: "engine"; op: "readForUpdate"; id: number }
  | { kind: "engine"; op: "write"; id: number; balance: number }
  | { kind: "engine"; op: "commit" };

type Command =
  | { kind: "attach"; shared: TaskRingShared; sharedSleeping: TaskRingShared }
  | {
    kind: "run";
    mode: "ring" | "ringSleep" | "messages";
    task: BenchTask;
    tasks: number;
    first: number;
  }
  | { kind: "reply"; value?: number };

const port = self as unknown as {
  onmessage: ((event: MessageEvent<Command>) => void) | null;
  postMessage(message: unknown): void;
};

/** The ring the kernel polls (and this Worker spins on), and one where both sides sleep. */
let polled: TaskRingClient | undefined;
let sleeping: TaskRingClient | undefined;
let replied: ((value: number | undefined) => void) | undefined;

/** 5 point reads as one program: get, read the balance, emit — five times. */
const readsProgram: StepProgram = (() => {
  const p = new ProgramBuilder();
  const ids = [0, 1, 2, 3, 4].map(() => p.param("int"));
  const balance = p.register("int");
  for (const id of ids) {
    p.readColumn(balance, p.get("accounts", id), "balance").emit(balance);
  }
  return p.build();
})();

function ids(task: number): number[] {
  return [0, 1, 2, 3, 4].map((k) => 1 + ((task * 5 + k) % 100));
}

function transferOf(task: number): [number, number, number] {
  return [1 + (task % 100), 1 + ((task * 7 + 3) % 100), 1];
}

function params(task: BenchTask, n: number): string[] {
  if (task === "reads") return ids(n).map(String);
  return transferOf(n).map(String);
}

function hop(message: unknown): Promise<number | undefined> {
  return new Promise((resolve) => {
    replied = resolve;
    port.postMessage(message);
  });
}

async function viaMessages(task: BenchTask, n: number): Promise<void> {
  if (task === "engineReads") {
    for (const id of ids(n)) await hop({ kind: "engine", op: "read", id });
    return;
  }
  if (task === "engineTransfer") {
    const [from, to, amount] = transferOf(n);
    // The first read begins the transaction: five hops, as five engine steps.
    const debited = (await hop({ kind: "engine", op: "readForUpdate", id: from }))! - amount;
    await hop({ kind: "engine", op: "write", id: from, balance: debited });
    const credited = (await hop({ kind: "engine", op: "readForUpdate", id: to }))! + amount;
    await hop({ kind: "engine", op: "write", id: to, balance: credited });
    await hop({ kind: "engine", op: "commit" });
    return;
  }
  for (let step = 0; step < 5; step++) {
    await hop({ kind: "step", procedure: task, step, params: params(task, n) });
  }
}

function viaRing(client: TaskRingClient, task: BenchTask, n: number): void {
  if (task === "engineReads") {
    client.runProgramSync(readsProgram, ids(n).map(BigInt));
  } else if (task === "engineTransfer") {
    client.runProgramSync(transferProgram, transferOf(n).map(BigInt));
  } else client.runSync(task, params(task, n));
}

port.onmessage = async (event) => {
  const command = event.data;
  if (command.kind === "reply") return replied?.(command.value);
  if (command.kind === "attach") {
    polled = new TaskRingClient(command.shared);
    sleeping = new TaskRingClient(command.sharedSleeping, { spinMs: 0 });
    return port.postMessage({ kind: "attached" });
  }
  const started = performance.now();
  for (let i = 0; i < command.tasks; i++) {
    const n = command.first + i;
    if (command.mode === "ring") viaRing(polled!, command.task, n);
    else if (command.mode === "ringSleep") viaRing(sleeping!, command.task, n);
    else await viaMessages(command.task, n);
  }
  port.postMessage({ kind: "ran", elapsedMs: performance.now() - started });
};
