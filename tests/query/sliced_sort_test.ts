import assert from "node:assert/strict";
import { mergeStepItems, runLength, slicedSort } from "../../lib/sliced_sort.ts";
import { Rng } from "../../lib/rng.ts";

Deno.test("slicedSort matches Array.sort, stably, at sizes around its run and merge bounds", async () => {
  const rng = new Rng(21);
  for (const n of [0, 1, 2, runLength - 1, runLength, runLength + 1, 5 * runLength + 17, 70_000]) {
    // Few distinct keys, so ties are common and stability is tested; `at` records input order.
    const items = Array.from({ length: n }, (_, at) => ({ key: rng.nextInt(n / 8 + 2), at }));
    let yields = 0;
    const sorted = await slicedSort(items, (a, b) => a.key - b.key, () => {
      yields++;
      return Promise.resolve();
    });
    const expected = items.slice().sort((a, b) => a.key - b.key || a.at - b.at);
    assert.deepEqual(sorted, expected, `n = ${n}`);
    assert.equal(items.length, n, "the input is left as it was");
    // One yield per run, then one per merge step of each pass: the work between two yields is
    // bounded by a run's sort or a merge step, not by n.
    const runs = Math.ceil(n / runLength);
    const passes = runs <= 1 ? 0 : Math.ceil(Math.log2(runs));
    assert.equal(yields, runs + Math.floor((passes * n) / mergeStepItems), `yields at n = ${n}`);
  }
});
