/**
 * Order-preserving key encoding: for values a and b of one type, a < b exactly when
 * encode(a) < encode(b) as unsigned bytes, so B+tree comparisons are plain memcmp. Composite
 * keys are concatenations (every component is self-delimiting).
 *
 * Component layout: a tag byte, then the payload.
 * - tag 0x01 value, 0x02 NULL (NULLs sort last, as PostgreSQL's default ASC NULLS LAST);
 * - integers: big-endian two's complement with the sign bit flipped (2, 4 or 8 bytes);
 * - floats: IEEE 754 big-endian; positives get the sign bit flipped, negatives all bits
 *   (-0 is stored as 0; NaN sorts above +Infinity, as in PostgreSQL);
 * - numeric: class byte (0x60 -Inf, 0x70 negative, 0x80 zero, 0x90 positive, 0xA0 +Inf,
 *   0xB0 NaN), then for finite non-zero values the decimal exponent e (value = 0.d1d2… × 10^e)
 *   as a flipped int32 and the significant digits 1..10 ending in 0x00; negatives have the
 *   exponent and digits complemented and end in 0xFF. Equal numbers with different display
 *   scales (1.5, 1.50) encode equally, as they compare equal in PostgreSQL;
 * - text, varchar, bytea: bytes with 0x00 escaped as 0x00 0xFF, ending in 0x00 0x00;
 *   char(n): trailing spaces removed first (PostgreSQL's bpchar comparison ignores them);
 * - boolean: one byte; date: flipped int32 days (±Infinity as the extremes);
 *   timestamp(tz): flipped int64 microseconds; interval: flipped 128-bit span in microseconds
 *   with a month as 30 days (PostgreSQL's interval ordering).
 * A descending component has every byte of it inverted, which also puts NULLs first.
 */
import { assert } from "../lib/assert.ts";
import { encodeUtf8 } from "./utf8.ts";
import {
  type Interval,
  intervalSpanMicros,
  type SqlValue,
  TypeId,
  type TypeIdValue,
} from "./types.ts";

const tagValue = 0x01;
const tagNull = 0x02;

/** Grows as needed while a key is built; reused across keys to avoid garbage. */
export class KeyWriter {
  #bytes = new Uint8Array(256);
  #view = new DataView(this.#bytes.buffer);
  #length = 0;

  /** Starts a new key. */
  reset(): this {
    this.#length = 0;
    return this;
  }

  /** The key built so far as a view into the writer's buffer: valid until the next reset. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** A copy of the key built so far. */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  get length(): number {
    return this.#length;
  }

  #ensure(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + extra));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }

  byte(value: number): void {
    this.#ensure(1);
    this.#bytes[this.#length++] = value;
  }

  u16(value: number): void {
    this.#ensure(2);
    this.#view.setUint16(this.#length, value);
    this.#length += 2;
  }

  u32(value: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.#length, value >>> 0);
    this.#length += 4;
  }

  u64(value: bigint): void {
    this.#ensure(8);
    this.#view.setBigUint64(this.#length, value);
    this.#length += 8;
  }

  f64(value: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.#length, value);
    this.#length += 8;
  }

  /** Escaped, terminated byte string. */
  escaped(bytes: Uint8Array): void {
    this.#ensure(bytes.length * 2 + 2);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      this.#bytes[this.#length++] = b;
      if (b === 0) this.#bytes[this.#length++] = 0xff;
    }
    this.#bytes[this.#length++] = 0;
    this.#bytes[this.#length++] = 0;
  }

  /** Inverts bytes [from, length): a descending component. */
  invertFrom(from: number): void {
    for (let i = from; i < this.#length; i++) this.#bytes[i] = ~this.#bytes[i]! & 0xff;
  }

  /** Flips the top bit of the byte at `index`. */
  flipSignAt(index: number): void {
    this.#bytes[index]! ^= 0x80;
  }
}

const floatScratch = new DataView(new ArrayBuffer(8));

function encodeFloat(writer: KeyWriter, value: number): void {
  const normalized = value === 0 ? 0 : value; // -0 → 0
  if (Number.isNaN(normalized)) {
    writer.u64(0xffff_ffff_ffff_ffffn);
    return;
  }
  floatScratch.setFloat64(0, normalized);
  let bits = floatScratch.getBigUint64(0);
  bits = normalized < 0 ? ~bits & 0xffff_ffff_ffff_ffffn : bits | 0x8000_0000_0000_0000n;
  writer.u64(bits);
}

/** Splits a canonical numeric string into sign, exponent and significant digits. */
function numericParts(text: string): { sign: -1 | 0 | 1; exponent: number; digits: string } {
  let s = text.trim();
  let sign: -1 | 1 = 1;
  if (s.startsWith("-")) {
    sign = -1;
    s = s.slice(1);
  } else if (s.startsWith("+")) s = s.slice(1);
  let exponentAdjust = 0;
  const e = s.search(/[eE]/);
  if (e >= 0) {
    exponentAdjust = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf(".");
  const intPart = dot < 0 ? s : s.slice(0, dot);
  const fracPart = dot < 0 ? "" : s.slice(dot + 1);
  assert(/^\d*$/.test(intPart) && /^\d*$/.test(fracPart), `not a numeric: ${text}`);
  const all = intPart + fracPart;
  const firstNonZero = all.search(/[1-9]/);
  if (firstNonZero < 0) return { sign: 0, exponent: 0, digits: "" };
  const digits = all.slice(firstNonZero).replace(/0+$/, "");
  const exponent = intPart.length - firstNonZero + exponentAdjust;
  return { sign, exponent, digits };
}

function encodeNumeric(writer: KeyWriter, text: string): void {
  if (text === "NaN") return writer.byte(0xb0);
  if (text === "Infinity") return writer.byte(0xa0);
  if (text === "-Infinity") return writer.byte(0x60);
  const { sign, exponent, digits } = numericParts(text);
  if (sign === 0) return writer.byte(0x80);
  writer.byte(sign > 0 ? 0x90 : 0x70);
  const flippedExponent = (exponent ^ 0x8000_0000) >>> 0;
  writer.u32(sign > 0 ? flippedExponent : ~flippedExponent >>> 0);
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(i) - 47; // '0' → 1 … '9' → 10
    writer.byte(sign > 0 ? d : 11 - d);
  }
  writer.byte(sign > 0 ? 0x00 : 0xff);
}

function encodeSigned(writer: KeyWriter, value: number, bytes: 2 | 4): void {
  const start = writer.length;
  if (bytes === 2) writer.u16(value & 0xffff);
  else writer.u32(value);
  writer.flipSignAt(start);
}

function encodeInt64(writer: KeyWriter, value: bigint): void {
  writer.u64(BigInt.asUintN(64, value) ^ 0x8000_0000_0000_0000n);
}

function encodeDate(writer: KeyWriter, days: number): void {
  if (days === -Infinity) return writer.u32(0);
  if (days === Infinity) return writer.u32(0xffff_ffff);
  encodeSigned(writer, days, 4);
}

function encodeTimestamp(writer: KeyWriter, micros: number): void {
  if (micros === -Infinity) return writer.u64(0n);
  if (micros === Infinity) return writer.u64(0xffff_ffff_ffff_ffffn);
  encodeInt64(writer, BigInt(micros));
}

function encodeInterval(writer: KeyWriter, value: Interval): void {
  const span = BigInt.asUintN(128, intervalSpanMicros(value)) ^ (1n << 127n);
  writer.u64(span >> 64n);
  writer.u64(span & 0xffff_ffff_ffff_ffffn);
}

/** Appends one key component for `value` of type `type`. */
export function encodeKeyComponent(
  writer: KeyWriter,
  type: TypeIdValue,
  value: SqlValue,
  descending = false,
): void {
  const start = writer.length;
  if (value === null) {
    writer.byte(tagNull);
  } else {
    writer.byte(tagValue);
    switch (type) {
      case TypeId.smallint:
        encodeSigned(writer, value as number, 2);
        break;
      case TypeId.integer:
        encodeSigned(writer, value as number, 4);
        break;
      case TypeId.bigint:
        encodeInt64(writer, value as bigint);
        break;
      case TypeId.real:
      case TypeId.double:
        encodeFloat(writer, value as number);
        break;
      case TypeId.numeric:
        encodeNumeric(writer, value as string);
        break;
      case TypeId.text:
      case TypeId.varchar:
        writer.escaped(encodeUtf8(value as string));
        break;
      case TypeId.char:
        writer.escaped(encodeUtf8((value as string).replace(/ +$/, "")));
        break;
      case TypeId.bytea:
        writer.escaped(value as Uint8Array);
        break;
      case TypeId.boolean:
        writer.byte(value ? 1 : 0);
        break;
      case TypeId.date:
        encodeDate(writer, value as number);
        break;
      case TypeId.timestamp:
      case TypeId.timestamptz:
        encodeTimestamp(writer, value as number);
        break;
      case TypeId.interval:
        encodeInterval(writer, value as Interval);
        break;
      default:
        assert(false, `no key encoding for type ${type}`);
    }
  }
  if (descending) writer.invertFrom(start);
}

/** Compares two keys as unsigned bytes: negative, zero or positive. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The smallest key greater than every key starting with `prefix` (for prefix range ends). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i]!++;
      // A copy, not a subarray: a subarray of a short (V8-heap) array moves it off the heap.
      return i + 1 === end.length ? end : end.slice(0, i + 1);
    }
  }
  return undefined; // all 0xff: no upper bound
}
