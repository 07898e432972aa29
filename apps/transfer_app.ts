/**
 * An example in-process app: a Worker that moves money between accounts through a task ring.
 * Each transfer is one task, submitted as one ring entry: either the registered procedure
 * (BEGIN; debit; credit; read both balances; COMMIT — five statements) or the step program
 * {@link transferProgram} (engine steps, verified by the kernel, run in one transaction); the
 * kernel runs the whole task and posts one completion.
 *
 * Started by the kernel (or a test) with `{ shared, transfers, via }`; answers with what it saw.
 */
import { TaskRingClient, TaskRingError } from "../kernel/task_ring/client.ts";
import type { TaskRingShared } from "../kernel/task_ring/layout.ts";
import { ProgramBuilder, type StepProgram } from "../kernel/task_ring/program_builder.ts";

/** The procedure this app registers. */
export const transferProcedure = {
  name: "transfer",
  sql: "BEGIN; UPDATE accounts SET balance = balance - $3 WHERE id = $1; " +
    "UPDATE accounts SET balance = balance + $3 WHERE id = $2; " +
    "SELECT id, balance FROM accounts WHERE id IN ($1, $2) ORDER BY id; COMMIT",
};

/**
 * The transfer as a step program, parameters (from, to, amount): debit, credit, then fail with
 * "insufficient funds" (rolling both back) if the debited balance went below zero; emits the
 * two balances after the transfer.
 */
export const transferProgram: StepProgram = (() => {
  const p = new ProgramBuilder({ readWrite: true });
  const from = p.param("int");
  const to = p.param("int");
  const amount = p.param("int");
  const debited = p.register("int");
  const credited = p.register("int");
  const source = p.get("accounts", from);
  p.readColumn(debited, source, "balance").sub(debited, debited, amount);
  p.setColumn(source, "balance", debited).update(source);
  const target = p.get("accounts", to);
  p.readColumn(credited, target, "balance").add(credited, credited, amount);
  p.setColumn(target, "balance", credited).update(target);
  const negative = p.register("bool");
  p.lt(negative, debited, p.constant("int", 0n));
  const fine = p.label();
  p.jumpUnless(negative, fine).fail("insufficient funds").place(fine);
  p.emit(debited).emit(credited);
  return p.build();
})();

/** What the app reports back. */
export interface TransferAppReport {
  done: number;
  lastRows: (string | null)[][];
  badInput: { sqlState: string; message: string } | undefined;
}

interface Start {
  shared: TaskRingShared;
  transfers: [number, number, number][];
  /** How each transfer is submitted (default: the procedure). */
  via?: "procedure" | "program";
}

const port = self as unknown as {
  onmessage: ((event: MessageEvent<Start>) => void) | null;
  postMessage(message: unknown): void;
};

port.onmessage = (event) => {
  const client = new TaskRingClient(event.data.shared);
  const report: TransferAppReport = { done: 0, lastRows: [], badInput: undefined };
  const program = event.data.via === "program";
  const transfer = (from: number, to: number, amount: number): (string | null)[][] => {
    if (!program) {
      return client.runSync("transfer", [String(from), String(to), String(amount)]).rows;
    }
    const [debited, credited] = client.runProgramSync(transferProgram, [
      BigInt(from),
      BigInt(to),
      BigInt(amount),
    ]);
    return from < to
      ? [[String(from), String(debited)], [String(to), String(credited)]]
      : [[String(to), String(credited)], [String(from), String(debited)]];
  };
  for (const [from, to, amount] of event.data.transfers) {
    report.lastRows = transfer(from, to, amount);
    report.done++;
  }
  try {
    if (program) transfer(1, 2, 100_000); // more than there is: rolled back
    else client.runSync("transfer", ["1", "2", "not a number"]);
  } catch (error) {
    if (!(error instanceof TaskRingError)) throw error;
    report.badInput = { sqlState: error.sqlState, message: error.message };
  }
  // The ring keeps working after a failed task.
  report.lastRows = transfer(1, 2, 0);
  port.postMessage(report);
};
