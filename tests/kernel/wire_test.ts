/** Real clients against the wire protocol: node-postgres over loopback to an in-process appliance. */
import assert from "node:assert/strict";
import pg from "pg";
import { boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";

async function withServer(
  body: (port: number) => Promise<void>,
  flags: Record<string, string> = {},
): Promise<void> {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-wire-" });
  const result = resolveConfig(
    { "data-dir": dataDir, port: "0", "pool-size": "8MiB", ...flags },
    {},
  );
  assert.ok(result.ok);
  const appliance = await boot(result.config, new Logger("error", () => {}));
  try {
    await body(appliance.listener.port);
  } finally {
    await appliance.shutdown();
    Deno.removeSync(dataDir, { recursive: true });
  }
}

Deno.test("node-postgres: DDL, DML, parameters, transactions and errors with SQLSTATEs", async () => {
  await withServer(async (port) => {
    const client = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
    await client.connect();
    try {
      await client.query(
        "create table items (id int primary key, name text not null, price numeric(8,2), added timestamptz default now())",
      );
      const inserted = await client.query(
        "insert into items (id, name, price) values ($1, $2, $3), ($4, $5, $6)",
        [1, "pen", "1.50", 2, "ink", 12],
      );
      assert.equal(inserted.rowCount, 2);
      const one = await client.query("select id, name, price from items where id = $1", [2]);
      assert.deepEqual(one.rows, [{ id: 2, name: "ink", price: "12.00" }]);
      assert.equal(one.fields[0]!.dataTypeID, 23);
      assert.equal(one.fields[2]!.dataTypeID, 1700);
      const grouped = await client.query("select count(*) as n, sum(price) as total from items");
      assert.deepEqual(grouped.rows, [{ n: "2", total: "13.50" }]);
      await client.query("begin");
      await client.query("update items set price = price * 2 where id = 1");
      await client.query("rollback");
      assert.equal(
        (await client.query("select price from items where id = 1")).rows[0].price,
        "1.50",
      );
      await assert.rejects(
        client.query("insert into items (id, name) values (1, 'dup')"),
        (e: { code?: string }) => e.code === "23505",
      );
      await assert.rejects(
        client.query("select * from nosuch"),
        (e: { code?: string }) => e.code === "42P01",
      );
      await assert.rejects(
        client.query("selec 1"),
        (e: { code?: string; position?: string }) => e.code === "42601" && e.position === "1",
      );
      await client.query("begin");
      await assert.rejects(
        client.query("select 1/0"),
        (e: { code?: string }) => e.code === "22012",
      );
      await assert.rejects(client.query("select 1"), (e: { code?: string }) => e.code === "25P02");
      await client.query("rollback");
      assert.equal(
        (await client.query("select 1 as one")).rows[0].one,
        1,
        "the session goes on after errors",
      );
    } finally {
      await client.end();
    }
  });
});

Deno.test("malformed bytes get 08P01 and the server stays up for the next client", async () => {
  await withServer(async (port) => {
    const raw = await Deno.connect({ hostname: "127.0.0.1", port });
    // A startup packet that claims 2 GB: refused before any allocation.
    await raw.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]));
    const reply = new Uint8Array(256);
    const n = await raw.read(reply);
    assert.ok(n !== null && reply[0] === 0x45, "an ErrorResponse");
    assert.match(
      new TextDecoder().decode(reply.subarray(0, n!)),
      /08P01.*invalid length of startup packet/s,
    );
    raw.close();
    const client = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
    await client.connect();
    assert.equal((await client.query("select 2 + 2 as four")).rows[0].four, 4);
    await client.end();
  });
});

/** True when a PostgreSQL client binary is on this machine. */
function hasBinary(name: string): boolean {
  try {
    return new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test("pgbench: -i -s 1 (COPY), then -S, TPC-B, -M extended, -M prepared with 8 clients; balances agree", async () => {
  if (!hasBinary("pgbench")) {
    console.log("skipped: pgbench is not installed (apt-get install postgresql-client)");
    return;
  }
  await withServer(async (port) => {
    const env = { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "exodb", PGDATABASE: "exodb" };
    const run = async (args: string[]) => {
      const result = await new Deno.Command("pgbench", {
        args,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(result.stdout) +
        new TextDecoder().decode(result.stderr);
      assert.ok(result.success, text);
      return text;
    };
    await run(["-i", "-s", "1"]); // default steps dtgvp: drop, create, COPY, vacuum, keys
    let transactions = 0;
    for (
      const mode of [
        // The first run vacuums and truncates pgbench_history; the others (-n) keep it, so
        // the history covers every TPC-B transaction.
        ["-S", "-M", "simple"],
        ["-n", "-M", "simple"],
        ["-n", "-M", "extended"],
        ["-n", "-M", "prepared"],
      ]
    ) {
      const output = await run([...mode, "-c", "8", "-j", "2", "-T", "2"]);
      assert.match(output, /number of failed transactions: 0 /, output);
      const processed = /number of transactions actually processed: (\d+)/.exec(output);
      assert.ok(processed !== null && Number(processed[1]) > 0, output);
      if (!mode.includes("-S")) transactions += Number(processed![1]);
    }
    const client = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
    await client.connect();
    try {
      const sums = await client.query(
        "select (select sum(abalance) from pgbench_accounts) as a, (select sum(bbalance) from pgbench_branches) as b, " +
          "(select sum(tbalance) from pgbench_tellers) as t, (select sum(delta) from pgbench_history) as h, " +
          "(select count(*) from pgbench_history) as n",
      );
      const row = sums.rows[0];
      assert.equal(Number(row.n), transactions, "one history row per TPC-B transaction");
      assert.ok(row.a === row.b && row.b === row.t && row.t === row.h, JSON.stringify(row));
    } finally {
      await client.end();
    }
  });
});

Deno.test("past max_connections a client gets FATAL 53300; a silent client is closed at the startup timeout", async () => {
  await withServer(async (port) => {
    const silent = await Deno.connect({ hostname: "127.0.0.1", port }); // never sends a startup packet
    const client = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
    await client.connect();
    const third = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
    await assert.rejects(
      third.connect(),
      (e: { code?: string; message?: string }) => e.code === "53300",
    );
    // The silent one is closed after the timeout, which frees a slot.
    const closed = await silent.read(new Uint8Array(16));
    assert.equal(closed, null, "closed by the server");
    silent.close();
    const fourth = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
    await fourth.connect();
    assert.equal((await fourth.query("select 1 as x")).rows[0].x, 1);
    await fourth.end();
    await client.end();
  }, { "max-connections": "2", "authentication-timeout": "300" });
});
