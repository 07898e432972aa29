// Runs before `npm start` and `npm test`: a fresh clone has no node_modules and no deno on PATH,
// so install the pinned dependencies (the npm package `deno` among them) from the lock file once.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const needed = [
  "node_modules/.bin/deno",
  "node_modules/zod/package.json",
  "node_modules/@types/node/package.json",
];
if (!needed.every((path) => existsSync(join(root, path)))) {
  console.log("exodb: installing pinned dependencies (npm install, from the lock file)…");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["install", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
} else if (!existsSync(join(root, ".build/libexodb_native.so"))) {
  spawnSync(process.execPath, [join(root, "tools/build_native.mjs")], {
    cwd: root,
    stdio: "inherit",
  });
}
