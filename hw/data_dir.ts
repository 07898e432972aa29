/**
 * The few path operations ExoDB makes, all at boot or format time (never on the I/O path):
 * create the data directory, look for, rename and remove files in it. Each is a runtime op,
 * counted like every other crossing.
 */
import { crossings } from "./crossings.ts";

/** Creates `path` and its parents if missing. */
export function ensureDirectory(path: string): void {
  Deno.mkdirSync(path, { recursive: true });
  crossings.add("runtime_op", 1);
}

/** True when `path` exists. */
export function pathExists(path: string): boolean {
  crossings.add("runtime_op", 1);
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Renames `from` to `to` (atomic within one file system). */
export function renamePath(from: string, to: string): void {
  Deno.renameSync(from, to);
  crossings.add("runtime_op", 1);
}

/** Removes a file if it exists. */
export function removeFile(path: string): void {
  crossings.add("runtime_op", 1);
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Removes a directory and everything in it, if it exists (an abandoned restore). */
export function removeDirectory(path: string): void {
  crossings.add("runtime_op", 1);
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** True when `path` is a directory with nothing in it. */
export function isEmptyDirectory(path: string): boolean {
  crossings.add("runtime_op", 1);
  for (const _ of Deno.readDirSync(path)) return false;
  return true;
}
