/** `deno task sql:oracle [seconds] [seed]`: a longer oracle run; prints the first failure. */
import { withAppliance } from "../query/_appliance.ts";
import { describeFailure, runOracle } from "./_oracle.ts";

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 60);
  const seed = Number(Deno.args[1] ?? Math.floor(Math.random() * 1e6) * 1000);
  let failed = false;
  await withAppliance(async (appliance) => {
    const started = performance.now();
    const report = await runOracle(appliance, seed, seconds * 1000);
    const elapsed = (performance.now() - started) / 1000;
    console.log(
      `${report.cases} cases in ${elapsed.toFixed(1)} s (${
        (report.cases / elapsed).toFixed(0)
      }/s), ${report.errored} checks skipped on errors, first seed ${seed}`,
    );
    for (const e of report.sampleErrors) console.log(`skipped on error: ${e}`);
    for (const f of report.failures) console.log(describeFailure(f));
    failed = report.failures.length > 0;
  });
  Deno.exit(failed ? 1 : 0);
}
