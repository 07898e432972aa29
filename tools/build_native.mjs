// Builds hw/native/exodb_native.c into .build/libexodb_native.so (run by `npm install`).
// A machine without a C compiler still works: ExoDB then falls back to @node-rs/crc32 or the
// TypeScript table, and says so in the boot log.
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "hw/native/exodb_native.c");
const target = join(root, ".build/libexodb_native.so");

function fresh() {
  try {
    return statSync(target).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    return false;
  }
}

if (process.platform !== "linux") {
  console.log("exodb: native helpers are built on Linux only; using the portable fallbacks");
} else if (!fresh()) {
  mkdirSync(dirname(target), { recursive: true });
  const compiler = process.env.CC || "cc";
  const args = ["-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-o", target, source];
  const result = spawnSync(compiler, args, { stdio: "inherit" });
  if (result.status !== 0) {
    console.log(`exodb: could not build ${target} with ${compiler}; using the portable fallbacks`);
  }
}
