/**
 * Runs a benchmark script of bench/ in a child Deno process (its own isolate and heap, so its
 * timings are not disturbed by the report runner) and returns the figures it wrote as JSON to
 * the path it was given with `--json=PATH`.
 */

/** Runs `script` (relative to bench/) with `args` plus `--json=<jsonPath>`; parses that file. */
export async function runChildBench<T>(
  script: string,
  args: readonly string[],
  jsonPath: string,
  denoFlags: readonly string[] = [],
): Promise<T> {
  const path = new URL(`../${script}`, import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-prompt", ...denoFlags, path, ...args, `--json=${jsonPath}`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const tail = new TextDecoder().decode(output.stderr).slice(-2000);
    throw new Error(`${script} exited with ${output.code}: ${tail}`);
  }
  return JSON.parse(Deno.readTextFileSync(jsonPath)) as T;
}
