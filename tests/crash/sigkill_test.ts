import assert from "node:assert/strict";
import { crashRounds } from "./harness.ts";

Deno.test("SIGKILL at random moments and at named crash points never loses an acknowledged commit", async () => {
  const figures = await crashRounds(9, 7);
  assert.equal(figures.rounds, 9);
  assert.equal(figures.lost, 0);
  assert.ok(figures.killsAtCrashPoints >= 3 && figures.killsAtRandom >= 6, JSON.stringify(figures));
  assert.ok(figures.acknowledged > 50, `acknowledged ${figures.acknowledged}`);
});
