/** Parsing and printing of sizes in bytes (`64MiB`, `8KiB`, `1GB`, `4096`). */

const sizeUnitsBytes: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  k: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  g: 1024 ** 3,
};

/** Parses a size such as `64MiB` into bytes; returns undefined when the text is not a size. */
export function parseSizeBytes(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const unit = sizeUnitsBytes[(match[2] ?? "").toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Prints bytes with a binary unit, e.g. `64 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit++;
  }
  return `${value} ${units[unit]}`;
}
