/**
 * Differential test: random operation sequences against Deno's built-in KV (":memory:") and
 * ExoDB's openKv must give identical outcomes — values, list orders, cursors, error classes,
 * messages and sync/async timing; versionstamps by order and equality. KV_DIFF_OPS and
 * KV_DIFF_SEEDS scale it (`deno task kv:diff` runs the full count).
 */
import assert from "node:assert/strict";
import { openKv } from "../../dbengine/kv/mod.ts";
import { both, listAll, type Pair, Stamps, timings } from "./_diff.ts";
import { OpGenerator } from "./_random_ops.ts";

// CI default: 3 seeds x 3000 (Deno's own KV takes ~0.5 ms an operation here); the task runs 5 x 10k.
const opsPerSeed = Number(Deno.env.get("KV_DIFF_OPS") ?? 3_000);
const seeds = (Deno.env.get("KV_DIFF_SEEDS") ?? "1,2,3").split(",").map(Number);

/** Runs one seed; returns the count of operations compared. */
async function runSeed(seed: number): Promise<number> {
  const deno = await Deno.openKv(":memory:");
  const exo = await openKv(":memory:");
  const pair: Pair = { deno, exo, denoStamps: new Stamps(), exoStamps: new Stamps() };
  try {
    const generator = new OpGenerator(seed);
    for (let i = 0; i < opsPerSeed; i++) {
      const op = generator.next();
      const result = await both(pair, op.run);
      if (result.deno !== result.exo) {
        let at = 0;
        while (result.deno[at] === result.exo[at]) at++;
        const around = (text: string) => text.slice(Math.max(0, at - 300), at + 300);
        assert.fail(
          `seed ${seed} op ${i} (${op.label}) differs at character ${at}:\n--- Deno\n${
            around(result.deno)
          }\n--- ExoDB\n${around(result.exo)}`,
        );
      }
    }
    const denoAll = await listAll(deno, { prefix: [] }, {}, pair.denoStamps);
    const exoAll = await listAll(exo, { prefix: [] }, {}, pair.exoStamps);
    assert.equal(exoAll, denoAll, `seed ${seed}: final contents differ`);
    assert.equal(pair.exoStamps.seen.length, pair.denoStamps.seen.length);
    return opsPerSeed;
  } finally {
    deno.close();
    exo.close();
    await exo.whenClosed();
  }
}

Deno.test(`kv differential: ${seeds.length} seeds x ${opsPerSeed} random operations`, async () => {
  let total = 0;
  for (const seed of seeds) total += await runSeed(seed);
  console.log(
    `kv differential: ${seeds.length} seeds, ${total} operations, all identical ` +
      `(Deno ${timings.denoMs.toFixed(0)} ms, ExoDB ${timings.exoMs.toFixed(0)} ms)`,
  );
});
