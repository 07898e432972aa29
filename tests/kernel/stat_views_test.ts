/** exodb_stat_* views: crossings, sessions, buffer pool and device traffic over SQL. */
import assert from "node:assert/strict";
import pg from "pg";
import { withServer } from "./_wire.ts";

/** node-postgres rows as text by column name. */
type Row = Record<
  | "kind"
  | "application_name"
  | "state"
  | "statements"
  | "socket_reads"
  | "socket_writes"
  | "crossing_bytes"
  | "path"
  | "receives"
  | "sends"
  | "accepted"
  | "socket_calls"
  | "ring_reaped"
  | "class",
  string
>;

Deno.test("exodb_stat_* views report crossings, sessions, the buffer pool and I/O", async () => {
  await withServer(async (port) => {
    const connect = async (name: string) => {
      const client = new pg.Client({
        host: "127.0.0.1",
        port,
        user: "exodb",
        database: "exodb",
        application_name: name,
      });
      await client.connect();
      return client;
    };
    const a = await connect("stats-a");
    const b = await connect("stats-b");
    try {
      const kinds = await a.query("select kind from exodb_stat_crossings order by kind");
      assert.deepEqual((kinds.rows as Row[]).map((r) => r.kind), [
        "ffi_call",
        "message_hop",
        "runtime_op",
        "socket_read",
        "socket_write",
        "syscall",
        "thread_hop",
      ]);
      const io0 = await a.query("select syncs from exodb_stat_io where device = 'log'");
      await a.query("create table t (id int primary key, v text)");
      await a.query("insert into t select g, 'x' from generate_series(1, 500) g");
      const io1 = await a.query(
        "select syncs, nic_ring_flushes from exodb_stat_io where device = 'log'",
      );
      assert.ok(BigInt(io1.rows[0].syncs) > BigInt(io0.rows[0].syncs), "commits sync the log");
      // On exo with the io_uring NIC (Linux), the group-commit flushes ride on the NIC's ring.
      const nicPath = (await a.query("select path from exodb_stat_nic")).rows[0].path;
      if (nicPath === "io_uring") assert.ok(BigInt(io1.rows[0].nic_ring_flushes) > 0n);
      await b.query("begin");
      await b.query("select count(*) from t");
      const sessions = await a.query(
        "select application_name, state, statements, socket_reads, socket_writes, crossing_bytes from exodb_stat_sessions order by pid",
      );
      const byName = new Map((sessions.rows as Row[]).map((r) => [r.application_name, r]));
      const rowA = byName.get("stats-a")!;
      const rowB = byName.get("stats-b")!;
      assert.equal(rowA.state, "active"); // it is running this very query
      assert.equal(rowB.state, "idle in transaction");
      assert.ok(BigInt(rowA.statements) >= 4n);
      // Socket traffic is charged to the session: as socket ops on Deno's TCP; off the io_uring
      // NIC (exo's default on Linux) as bytes only, since the ring entries cost no op.
      const nic = (await a.query("select * from exodb_stat_nic")).rows[0] as Row;
      assert.ok(BigInt(nic.receives) > 0n && BigInt(nic.sends) > 0n && BigInt(nic.accepted) >= 2n);
      assert.ok(BigInt(rowA.crossing_bytes) > 0n);
      if (nic.path === "io_uring") {
        assert.equal(BigInt(rowA.socket_reads) + BigInt(rowA.socket_writes), 0n);
        assert.ok(BigInt(nic.socket_calls) > 0n && BigInt(nic.ring_reaped) > 0n);
      } else {
        assert.ok(BigInt(rowA.socket_reads) > 0n && BigInt(rowA.socket_writes) > 0n);
      }
      const pool = await a.query(
        "select frames, hits + misses as lookups from exodb_stat_bufferpool",
      );
      assert.ok(BigInt(pool.rows[0].frames) > 0n && BigInt(pool.rows[0].lookups) > 0n);
      const classes = await a.query(
        "select class, shares from exodb_stat_scheduler order by class",
      );
      assert.deepEqual(
        (classes.rows as Row[]).map((r) => r.class),
        ["background", "interactive", "maintenance"],
      );
      await b.query("commit");
      await b.end();
      const after = await a.query("select count(*) from exodb_stat_sessions");
      assert.equal(after.rows[0].count, "1"); // a closed session leaves the view
    } finally {
      await a.end();
    }
  });
});
