/**
 * The two boot profiles differ where ../shared/DESIGN.md says ("Two paths") and nowhere else:
 * exo runs disk I/O on the I/O worker (the kernel thread makes no runtime op for it), corks a
 * query's answer into one socket write, keeps group commit and logs statements into a ring;
 * conventional makes a runtime op per block, a socket write per protocol message, a sync per
 * commit and a log line per statement. (The SQL corpus runs under both: tests/sql.)
 */
import assert from "node:assert/strict";
import pg from "pg";
import { crossings, diffCrossings } from "../../hw/crossings.ts";
import { StatementLog } from "../../kernel/statement_log.ts";
import { withServer } from "./_wire.ts";

async function client(port: number): Promise<pg.Client> {
  const c = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
  await c.connect();
  return c;
}

for (const profile of ["exo", "conventional"] as const) {
  Deno.test(`profile ${profile}: I/O path, socket writes, group commit and the statement log`, async () => {
    await withServer(async (port, appliance) => {
      const c = await client(port);
      try {
        await c.query("create table t (id int primary key, v text)");
        await c.query("insert into t select g, repeat('x', 200) from generate_series(1, 2000) g");
        await c.query("checkpoint");
        // The I/O path: the worker's view has a row only on exo, and there it did the syscalls.
        const worker = await c.query("select worker_syscalls, syncs from exodb_stat_io_worker");
        assert.equal(worker.rows.length, profile === "exo" ? 1 : 0);
        if (profile === "exo") assert.ok(Number(worker.rows[0].worker_syscalls) > 0);
        assert.equal(appliance.engine.storage.wal.groupCommit, profile === "exo");
        // A checkpoint's block writes: runtime ops on conventional, ring hops on exo.
        await c.query("update t set v = 'y' where id <= 1000");
        const logWrites = appliance.statementLog.stats.writes;
        let before = crossings.snapshot();
        await c.query("checkpoint");
        let used = diffCrossings(crossings.snapshot(), before);
        // The statement log's own writes (a drain on exo, a line on conventional) are ops too.
        const diskOps = used.runtime_op.count - (appliance.statementLog.stats.writes - logWrites);
        if (profile === "exo") {
          assert.ok(used.thread_hop.count > 0, "block writes went through the ring");
          assert.equal(diskOps, 0, "no runtime op for disk I/O on exo");
        } else {
          assert.ok(diskOps > 10, `block writes as runtime ops: ${diskOps}`);
        }
        // One simple query, four backend messages (RowDescription, DataRow, CommandComplete,
        // ReadyForQuery): one send corked, or four. On exo's io_uring NIC the send is a ring
        // entry: no socket op at all, and at most two enters (the send with the next receive,
        // and an idle wait) for the whole exchange.
        const nic0 = appliance.listener.stats();
        before = crossings.snapshot();
        const one = await c.query("select v from t where id = 7");
        used = diffCrossings(crossings.snapshot(), before);
        const nic1 = appliance.listener.stats();
        assert.equal(one.rows[0].v, "y");
        assert.equal(nic1.sends - nic0.sends, profile === "exo" ? 1 : 4);
        assert.equal(
          nic1.path,
          profile === "exo" && Deno.build.os === "linux" ? "io_uring" : "deno_tcp",
        );
        if (nic1.path === "io_uring") {
          assert.equal(used.socket_write.count + used.socket_read.count, 0);
          assert.ok(
            nic1.socketCalls - nic0.socketCalls <= 2,
            `${nic1.socketCalls - nic0.socketCalls} enters`,
          );
          assert.ok(used.socket_write.bytes > 0, "the bytes sent are still accounted");
        } else {
          assert.equal(used.socket_write.count, profile === "exo" ? 1 : 4);
        }
        // The statement log: a ring on exo, a write per line on conventional (unit test below).
        const log = appliance.statementLog;
        await c.query("select 1");
        assert.equal(log.mode, profile === "exo" ? "ring" : "direct");
        log.drain();
        assert.ok(log.stats.lines >= 6, `${log.stats.lines} lines logged`);
        const text = Deno.readTextFileSync(`${appliance.config.dataDir}/statements.log`);
        assert.match(text, /duration: \d+\.\d{3} ms {2}SELECT 1\n/);
        assert.match(text, /INSERT 0 2000/);
      } finally {
        await c.end();
      }
    }, { profile });
  });
}

Deno.test("profile conventional: each commit waits for its own sync", async () => {
  await withServer(async (port, appliance) => {
    const clients: pg.Client[] = await Promise.all(Array.from({ length: 4 }, () => client(port)));
    try {
      await clients[0]!.query("create table c (id int primary key)");
      const wal = appliance.engine.storage.wal;
      const syncs = wal.stats.syncs;
      await Promise.all(
        clients.map((c: pg.Client, i: number) =>
          Promise.all(
            Array.from({ length: 5 }, (_, k) => c.query(`insert into c values (${i * 100 + k})`)),
          )
        ),
      );
      assert.ok(wal.stats.syncs - syncs >= 20, `20 commits, ${wal.stats.syncs - syncs} syncs`);
      const count = await clients[1]!.query("select count(*)::int as n from c");
      assert.equal(count.rows[0].n, 20);
    } finally {
      await Promise.all(clients.map((c: pg.Client) => c.end()));
    }
  }, { profile: "conventional" });
});

Deno.test("statement log: a ring drained in one write, or a write per line; rotation", () => {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-statement-log-" });
  try {
    const ring = new StatementLog({
      path: `${dir}/ring.log`,
      mode: "ring",
      ringLines: 3,
      drainMs: 60_000,
    });
    const recordedFromMs = Date.now();
    for (let i = 0; i < 5; i++) ring.record(1, `SELECT ${i}`, 0.5);
    const recordedToMs = Date.now();
    assert.deepEqual(ring.stats, { lines: 0, writes: 0, dropped: 2, failures: 0 });
    ring.drain();
    assert.deepEqual(ring.stats, { lines: 3, writes: 1, dropped: 2, failures: 0 });
    ring.close();
    const lines = Deno.readTextFileSync(`${dir}/ring.log`).trimEnd().split("\n");
    assert.deepEqual(lines.map((l) => l.replace(/^\S+ /, "")), [
      "[1] duration: 0.500 ms  SELECT 0",
      "[1] duration: 0.500 ms  SELECT 1",
      "[1] duration: 0.500 ms  SELECT 2",
    ]);
    // The time is when the statement was recorded (not drained), as ISO 8601 with milliseconds.
    for (const line of lines) {
      const stamp = line.split(" ")[0]!;
      const ms = Date.parse(stamp);
      assert.equal(new Date(ms).toISOString(), stamp);
      assert.ok(ms >= recordedFromMs && ms <= recordedToMs, `${stamp} within the recording`);
    }
    const direct = new StatementLog({
      path: `${dir}/direct.log`,
      mode: "direct",
      rotateBytes: 200,
    });
    for (let i = 0; i < 5; i++) direct.record(2, `error 23505`, 1);
    assert.equal(direct.stats.writes, 5);
    assert.equal(direct.stats.lines, 5);
    direct.close();
    // 5 lines of ~60 bytes with rotation at 200 bytes: the older part moved to .1.
    const rotated = Deno.readTextFileSync(`${dir}/direct.log.1`).trimEnd().split("\n").length;
    const current = Deno.readTextFileSync(`${dir}/direct.log`).trim().split("\n").filter((l) =>
      l
    ).length;
    assert.equal(rotated + current, 5);
    assert.ok(rotated >= 3);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
