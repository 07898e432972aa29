/**
 * KV writes survive SIGKILL like SQL commits: a child makes atomic KV commits and is killed at
 * a random moment; after reopening, every acknowledged commit is present and no commit is
 * partial (account sums match the history, large values are whole).
 */
import assert from "node:assert/strict";
import { Rng } from "../../lib/rng.ts";

const child = new URL("./kv_crash_child.ts", import.meta.url).pathname;

function spawn(dir: string, mode: string, seed: number): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", child, dir, mode, String(seed)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("KV: SIGKILL at random moments never loses an acknowledged commit or leaves one partial", async () => {
  const rng = new Rng(11);
  const dir = Deno.makeTempDirSync({ prefix: "exodb-kv-crash-" });
  const acked = new Set<number>();
  const rounds = 5;
  try {
    for (let round = 1; round <= rounds; round++) {
      const process = spawn(dir, "run", round);
      const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      let readyAt = 0;
      const pump = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffered += value;
          const lines = buffered.split("\n");
          buffered = lines.pop()!;
          for (const line of lines) {
            if (line === "READY") readyAt = Date.now();
            const match = /^ACK (\d+)$/.exec(line);
            if (match) acked.add(Number(match[1]));
          }
        }
      })();
      const runMs = 100 + rng.nextInt(400);
      for (let i = 0; i < 1000 && (readyAt === 0 || Date.now() - readyAt < runMs); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      process.kill("SIGKILL");
      const status = await process.status;
      await pump;
      const stderr = new TextDecoder().decode(await new Response(process.stderr).arrayBuffer());
      assert.equal(status.signal, "SIGKILL", `child ended on its own: ${stderr}`);
      const verify = await spawn(dir, "verify", 0).output();
      const text = new TextDecoder().decode(verify.stdout).trim();
      assert.ok(verify.success, `reopen failed: ${new TextDecoder().decode(verify.stderr)}`);
      const state = JSON.parse(text) as { hist: number[]; consistent: boolean };
      const present = new Set(state.hist);
      const lost = [...acked].filter((k) => !present.has(k));
      assert.deepEqual(lost, [], `round ${round}: acknowledged commits lost`);
      assert.ok(state.consistent, `round ${round}: a partial commit (sums or blobs mismatch)`);
    }
    assert.ok(acked.size > 100, `only ${acked.size} commits acknowledged`);
    console.log(`kv crash: ${rounds} kills, ${acked.size} acknowledged commits, none lost`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
