/**
 * Wire fuzzing: seeded random and mutated frontend message streams against one appliance —
 * every message type with bad lengths, missing NULs, wrong counts, unknown types, huge sizes,
 * cut-off and byte-at-a-time (slowloris) delivery, before and after startup. After every case a
 * healthy client must still be answered (no crash, no hang, others keep being served), and no
 * session may end with an error escaping the protocol loop.
 *
 * `deno test` runs it for about 8 seconds; `deno task fuzz:wire [seconds] [seed]` runs longer.
 * Each run prints its seed and case count; the same seed replays the same cases.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";
import { Rng } from "../../lib/rng.ts";
import { cstr, frame, int16, int32, startupPacket } from "./_wire.ts";

const sqlSamples = [
  "select 1",
  "select $1::int4 + 1",
  "select * from fz where id = $1",
  "insert into fz values ($1, $2)",
  "update fz set v = v || 'u' where id = $1",
  "begin",
  "commit",
  "rollback",
  "copy fz from stdin",
  "copy fz (id, v) from stdin with (format csv)",
  "copy fz to stdout",
  "select repeat('x', 100000)",
  "set statement_timeout = 1000",
  "show server_version",
  "select 1; select 2; bogus",
  "",
  ";",
  "selec t",
];

type Part = Uint8Array;

/** One valid frontend message of a random type, with random but plausible content. */
function validMessage(rng: Rng): Part {
  const sql = sqlSamples[rng.nextInt(sqlSamples.length)]!;
  const name = rng.nextInt(3) === 0 ? "" : `s${rng.nextInt(4)}`;
  const value = () => {
    const choice = rng.nextInt(4);
    if (choice === 0) return [...int32(-1)]; // NULL
    const text = choice === 1 ? String(rng.nextInt(1000)) : choice === 2 ? "abc" : "\xff";
    const bytes = new TextEncoder().encode(text);
    return [...int32(bytes.length), ...bytes];
  };
  switch (rng.nextInt(14)) {
    case 0:
      return frame("Q", cstr(sql));
    case 1: {
      const count = rng.nextInt(3);
      const oids = Array.from({ length: count }, () => int32([0, 23, 25, 17][rng.nextInt(4)]!));
      return frame("P", cstr(name), cstr(sql), int16(count), ...oids);
    }
    case 2: {
      const params = rng.nextInt(3);
      const formats = rng.nextInt(3);
      return frame(
        "B",
        cstr(""),
        cstr(name),
        int16(formats),
        ...Array.from({ length: formats }, () => int16(rng.nextInt(2))),
        int16(params),
        ...Array.from({ length: params }, value),
        int16(1),
        int16(rng.nextInt(2)),
      );
    }
    case 3:
      return frame("D", rng.nextInt(2) ? "S" : "P", cstr(name));
    case 4:
      return frame("E", cstr(""), int32(rng.nextInt(3)));
    case 5:
      return frame("S");
    case 6:
      return frame("H");
    case 7:
      return frame("C", rng.nextInt(2) ? "S" : "P", cstr(name));
    case 8:
      return frame("d", `${rng.nextInt(100)}\tx\n${rng.nextInt(3) ? "1,y\n" : "\\.\n"}`);
    case 9:
      return frame("c");
    case 10:
      return frame("f", cstr("client gave up"));
    case 11:
      return frame("p", cstr("password"));
    case 12:
      return rng.nextInt(4) === 0
        ? frame("X")
        : frame("F", int32(rng.nextU32()), int16(1), int16(0), int16(1), ...[value()], int16(0));
    default:
      return frame(String.fromCharCode(rng.nextInt(256)), new Uint8Array(rng.nextInt(20)));
  }
}

/** A damaged copy of `message`: one of the ways a stream goes wrong. */
function mutate(rng: Rng, message: Part): Part {
  const out = message.slice();
  const lengthAt = out.length >= 5 ? 1 : 0;
  const view = new DataView(out.buffer);
  switch (rng.nextInt(9)) {
    case 0: // length field too small, negative, or huge
      if (out.length >= lengthAt + 4) {
        const choices = [0, 3, -1, 0x7fffffff, 0x40000000, rng.nextU32() | 0];
        view.setInt32(lengthAt, choices[rng.nextInt(choices.length)]!);
      }
      return out;
    case 1: // length one off
      if (out.length >= lengthAt + 4) {
        view.setInt32(lengthAt, view.getInt32(lengthAt) + (rng.nextInt(2) ? 1 : -1));
      }
      return out;
    case 2: { // every NUL removed (strings run to the end of the message)
      const kept = [...out.subarray(0, 5), ...[...out.subarray(5)].map((b) => b === 0 ? 0x41 : b)];
      return new Uint8Array(kept);
    }
    case 3: // cut short
      return out.subarray(0, rng.nextInt(out.length + 1));
    case 4: // one random byte
      if (out.length > 0) out[rng.nextInt(out.length)] = rng.nextInt(256);
      return out;
    case 5: // counts at a random place set to something wrong
      if (out.length >= 7) {
        view.setInt16(5 + rng.nextInt(out.length - 6), rng.nextInt(65536) - 32768);
      }
      return out;
    case 6: { // random bytes appended inside the frame
      const extra = new Uint8Array(1 + rng.nextInt(16));
      rng.fill(extra);
      const grown = new Uint8Array(out.length + extra.length);
      grown.set(out);
      grown.set(extra, out.length);
      if (grown.length >= 5) new DataView(grown.buffer).setInt32(1, grown.length - 1);
      return grown;
    }
    case 7: { // pure noise
      const noise = new Uint8Array(rng.nextInt(64));
      rng.fill(noise);
      return noise;
    }
    default:
      return out;
  }
}

/** A startup-phase packet: valid, special, or damaged. */
function startupCase(rng: Rng): Part[] {
  const valid = startupPacket({ user: "exodb", database: "exodb" });
  switch (rng.nextInt(8)) {
    case 0:
      return [frame(undefined, int32(80877103)), valid]; // SSLRequest, then startup
    case 1:
      return [frame(undefined, int32(80877104)), frame(undefined, int32(80877103)), valid];
    case 2:
      return [frame(undefined, int32(80877102), int32(rng.nextU32()), int32(rng.nextU32()))];
    case 3:
      return [frame(undefined, int32(rng.nextU32()), cstr("user"), cstr("exodb"), "\0")];
    case 4:
      return [mutate(rng, valid)];
    case 5:
      return [frame(undefined, int32(196608), "user\0exodb")]; // no terminator
    case 6: {
      const noise = new Uint8Array(rng.nextInt(40));
      rng.fill(noise);
      return [noise];
    }
    default:
      return [valid];
  }
}

/** One case's byte stream and how it is delivered. */
interface FuzzCase {
  parts: Part[];
  slowloris: boolean;
}

function makeCase(rng: Rng): FuzzCase {
  const parts = startupCase(rng);
  const count = rng.nextInt(12);
  for (let i = 0; i < count; i++) {
    const message = validMessage(rng);
    parts.push(rng.nextInt(3) === 0 ? mutate(rng, message) : message);
  }
  return { parts, slowloris: rng.nextInt(12) === 0 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads until the server closes or stays quiet for `quietMs`; bounded either way. */
async function drain(conn: Deno.TcpConn, quietMs: number): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  for (let reads = 0; reads < 2000; reads++) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = new Promise<"quiet">((resolve) =>
      timer = setTimeout(() => resolve("quiet"), quietMs)
    );
    const n = await Promise.race([conn.read(buffer).catch(() => null), quiet]);
    clearTimeout(timer);
    if (n === "quiet" || n === null) return;
  }
}

async function send(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Runs one case; slowloris cases are left open (the caller closes them at the end). */
async function runCase(port: number, fuzz: FuzzCase, lingering: Deno.TcpConn[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const stream = new Uint8Array(fuzz.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of fuzz.parts) {
      stream.set(part, at);
      at += part.length;
    }
    if (fuzz.slowloris) {
      // A byte at a time, then the connection is kept open half-sent.
      for (let i = 0; i < Math.min(stream.length, 40); i++) {
        const sent = await send(conn, stream.subarray(i, i + 1)).then(() => true, () => false);
        if (!sent) break; // the server closed it: fine
        await sleep(1);
      }
      lingering.push(conn);
      return;
    }
    await send(conn, stream).catch(() => {}); // the server may already have closed
    await drain(conn, 40);
  } finally {
    if (!fuzz.slowloris) conn.close();
  }
}

/** Runs the fuzzer for `seconds`; returns the number of cases. */
export async function fuzzWire(seconds: number, seed: number): Promise<number> {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-fuzz-" });
  const escaped: string[] = [];
  const result = resolveConfig(
    {
      "data-dir": dataDir,
      port: "0",
      "pool-size": "8MiB",
      "max-message-size": "1MiB",
      "authentication-timeout": "2000",
      "max-connections": "200",
    },
    {},
  );
  assert.ok(result.ok);
  const logger = new Logger("error", (line) => {
    // A session whose loop threw (not a protocol or SQL error answered on the wire).
    if (/session \d/.test(line) || /unexpected error/.test(line)) escaped.push(line);
  });
  const appliance = await boot(result.config, logger);
  const port = appliance.listener.port;
  const rng = new Rng(seed);
  const lingering: Deno.TcpConn[] = [];
  let cases = 0;
  const healthy = new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
  try {
    await healthy.connect();
    await healthy.query("create table fz (id int primary key, v text)");
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() < deadline) {
      const fuzz = makeCase(rng);
      await runCase(port, fuzz, lingering);
      cases++;
      if (lingering.length > 40) lingering.splice(0, 20).forEach((c) => c.close());
      // Others are still served: the long-lived client, and now and then a new one.
      const answer = await healthyQuery(healthy, cases);
      assert.equal(answer, cases + 1, `healthy client after case ${cases} (seed ${seed})`);
      if (cases % 50 === 0) {
        const fresh = new pg.Client({ host: "127.0.0.1", port, user: "exodb" });
        await fresh.connect();
        assert.equal((await fresh.query("select 1 as one")).rows[0].one, 1);
        await fresh.end();
      }
    }
    assert.deepEqual(escaped, [], `errors escaped the protocol loop (seed ${seed})`);
  } finally {
    for (const conn of lingering) conn.close();
    await healthy.end().catch(() => {});
    await appliance.shutdown();
    Deno.removeSync(dataDir, { recursive: true });
  }
  console.log(`wire fuzz: ${cases} cases in ${seconds} s, seed ${seed}`);
  return cases;
}

/** The healthy client's query, failing the run if it is not answered in 10 s (a hang). */
async function healthyQuery(client: pg.Client, n: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("healthy client not answered in 10 s")), 10_000)
  );
  try {
    const result = await Promise.race([client.query("select $1::int4 + 1 as n", [n]), hang]);
    return result.rows[0].n;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("wire fuzz: random and mutated streams never crash or stall the server", async () => {
  const seed = Number(Deno.env.get("EXODB_FUZZ_SEED") ?? Date.now() % 2 ** 31);
  const cases = await fuzzWire(8, seed);
  assert.ok(cases > 0);
});

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 60);
  const seed = Number(Deno.args[1] ?? Date.now() % 2 ** 31);
  await fuzzWire(seconds, seed);
}
