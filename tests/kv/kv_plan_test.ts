/**
 * DENOKV.md §10's differential plan, case by case: each case is a script of steps run on a
 * fresh Deno ":memory:" KV and a fresh ExoDB openKv(); the transcripts (outcome of every
 * step: sync/async, error class and message, values, versionstamp ranks, cursors) must match.
 */
import assert from "node:assert/strict";
import { openKv } from "../../dbengine/kv/mod.ts";
import { planCases, transcript } from "./_plan_cases.ts";

for (const [name, steps] of Object.entries(planCases)) {
  Deno.test(`kv plan: ${name}`, async () => {
    const deno = await Deno.openKv(":memory:");
    const exo = await openKv(":memory:");
    try {
      const expected = await transcript(deno, steps);
      const actual = await transcript(exo, steps);
      const expectedLines = expected.split("\n");
      const actualLines = actual.split("\n");
      for (let i = 0; i < Math.max(expectedLines.length, actualLines.length); i++) {
        assert.equal(actualLines[i], expectedLines[i], `line ${i} differs`);
      }
    } finally {
      try {
        deno.close();
      } catch { /* case 15 closes it */ }
      try {
        exo.close();
      } catch { /* case 15 closes it */ }
      await exo.whenClosed();
    }
  });
}
