/**
 * End to end through the real launcher: `deno task exodb start` as a user runs it, in a child
 * process with the narrow permissions the launcher grants.
 */
import assert from "node:assert/strict";
import { crc32c } from "../../io/crc32c.ts";

const root = new URL("../../", import.meta.url).pathname;

interface Running {
  process: Deno.ChildProcess;
  port: Promise<number>;
  output: () => string;
  exited: Promise<Deno.CommandStatus>;
}

function startServer(args: string[]): Running {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "exodb", "start", "--port", "0", ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  let resolvePort: (port: number) => void = () => {};
  let rejectPort: (error: Error) => void = () => {};
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const match = /ready: accepting connections on [\d.]+:(\d+)/.exec(text);
      if (match) resolvePort(Number(match[1]));
    }
  };
  const pumps = Promise.all([pump(process.stdout), pump(process.stderr)]);
  const exited = process.status.then(async (status) => {
    await pumps;
    rejectPort(new Error(`server exited with ${status.code} before it was ready:\n${text}`));
    return status;
  });
  const timeout = setTimeout(
    () => rejectPort(new Error(`server not ready in 30 s:\n${text}`)),
    30_000,
  );
  port.finally(() => clearTimeout(timeout)).catch(() => {});
  return { process, port, output: () => text, exited };
}

Deno.test("exodb start formats, listens, stops cleanly on SIGTERM, and mounts on the next boot", async () => {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-boot-" });
  try {
    const first = startServer(["--data-dir", dataDir]);
    const port = await first.port;
    const connection = await Deno.connect({ hostname: "127.0.0.1", port });
    connection.close();
    first.process.kill("SIGTERM");
    const status = await first.exited;
    assert.equal(status.code, 0, first.output());
    const log = first.output();
    for (const stage of ["config", "mount", "recover", "listen"]) {
      assert.match(log, new RegExp(`boot ${stage} [\\d.]+ ms`), `stage ${stage} timed`);
    }
    assert.match(log, /formatted /);
    assert.match(log, /shutdown clean/);
    assert.ok(Deno.statSync(`${dataDir}/exodb.img`).size > 0);

    const second = startServer(["--data-dir", dataDir, "--profile", "conventional"]);
    await second.port;
    second.process.kill("SIGINT");
    assert.equal((await second.exited).code, 0, second.output());
    assert.match(second.output(), /mounted /);
  } finally {
    Deno.removeSync(dataDir, { recursive: true });
  }
});

Deno.test("exodb start refuses a foreign image, naming the file and leaving it untouched", async () => {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-boot-" });
  try {
    const junk = new Uint8Array(1024 * 1024).fill(0x5a);
    Deno.writeFileSync(`${dataDir}/exodb.img`, junk);
    Deno.writeFileSync(`${dataDir}/exodb.wal`, junk);
    const before = crc32c(Deno.readFileSync(`${dataDir}/exodb.img`));
    const server = startServer(["--data-dir", dataDir]);
    await assert.rejects(server.port);
    const status = await server.exited;
    assert.equal(status.code, 1);
    assert.match(server.output(), /boot refused: Cannot mount .*exodb\.img: not an ExoDB device/);
    assert.equal(crc32c(Deno.readFileSync(`${dataDir}/exodb.img`)), before);
  } finally {
    Deno.removeSync(dataDir, { recursive: true });
  }
});

Deno.test("invalid configuration exits with status 2, lists every problem, and creates nothing", async () => {
  const parent = Deno.makeTempDirSync({ prefix: "exodb-boot-" });
  try {
    const dataDir = `${parent}/never`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "--quiet",
        "exodb",
        "start",
        "--data-dir",
        dataDir,
        "--port",
        "x",
        "--pool-size",
        "1",
      ],
      cwd: root,
      env: { EXODB_PROFILE: "turbo" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(result.code, 2);
    const text = new TextDecoder().decode(result.stderr);
    assert.match(text, /invalid configuration/);
    assert.match(text, /--port/);
    assert.match(text, /--pool-size/);
    assert.match(text, /EXODB_PROFILE/);
    assert.throws(() => Deno.statSync(dataDir), Deno.errors.NotFound);
  } finally {
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("--help works on every command", async () => {
  for (const args of [["--help"], ["start", "--help"], ["help", "start"], ["help"]]) {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "exodb", ...args],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(result.code, 0, args.join(" "));
    assert.match(new TextDecoder().decode(result.stdout), /Usage: deno task exodb/);
  }
});
