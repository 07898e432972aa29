/**
 * Bounded logic-bug oracle run (TLP and NoREC over random predicates, see _oracle.ts): about six
 * seconds from a seed that changes per run (printed; EXODB_ORACLE_SEED pins it). A failure prints
 * the seed and a SQL script that reproduces it.
 */
import assert from "node:assert/strict";
import { withAppliance } from "../query/_appliance.ts";
import { describeFailure, runOracle } from "./_oracle.ts";

Deno.test("oracle: TLP and NoREC hold for random predicates", async () => {
  const seed = Number(Deno.env.get("EXODB_ORACLE_SEED") ?? Math.floor(Math.random() * 1e6) * 1000);
  await withAppliance(async (appliance) => {
    const started = performance.now();
    const report = await runOracle(appliance, seed, 6_000);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `oracle: ${report.cases} cases (${report.errored} checks skipped on errors) in ${
        seconds.toFixed(1)
      } s from seed ${seed}`,
    );
    assert.ok(report.cases > 0, "the oracle ran no case");
    assert.equal(report.failures.length, 0, report.failures.map(describeFailure).join("\n\n"));
  });
});
