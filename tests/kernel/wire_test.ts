/** Real clients against the wire protocol: node-postgres over loopback to an in-process appliance. */
import assert from "node:assert/strict";
import pg from "pg";
import { boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";

async function withServer(body: (port: number) => Promise<void>): Promise<void> {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-wire-" });
  const result = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "8MiB" }, {});
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
