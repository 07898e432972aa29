/**
 * An example in-process app: a Worker that moves money between accounts through a task ring.
 * Each transfer is one task — BEGIN; debit; credit; read both balances; COMMIT — submitted as
 * one ring entry; the kernel runs all five statements and posts one completion.
 *
 * Started by the kernel (or a test) with `{ shared, transfers }`; answers with what it saw.
 */
import { TaskRingClient, TaskRingError } from "../kernel/task_ring/client.ts";
import type { TaskRingShared } from "../kernel/task_ring/layout.ts";

/** The procedure this app registers. */
export const transferProcedure = {
  name: "transfer",
  sql: "BEGIN; UPDATE accounts SET balance = balance - $3 WHERE id = $1; " +
    "UPDATE accounts SET balance = balance + $3 WHERE id = $2; " +
    "SELECT id, balance FROM accounts WHERE id IN ($1, $2) ORDER BY id; COMMIT",
};

/** What the app reports back. */
export interface TransferAppReport {
  done: number;
  lastRows: (string | null)[][];
  badInput: { sqlState: string; message: string } | undefined;
}

interface Start {
  shared: TaskRingShared;
  transfers: [number, number, number][];
}

const port = self as unknown as {
  onmessage: ((event: MessageEvent<Start>) => void) | null;
  postMessage(message: unknown): void;
};

port.onmessage = (event) => {
  const client = new TaskRingClient(event.data.shared);
  const report: TransferAppReport = { done: 0, lastRows: [], badInput: undefined };
  for (const [from, to, amount] of event.data.transfers) {
    report.lastRows = client.runSync("transfer", [String(from), String(to), String(amount)]).rows;
    report.done++;
  }
  try {
    client.runSync("transfer", ["1", "2", "not a number"]);
  } catch (error) {
    if (!(error instanceof TaskRingError)) throw error;
    report.badInput = { sqlState: error.sqlState, message: error.message };
  }
  // The ring keeps working after a failed task.
  report.lastRows = client.runSync("transfer", ["1", "2", "0"]).rows;
  port.postMessage(report);
};
