/**
 * The process the KV crash test kills. `run` mode: four committers make atomic KV commits (a
 * history entry, a u64 sum on two accounts that cancels out mod 2^64, sometimes a 40 KiB
 * value) and print "ACK <k>" once commit k resolved; `verify` mode: reopen, check, print one
 * JSON line. Usage: kv_crash_child.ts <dir> run|verify <seed>
 */
import { openKv } from "../../dbengine/kv/mod.ts";
import { Rng } from "../../lib/rng.ts";

const [dir, mode, seedText] = Deno.args;
const accounts = 8;
const u64Mod = 2n ** 64n;
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

function bigValue(k: number): Uint8Array {
  return new Uint8Array(40 * 1024).map((_, i) => (i * 31 + k) & 0xff);
}

const kv = await openKv(`${dir}/kv`);

if (mode === "run") {
  const seed = Number(seedText);
  const rng = new Rng(seed);
  let next = seed * 1_000_000;
  say("READY");
  const committer = async () => {
    for (;;) {
      const k = next++;
      const a = rng.nextInt(accounts);
      const b = (a + 1 + rng.nextInt(accounts - 1)) % accounts;
      const amount = BigInt(1 + rng.nextInt(1000));
      const atomic = kv.atomic()
        .set(["hist", k], { a, b, amount })
        .sum(["acct", a], amount)
        .sum(["acct", b], u64Mod - amount);
      if (k % 5 === 0) atomic.set(["blob", k], bigValue(k));
      const result = await atomic.commit();
      if (!result.ok) throw new Error("commit without checks failed");
      say(`ACK ${k}`);
    }
  };
  await Promise.all([committer(), committer(), committer(), committer()]);
} else {
  const balances = new Array<bigint>(accounts).fill(0n);
  const expected = new Array<bigint>(accounts).fill(0n);
  const hist: number[] = [];
  let blobsOk = true;
  let maxStamp = "";
  for await (const entry of kv.list({ prefix: ["hist"] })) {
    const k = entry.key[1] as number;
    if (entry.versionstamp > maxStamp) maxStamp = entry.versionstamp;
    hist.push(k);
    const { a, b, amount } = entry.value as { a: number; b: number; amount: bigint };
    expected[a] = (expected[a]! + amount) % u64Mod;
    expected[b] = (expected[b]! + u64Mod - amount) % u64Mod;
    if (k % 5 === 0) {
      const blob = (await kv.get(["blob", k])).value as Uint8Array | null;
      if (blob === null || blob.length !== 40 * 1024 || blob[7] !== ((7 * 31 + k) & 0xff)) {
        blobsOk = false;
      }
    }
  }
  for (let i = 0; i < accounts; i++) {
    const value = (await kv.get(["acct", i])).value as { value: bigint } | null;
    balances[i] = value?.value ?? 0n;
  }
  // A commit after recovery must get a versionstamp above every one handed out before it.
  const after = await kv.set(["after-recovery"], true);
  const consistent = blobsOk && balances.every((b, i) => b === expected[i]) &&
    after.versionstamp > maxStamp;
  say(JSON.stringify({ hist, consistent }));
  kv.close();
  await kv.whenClosed();
}
