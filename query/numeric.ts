/**
 * numeric arithmetic with PostgreSQL's result scales, on decimal.js. Values are canonical
 * strings (as stored); results are canonical strings with PostgreSQL's display scale:
 * add/subtract keep the larger scale, multiply adds the scales, divide picks at least 16
 * significant digits (select_div_scale in numeric.c), with ROUND_HALF_UP (away from zero).
 */
import { Decimal } from "decimal.js";
import { DataError } from "./pg_text.ts";

const D = Decimal.clone({
  precision: 1100,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -9e15,
  toExpPos: 9e15,
});
type Dec = InstanceType<typeof D>;
/** Working precision for sqrt and power (decimal.js's ln/exp are limited to ~1000 digits). */
const Transcendental = D.clone({ precision: 200 });

const minSignificantDigits = 16;
const maxDisplayScale = 1000;

/** Digits after the point in a canonical numeric string. */
export function numericScale(text: string): number {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

function special(text: string): boolean {
  return text === "NaN" || text === "Infinity" || text === "-Infinity";
}

function toDec(text: string): Dec {
  return new D(text);
}

function fromDec(value: Dec, scale: number): string {
  if (value.isNaN()) return "NaN";
  if (!value.isFinite()) return value.isNegative() ? "-Infinity" : "Infinity";
  const text = value.toFixed(scale, Decimal.ROUND_HALF_UP);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** Weight (in base-10000 digits) and first base-10000 digit of a non-zero value. */
function weightAndFirstDigit(value: Dec): { weight: number; first: number } {
  const abs = value.abs();
  const exponent = abs.e; // decimal exponent of the leading digit
  const weight = Math.floor(exponent / 4);
  const first = abs.div(new D(10000).pow(weight)).floor().toNumber();
  return { weight, first };
}

export function numericAdd(a: string, b: string): string {
  if (special(a) || special(b)) return fromDec(toDec(a).plus(toDec(b)), 0);
  return fromDec(toDec(a).plus(toDec(b)), Math.max(numericScale(a), numericScale(b)));
}

export function numericSub(a: string, b: string): string {
  if (special(a) || special(b)) return fromDec(toDec(a).minus(toDec(b)), 0);
  return fromDec(toDec(a).minus(toDec(b)), Math.max(numericScale(a), numericScale(b)));
}

export function numericMul(a: string, b: string): string {
  if (special(a) || special(b)) return fromDec(toDec(a).times(toDec(b)), 0);
  return fromDec(
    toDec(a).times(toDec(b)),
    Math.min(maxDisplayScale, numericScale(a) + numericScale(b)),
  );
}

/** The display scale PostgreSQL gives a quotient (select_div_scale). */
export function divisionScale(a: string, b: string): number {
  const x = toDec(a);
  const y = toDec(b);
  let weight1 = 0, first1 = 0, weight2 = 0, first2 = 0;
  if (!x.isZero()) ({ weight: weight1, first: first1 } = weightAndFirstDigit(x));
  if (!y.isZero()) ({ weight: weight2, first: first2 } = weightAndFirstDigit(y));
  let qweight = weight1 - weight2;
  if (first1 <= first2) qweight--;
  let scale = minSignificantDigits - qweight * 4;
  scale = Math.max(scale, numericScale(a), numericScale(b), 0);
  return Math.min(scale, maxDisplayScale);
}

export function numericDiv(a: string, b: string): string {
  if (toDec(b).isZero() && !special(b)) throw new DataError("22012", "division by zero");
  if (special(a) || special(b)) return fromDec(toDec(a).div(toDec(b)), 0);
  return fromDec(toDec(a).div(toDec(b)), divisionScale(a, b));
}

/** Truncating remainder with the larger scale, as numeric_mod. */
export function numericMod(a: string, b: string): string {
  if (toDec(b).isZero()) throw new DataError("22012", "division by zero");
  const x = toDec(a);
  const y = toDec(b);
  const quotient = x.div(y).trunc();
  return fromDec(x.minus(quotient.times(y)), Math.max(numericScale(a), numericScale(b)));
}

export function numericNeg(a: string): string {
  if (a === "NaN") return a;
  if (a === "Infinity") return "-Infinity";
  if (a === "-Infinity") return "Infinity";
  return fromDec(toDec(a).neg(), numericScale(a));
}

export function numericAbs(a: string): string {
  return a.startsWith("-") ? a.slice(1) : a;
}

/** Compares numerics, NaN above everything (PostgreSQL's sort order). */
export function numericCompare(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "NaN") return b === "NaN" ? 0 : 1;
  if (b === "NaN") return -1;
  return toDec(a).comparedTo(toDec(b));
}

/** round(x, s): half away from zero; negative s rounds left of the point. */
export function numericRound(a: string, scale: number): string {
  if (special(a)) return a;
  if (scale >= 0) return fromDec(toDec(a).toDecimalPlaces(scale, Decimal.ROUND_HALF_UP), scale);
  const unit = new D(10).pow(-scale);
  return fromDec(toDec(a).div(unit).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).times(unit), 0);
}

export function numericTrunc(a: string, scale: number): string {
  if (special(a)) return a;
  if (scale >= 0) return fromDec(toDec(a).toDecimalPlaces(scale, Decimal.ROUND_DOWN), scale);
  const unit = new D(10).pow(-scale);
  return fromDec(toDec(a).div(unit).trunc().times(unit), 0);
}

export function numericFloor(a: string): string {
  return special(a) ? a : fromDec(toDec(a).floor(), 0);
}

export function numericCeil(a: string): string {
  return special(a) ? a : fromDec(toDec(a).ceil(), 0);
}

/** A numeric from a JavaScript number (exact for integers; shortest form for floats). */
export function numericFromNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 53) return String(value);
  const text = new D(value).toString();
  return text.includes("e") ? new D(value).toFixed() : text;
}

export function numericFromBigint(value: bigint): string {
  return value.toString();
}

/** The nearest float8 of a numeric. */
export function numericToNumber(a: string): number {
  if (a === "NaN") return NaN;
  if (a === "Infinity") return Infinity;
  if (a === "-Infinity") return -Infinity;
  return Number(a);
}

/** A numeric rounded to an integer (half away from zero), as numeric → int casts do. */
export function numericToInteger(a: string): bigint {
  if (special(a)) throw new DataError("0A000", `cannot convert ${a} to integer`);
  return BigInt(toDec(a).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toFixed(0));
}

/** avg over a numeric sum and count, with PostgreSQL's scale (the division scale). */
export function numericAvg(sum: string, count: bigint): string {
  return numericDiv(sum, count.toString());
}

/** sqrt with PostgreSQL's scale: 16 − (2·weight + 1) digits, at least the input's scale. */
export function numericSqrt(a: string): string {
  const x = toDec(a);
  if (x.isNegative()) throw new DataError("2201F", "cannot take square root of a negative number");
  const weight = x.isZero() ? 0 : Math.floor(x.abs().e / 4);
  const scale = Math.max(minSignificantDigits - (2 * (weight + 1) - 1), numericScale(a), 0);
  return fromDec(new D(new Transcendental(a).sqrt()), Math.min(maxDisplayScale, scale));
}

/**
 * power with PostgreSQL's scale: an integral exponent keeps max(16, base scale) digits;
 * otherwise 16 − trunc(y·log10|x|), at least either input's scale.
 */
export function numericPower(a: string, b: string): string {
  const x = toDec(a);
  const y = toDec(b);
  if (x.isZero() && y.isNegative()) {
    throw new DataError("2201F", "zero raised to a negative power is undefined");
  }
  if (x.isNegative() && !y.isInteger()) {
    throw new DataError(
      "2201F",
      "a negative number raised to a non-integer power yields a complex result",
    );
  }
  let scale: number;
  if (y.isInteger()) scale = Math.max(minSignificantDigits, numericScale(a));
  else {
    const magnitude = x.isZero() ? 0 : Math.trunc(y.toNumber() * Math.log10(x.abs().toNumber()));
    scale = Math.max(minSignificantDigits - magnitude, numericScale(a), numericScale(b));
  }
  const result = new D(new Transcendental(a).pow(new Transcendental(b)));
  return fromDec(result, Math.min(maxDisplayScale, Math.max(0, scale)));
}
