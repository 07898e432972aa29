/**
 * A stable sort for arrays too large to sort inside one time slice (a table rebuild sorts
 * every row by its new key): runs of {@link runLength} are sorted in place, then merged
 * bottom-up, pass by pass; `yieldPoint` is awaited between runs and every
 * {@link mergeStepItems} items merged, so no stretch of work between yields is longer than
 * about one run's sort or one merge step, whatever the input size.
 */

/** Items per initial run: Array.prototype.sort of this many keys takes well under 1 ms. */
export const runLength = 1024;
/** Items merged between yield points. */
export const mergeStepItems = 4096;

/** Sorts `items` (not in place) by `compare`, stably. */
export async function slicedSort<T>(
  items: readonly T[],
  compare: (a: T, b: T) => number,
  yieldPoint: () => Promise<void>,
): Promise<T[]> {
  let from = items.slice();
  const n = from.length;
  for (let start = 0; start < n; start += runLength) {
    const run = from.slice(start, start + runLength).sort(compare);
    for (let i = 0; i < run.length; i++) from[start + i] = run[i]!;
    await yieldPoint();
  }
  let to: T[] = new Array<T>(n);
  let sinceYield = 0;
  // Invariant: at the start of each pass, every aligned block of `width` items in `from` is
  // sorted; the pass merges neighbouring blocks pairwise into `to`.
  for (let width = runLength; width < n; width *= 2) {
    for (let left = 0; left < n; left += 2 * width) {
      const middle = Math.min(left + width, n);
      const end = Math.min(left + 2 * width, n);
      let i = left;
      let j = middle;
      for (let k = left; k < end; k++) {
        // `<= 0` takes the left item on ties: equal items keep their order (stable).
        if (i < middle && (j >= end || compare(from[i]!, from[j]!) <= 0)) to[k] = from[i++]!;
        else to[k] = from[j++]!;
        if (++sinceYield >= mergeStepItems) {
          sinceYield = 0;
          await yieldPoint();
        }
      }
    }
    [from, to] = [to, from];
  }
  return from;
}
