/**
 * Checks the layer rule: imports only go down (kernel → query → dbengine → io → hw → lib).
 * Scans every .ts file of the layered folders for relative imports into a higher layer and
 * exits 1 listing each violation. Run by .ci/run.
 */
const order = ["lib", "hw", "io", "dbengine", "query", "kernel"];
const root = new URL("../", import.meta.url).pathname;
const importPattern =
  /(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\s*\(?\s*["']([^"']+)["']/g;

function* files(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* files(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

const violations: string[] = [];
for (const layer of order) {
  const rank = order.indexOf(layer);
  for (const file of files(`${root}${layer}`)) {
    const text = Deno.readTextFileSync(file);
    for (const match of text.matchAll(importPattern)) {
      const specifier = match[1] ?? match[2] ?? "";
      if (!specifier.startsWith(".")) continue;
      const target = new URL(specifier, `file://${file}`).pathname.slice(root.length);
      const targetLayer = target.split("/")[0] ?? "";
      const targetRank = order.indexOf(targetLayer);
      if (targetRank > rank || (targetRank === -1 && !target.startsWith(`${layer}/`))) {
        violations.push(
          `${file.slice(root.length)} imports ${target} (${layer} may not import ${targetLayer})`,
        );
      }
    }
  }
}
if (violations.length > 0) {
  console.error(`Layer rule broken (imports only go down: ${order.toReversed().join(" → ")}):`);
  for (const v of violations) console.error(`  ${v}`);
  Deno.exit(1);
}
console.log(`layers ok: ${order.toReversed().join(" → ")}`);
