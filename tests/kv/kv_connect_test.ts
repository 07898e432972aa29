/**
 * KV Connect: real Deno 2.9.6 clients (`Deno.openKv("http://…")`) talk to ExoDB's server
 * (kernel/kv_connect.ts) over h2c. Every plan case runs on a local Deno ":memory:" KV and through
 * the remote client; the transcripts must match, except where Deno's own remote client differs
 * from its local one: enqueue is refused client-side, and a database-layer error arrives wrapped
 * as "KV Connect failed to call '…' (status=400 Bad Request): <the same message>".
 */
import assert from "node:assert/strict";
import { serveKvConnect } from "../../kernel/kv_connect.ts";
import { planCases, transcript } from "./_plan_cases.ts";

const token = "exodb-test-token";

function sameModuloRemote(local: string, remote: string): boolean {
  if (local === remote) return true;
  if (remote.endsWith("rejects Error: Enqueue operations are not supported in KV Connect")) {
    return true;
  }
  const wrapped =
    /^(\d+: )rejects Error: KV Connect failed to call '[^']+\/atomic_write' \(status=400 Bad Request\): (.*)$/
      .exec(remote);
  return wrapped !== null && local === `${wrapped[1]}rejects TypeError: ${wrapped[2]}`;
}

Deno.test("kv connect: plan cases through a real Deno client match local Deno KV", async () => {
  Deno.env.set("DENO_KV_ACCESS_TOKEN", token);
  let steps = 0;
  let wrapped = 0;
  for (const [name, allSteps] of Object.entries(planCases)) {
    const caseSteps = allSteps.filter((step) => !step.localOnly);
    const server = await serveKvConnect({ accessToken: token });
    const local = await Deno.openKv(":memory:");
    const remote = await Deno.openKv(server.url);
    try {
      const expected = (await transcript(local, caseSteps)).split("\n");
      const actual = (await transcript(remote, caseSteps)).split("\n");
      assert.equal(actual.length, expected.length);
      for (let i = 0; i < expected.length; i++) {
        assert.ok(
          sameModuloRemote(expected[i]!, actual[i]!),
          `case ${name} line ${i}:\n  local  ${expected[i]}\n  remote ${actual[i]}`,
        );
        if (expected[i] !== actual[i]) wrapped++;
      }
      steps += expected.length;
    } finally {
      for (const kv of [local, remote]) {
        try {
          kv.close();
        } catch { /* case 15 closes them */ }
      }
      await server.shutdown();
    }
  }
  console.log(
    `kv connect: ${steps} steps, ${steps - wrapped} identical, ${wrapped} differing only as ` +
      "Deno's remote client does (enqueue refused, errors wrapped)",
  );
});

Deno.test("kv connect: a wrong access token is refused at open", async () => {
  const server = await serveKvConnect({ accessToken: token });
  try {
    Deno.env.set("DENO_KV_ACCESS_TOKEN", "wrong");
    await assert.rejects(Deno.openKv(server.url), /invalid access token/);
  } finally {
    Deno.env.set("DENO_KV_ACCESS_TOKEN", token);
    await server.shutdown();
  }
});

Deno.test("kv connect: a remote client and openKv on one directory see each other's writes", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-kvc-" });
  const { openKv } = await import("../../dbengine/kv/mod.ts");
  const local = await openKv(`${dir}/db`);
  const server = await serveKvConnect({ path: `${dir}/db`, accessToken: token });
  Deno.env.set("DENO_KV_ACCESS_TOKEN", token);
  const remote = await Deno.openKv(server.url);
  try {
    await local.set(["from", "local"], 1);
    await remote.set(["from", "remote"], 2);
    assert.equal((await remote.get(["from", "local"])).value, 1);
    assert.equal((await local.get(["from", "remote"])).value, 2);
    const reader = remote.watch([["from", "local"]]).getReader();
    assert.equal((await reader.read()).value![0]!.value, 1);
    await local.set(["from", "local"], 3);
    assert.equal((await reader.read()).value![0]!.value, 3);
    await reader.cancel();
  } finally {
    remote.close();
    await server.shutdown();
    local.close();
    await local.whenClosed();
    Deno.removeSync(dir, { recursive: true });
  }
});
