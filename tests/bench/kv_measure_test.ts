/**
 * The KV benchmark's statistics (not its figures): median, quantiles and the distribution-free
 * confidence interval of the median that the per-round ratios are summarised with.
 */
import assert from "node:assert/strict";
import { medianCi95, medianOf, quantileOf } from "../../bench/kv_measure.ts";

Deno.test("medianOf and quantileOf", () => {
  assert.equal(medianOf([3, 1, 2]), 2);
  assert.equal(medianOf([4, 1, 2, 3]), 2.5);
  assert.equal(quantileOf([1, 2, 3, 4, 5], 0.25), 2);
  assert.equal(quantileOf([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileOf([7], 0.75), 7);
});

Deno.test("medianCi95: order statistics with at least 95% coverage", () => {
  const fifteen = Array.from({ length: 15 }, (_, i) => 15 - i); // 15 … 1, unsorted input
  // n = 15: x(4) … x(12) covers 96.5%; x(5) … x(11) only 88%.
  assert.deepEqual(medianCi95(fifteen), [4, 12]);
  const twentyOne = Array.from({ length: 21 }, (_, i) => i + 1);
  // n = 21: x(6) … x(16) covers 97.3%; x(7) … x(15) only 92.2%.
  assert.deepEqual(medianCi95(twentyOne), [6, 16]);
  // Too few values for any interval inside the range: the range itself.
  assert.deepEqual(medianCi95([5, 1, 3]), [1, 5]);
});
