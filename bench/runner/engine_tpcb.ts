/**
 * pgbench's tpcb-like transaction run straight through SqlSession in the benchmark's process:
 * the same seven statements with the same parameters, parsed once, but no wire protocol, no
 * socket and no scheduler grant per statement. What a transaction then costs the kernel thread
 * is the engine's share under that profile (planning, executing, MVCC, page changes, the log,
 * commit; on the conventional profile also its block ops and a sync per commit): the floor under
 * what any wire, NIC or crossing saving can leave.
 */
import { ExoError } from "../../lib/errors.ts";
import { parseSql } from "../../query/sql_parser.ts";
import { SqlSession } from "../../query/sql_session.ts";
import { t } from "../../query/sql_types.ts";
import type { InProcessExoDb } from "./in_process.ts";
import { cpuPerTxnUs, cpuSnapshot } from "./thread_cpu.ts";

const tpcbStatements = [
  "BEGIN",
  "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
  "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
  "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2",
  "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2",
  "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)",
  "END",
];

/** One run's figures. */
export interface EngineTpcbRun {
  transactions: number;
  /** Transactions that failed with a serialization failure or deadlock and were retried. */
  retried: number;
  tps: number;
  kernelThreadUs: number;
  processUs: number;
}

/**
 * Runs TPC-B transactions on `db` for `seconds` from `sessions` concurrent sessions (so group
 * commit has company, as with pgbench's clients). Tables as loadPgbenchTables makes them.
 */
export async function runEngineTpcb(
  db: InProcessExoDb,
  scale: number,
  sessions: number,
  seconds: number,
): Promise<EngineTpcbRun> {
  const statements = tpcbStatements.map((text) => parseSql(text)[0]!.statement);
  const int4 = t.int4;
  const random = (n: number) => 1 + Math.floor(Math.random() * n);
  const rollback = parseSql("ROLLBACK")[0]!.statement;
  let transactions = 0;
  let retried = 0;
  const before = cpuSnapshot();
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  const client = async () => {
    const session = new SqlSession(() => db.appliance.engine);
    while (performance.now() < endMs) {
      const aid = random(100_000 * scale);
      const tid = random(10 * scale);
      const bid = random(scale);
      const delta = random(10_001) - 5_001;
      const params = [
        [],
        [delta, aid],
        [aid],
        [delta, tid],
        [delta, bid],
        [tid, bid, aid, delta],
        [],
      ];
      try {
        for (let i = 0; i < statements.length; i++) {
          await session.execute(statements[i]!, params[i]!, params[i]!.map(() => int4));
        }
        transactions++;
      } catch (error) {
        // A serialization failure or deadlock is retried as pgbench --max-tries does.
        if (!(error instanceof ExoError) || !error.sqlState.startsWith("40")) throw error;
        await session.execute(rollback);
        retried++;
      }
    }
  };
  await Promise.all(Array.from({ length: sessions }, client));
  const elapsedMs = performance.now() - startMs;
  const cpu = cpuPerTxnUs(before, cpuSnapshot(), transactions);
  return { transactions, retried, tps: transactions * 1000 / elapsedMs, ...cpu };
}
