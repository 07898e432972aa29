/**
 * Assertions as specification (TigerBeetle style). A failed assertion is a bug in ExoDB, never
 * an operating error: it throws {@link AssertionError}, which only the kernel catches.
 */

/** Thrown when an invariant of ExoDB itself does not hold. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Asserts that `condition` holds; `message` names the invariant that broke. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Asserts that `value` is a safe non-negative integer (an index, count or size). */
export function assertIndex(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AssertionError(`${name} must be a non-negative safe integer: got ${value}`);
  }
}

/** Marks a branch that the types say cannot be reached. */
export function unreachable(value: never, message = "unreachable"): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}
