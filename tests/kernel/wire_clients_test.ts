/**
 * Acceptance: unmodified clients against the wire protocol — node-postgres, postgres.js (with
 * `fetch_types: false`: its startup type query reads pg_catalog, which another issue builds),
 * and psql where it is installed.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import pg from "pg";
import postgres from "postgres";
import { hasBinary, withServer } from "./_wire.ts";

const schema = "create table typed (id int4 primary key, big int8, f float8, n numeric(12,3), " +
  "s text, b bool, ts timestamp, raw bytea)";

Deno.test("node-postgres: typed results, parameters, transactions, error codes, 1,000 queries in flight", async () => {
  await withServer(async (port) => {
    const pool = new pg.Pool({ host: "127.0.0.1", port, user: "exodb", database: "exodb", max: 8 });
    try {
      await pool.query(schema);
      await pool.query(
        "insert into typed values ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
          1,
          "9007199254740993",
          2.5,
          "123.456",
          "héllo",
          true,
          "2024-01-02 03:04:05.678",
          Buffer
            .from([0, 1, 254, 255]),
        ],
      );
      await pool.query(
        "insert into typed (id, big, s, b) values (2, -5, 'it''s', false), (3, null, null, null)",
      );
      const { rows, fields } = await pool.query("select * from typed where id = $1", [1]);
      assert.deepEqual(fields.map((f: { dataTypeID: number }) => f.dataTypeID), [
        23,
        20,
        701,
        1700,
        25,
        16,
        1114,
        17,
      ]);
      const row = rows[0];
      assert.equal(row.id, 1);
      assert.equal(row.big, "9007199254740993");
      assert.equal(row.f, 2.5);
      assert.equal(row.n, "123.456");
      assert.equal(row.s, "héllo");
      assert.equal(row.b, true);
      assert.equal((row.ts as Date).getTime(), new Date(2024, 0, 2, 3, 4, 5, 678).getTime());
      assert.deepEqual([...(row.raw as Buffer)], [0, 1, 254, 255]);
      const simple = await pool.query("select id, b, s from typed where id > 1 order by id");
      assert.deepEqual(simple.rows, [{ id: 2, b: false, s: "it's" }, { id: 3, b: null, s: null }]);

      const client = await pool.connect();
      try {
        await client.query("begin");
        await client.query("update typed set big = big + 1 where id = 2");
        assert.equal((await client.query("select big from typed where id = 2")).rows[0].big, "-4");
        await client.query("commit");
        await client.query("begin");
        await client.query("delete from typed");
        await client.query("rollback");
      } finally {
        client.release();
      }
      assert.equal((await pool.query("select count(*) as n from typed")).rows[0].n, "3");

      const codes = await Promise.all([
        pool.query("insert into typed (id) values (1)").catch((e: { code?: string }) => e.code),
        pool.query("select * from missing").catch((e: { code?: string }) => e.code),
        pool.query("select 1/0").catch((e: { code?: string }) => e.code),
        pool.query("select $1::int4", ["x"]).catch((e: { code?: string }) => e.code),
        pool.query("selec 1").catch((e: { code?: string }) => e.code),
      ]);
      assert.deepEqual(codes, ["23505", "42P01", "22012", "22P02", "42601"]);

      const inFlight = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => pool.query("select $1::int4 * 2 as x", [i])),
      );
      assert.ok(
        inFlight.every((r: { rows: { x: number }[] }, i: number) => r.rows[0]!.x === i * 2),
      );
    } finally {
      await pool.end();
    }
  });
});

Deno.test("postgres.js: typed results, pipelining, sql(array) helpers, transactions, error codes", async () => {
  await withServer(async (port) => {
    const sql = postgres({
      host: "127.0.0.1",
      port,
      user: "exodb",
      database: "exodb",
      fetch_types: false, // its type query needs pg_catalog (the catalog issue)
      max: 1, // one connection: concurrent queries are pipelined on it
      onnotice: () => {},
    });
    try {
      await sql.unsafe(schema);
      await sql`insert into typed values (${1}, ${"9007199254740993"}, ${2.5}, ${"123.456"},
        ${"héllo"}, ${true}, ${"2024-01-02 03:04:05.678"}, ${Buffer.from([7, 8, 9])})`;
      const [row] = await sql`select * from typed where id = ${1}`;
      assert.equal(row!.id, 1);
      assert.equal(row!.big, "9007199254740993");
      assert.equal(row!.f, 2.5);
      assert.equal(row!.n, "123.456");
      assert.equal(row!.s, "héllo");
      assert.equal(row!.b, true);
      assert.equal((row!.ts as Date).getTime(), new Date(2024, 0, 2, 3, 4, 5, 678).getTime());
      assert.deepEqual([...(row!.raw as Buffer)], [7, 8, 9]);

      // sql(rows, columns) builds a multi-row insert; sql(array) an IN list.
      const rows = [2, 3, 4, 5].map((id) => ({ id, s: `row ${id}`, b: id % 2 === 0 }));
      await sql`insert into typed ${sql(rows, "id", "s", "b")}`;
      const picked = await sql`select id, s from typed where id in ${sql([2, 4, 9])} order by id`;
      assert.deepEqual([...picked], [{ id: 2, s: "row 2" }, { id: 4, s: "row 4" }]);

      // 200 queries issued at once on one connection: written back to back, answered in order.
      const piped = await Promise.all(
        Array.from({ length: 200 }, (_, i) => sql`select ${i}::int4 + 1 as x`),
      );
      assert.ok(piped.every((r, i) => r[0]!.x === i + 1));

      await sql.begin(async (tx) => {
        await tx`update typed set s = 'changed' where id = 2`;
        await tx`delete from typed where id = 3`;
      });
      await assert.rejects(
        sql.begin(async (tx) => {
          await tx`delete from typed`;
          throw new Error("undo");
        }),
        /undo/,
      );
      const after = await sql`select id, s from typed order by id`;
      assert.deepEqual(after.map((r) => r.id), [1, 2, 4, 5]);
      assert.equal(after[1]!.s, "changed");

      const codes = await Promise.all([
        sql`insert into typed (id) values (${1})`.catch((e: { code?: string }) => e.code),
        sql`select * from missing`.catch((e: { code?: string }) => e.code),
        sql`select 1/0`.catch((e: { code?: string }) => e.code),
        sql`select ${"x"}::int4`.catch((e: { code?: string }) => e.code),
      ]);
      assert.deepEqual(codes, ["23505", "42P01", "22012", "22P02"]);
      assert.equal((await sql`select 1 as ok`)[0]!.ok, 1, "the connection goes on");
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

Deno.test("psql: -c and a script with \\set variables", async () => {
  if (!hasBinary("psql")) {
    console.log("skipped: psql is not installed (apt-get install postgresql-client)");
    return;
  }
  await withServer(async (port) => {
    const base = ["-X", "-h", "127.0.0.1", "-p", String(port), "-U", "exodb", "-d", "exodb"];
    const run = async (args: string[], stdin?: string) => {
      const child = new Deno.Command("psql", {
        args: [...base, "-v", "ON_ERROR_STOP=1", ...args],
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        env: { PGCONNECT_TIMEOUT: "10" },
      }).spawn();
      if (stdin !== undefined) {
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(stdin));
        await writer.close();
      }
      const result = await child.output();
      const text = new TextDecoder().decode(result.stdout);
      assert.ok(result.success, text + new TextDecoder().decode(result.stderr));
      return text;
    };
    assert.equal(await run(["-A", "-t", "-c", "select 40 + 2"]), "42\n");
    const script = [
      "\\set n 5",
      "\\set label 'item 3'",
      "create table items (id int primary key, label text);",
      "insert into items select g, 'item ' || g::text from generate_series(1, :n) g;",
      "select count(*) from items where id <= :n;",
      "select id from items where label = :'label';",
      "\\set ON_ERROR_STOP 0",
      "select * from nosuch;",
      "select 'still here';",
    ].join("\n");
    assert.equal(await run(["-A", "-t", "-q", "-f", "-"], script), "5\n3\nstill here\n");
  });
});
