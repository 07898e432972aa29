import assert from "node:assert/strict";
import { consecutiveRunEnd } from "../../lib/block_runs.ts";

Deno.test("consecutiveRunEnd splits a sorted list into runs, none longer than asked", () => {
  const blocks = [3, 4, 5, 9, 10, 12];
  const runs: number[][] = [];
  for (let first = 0; first < blocks.length;) {
    const end = consecutiveRunEnd(blocks, first, 2);
    runs.push(blocks.slice(first, end));
    first = end;
  }
  assert.deepEqual(runs, [[3, 4], [5], [9, 10], [12]]);
  assert.equal(consecutiveRunEnd(blocks, 0, 100), 3);
  assert.equal(consecutiveRunEnd(blocks, 5, 100), 6, "the last entry is a run of one");
  assert.equal(consecutiveRunEnd(blocks, 0, 0), 1, "a run holds at least one entry");
});
