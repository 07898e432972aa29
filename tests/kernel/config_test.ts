import assert from "node:assert/strict";
import { resolveConfig } from "../../kernel/config.ts";

Deno.test("defaults give the documented embedded configuration", () => {
  const result = resolveConfig({}, {});
  assert.ok(result.ok);
  assert.deepEqual(result.config, {
    host: "127.0.0.1",
    port: 5433,
    dataDir: "./data",
    poolSizeBytes: 64 * 1024 * 1024,
    blockSizeBytes: 8192,
    imageInitialBytes: 16 * 1024 * 1024,
    imageExtentBytes: 16 * 1024 * 1024,
    logDeviceBytes: 64 * 1024 * 1024,
    maxConnections: 100,
    authenticationTimeoutMs: 60_000,
    maxMessageBytes: 64 * 1024 * 1024,
    password: "",
    profile: "exo",
    ioPath: "mixed",
    netPath: "ring",
    logFlush: "nic-ring",
    logLevel: "info",
    scheduler: "fair",
  });
});

Deno.test("flags override the environment, which overrides defaults", () => {
  const result = resolveConfig(
    { port: "6000" },
    { EXODB_PORT: "7000", EXODB_POOL_SIZE: "128MiB", EXODB_PROFILE: "conventional" },
  );
  assert.ok(result.ok);
  assert.equal(result.config.port, 6000);
  assert.equal(result.config.poolSizeBytes, 128 * 1024 * 1024);
  assert.equal(result.config.profile, "conventional");
});

Deno.test("every problem is reported at once, each naming where the value came from", () => {
  const result = resolveConfig(
    { port: "99999", "pool-size": "lots", "block-size": "3000" },
    { EXODB_PROFILE: "fast", EXODB_LOG_LEVEL: "chatty" },
  );
  assert.ok(!result.ok);
  assert.equal(result.problems.length, 5, result.problems.join("\n"));
  const text = result.problems.join("\n");
  assert.match(text, /--port: must be an integer from 0 to 65535: got "99999"/);
  assert.match(text, /--pool-size: not a size: "lots"/);
  assert.match(text, /--block-size: must be between 4096 and 65536 bytes: got 3000/);
  assert.match(text, /EXODB_PROFILE: .*"exo"\|"conventional"/);
  assert.match(text, /EXODB_LOG_LEVEL: /);
});

Deno.test("a block size that is not a power of two and sizes that are not whole blocks are refused", () => {
  const result = resolveConfig({ "block-size": "12KiB", "image-size": "1000000" }, {});
  assert.ok(!result.ok);
  assert.match(result.problems.join("\n"), /--block-size: must be a power of two/);
  const sizes = resolveConfig({ "image-size": "2000000" }, {});
  assert.ok(!sizes.ok);
  assert.match(sizes.problems.join("\n"), /--image-size: must be a whole number of blocks/);
});
