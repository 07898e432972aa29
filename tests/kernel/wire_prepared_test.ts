/** Extended-protocol statements see what their own transaction block did before them. */
import assert from "node:assert/strict";
import pg from "pg";
import { withServer } from "./_wire.ts";

Deno.test("Parse inside a block sees the block's own new tables and rows", async () => {
  await withServer(async (port) => {
    const client = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
    await client.connect();
    try {
      await client.query("begin");
      await client.query("create table fresh (id int primary key, v text)");
      await client.query("insert into fresh values ($1, $2)", [1, "a"]);
      assert.deepEqual((await client.query("select * from fresh where id = $1", [1])).rows, [
        { id: 1, v: "a" },
      ]);
      await client.query("rollback");
      await assert.rejects(client.query("select * from fresh where id = $1", [1]), {
        code: "42P01",
      });
      // The same text after the catalog changed is described again, not from the cache.
      await client.query("create table fresh (id int primary key, v text, w int)");
      const again = await client.query("select * from fresh where id = $1", [1]);
      assert.deepEqual(again.fields.map((f: { name: string }) => f.name), ["id", "v", "w"]);
    } finally {
      await client.end();
    }
  });
});
