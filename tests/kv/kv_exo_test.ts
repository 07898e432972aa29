/**
 * ExoDB-side KV behaviour that the differential test cannot compare: where ExoDB deviates from
 * Deno on purpose (all-or-nothing commits, expiry), durability across reopen, handles sharing
 * a directory, queues (retries, dead letters, redelivery after reopen), and the key bytes.
 */
import assert from "node:assert/strict";
import { encodeKey } from "../../dbengine/kv/key_codec.ts";
import { KvU64, openKv } from "../../dbengine/kv/mod.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

Deno.test("kv key bytes match the tuple layer examples", () => {
  assert.equal(hex(encodeKey(["hello"])), "02 68 65 6c 6c 6f 00");
  assert.equal(hex(encodeKey(["a", 1])), "02 61 00 21 bf f0 00 00 00 00 00 00");
  assert.equal(hex(encodeKey([-1n])), "13 fe");
  assert.equal(hex(encodeKey([-256n])), "12 fe ff");
  assert.equal(hex(encodeKey([0n, true, false])), "14 27 26");
  assert.equal(hex(encodeKey([new Uint8Array([0, 1])])), "01 00 ff 01 00");
});

Deno.test("kv commit with a failing sum writes nothing (Deno keeps the earlier mutations)", async () => {
  const kv = await openKv();
  await kv.set(["num"], 5);
  await assert.rejects(
    kv.atomic().set(["p1"], 1).sum(["num"], 1n).set(["p2"], 2).commit(),
    {
      name: "TypeError",
      message: "Failed to perform 'sum' mutation on a non-U64 value in the database",
    },
  );
  assert.equal((await kv.get(["p1"])).value, null);
  assert.equal((await kv.get(["p2"])).value, null);
  assert.equal((await kv.get(["num"])).value, 5);
  kv.close();
  await kv.whenClosed();
});

Deno.test("kv expired keys are invisible at once, and sum clears a TTL", async () => {
  const kv = await openKv();
  // Generous expiry: the "still there" check must hold however loaded the machine is.
  const expireInMs = 3000;
  await kv.set(["ttl"], "soon gone", { expireIn: expireInMs });
  await kv.set(["keep"], new KvU64(1n), { expireIn: expireInMs });
  await kv.atomic().sum(["keep"], 1n).commit();
  assert.equal((await kv.get(["ttl"])).value, "soon gone");
  await new Promise((resolve) => setTimeout(resolve, expireInMs + 100));
  assert.equal((await kv.get(["ttl"])).value, null);
  const listed = [];
  for await (const entry of kv.list({ prefix: [] })) listed.push(entry.key);
  assert.deepEqual(listed, [["keep"]]);
  kv.close();
  await kv.whenClosed();
});

Deno.test("kv data survives close and reopen; handles on one directory share writes", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-kv-" });
  try {
    const path = `${dir}/db`;
    const a = await openKv(path);
    const b = await openKv(path);
    const { versionstamp } = await a.set(["shared"], { n: 1 });
    assert.deepEqual((await b.get(["shared"])).value, { n: 1 });
    const reader = b.watch([["shared"]]).getReader();
    assert.deepEqual((await reader.read()).value![0]!.value, { n: 1 });
    await a.set(["shared"], { n: 2 });
    assert.deepEqual((await reader.read()).value![0]!.value, { n: 2 });
    await reader.cancel();
    const big = new Uint8Array(65536).map((_, i) => i & 0xff);
    const atomic = a.atomic();
    for (let i = 0; i < 12; i++) atomic.set(["big", i], big);
    assert.equal((await atomic.commit()).ok, true);
    a.close();
    b.close();
    await b.whenClosed();
    const c = await openKv(path);
    const entry = await c.get(["shared"]);
    assert.deepEqual(entry.value, { n: 2 });
    assert.ok(entry.versionstamp! > versionstamp);
    assert.deepEqual((await c.get(["big", 11])).value, big);
    const next = await c.set(["after"], 1);
    assert.ok(next.versionstamp > entry.versionstamp!, "versionstamps keep increasing");
    c.close();
    await c.whenClosed();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("kv openKv path errors", async () => {
  await assert.rejects(openKv(""), { name: "TypeError", message: "Filename cannot be empty" });
  await assert.rejects(openKv(":x"), {
    name: "TypeError",
    message: "Filename cannot start with ':' unless prefixed with './'",
  });
  await assert.rejects(openKv("/nonexistent-exodb-dir/sub/db"), /unable to open database file/);
  await assert.rejects(openKv("http://127.0.0.1:1/"), { name: "TypeError", message: /remote/ });
});

Deno.test("kv queue: delivery, retries per backoff, dead letters, redelivery after reopen", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-kvq-" });
  const originalError = console.error;
  console.error = () => {}; // the handler's failures are logged as "Exception in queue handler"
  try {
    const path = `${dir}/db`;
    const kv = await openKv(path);
    const seen: unknown[] = [];
    let attempts = 0;
    let resolveDead: () => void = () => {};
    const dead = new Promise<void>((resolve) => resolveDead = resolve);
    const listening = kv.listenQueue((message) => {
      const m = message as { kind: string };
      if (m.kind === "fail") {
        attempts++;
        if (attempts === 3) setTimeout(resolveDead, 20);
        throw new Error("handler failed");
      }
      seen.push(message);
    });
    await kv.enqueue({ kind: "ok", n: 1 });
    await kv.enqueue({ kind: "ok", n: 2 }, { delay: 10 });
    await kv.enqueue({ kind: "fail" }, {
      backoffSchedule: [5, 5],
      keysIfUndelivered: [["dead", 1], ["dead", 2]],
    });
    await dead;
    for (let i = 0; i < 100 && (await kv.get(["dead", 2])).value === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(attempts, 3, "one delivery and two retries");
    assert.deepEqual((await kv.getMany([["dead", 1], ["dead", 2]])).map((e) => e.value), [
      { kind: "fail" },
      { kind: "fail" },
    ]);
    for (let i = 0; i < 100 && seen.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(seen.map((m) => (m as { n: number }).n).sort(), [1, 2]);
    // A message enqueued while nobody listens is delivered after a reopen.
    kv.close();
    await listening;
    await kv.whenClosed();
    const writer = await openKv(path);
    await writer.enqueue("persisted");
    writer.close();
    await writer.whenClosed();
    const reader = await openKv(path);
    const got = await new Promise((resolve) => reader.listenQueue(resolve));
    assert.equal(got, "persisted");
    reader.close();
    await reader.whenClosed();
  } finally {
    console.error = originalError;
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("kv Symbol.dispose closes the handle", async () => {
  let handle;
  {
    using kv = await openKv();
    handle = kv;
    await kv.set(["a"], 1);
  }
  await assert.rejects(handle.get(["a"]), { name: "BadResource" });
  await handle.whenClosed();
});
