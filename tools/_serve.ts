import { boot } from "/work/main/kernel/boot.ts";
import { resolveConfig } from "/work/main/kernel/config.ts";
import { Logger } from "/work/main/kernel/log.ts";
const dir = Deno.args[1] ?? Deno.makeTempDirSync();
const r = resolveConfig({
  "data-dir": dir,
  port: "5498",
  "pool-size": "128MiB",
  "log-size": "256MiB",
}, {});
if (!r.ok) throw new Error("cfg");
const app = await boot(r.config, new Logger("error", () => {}));
await new Promise((res) => setTimeout(res, Number(Deno.args[0] ?? 30) * 1000));
await app.shutdown();
