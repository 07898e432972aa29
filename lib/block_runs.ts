/**
 * Runs of consecutive block numbers in an ascending list: each run is one batched transfer
 * (a readRun, a pwrite of a staged batch).
 */

/**
 * The end (exclusive) of the run of consecutive numbers in `sorted` that starts at index
 * `first`, at most `maxLength` long (at least one entry).
 */
export function consecutiveRunEnd(
  sorted: readonly number[],
  first: number,
  maxLength: number,
): number {
  const limit = Math.min(sorted.length, first + Math.max(1, maxLength));
  let end = first + 1;
  while (end < limit && sorted[end] === sorted[end - 1]! + 1) end++;
  return end;
}
