import pg from "pg";
import { withServer } from "/work/wt-wire/tests/kernel/_wire.ts";
await withServer(async (port) => {
  const c = new pg.Client({ host: "127.0.0.1", port, user: "exodb" });
  await c.connect();
  await c.query("create table big (id int primary key, s text)");
  let t = performance.now();
  await c.query("insert into big select g, repeat('x', 2000) from generate_series(1, 6000) g");
  console.log("insert", performance.now() - t); t = performance.now();
  await c.query("select * from big");
  console.log("select", performance.now() - t); t = performance.now();
  for (let i = 0; i < 50; i++) await c.query("select count(*) as n from big where id <= $1", [i]);
  console.log("counts", performance.now() - t);
  await c.end();
}, { "pool-size": "32MiB", "log-size": "256MiB" });
