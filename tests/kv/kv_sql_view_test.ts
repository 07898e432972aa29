/** The read-only SQL view `exodb_kv`: data written through openKv, read by SQL after boot. */
import assert from "node:assert/strict";
import { KvU64, openKv } from "../../dbengine/kv/mod.ts";
import { boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";
import { sqlRunner } from "../query/_appliance.ts";

Deno.test("exodb_kv shows openKv's entries in key order, read-only, without expired ones", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-kv-sql-" });
  try {
    const kv = await openKv(dir);
    await kv.set(["users", 2n], { name: "b" });
    await kv.set(["users", 1], "first");
    await kv.set(["bytes"], new Uint8Array([1, 2]));
    await kv.set(["count"], new KvU64(7n));
    const { versionstamp } = await kv.set(["ttl"], "later", { expireIn: 3_600_000 });
    await kv.set(["gone"], "soon", { expireIn: 1 });
    kv.close();
    await kv.whenClosed();
    await new Promise((resolve) => setTimeout(resolve, 5));

    const config = resolveConfig(
      { "data-dir": dir, port: "0", "pool-size": "8MiB", "block-size": "32KiB" },
      {},
    );
    assert.ok(config.ok);
    const appliance = await boot(config.config, new Logger("error", () => {}));
    try {
      const sql = sqlRunner(appliance);
      const [result] = await sql.run(
        "select key, value_kind, value, versionstamp = '" + versionstamp +
          "', expires_at is not null from exodb_kv order by key_bytes",
      );
      assert.deepEqual(result!.rows, [
        ['[ "bytes" ]', "bytes", "Uint8Array(2) [ 1, 2 ]", false, false],
        ['[ "count" ]', "u64", "[Deno.KvU64: 7n]", false, false],
        ['[ "ttl" ]', "v8", '"later"', true, true],
        ['[ "users", 2n ]', "v8", '{ name: "b" }', false, false],
        ['[ "users", 1 ]', "v8", '"first"', false, false],
      ]);
      await assert.rejects(sql.run("delete from exodb_kv"), { sqlState: "42501" });
    } finally {
      await appliance.shutdown();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
