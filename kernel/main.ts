/**
 * The kernel process. Started by the launcher (cli.ts) with exactly the permissions this
 * configuration needs, granted once: the data directory, the listen address, and FFI for libc
 * and ExoDB's native library. Boots, serves until SIGINT or SIGTERM, shuts down cleanly, exits 0.
 */
import { AssertionError } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import { boot } from "./boot.ts";
import { configSchema } from "./config.ts";
import { Logger } from "./log.ts";

const started = performance.now();
const json = Deno.args.find((arg) => arg.startsWith("--config-json="))?.slice(
  "--config-json=".length,
);
if (json === undefined) {
  console.error("exodb: kernel/main.ts is started by `deno task exodb start`, not directly");
  Deno.exit(2);
}
const config = configSchema.parse({
  ...JSON.parse(json),
  password: Deno.env.get("EXODB_PASSWORD") ?? "",
});
const logger = new Logger(config.logLevel);

let appliance;
try {
  appliance = await boot(config, logger, { configMs: performance.now() - started });
} catch (error) {
  if (error instanceof ExoError || error instanceof Deno.errors.AddrInUse) {
    logger.error(`boot refused: ${error.message}`);
    Deno.exit(1);
  }
  throw error;
}

let signalled = false;
const stop = (signal: string) => {
  if (signalled) return;
  signalled = true;
  logger.info(`shutdown on ${signal}`);
  appliance.shutdown().then(
    () => Deno.exit(0),
    (error) => {
      logger.error(`shutdown failed: ${error instanceof AssertionError ? error.stack : error}`);
      Deno.exit(1);
    },
  );
};
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
logger.info(
  `ready: accepting connections on ${appliance.listener.hostname}:${appliance.listener.port}`,
);
