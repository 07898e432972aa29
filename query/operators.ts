/**
 * Operators: resolution of `a op b` to a result type and an implementation, with PostgreSQL's
 * rules — numbers promote int2 < int4 < int8 < numeric < float4 < float8; an unknown literal
 * takes the other side's type; integer overflow is 22003 "integer out of range"; division by
 * zero is 22012; dates, timestamps and intervals combine as in PostgreSQL. Implementations are
 * strict: the caller handles NULLs (any NULL input gives NULL).
 */
import { type Interval, intervalSpanMicros, type SqlValue, TypeId } from "../dbengine/types.ts";
import { castValue, checkInt, checkInt8 } from "./casts.ts";
import { daysInMonth, microsPerDay, timestampFields, timestampFromFields } from "./datetime.ts";
import {
  numericAdd,
  numericCompare,
  numericDiv,
  numericMod,
  numericMul,
  numericNeg,
  numericSub,
} from "./numeric.ts";
import { DataError } from "./pg_text.ts";
import {
  isNumeric,
  isOidFamily,
  isText,
  isUnknown,
  promoteNumeric,
  QueryTypeId,
  type SqlType,
  storable,
  t,
  typeName,
} from "./sql_types.ts";

/** A resolved binary operator. */
export interface BinaryOperator {
  /** The types the operands must be cast to before `fn`. */
  left: SqlType;
  right: SqlType;
  result: SqlType;
  fn: (a: SqlValue, b: SqlValue) => SqlValue;
}

/** SQLSTATE 42883: no operator for these types. */
export class UndefinedOperatorError extends DataError {
  override name = "UndefinedOperatorError";
}

function noOperator(op: string, left: SqlType, right: SqlType): UndefinedOperatorError {
  return new UndefinedOperatorError(
    "42883",
    `operator does not exist: ${typeName(left)} ${op} ${typeName(right)}`,
  );
}

// ------------------------------------------------------------ arithmetic on one type

function intOp(op: string, type: number): (a: SqlValue, b: SqlValue) => SqlValue {
  switch (op) {
    case "+":
      return (a, b) => checkInt((a as number) + (b as number), type);
    case "-":
      return (a, b) => checkInt((a as number) - (b as number), type);
    case "*":
      return (a, b) => {
        const r = (a as number) * (b as number);
        if (!Number.isSafeInteger(r)) {
          throw new DataError(
            "22003",
            `${type === TypeId.smallint ? "smallint" : "integer"} out of range`,
          );
        }
        return checkInt(r, type);
      };
    case "/":
      return (a, b) => {
        if (b === 0) throw new DataError("22012", "division by zero");
        return checkInt(Math.trunc((a as number) / (b as number)), type);
      };
    case "%":
      return (a, b) => {
        if (b === 0) throw new DataError("22012", "division by zero");
        return (a as number) % (b as number) || 0; // never -0
      };
  }
  throw new Error(`unknown operator ${op}`);
}

function int8Op(op: string): (a: SqlValue, b: SqlValue) => SqlValue {
  switch (op) {
    case "+":
      return (a, b) => checkInt8((a as bigint) + (b as bigint));
    case "-":
      return (a, b) => checkInt8((a as bigint) - (b as bigint));
    case "*":
      return (a, b) => checkInt8((a as bigint) * (b as bigint));
    case "/":
      return (a, b) => {
        if (b === 0n) throw new DataError("22012", "division by zero");
        return checkInt8((a as bigint) / (b as bigint));
      };
    case "%":
      return (a, b) => {
        if (b === 0n) throw new DataError("22012", "division by zero");
        return (a as bigint) % (b as bigint);
      };
  }
  throw new Error(`unknown operator ${op}`);
}

function floatResult(r: number, a: number, b: number, single: boolean): number {
  const value = single ? Math.fround(r) : r;
  if (!Number.isFinite(value) && Number.isFinite(a) && Number.isFinite(b)) {
    throw new DataError("22003", "value out of range: overflow");
  }
  if (value === 0 && r !== 0) throw new DataError("22003", "value out of range: underflow");
  return value;
}

function floatOp(op: string, single: boolean): (a: SqlValue, b: SqlValue) => SqlValue {
  switch (op) {
    case "+":
      return (a, b) => floatResult((a as number) + (b as number), a as number, b as number, single);
    case "-":
      return (a, b) => floatResult((a as number) - (b as number), a as number, b as number, single);
    case "*":
      return (a, b) => floatResult((a as number) * (b as number), a as number, b as number, single);
    case "/":
      return (a, b) => {
        if (b === 0) throw new DataError("22012", "division by zero");
        return floatResult((a as number) / (b as number), a as number, b as number, single);
      };
    case "%":
      break;
  }
  throw new UndefinedOperatorError(
    "42883",
    `operator does not exist: double precision ${op} double precision`,
  );
}

function numericOp(op: string): (a: SqlValue, b: SqlValue) => SqlValue {
  switch (op) {
    case "+":
      return (a, b) => numericAdd(a as string, b as string);
    case "-":
      return (a, b) => numericSub(a as string, b as string);
    case "*":
      return (a, b) => numericMul(a as string, b as string);
    case "/":
      return (a, b) => numericDiv(a as string, b as string);
    case "%":
      return (a, b) => numericMod(a as string, b as string);
  }
  throw new Error(`unknown operator ${op}`);
}

/** Arithmetic on two values of the same numeric type. */
export function numericArithmetic(
  op: string,
  type: SqlType,
): (a: SqlValue, b: SqlValue) => SqlValue {
  switch (type.id) {
    case TypeId.smallint:
    case TypeId.integer:
      return intOp(op, type.id);
    case TypeId.bigint:
      return int8Op(op);
    case TypeId.real:
      return floatOp(op, true);
    case TypeId.double:
      return floatOp(op, false);
    case TypeId.numeric:
      return numericOp(op);
  }
  throw new Error(`not a numeric type: ${type.id}`);
}

// ------------------------------------------------------------ comparisons

/** Orders two non-NULL values of one type (NaN above all numbers; char ignores trailing blanks). */
export function comparator(type: SqlType): (a: SqlValue, b: SqlValue) => number {
  switch (type.id) {
    case TypeId.smallint:
    case TypeId.integer:
    case TypeId.date:
    case TypeId.timestamp:
    case TypeId.timestamptz:
      return (a, b) => (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case TypeId.real:
    case TypeId.double:
      return (a, b) => {
        const x = a as number;
        const y = b as number;
        if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
        if (Number.isNaN(y)) return -1;
        return x < y ? -1 : x > y ? 1 : 0;
      };
    case TypeId.bigint:
      return (a, b) => (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0;
    case QueryTypeId.oid:
    case QueryTypeId.regclass:
    case QueryTypeId.regtype:
    case QueryTypeId.regnamespace:
      return (a, b) => Number(a) < Number(b) ? -1 : Number(a) > Number(b) ? 1 : 0;
    case TypeId.numeric:
      return (a, b) => numericCompare(a as string, b as string);
    case TypeId.boolean:
      return (a, b) => (a === b ? 0 : a ? 1 : -1);
    case TypeId.char:
      return (a, b) =>
        compareStrings((a as string).replace(/ +$/, ""), (b as string).replace(/ +$/, ""));
    case TypeId.interval:
      return (a, b) => {
        const x = intervalSpanMicros(a as Interval);
        const y = intervalSpanMicros(b as Interval);
        return x < y ? -1 : x > y ? 1 : 0;
      };
    case TypeId.bytea:
      return (a, b) => {
        const x = a as Uint8Array;
        const y = b as Uint8Array;
        const n = Math.min(x.length, y.length);
        for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
        return x.length - y.length;
      };
    default:
      return (a, b) => compareStrings(String(a), String(b));
  }
}

/** Code point order (the "C" collation): UTF-16 order except around surrogates. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const comparisonOps: Record<string, (c: number) => boolean> = {
  "=": (c) => c === 0,
  "<>": (c) => c !== 0,
  "!=": (c) => c !== 0,
  "<": (c) => c < 0,
  ">": (c) => c > 0,
  "<=": (c) => c <= 0,
  ">=": (c) => c >= 0,
};

/** The type two operands are compared in (after resolving unknowns and numeric promotion). */
export function comparisonType(left: SqlType, right: SqlType): SqlType | undefined {
  if (isUnknown(left) && isUnknown(right)) return t.text;
  if (isUnknown(left)) return right;
  if (isUnknown(right)) return left;
  if (isNumeric(left) && isNumeric(right)) return promoteNumeric(left, right);
  // oids compare with oids, reg* values and integers as unsigned numbers.
  const integer = (type: SqlType) =>
    type.id === TypeId.integer || type.id === TypeId.smallint || type.id === TypeId.bigint;
  if (
    (isOidFamily(left) && (isOidFamily(right) || integer(right))) ||
    (isOidFamily(right) && integer(left))
  ) {
    return left.id === QueryTypeId.regproc && right.id === QueryTypeId.regproc ? left : t.oid;
  }
  if (isText(left) && isText(right)) {
    return left.id === TypeId.char && right.id === TypeId.char ? t.bpchar : t.text;
  }
  if (left.id === right.id) return { id: left.id, typmod: -1 };
  const temporal = new Set<number>([TypeId.date, TypeId.timestamp, TypeId.timestamptz]);
  if (temporal.has(left.id) && temporal.has(right.id)) {
    return left.id === TypeId.timestamptz || right.id === TypeId.timestamptz
      ? t.timestamptz
      : t.timestamp;
  }
  return undefined;
}

// ------------------------------------------------------------ dates and intervals

function addMonths(micros: number, months: number): number {
  const f = timestampFields(micros);
  const total = f.year * 12 + (f.month - 1) + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12 + 1;
  const day = Math.min(f.day, daysInMonth(year, month));
  return timestampFromFields(year, month, day, f.hour, f.minute, f.second, f.micro);
}

/** timestamp + interval, PostgreSQL style: months first (clamping the day), then days, then time. */
export function timestampPlusInterval(micros: number, interval: Interval): number {
  if (!Number.isFinite(micros)) return micros;
  let result = interval.months !== 0 ? addMonths(micros, interval.months) : micros;
  result += interval.days * microsPerDay + interval.micros;
  return result;
}

function negateInterval(i: Interval): Interval {
  return { months: -i.months, days: -i.days, micros: -i.micros };
}

/** timestamp - timestamp as PostgreSQL's interval (days and time, no months). */
export function timestampDifference(a: number, b: number): Interval {
  const diff = a - b;
  const days = Math.trunc(diff / microsPerDay);
  return { months: 0, days, micros: diff - days * microsPerDay };
}

function intervalScale(i: Interval, factor: number): Interval {
  // PostgreSQL cascades fractional months into days and fractional days into time.
  const months = i.months * factor;
  const wholeMonths = Math.trunc(months);
  const days = i.days * factor + (months - wholeMonths) * 30;
  const wholeDays = Math.trunc(days);
  const micros = Math.round(i.micros * factor + (days - wholeDays) * microsPerDay);
  return { months: wholeMonths, days: wholeDays, micros };
}

// ------------------------------------------------------------ resolution

/** Resolves `left op right` for the arithmetic, comparison and concatenation operators. */
export function resolveBinary(op: string, leftIn: SqlType, rightIn: SqlType): BinaryOperator {
  let left = leftIn;
  let right = rightIn;
  if (op === "||") {
    const arrays = left.id === 100 || right.id === 100;
    if (!arrays) {
      // text || anynonarray and anynonarray || text: the other side in its text form;
      // neither side textual is no operator (integer || integer is 42883, as in PostgreSQL).
      const textual = (type: SqlType) => isText(type) || isUnknown(type);
      if (!textual(left) && !textual(right)) throw noOperator(op, left, right);
      const asText = (type: SqlType) => {
        if (textual(type)) return (v: SqlValue) => v as string;
        // The value cast to text (boolean true is 'true', as PostgreSQL's || gives it).
        const from = storable(type);
        const to = storable(t.text);
        return (v: SqlValue) => (castValue(v, from, to) as string | null) ?? "";
      };
      const leftText = asText(left);
      const rightText = asText(right);
      return {
        left: textual(left) ? t.text : left,
        right: textual(right) ? t.text : right,
        result: t.text,
        fn: (a, b) => leftText(a) + rightText(b),
      };
    }
    // array || array, array || element, element || array (one dimension).
    const array = left.id === 100 ? left : right;
    const element = array.element ?? t.text;
    const asArray = (side: SqlType) => (side.id === 100 || isUnknown(side) ? array : element);
    return {
      left: asArray(left),
      right: right.id === 100 || (isUnknown(right) && left.id !== 100) ? array : asArray(right),
      result: array,
      fn: (a, b) => {
        const head = left.id === 100 || isUnknown(left) ? (a as unknown as SqlValue[]) : [a];
        const tail = right.id === 100 || (isUnknown(right) && left.id !== 100)
          ? (b as unknown as SqlValue[])
          : [b];
        return [...head, ...tail] as unknown as SqlValue;
      },
    };
  }
  const bitwise = resolveBitwise(op, left, right);
  if (bitwise !== undefined) return bitwise;
  const compare = comparisonOps[op];
  if (compare !== undefined) {
    const type = comparisonType(left, right);
    if (type === undefined) throw noOperator(op, left, right);
    const order = comparator(type);
    return { left: type, right: type, result: t.bool, fn: (a, b) => compare(order(a, b)) };
  }
  if (isUnknown(left) && isUnknown(right) && ["+", "-", "*", "/", "%"].includes(op)) {
    throw new DataError("42725", `operator is not unique: unknown ${op} unknown`);
  }
  if (isUnknown(left)) {
    left = isUnknown(right) ? t.text : right.id === TypeId.date && op === "-" ? t.date : right;
  }
  if (isUnknown(right)) right = op === "+" || op === "-" ? (isNumeric(left) ? left : right) : left;
  if (
    isUnknown(right) &&
    (left.id === TypeId.date || left.id === TypeId.timestamp || left.id === TypeId.timestamptz)
  ) {
    right = t.interval;
  }
  if (isNumeric(left) && isNumeric(right)) {
    let type = promoteNumeric(left, right);
    // real only meets real: real + integer, real + numeric run in double precision.
    if (type.id === TypeId.real && (left.id !== TypeId.real || right.id !== TypeId.real)) {
      type = t.float8;
    }
    return { left: type, right: type, result: type, fn: numericArithmetic(op, type) };
  }
  const temporal = resolveTemporal(op, left, right);
  if (temporal !== undefined) return temporal;
  throw noOperator(op, left, right);
}

const integerIds: number[] = [TypeId.smallint, TypeId.integer, TypeId.bigint];

/** &, |, #, << and >> on integers (shifts keep the left type; the shift count is int4). */
function resolveBitwise(op: string, leftIn: SqlType, rightIn: SqlType): BinaryOperator | undefined {
  if (!["&", "|", "#", "<<", ">>"].includes(op)) return undefined;
  const left = isUnknown(leftIn) ? (isUnknown(rightIn) ? t.int4 : rightIn) : leftIn;
  const shift = op === "<<" || op === ">>";
  const right = isUnknown(rightIn) ? (shift ? t.int4 : left) : rightIn;
  if (!integerIds.includes(left.id) || !integerIds.includes(right.id)) {
    throw noOperator(op, leftIn, rightIn);
  }
  const type = shift ? left : promoteNumeric(left, right);
  const big = type.id === TypeId.bigint;
  const narrow = (v: number) => type.id === TypeId.smallint ? (v << 16) >> 16 : v | 0;
  return {
    left: type,
    right: shift ? t.int4 : type,
    result: type,
    fn: (a, b) => {
      if (big) {
        const x = a as bigint;
        const y = shift ? BigInt(b as number) : b as bigint;
        const r = op === "&"
          ? x & y
          : op === "|"
          ? x | y
          : op === "#"
          ? x ^ y
          : op === "<<"
          ? x << (y & 63n)
          : x >> (y & 63n);
        return BigInt.asIntN(64, r);
      }
      const x = a as number;
      const y = b as number;
      return narrow(
        op === "&"
          ? x & y
          : op === "|"
          ? x | y
          : op === "#"
          ? x ^ y
          : op === "<<"
          ? x << y
          : x >> y,
      );
    },
  };
}

function resolveTemporal(op: string, left: SqlType, right: SqlType): BinaryOperator | undefined {
  const L = left.id;
  const R = right.id;
  const isTs = (id: number) => id === TypeId.timestamp || id === TypeId.timestamptz;
  if (L === TypeId.date && R === TypeId.date && op === "-") {
    return { left, right, result: t.int4, fn: (a, b) => (a as number) - (b as number) };
  }
  if (
    L === TypeId.date && (R === TypeId.integer || R === TypeId.smallint) &&
    (op === "+" || op === "-")
  ) {
    return {
      left,
      right: t.int4,
      result: t.date,
      fn: (a, b) => (a as number) + (op === "+" ? 1 : -1) * (b as number),
    };
  }
  if ((L === TypeId.integer || L === TypeId.smallint) && R === TypeId.date && op === "+") {
    return { left: t.int4, right, result: t.date, fn: (a, b) => (a as number) + (b as number) };
  }
  if ((L === TypeId.date || isTs(L)) && R === TypeId.interval && (op === "+" || op === "-")) {
    const result = L === TypeId.date ? t.timestamp : left;
    return {
      left: L === TypeId.date ? t.timestamp : left,
      right,
      result,
      fn: (a, b) =>
        timestampPlusInterval(
          a as number,
          op === "+" ? b as Interval : negateInterval(b as Interval),
        ),
    };
  }
  if (L === TypeId.interval && (R === TypeId.date || isTs(R)) && op === "+") {
    return {
      left,
      right: R === TypeId.date ? t.timestamp : right,
      result: R === TypeId.date ? t.timestamp : right,
      fn: (a, b) => timestampPlusInterval(b as number, a as Interval),
    };
  }
  if (isTs(L) && isTs(R) && op === "-") {
    const type = L === TypeId.timestamptz || R === TypeId.timestamptz ? t.timestamptz : t.timestamp;
    return {
      left: type,
      right: type,
      result: t.interval,
      fn: (a, b) => timestampDifference(a as number, b as number),
    };
  }
  if (L === TypeId.interval && R === TypeId.interval && (op === "+" || op === "-")) {
    const sign = op === "+" ? 1 : -1;
    return {
      left,
      right,
      result: t.interval,
      fn: (a, b) => {
        const x = a as Interval;
        const y = b as Interval;
        return {
          months: x.months + sign * y.months,
          days: x.days + sign * y.days,
          micros: x.micros + sign * y.micros,
        };
      },
    };
  }
  if (L === TypeId.interval && isNumeric(right) && (op === "*" || op === "/")) {
    return {
      left,
      right: t.float8,
      result: t.interval,
      fn: (a, b) => {
        if (op === "/" && b === 0) throw new DataError("22012", "division by zero");
        return intervalScale(a as Interval, op === "*" ? (b as number) : 1 / (b as number));
      },
    };
  }
  if (isNumeric(left) && R === TypeId.interval && op === "*") {
    return {
      left: t.float8,
      right,
      result: t.interval,
      fn: (a, b) => intervalScale(b as Interval, a as number),
    };
  }
  return undefined;
}

/** Unary minus. */
export function negate(type: SqlType): (a: SqlValue) => SqlValue {
  switch (type.id) {
    case TypeId.smallint:
    case TypeId.integer:
      return (a) => checkInt(-(a as number), type.id) || 0;
    case TypeId.bigint:
      return (a) => checkInt8(-(a as bigint));
    case TypeId.real:
    case TypeId.double:
      return (a) => -(a as number);
    case TypeId.numeric:
      return (a) => numericNeg(a as string);
    case TypeId.interval:
      return (a) => negateInterval(a as Interval);
  }
  throw new UndefinedOperatorError("42883", `operator does not exist: - ${typeName(type)}`);
}
