/**
 * Configuration: one zod schema for every setting. Sources, strongest first: command-line flags,
 * then `EXODB_*` environment variables, then defaults. {@link resolveConfig} reports every problem
 * at once; the CLI prints them and exits with status 2 before anything touches the disk.
 */
import { z } from "zod";
import { isPowerOfTwo, limits } from "../lib/limits.ts";
import { parseSizeBytes } from "../lib/units.ts";
import { schedulerModes } from "./scheduler.ts";

/** A size in bytes given as a number or text such as `64MiB`. */
function sizeBytes(min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((value, context) => {
    const bytes = typeof value === "number" ? value : parseSizeBytes(value);
    if (bytes === undefined || !Number.isSafeInteger(bytes)) {
      context.addIssue({ code: "custom", message: `not a size: "${value}" (try 64MiB or 8192)` });
      return z.NEVER;
    }
    if (bytes < min || bytes > max) {
      context.addIssue({
        code: "custom",
        message: `must be between ${min} and ${max} bytes: got ${bytes}`,
      });
      return z.NEVER;
    }
    return bytes;
  });
}

const port = z.union([z.number(), z.string()]).transform((value, context) => {
  const n = typeof value === "number" ? value : Number(value.trim() === "" ? NaN : value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    context.addIssue({
      code: "custom",
      message: `must be an integer from 0 to 65535: got "${value}"`,
    });
    return z.NEVER;
  }
  return n;
});

/** The schema of every setting; `.describe()` texts feed `--help` and the README. */
export const configSchema = z.object({
  host: z.string().min(1).describe("address to listen on"),
  port: port.describe("TCP port to listen on (0 picks a free one)"),
  dataDir: z.string().min(1).describe(
    "directory of the disk image (exodb.img) and log device (exodb.wal)",
  ),
  poolSizeBytes: sizeBytes(
    limits.poolFramesCountMin * limits.blockSizeBytesMax,
    limits.poolSizeBytesMax,
  )
    .describe("buffer pool size"),
  blockSizeBytes: sizeBytes(limits.blockSizeBytesMin, limits.blockSizeBytesMax)
    .refine(isPowerOfTwo, { message: "must be a power of two" })
    .describe("block size, fixed when the image is formatted"),
  imageInitialBytes: sizeBytes(1024 * 1024, 2 ** 44).describe("disk image size at format"),
  imageExtentBytes: sizeBytes(64 * 1024, 2 ** 40).describe("how much the image grows when full"),
  logDeviceBytes: sizeBytes(2 * 1024 * 1024, 2 ** 40).describe("log device size at format"),
  maxConnections: z.union([z.number(), z.string()]).transform((value, context) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) {
      context.addIssue({
        code: "custom",
        message: `must be an integer from 1 to 10000: got "${value}"`,
      });
      return z.NEVER;
    }
    return n;
  }).describe("most client connections at once; more get 53300"),
  authenticationTimeoutMs: z.union([z.number(), z.string()]).transform((value, context) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 100 || n > 600_000) {
      context.addIssue({
        code: "custom",
        message: `must be milliseconds from 100 to 600000: got "${value}"`,
      });
      return z.NEVER;
    }
    return n;
  }).describe("time a client has to complete startup, in milliseconds"),
  maxMessageBytes: sizeBytes(1024, 1024 * 1024 * 1024).describe(
    "largest protocol message a client may send (startup packets: 10,000 bytes); larger is 08P01",
  ),
  password: z.string().describe(
    "password every client must give (SCRAM-SHA-256); empty: trust, no password asked",
  ),
  profile: z.enum(["exo", "conventional"]).describe(
    "exo (I/O worker, group commit, corked writes) or conventional (one crossing per step)",
  ),
  ioPath: z.enum(["mixed", "ring", "direct"]).describe(
    "exo profile's disk I/O: mixed (reads and writes by FFI on the kernel thread, syncs on the " +
      "I/O worker), ring (everything on the I/O worker) or direct (no worker)",
  ),
  netPath: z.enum(["ring", "direct"]).describe(
    "exo profile's client sockets: ring (accepts, receives and sends through io_uring, batched " +
      "per kernel turn; Linux, IPv4 host) or direct (a runtime op per socket call)",
  ),
  logFlush: z.enum(["nic-ring", "worker"]).describe(
    "exo profile's group-commit flush: nic-ring (the log write and its fdatasync as two linked " +
      "SQEs on the NIC's io_uring; needs --net-path ring) or worker (one request to the I/O worker)",
  ),
  logLevel: z.enum(["debug", "info", "warn", "error"]).describe("least severe log level printed"),
  scheduler: z.enum(schedulerModes).describe(
    "fair (interactive before maintenance before background, with aging) or fifo (arrival order)",
  ),
});

/** A validated configuration. */
export type Config = z.output<typeof configSchema>;

/** Setting names. */
export type ConfigKey = keyof Config;

/** How each setting is spelled as a flag and as an environment variable, with its default. */
export const settings: Record<ConfigKey, { flag: string; env: string; default: string }> = {
  host: { flag: "host", env: "EXODB_HOST", default: "127.0.0.1" },
  port: { flag: "port", env: "EXODB_PORT", default: "5433" },
  dataDir: { flag: "data-dir", env: "EXODB_DATA_DIR", default: "./data" },
  poolSizeBytes: { flag: "pool-size", env: "EXODB_POOL_SIZE", default: "64MiB" },
  blockSizeBytes: { flag: "block-size", env: "EXODB_BLOCK_SIZE", default: "8KiB" },
  imageInitialBytes: { flag: "image-size", env: "EXODB_IMAGE_SIZE", default: "16MiB" },
  imageExtentBytes: { flag: "image-extent", env: "EXODB_IMAGE_EXTENT", default: "16MiB" },
  logDeviceBytes: { flag: "log-size", env: "EXODB_LOG_SIZE", default: "64MiB" },
  maxConnections: { flag: "max-connections", env: "EXODB_MAX_CONNECTIONS", default: "100" },
  authenticationTimeoutMs: {
    flag: "authentication-timeout",
    env: "EXODB_AUTHENTICATION_TIMEOUT",
    default: "60000",
  },
  maxMessageBytes: {
    flag: "max-message-size",
    env: "EXODB_MAX_MESSAGE_SIZE",
    default: "64MiB",
  },
  password: { flag: "password", env: "EXODB_PASSWORD", default: "" },
  profile: { flag: "profile", env: "EXODB_PROFILE", default: "exo" },
  ioPath: { flag: "io-path", env: "EXODB_IO_PATH", default: "mixed" },
  netPath: { flag: "net-path", env: "EXODB_NET_PATH", default: "ring" },
  logFlush: { flag: "log-flush", env: "EXODB_LOG_FLUSH", default: "nic-ring" },
  logLevel: { flag: "log-level", env: "EXODB_LOG_LEVEL", default: "info" },
  scheduler: { flag: "scheduler", env: "EXODB_SCHEDULER", default: "fair" },
};

/** The result of {@link resolveConfig}: a config, or every problem found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/**
 * Merges flags over environment over defaults and validates the result. `flags` maps flag
 * names (`data-dir`) to values; `env` maps variable names to values.
 */
export function resolveConfig(
  flags: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
): ConfigResult {
  const raw: Record<string, string> = {};
  const origin: Record<string, string> = {};
  for (const [key, spelling] of Object.entries(settings)) {
    const fromFlag = flags[spelling.flag];
    const fromEnv = env[spelling.env];
    if (fromFlag !== undefined) {
      raw[key] = fromFlag;
      origin[key] = `--${spelling.flag}`;
    } else if (fromEnv !== undefined) {
      raw[key] = fromEnv;
      origin[key] = spelling.env;
    } else {
      raw[key] = spelling.default;
      origin[key] = "default";
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) {
    const config = parsed.data;
    const problems = crossChecks(config);
    return problems.length === 0 ? { ok: true, config } : { ok: false, problems };
  }
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const where = origin[key] ?? key;
    return `${where}: ${issue.message}`;
  });
  return { ok: false, problems };
}

function crossChecks(config: Config): string[] {
  const problems: string[] = [];
  const frames = Math.floor(config.poolSizeBytes / config.blockSizeBytes);
  if (frames < limits.poolFramesCountMin) {
    problems.push(
      `--pool-size: holds ${frames} blocks, at least ${limits.poolFramesCountMin} needed`,
    );
  }
  if (config.imageInitialBytes % config.blockSizeBytes !== 0) {
    problems.push("--image-size: must be a whole number of blocks");
  }
  if (config.imageExtentBytes % config.blockSizeBytes !== 0) {
    problems.push("--image-extent: must be a whole number of blocks");
  }
  if (config.logDeviceBytes % config.blockSizeBytes !== 0) {
    problems.push("--log-size: must be a whole number of blocks");
  }
  return problems;
}
