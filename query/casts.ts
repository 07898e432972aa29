/**
 * Casts between SQL types with PostgreSQL's rules: float → integer rounds half to even (rint),
 * numeric → integer rounds half away from zero, out-of-range values raise 22003, text goes
 * through the input and output functions (pg_text.ts), booleans and integers convert both
 * ways, dates and timestamps convert in the session time zone.
 */
import { type ColumnType, type Interval, type SqlValue, TypeId } from "../dbengine/types.ts";
import { microsPerDay } from "./datetime.ts";
import {
  numericFromBigint,
  numericFromNumber,
  numericToInteger,
  numericToNumber,
} from "./numeric.ts";
import {
  DataError,
  formatValue,
  parseNumeric,
  parseValue,
  type TextSettings,
  typeNames,
  utcSettings,
} from "./pg_text.ts";

const textTypes = new Set<number>([TypeId.text, TypeId.varchar, TypeId.char]);

function outOfRange(type: number): DataError {
  const name = type === TypeId.smallint
    ? "smallint"
    : type === TypeId.integer
    ? "integer"
    : "bigint";
  return new DataError("22003", `${name} out of range`);
}

/** Checks a JavaScript integer against int2/int4 bounds. */
export function checkInt(value: number, type: number): number {
  if (
    type === TypeId.smallint
      ? value < -32768 || value > 32767
      : value < -2147483648 || value > 2147483647
  ) {
    throw outOfRange(type);
  }
  return value;
}

/** Checks a bigint against int8 bounds. */
export function checkInt8(value: bigint): bigint {
  if (value < -9223372036854775808n || value > 9223372036854775807n) {
    throw outOfRange(TypeId.bigint);
  }
  return value;
}

/** Round half to even (C's rint). */
function rint(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function toIntegerType(value: SqlValue, from: number, to: number): number | bigint {
  let big: bigint;
  switch (from) {
    case TypeId.smallint:
    case TypeId.integer:
      big = BigInt(value as number);
      break;
    case TypeId.bigint:
      big = value as bigint;
      break;
    case TypeId.real:
    case TypeId.double: {
      const n = value as number;
      if (!Number.isFinite(n)) throw outOfRange(to);
      const rounded = rint(n);
      if (Math.abs(rounded) > 9.3e18) throw outOfRange(to);
      big = BigInt(rounded);
      break;
    }
    case TypeId.numeric:
      big = numericToInteger(value as string);
      break;
    case TypeId.boolean:
      big = value ? 1n : 0n;
      break;
    default:
      throw new DataError("42846", `cannot cast type ${typeNames[from]} to ${typeNames[to]}`);
  }
  if (to === TypeId.bigint) return checkInt8(big);
  const limit = to === TypeId.smallint ? 32768n : 2147483648n;
  if (big < -limit || big >= limit) throw outOfRange(to);
  return Number(big);
}

function toFloat(value: SqlValue, from: number, to: number): number {
  let n: number;
  switch (from) {
    case TypeId.smallint:
    case TypeId.integer:
    case TypeId.real:
    case TypeId.double:
      n = value as number;
      break;
    case TypeId.bigint:
      n = Number(value as bigint);
      break;
    case TypeId.numeric:
      n = numericToNumber(value as string);
      break;
    default:
      throw new DataError("42846", `cannot cast type ${typeNames[from]} to ${typeNames[to]}`);
  }
  if (to === TypeId.real) {
    const single = Math.fround(n);
    if (Number.isFinite(n) && !Number.isFinite(single)) {
      throw new DataError("22003", "value out of range: overflow");
    }
    return single;
  }
  return n;
}

function toNumeric(value: SqlValue, from: number, typmod: number): string {
  let text: string;
  switch (from) {
    case TypeId.smallint:
    case TypeId.integer:
      text = String(value);
      break;
    case TypeId.bigint:
      text = numericFromBigint(value as bigint);
      break;
    case TypeId.real:
    case TypeId.double:
      text = numericFromNumber(value as number);
      break;
    case TypeId.numeric:
      text = value as string;
      break;
    default:
      throw new DataError("42846", `cannot cast type ${typeNames[from]} to numeric`);
  }
  return typmod >= 4 ? parseNumeric(text, typmod) : text;
}

/** Casts `value` from type `from` to type `to` (explicit-cast semantics). */
export function castValue(
  value: SqlValue,
  from: ColumnType,
  to: ColumnType,
  settings: TextSettings = utcSettings,
): SqlValue {
  if (value === null) return null;
  const f = from.id;
  const t = to.id;
  if (f === t && (to.typmod < 0 || to.typmod === from.typmod)) return value;
  if (textTypes.has(t)) {
    // boolean::text is 'true'/'false' (not the 't'/'f' output form); char(n) → text drops the
    // padding, as PostgreSQL's bpchar → text does.
    let text: string;
    if (f === TypeId.boolean) text = value ? "true" : "false";
    else if (textTypes.has(f)) text = value as string;
    else text = formatValue(value, from, settings)!;
    if (f === TypeId.char && t !== TypeId.char) text = text.replace(/ +$/, "");
    return parseValue(text, to, settings);
  }
  if (textTypes.has(f)) return parseValue(value as string, to, settings);
  switch (t) {
    case TypeId.smallint:
    case TypeId.integer:
    case TypeId.bigint:
      return toIntegerType(value, f, t);
    case TypeId.real:
    case TypeId.double:
      return toFloat(value, f, t);
    case TypeId.numeric:
      return toNumeric(value, f, to.typmod);
    case TypeId.boolean:
      if (f === TypeId.integer || f === TypeId.smallint) return (value as number) !== 0;
      if (f === TypeId.bigint) return (value as bigint) !== 0n;
      break;
    case TypeId.date:
      if (f === TypeId.timestamp) return Math.floor((value as number) / microsPerDay);
      if (f === TypeId.timestamptz) {
        return Math.floor(
          ((value as number) + settings.timeZoneOffsetSeconds * 1e6) / microsPerDay,
        );
      }
      break;
    case TypeId.timestamp:
      if (f === TypeId.date) return infiniteOr(value as number, (d) => d * microsPerDay);
      if (f === TypeId.timestamptz) {
        return infiniteOr(value as number, (m) => m + settings.timeZoneOffsetSeconds * 1e6);
      }
      break;
    case TypeId.timestamptz:
      if (f === TypeId.date) {
        return infiniteOr(
          value as number,
          (d) => d * microsPerDay - settings.timeZoneOffsetSeconds * 1e6,
        );
      }
      if (f === TypeId.timestamp) {
        return infiniteOr(value as number, (m) => m - settings.timeZoneOffsetSeconds * 1e6);
      }
      break;
    case TypeId.interval:
      if (f === TypeId.interval) return value as Interval;
      break;
  }
  throw new DataError("42846", `cannot cast type ${typeNames[f]} to ${typeNames[t]}`);
}

function infiniteOr(value: number, convert: (n: number) => number): number {
  return Number.isFinite(value) ? convert(value) : value;
}
