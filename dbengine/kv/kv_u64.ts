/** Deno.KvU64: an unsigned 64-bit integer value, frozen, with one own property `value`. */

const u64Max = 0xffff_ffff_ffff_ffffn;

export class KvU64 {
  /** The wrapped value, in [0, 2^64 − 1]. */
  readonly value!: bigint;

  constructor(value: bigint) {
    if (typeof value !== "bigint") {
      throw new TypeError(`Value must be a bigint: received ${typeof value}`);
    }
    if (value < 0n) throw new RangeError(`Value must be a positive bigint: received ${value}`);
    if (value > u64Max) throw new RangeError("Value must fit in a 64-bit unsigned integer");
    Object.defineProperty(this, "value", { value, enumerable: true });
    Object.freeze(this);
  }

  valueOf(): bigint {
    return this.value;
  }

  toString(): string {
    return this.value.toString();
  }

  get [Symbol.toStringTag](): string {
    return "Deno.KvU64";
  }

  /** Deno.inspect shows it as Deno's own: `[Deno.KvU64: 7n]`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `[Deno.KvU64: ${this.value}n]`;
  }
}

/** The largest u64, for wrapping sums. */
export const kvU64Max = u64Max;
