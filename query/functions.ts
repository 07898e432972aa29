/**
 * Scalar functions by name and argument types, with PostgreSQL's result types and errors.
 * Each resolution says which types the arguments are cast to, the result type, and whether
 * the function is strict (any NULL argument gives NULL without calling it).
 */
import { createHash } from "node:crypto";
import { type Interval, type SqlValue, TypeId } from "../dbengine/types.ts";
import type { Catalog } from "../dbengine/catalog.ts";
import type { Transaction } from "../dbengine/txn.ts";
import { checkInt, checkInt8 } from "./casts.ts";
import {
  dateFromDays,
  daysFromDate,
  daysInMonth,
  microsPerDay,
  timestampFields,
  timestampFromFields,
} from "./datetime.ts";
import {
  numericAbs,
  numericCeil,
  numericCompare,
  numericDiv,
  numericFloor,
  numericMod,
  numericPower,
  numericRound,
  numericScale,
  numericSqrt,
  numericTrunc,
} from "./numeric.ts";
import { DataError } from "./pg_text.ts";
import { formatValue } from "./pg_text.ts";
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
  typeOid,
} from "./sql_types.ts";

/** What a function call needs at run time. */
export interface CallContext {
  /** Transaction start time (now(), current_timestamp), microseconds since 2000-01-01 UTC. */
  transactionStartMicros: number;
  /** Statement start time (statement_timestamp()). */
  statementStartMicros: number;
  /** Session time zone offset in seconds east of UTC. */
  timeZoneOffsetSeconds: number;
  random(): number;
  /** Sequence operations for nextval/currval/setval (absent where no session is). */
  sequences?: SequenceAccess;
  /** The session and catalog snapshot (system catalogs, current_setting, pg_get_*). */
  session?: SessionView;
}

/** What catalog functions and system relations read: the statement's catalog and session. */
export interface SessionView {
  catalog: Catalog;
  txn: Transaction | undefined;
  snapshot: number;
  /** Session settings by lower-case name. */
  settings: Map<string, string>;
  user: string;
  database: string;
  backendPid: number;
  /** The server end of the client's connection; null for in-process sessions. */
  serverAddress: string | null;
  serverPort: number | null;
}

/** What the sequence functions need from the session. */
export interface SequenceAccess {
  nextval(name: string): bigint;
  currval(name: string): bigint;
  setval(name: string, value: bigint, isCalled: boolean): bigint;
}

/** A resolved function. */
export interface ResolvedFunction {
  args: SqlType[];
  result: SqlType;
  strict: boolean;
  fn: (args: SqlValue[], ctx: CallContext) => SqlValue;
}

/** SQLSTATE 42883: no function with this name and these argument types. */
export class UndefinedFunctionError extends DataError {
  override name = "UndefinedFunctionError";
}

/** Resolves a function for argument types, or undefined when none fits. */
export type Resolver = (types: SqlType[]) => ResolvedFunction | undefined;

const registry = new Map<string, Resolver>();

/** Registers the functions `names` with `resolver` (also used by other query/ modules). */
export function define(names: string | string[], resolver: Resolver): void {
  for (const name of Array.isArray(names) ? names : [names]) registry.set(name, resolver);
}

/** Treats unknown-typed arguments as text. */
function textual(type: SqlType): SqlType {
  return isUnknown(type) || isText(type) ? t.text : type;
}

/**
 * For functions with both numeric and double precision versions (abs, round, floor, ceil): an
 * untyped literal resolves to double precision, the numeric category's preferred type.
 */
function preferredNumericArg(type: SqlType): SqlType | undefined {
  return isUnknown(type) ? t.float8 : numericArg(type);
}

function numericArg(type: SqlType): SqlType | undefined {
  if (isUnknown(type)) return t.numeric;
  return isNumeric(type) ? type : undefined;
}

/** Resolves a call; throws 42883 naming the signature when nothing matches. */
export function resolveFunction(name: string, types: SqlType[]): ResolvedFunction {
  const resolver = registry.get(name.toLowerCase());
  let resolved = resolver?.(types);
  // PostgreSQL applies only implicit casts to arguments: upper(5) does not exist.
  if (
    resolved !== undefined &&
    !types.every((type, i) => implicitlyCoercible(type, resolved!.args[i]))
  ) {
    resolved = undefined;
  }
  if (resolved === undefined) {
    throw new UndefinedFunctionError(
      "42883",
      `function ${name}(${
        types.map((type) => isUnknown(type) ? "unknown" : typeName(type)).join(", ")
      }) does not exist`,
    );
  }
  return resolved;
}

const implicitTargets: Record<number, number[]> = {
  [TypeId.date]: [TypeId.timestamp, TypeId.timestamptz],
  [TypeId.timestamp]: [TypeId.timestamptz],
};

/** Whether PostgreSQL converts `from` to `to` implicitly (argument and assignment contexts). */
export function implicitlyCoercible(from: SqlType, to: SqlType | undefined): boolean {
  if (to === undefined || isUnknown(from) || from.id === to.id) return true;
  if (isNumeric(from) && isNumeric(to)) return promoteNumeric(from, to).id === to.id;
  if (isText(from) && isText(to)) return true;
  if (isOidFamily(to) && (isNumeric(from) || isText(from) || isOidFamily(from))) return true;
  if (from.id === QueryTypeId.record || to.id === QueryTypeId.record) return true;
  return implicitTargets[from.id]?.includes(to.id) ?? false;
}

/** True when `name` is a known scalar function. */
export function isFunction(name: string): boolean {
  return registry.has(name.toLowerCase());
}

// ------------------------------------------------------------------ strings

const chars = (s: string) => [...s];

define(
  ["length", "char_length", "character_length"],
  (types) =>
    types.length === 1 && (isText(types[0]!) || isUnknown(types[0]!))
      ? {
        args: [types[0]!.id === TypeId.char ? t.bpchar : t.text],
        result: t.int4,
        strict: true,
        fn: ([s]) =>
          chars(types[0]!.id === TypeId.char ? (s as string).replace(/ +$/, "") : s as string)
            .length,
      }
      : types.length === 1 && types[0]!.id === TypeId.bytea
      ? { args: [t.bytea], result: t.int4, strict: true, fn: ([b]) => (b as Uint8Array).length }
      : undefined,
);

define("octet_length", (types) =>
  types.length === 1
    ? {
      args: [types[0]!.id === TypeId.bytea ? t.bytea : t.text],
      result: t.int4,
      strict: true,
      fn: ([v]) =>
        v instanceof Uint8Array ? v.length : new TextEncoder().encode(v as string).length,
    }
    : undefined);

/** Case mapping of the C locale (ExoDB's only collation): ASCII letters only. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

define(
  "lower",
  (types) =>
    types.length === 1
      ? { args: [t.text], result: t.text, strict: true, fn: ([s]) => asciiLower(s as string) }
      : undefined,
);
define(
  "upper",
  (types) =>
    types.length === 1
      ? { args: [t.text], result: t.text, strict: true, fn: ([s]) => asciiUpper(s as string) }
      : undefined,
);

/** substring(s from start for count), 1-based, PostgreSQL's clamping. */
export function substring(s: string, start: number, count?: number): string {
  const c = chars(s);
  if (count !== undefined && count < 0) {
    throw new DataError("22011", "negative substring length not allowed");
  }
  const from = Math.max(start, 1);
  const to = count === undefined ? c.length + 1 : start + count;
  if (to <= from) return "";
  return c.slice(from - 1, to - 1).join("");
}

define(["substring", "substr"], (types) => {
  if (types.length < 2 || types.length > 3) return undefined;
  return {
    args: [t.text, t.int4, ...(types.length === 3 ? [t.int4] : [])],
    result: t.text,
    strict: true,
    fn: ([s, start, count]) => substring(s as string, start as number, count as number | undefined),
  };
});

define(["position", "strpos"], (types) =>
  types.length === 2
    ? {
      args: [t.text, t.text],
      result: t.int4,
      strict: true,
      // position(needle in haystack) is strpos(haystack, needle); the parser passes (haystack, needle).
      fn: ([haystack, needle]) => {
        const index = (haystack as string).indexOf(needle as string);
        return index < 0 ? 0 : chars((haystack as string).slice(0, index)).length + 1;
      },
    }
    : undefined);

function trimWith(s: string, set: string, leading: boolean, trailing: boolean): string {
  const c = chars(s);
  const drop = new Set(chars(set));
  let from = 0;
  let to = c.length;
  if (leading) { while (from < to && drop.has(c[from]!)) from++; }
  if (trailing) { while (to > from && drop.has(c[to - 1]!)) to--; }
  return c.slice(from, to).join("");
}

for (
  const [name, leading, trailing] of [["btrim", true, true], ["ltrim", true, false], [
    "rtrim",
    false,
    true,
  ]] as const
) {
  define(name, (types) =>
    types.length === 1 || types.length === 2
      ? {
        args: types.map(() => t.text),
        result: t.text,
        strict: true,
        fn: ([s, set]) =>
          trimWith(s as string, (set as string | undefined) ?? " ", leading, trailing),
      }
      : undefined);
}

define("replace", (types) =>
  types.length === 3
    ? {
      args: [t.text, t.text, t.text],
      result: t.text,
      strict: true,
      fn: ([s, from, to]) =>
        (from as string) === "" ? s! : (s as string).split(from as string).join(to as string),
    }
    : undefined);

/** An argument of concat/concat_ws as its text output form. */
function asText(value: SqlValue, type: SqlType): string {
  return formatValue(value, storable(isUnknown(type) ? t.text : type)) ?? "";
}

define("concat", (types) =>
  types.length === 0 ? undefined : {
    args: types.map(textual),
    result: t.text,
    strict: false,
    fn: (args) => args.map((a, i) => (a === null ? "" : asText(a, types[i]!))).join(""),
  });

define("concat_ws", (types) =>
  types.length >= 1
    ? {
      args: types.map(textual),
      result: t.text,
      strict: false,
      fn: ([sep, ...rest]) =>
        sep === null ? null : rest.map((a, i) => (a === null ? null : asText(a, types[i + 1]!)))
          .filter((a) => a !== null).join(sep as string),
    }
    : undefined);

define("left", (types) =>
  types.length === 2
    ? {
      args: [t.text, t.int4],
      result: t.text,
      strict: true,
      fn: ([s, n]) => {
        const c = chars(s as string);
        return (n as number) >= 0
          ? c.slice(0, n as number).join("")
          : c.slice(0, Math.max(0, c.length + (n as number))).join("");
      },
    }
    : undefined);
define("right", (types) =>
  types.length === 2
    ? {
      args: [t.text, t.int4],
      result: t.text,
      strict: true,
      fn: ([s, n]) => {
        const c = chars(s as string);
        return (n as number) >= 0
          ? c.slice(Math.max(0, c.length - (n as number))).join("")
          : c.slice(-(n as number)).join("");
      },
    }
    : undefined);

define(
  "repeat",
  (types) =>
    types.length === 2
      ? {
        args: [t.text, t.int4],
        result: t.text,
        strict: true,
        fn: ([s, n]) => (s as string).repeat(Math.max(0, n as number)),
      }
      : undefined,
);

define(
  "reverse",
  (types) =>
    types.length === 1
      ? {
        args: [t.text],
        result: t.text,
        strict: true,
        fn: ([s]) => chars(s as string).reverse().join(""),
      }
      : undefined,
);

for (const [name, pad] of [["lpad", true], ["rpad", false]] as const) {
  define(name, (types) =>
    types.length === 2 || types.length === 3
      ? {
        args: [t.text, t.int4, ...(types.length === 3 ? [t.text] : [])],
        result: t.text,
        strict: true,
        fn: ([s, n, fill]) => {
          const c = chars(s as string);
          const length = Math.max(0, n as number);
          if (c.length >= length) return c.slice(0, length).join("");
          const f = chars((fill as string | undefined) ?? " ");
          if (f.length === 0) return c.join("");
          const padding: string[] = [];
          while (padding.length < length - c.length) padding.push(f[padding.length % f.length]!);
          return pad ? padding.join("") + c.join("") : c.join("") + padding.join("");
        },
      }
      : undefined);
}

define("initcap", (types) =>
  types.length === 1
    ? {
      args: [t.text],
      result: t.text,
      strict: true,
      fn: ([s]) =>
        (s as string).toLowerCase().replace(/(^|[^a-z0-9])([a-z])/g, (_m, p, c) =>
          p + c.toUpperCase()),
    }
    : undefined);

define("split_part", (types) =>
  types.length === 3
    ? {
      args: [t.text, t.text, t.int4],
      result: t.text,
      strict: true,
      fn: ([s, sep, n]) => {
        if ((n as number) === 0) throw new DataError("22023", "field position must not be zero");
        const parts = (sep as string) === "" ? [s as string] : (s as string).split(sep as string);
        const index = (n as number) > 0 ? (n as number) - 1 : parts.length + (n as number);
        return parts[index] ?? "";
      },
    }
    : undefined);

define(
  "md5",
  (types) =>
    types.length === 1
      ? { args: [t.text], result: t.text, strict: true, fn: ([s]) => md5Hex(s as string) }
      : undefined,
);

// ------------------------------------------------------------------ numbers

define("abs", (types) => {
  const type = types.length === 1 ? preferredNumericArg(types[0]!) : undefined;
  if (type === undefined) return undefined;
  return {
    args: [type],
    result: type,
    strict: true,
    fn: ([v]) => {
      if (type.id === TypeId.numeric) return numericAbs(v as string);
      if (type.id === TypeId.bigint) {
        return checkInt8((v as bigint) < 0n ? -(v as bigint) : v as bigint);
      }
      if (type.id === TypeId.integer || type.id === TypeId.smallint) {
        return checkInt(Math.abs(v as number), type.id);
      }
      return Math.abs(v as number);
    },
  };
});

/** Rounds half to even, as C's rint (float round). */
function rint(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  const rounded = diff !== 0.5 ? Math.round(value) : floor % 2 === 0 ? floor : floor + 1;
  // rint keeps the sign of zero: round(-0.4) is -0.
  return rounded === 0 && (value < 0 || Object.is(value, -0)) ? -0 : rounded;
}

define("round", (types) => {
  if (types.length === 1) {
    const type = preferredNumericArg(types[0]!);
    if (type === undefined) return undefined;
    // Integers resolve to round(double precision), PostgreSQL's preferred numeric type.
    if (type.id !== TypeId.numeric) {
      return { args: [t.float8], result: t.float8, strict: true, fn: ([v]) => rint(v as number) };
    }
    return {
      args: [t.numeric],
      result: t.numeric,
      strict: true,
      fn: ([v]) => numericRound(v as string, 0),
    };
  }
  if (types.length === 2) {
    return {
      args: [t.numeric, t.int4],
      result: t.numeric,
      strict: true,
      fn: ([v, s]) => numericRound(v as string, s as number),
    };
  }
  return undefined;
});

define("trunc", (types) => {
  if (types.length === 1 && (types[0]!.id === TypeId.double || types[0]!.id === TypeId.real)) {
    return {
      args: [t.float8],
      result: t.float8,
      strict: true,
      fn: ([v]) => Math.trunc(v as number),
    };
  }
  if (types.length === 1 || types.length === 2) {
    return {
      args: [t.numeric, ...(types.length === 2 ? [t.int4] : [])],
      result: t.numeric,
      strict: true,
      fn: ([v, s]) => numericTrunc(v as string, (s as number | undefined) ?? 0),
    };
  }
  return undefined;
});

for (
  const [names, floatFn, numericFn] of [
    [["floor"], Math.floor, numericFloor],
    [["ceil", "ceiling"], Math.ceil, numericCeil],
  ] as const
) {
  define([...names], (types) => {
    const type = types.length === 1 ? preferredNumericArg(types[0]!) : undefined;
    if (type === undefined) return undefined;
    if (type.id !== TypeId.numeric) {
      return {
        args: [t.float8],
        result: t.float8,
        strict: true,
        fn: ([v]) => floatFn(v as number),
      };
    }
    return {
      args: [t.numeric],
      result: t.numeric,
      strict: true,
      fn: ([v]) => numericFn(v as string),
    };
  });
}

define("mod", (types) => {
  if (types.length !== 2) return undefined;
  // An untyped literal takes the other argument's type: mod(NULL, 7) is mod(integer, integer).
  const [x, y] = types as [SqlType, SqlType];
  const a = numericArg(isUnknown(x) && !isUnknown(y) ? y : x);
  const b = numericArg(isUnknown(y) && !isUnknown(x) ? x : y);
  if (a === undefined || b === undefined) return undefined;
  const type = promoteNumeric(a, b);
  if (type.id === TypeId.numeric || type.id === TypeId.real || type.id === TypeId.double) {
    return {
      args: [t.numeric, t.numeric],
      result: t.numeric,
      strict: true,
      fn: ([x, y]) => numericMod(x as string, y as string),
    };
  }
  return {
    args: [type, type],
    result: type,
    strict: true,
    fn: ([x, y]) => {
      if (type.id === TypeId.bigint) {
        if (y === 0n) throw new DataError("22012", "division by zero");
        return (x as bigint) % (y as bigint);
      }
      if (y === 0) throw new DataError("22012", "division by zero");
      return (x as number) % (y as number) || 0;
    },
  };
});

define(["power", "pow"], (types) => {
  if (types.length !== 2) return undefined;
  // numeric ^ numeric when a side is numeric and none is a float; integers run in float8.
  const numericArgs = types.some((type) => type.id === TypeId.numeric) &&
    !types.some((type) => type.id === TypeId.real || type.id === TypeId.double);
  if (numericArgs) {
    return {
      args: [t.numeric, t.numeric],
      result: t.numeric,
      strict: true,
      fn: ([x, y]) => numericPower(x as string, y as string),
    };
  }
  return {
    args: [t.float8, t.float8],
    result: t.float8,
    strict: true,
    fn: ([x, y]) => {
      const r = Math.pow(x as number, y as number);
      if ((x as number) === 0 && (y as number) < 0) {
        throw new DataError("2201F", "zero raised to a negative power is undefined");
      }
      if (Number.isNaN(r) && !Number.isNaN(x as number) && !Number.isNaN(y as number)) {
        throw new DataError(
          "2201F",
          "a negative number raised to a non-integer power yields a complex result",
        );
      }
      return r;
    },
  };
});

define("sqrt", (types) => {
  if (types.length !== 1) return undefined;
  if (types[0]!.id === TypeId.numeric) {
    return {
      args: [t.numeric],
      result: t.numeric,
      strict: true,
      fn: ([v]) => numericSqrt(v as string),
    };
  }
  return {
    args: [t.float8],
    result: t.float8,
    strict: true,
    fn: ([v]) => {
      if ((v as number) < 0) {
        throw new DataError("2201F", "cannot take square root of a negative number");
      }
      return Math.sqrt(v as number);
    },
  };
});

define(
  "random",
  (types) =>
    types.length === 0
      ? { args: [], result: t.float8, strict: false, fn: (_a, ctx) => ctx.random() }
      : undefined,
);

define("sign", (types) =>
  types.length === 1 && types[0]!.id === TypeId.numeric
    ? {
      args: [t.numeric],
      result: t.numeric,
      strict: true,
      fn: ([v]) => String(Math.sign(numericCompare(v as string, "0"))),
    }
    : types.length === 1
    ? {
      args: [t.float8],
      result: t.float8,
      strict: true,
      fn: ([v]) => Math.sign(v as number),
    }
    : undefined);

define("div", (types) =>
  types.length === 2
    ? {
      args: [t.numeric, t.numeric],
      result: t.numeric,
      strict: true,
      fn: ([x, y]) => numericTrunc(numericDiv(x as string, y as string), 0),
    }
    : undefined);

define(
  "scale",
  (types) =>
    types.length === 1
      ? { args: [t.numeric], result: t.int4, strict: true, fn: ([v]) => numericScale(v as string) }
      : undefined,
);

// ------------------------------------------------------------------ dates and times

define(
  ["now", "transaction_timestamp", "current_timestamp"],
  (types) =>
    types.length === 0
      ? {
        args: [],
        result: t.timestamptz,
        strict: false,
        fn: (_a, ctx) => ctx.transactionStartMicros,
      }
      : undefined,
);
define(
  "statement_timestamp",
  (types) =>
    types.length === 0
      ? {
        args: [],
        result: t.timestamptz,
        strict: false,
        fn: (_a, ctx) => ctx.statementStartMicros,
      }
      : undefined,
);
define("clock_timestamp", (types) =>
  types.length === 0
    ? {
      args: [],
      result: t.timestamptz,
      strict: false,
      fn: () =>
        Math.round((performance.timeOrigin + performance.now()) * 1000) - 946_684_800_000_000,
    }
    : undefined);
define("current_date", (types) =>
  types.length === 0
    ? {
      args: [],
      result: t.date,
      strict: false,
      fn: (_a, ctx) =>
        Math.floor((ctx.transactionStartMicros + ctx.timeZoneOffsetSeconds * 1e6) / microsPerDay),
    }
    : undefined);
define(
  "localtimestamp",
  (types) =>
    types.length === 0
      ? {
        args: [],
        result: t.timestamp,
        strict: false,
        fn: (_a, ctx) => ctx.transactionStartMicros + ctx.timeZoneOffsetSeconds * 1e6,
      }
      : undefined,
);

const truncUnits = [
  "microseconds",
  "milliseconds",
  "second",
  "minute",
  "hour",
  "day",
  "week",
  "month",
  "quarter",
  "year",
  "decade",
  "century",
  "millennium",
];

/** date_trunc on local time fields. */
export function dateTrunc(unit: string, micros: number): number {
  if (!Number.isFinite(micros)) return micros;
  const u = unit.toLowerCase().replace(/s$/, "");
  const f = timestampFields(micros);
  switch (u) {
    case "microsecond":
      return micros;
    case "millisecond":
      return timestampFromFields(
        f.year,
        f.month,
        f.day,
        f.hour,
        f.minute,
        f.second,
        f.micro - (f.micro % 1000),
      );
    case "second":
      return timestampFromFields(f.year, f.month, f.day, f.hour, f.minute, f.second, 0);
    case "minute":
      return timestampFromFields(f.year, f.month, f.day, f.hour, f.minute, 0, 0);
    case "hour":
      return timestampFromFields(f.year, f.month, f.day, f.hour, 0, 0, 0);
    case "day":
      return timestampFromFields(f.year, f.month, f.day, 0, 0, 0, 0);
    case "week": {
      const days = Math.floor(micros / microsPerDay);
      const isoDow = ((days + 5) % 7 + 7) % 7; // 2000-01-01 was a Saturday; Monday = 0
      return (days - isoDow) * microsPerDay;
    }
    case "month":
      return timestampFromFields(f.year, f.month, 1, 0, 0, 0, 0);
    case "quarter":
      return timestampFromFields(f.year, Math.floor((f.month - 1) / 3) * 3 + 1, 1, 0, 0, 0, 0);
    case "year":
      return timestampFromFields(f.year, 1, 1, 0, 0, 0, 0);
    case "decade":
      return timestampFromFields(Math.floor(f.year / 10) * 10, 1, 1, 0, 0, 0, 0);
    case "century":
      return timestampFromFields(Math.floor((f.year - 1) / 100) * 100 + 1, 1, 1, 0, 0, 0, 0);
    case "millennium":
      return timestampFromFields(Math.floor((f.year - 1) / 1000) * 1000 + 1, 1, 1, 0, 0, 0, 0);
  }
  throw new DataError(
    "22023",
    `unit "${unit}" not recognized for type timestamp without time zone`,
  );
}

define("date_trunc", (types) => {
  if (types.length !== 2) return undefined;
  // date_trunc(text, date) resolves to the timestamptz version (date → timestamptz).
  const type = types[1]!.id === TypeId.timestamptz || types[1]!.id === TypeId.date
    ? t.timestamptz
    : types[1]!.id === TypeId.interval
    ? undefined
    : t.timestamp;
  if (type === undefined) return undefined;
  return {
    args: [t.text, type],
    result: type,
    strict: true,
    fn: ([unit, v], ctx) => {
      if (!truncUnits.some((u) => u.startsWith((unit as string).toLowerCase().replace(/s$/, "")))) {
        throw new DataError("22023", `unit "${unit}" not recognized for type ${typeName(type)}`);
      }
      if (type.id === TypeId.timestamptz) {
        const offset = ctx.timeZoneOffsetSeconds * 1e6;
        return dateTrunc(unit as string, (v as number) + offset) - offset;
      }
      return dateTrunc(unit as string, v as number);
    },
  };
});

/** EXTRACT(field FROM source) as numeric, PostgreSQL 14+ style. */
export function extractField(
  field: string,
  value: SqlValue,
  type: SqlType,
  offsetSeconds: number,
): string {
  const f = field.toLowerCase();
  if (type.id === TypeId.interval) {
    const i = value as Interval;
    const seconds = (i.micros % 60_000_000) / 1e6;
    switch (f) {
      case "epoch": {
        // PostgreSQL: a year is 365.25 days, a month 30 days.
        const seconds = Math.trunc(i.months / 12) * 365.25 * 86400 + (i.months % 12) * 30 * 86400 +
          i.days * 86400 + i.micros / 1e6;
        return seconds.toFixed(6);
      }
      case "year":
        return String(Math.trunc(i.months / 12));
      case "month":
        return String(i.months % 12);
      case "day":
        return String(i.days);
      case "hour":
        return String(Math.trunc(i.micros / 3_600_000_000));
      case "minute":
        return String(Math.trunc((i.micros % 3_600_000_000) / 60_000_000));
      case "second":
        return seconds.toFixed(6);
    }
    throw new DataError("22023", `unit "${field}" not supported for type interval`);
  }
  let micros: number;
  if (type.id === TypeId.date) micros = (value as number) * microsPerDay;
  else micros = (value as number) + (type.id === TypeId.timestamptz ? offsetSeconds * 1e6 : 0);
  const d = timestampFields(micros);
  const days = Math.floor(micros / microsPerDay);
  switch (f) {
    case "year":
      return String(d.year > 0 ? d.year : d.year - 1);
    case "month":
      return String(d.month);
    case "day":
      return String(d.day);
    case "hour":
      return String(d.hour);
    case "minute":
      return String(d.minute);
    case "second":
      return (d.second + d.micro / 1e6).toFixed(6);
    case "milliseconds":
      return ((d.second * 1e6 + d.micro) / 1000).toFixed(3);
    case "microseconds":
      return String(d.second * 1_000_000 + d.micro);
    case "dow":
      return String(((days + 6) % 7 + 7) % 7); // Sunday = 0; 2000-01-01 was a Saturday (6)
    case "isodow":
      return String(((days + 5) % 7 + 7) % 7 + 1);
    case "doy":
      return String(
        days - Math.floor(timestampFromFields(d.year, 1, 1, 0, 0, 0, 0) / microsPerDay) + 1,
      );
    case "quarter":
      return String(Math.floor((d.month - 1) / 3) + 1);
    case "week": {
      const thursday = days - (((days + 5) % 7 + 7) % 7) + 3;
      const year = dateFromDays(thursday).year;
      const jan1 = Math.floor(timestampFromFields(year, 1, 1, 0, 0, 0, 0) / microsPerDay);
      return String(Math.floor((thursday - jan1) / 7) + 1);
    }
    case "decade":
      return String(Math.floor(d.year / 10));
    case "century":
      return String(
        d.year > 0 ? Math.floor((d.year - 1) / 100) + 1 : -(Math.floor(-d.year / 100) + 1),
      );
    case "millennium":
      return String(
        d.year > 0 ? Math.floor((d.year - 1) / 1000) + 1 : -(Math.floor(-d.year / 1000) + 1),
      );
    case "epoch": {
      if (type.id === TypeId.date) return String((value as number) * 86400 + 946_684_800);
      const unixMicros = (value as number) + 946_684_800_000_000;
      const whole = Math.floor(unixMicros / 1e6);
      return `${whole}.${String(unixMicros - whole * 1e6).padStart(6, "0")}`;
    }
    case "timezone":
      return String(type.id === TypeId.timestamptz ? offsetSeconds : 0);
  }
  throw new DataError("22023", `unit "${field}" not recognized for type ${typeName(type)}`);
}

define("extract", (types) => {
  if (types.length !== 2) return undefined;
  const type = isUnknown(types[1]!) ? t.timestamp : types[1]!;
  return {
    args: [t.text, type],
    result: t.numeric,
    strict: true,
    fn: ([field, v], ctx) => extractField(field as string, v!, type, ctx.timeZoneOffsetSeconds),
  };
});

/** date_part: EXTRACT's double precision ancestor. */
define("date_part", (types) => {
  if (types.length !== 2) return undefined;
  const type = isUnknown(types[1]!) ? t.timestamp : types[1]!;
  return {
    args: [t.text, type],
    result: t.float8,
    strict: true,
    fn: ([field, v], ctx) =>
      Number(extractField(field as string, v!, type, ctx.timeZoneOffsetSeconds)),
  };
});

/** age(a, b): a − b field by field with borrowing, as PostgreSQL's timestamp_age. */
export function age(a: number, b: number): Interval {
  const negative = a < b;
  const [late, early] = negative ? [b, a] : [a, b];
  const x = timestampFields(late);
  const y = timestampFields(early);
  let micros =
    (((x.hour - y.hour) * 60 + (x.minute - y.minute)) * 60 + (x.second - y.second)) * 1e6 +
    (x.micro - y.micro);
  let days = x.day - y.day;
  let months = x.month - y.month;
  let years = x.year - y.year;
  if (micros < 0) {
    micros += microsPerDay;
    days--;
  }
  if (days < 0) {
    days += daysInMonth(y.year, y.month);
    months--;
  }
  if (months < 0) {
    months += 12;
    years--;
  }
  const sign = negative ? -1 : 1;
  return {
    months: sign * (years * 12 + months) || 0,
    days: sign * days || 0,
    micros: sign * micros || 0,
  };
}

define(
  "age",
  (types) =>
    types.length === 2
      ? {
        args: [t.timestamp, t.timestamp],
        result: t.interval,
        strict: true,
        fn: ([a, b]) => age(a as number, b as number),
      }
      : undefined,
);

// ------------------------------------------------------------------ misc

define("version", (types) =>
  types.length === 0
    ? {
      args: [],
      result: t.text,
      strict: false,
      fn: () => `PostgreSQL 15.10 (ExoDB ${Deno.build.target}), compatible server`,
    }
    : undefined);
define(
  "gen_random_uuid",
  (types) =>
    types.length === 0
      ? { args: [], result: t.text, strict: false, fn: () => crypto.randomUUID() }
      : undefined,
);

function md5Hex(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

// ------------------------------------------------------------------ appliance hooks

/** Starts the kernel's background checksum scrub and says so; installed at boot. */
export type ScrubStarter = () => string;

let scrubStarter: ScrubStarter | undefined;

/** Installs (or, with undefined, removes) what `exodb_scrub()` calls: the kernel sets it at boot. */
export function setScrubStarter(start: ScrubStarter | undefined): void {
  scrubStarter = start;
}

define(
  "exodb_scrub",
  (types) =>
    types.length === 0
      ? {
        args: [],
        result: t.text,
        strict: false,
        fn: () => {
          if (scrubStarter === undefined) {
            throw new DataError("55000", "exodb_scrub() needs a booted appliance");
          }
          return scrubStarter();
        },
      }
      : undefined,
);

// ------------------------------------------------------------------ more math, type names

/** A double precision function of one argument with PostgreSQL's domain errors. */
function floatFunction(name: string, f: (x: number) => number, check?: (x: number) => void): void {
  define(name, (types) =>
    types.length === 1 && (isNumeric(types[0]!) || isUnknown(types[0]!)) &&
      types[0]!.id !== TypeId.numeric
      ? {
        args: [t.float8],
        result: t.float8,
        strict: true,
        fn: ([v]) => {
          check?.(v as number);
          return f(v as number);
        },
      }
      : undefined);
}

function logCheck(x: number): void {
  if (x === 0) throw new DataError("2201E", "cannot take logarithm of zero");
  if (x < 0) throw new DataError("2201E", "cannot take logarithm of a negative number");
}

floatFunction("cbrt", Math.cbrt);
floatFunction("exp", Math.exp);
floatFunction("ln", Math.log, logCheck);
floatFunction("log", Math.log10, logCheck);
floatFunction("log10", Math.log10, logCheck);
floatFunction("degrees", (x) => x * 180 / Math.PI);
floatFunction("radians", (x) => x * Math.PI / 180);
floatFunction("sin", Math.sin);
floatFunction("cos", Math.cos);
floatFunction("tan", Math.tan);

define(
  "pi",
  (types) =>
    types.length === 0
      ? { args: [], result: t.float8, strict: true, fn: () => Math.PI }
      : undefined,
);

/** The integer type gcd/lcm run in (int4 or int8), or undefined. */
function integerPair(types: SqlType[]): SqlType | undefined {
  if (types.length !== 2) return undefined;
  const ok = types.every((type) =>
    isUnknown(type) || type.id === TypeId.smallint || type.id === TypeId.integer ||
    type.id === TypeId.bigint
  );
  if (!ok) return undefined;
  return types.some((type) => type.id === TypeId.bigint) ? t.int8 : t.int4;
}

function gcdBig(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

for (const name of ["gcd", "lcm"] as const) {
  define(name, (types) => {
    const type = integerPair(types);
    if (type === undefined) return undefined;
    const big = type.id === TypeId.bigint;
    return {
      args: [type, type],
      result: type,
      strict: true,
      fn: ([x, y]) => {
        const a = BigInt(x as number | bigint);
        const b = BigInt(y as number | bigint);
        const g = gcdBig(a, b);
        let r = name === "gcd" ? g : g === 0n ? 0n : (a / g) * b;
        if (r < 0n) r = -r;
        if (big) return checkInt8(r);
        return checkInt(Number(r), TypeId.integer);
      },
    };
  });
}

define(
  "factorial",
  (types) =>
    types.length === 1 && integerPair([types[0]!, t.int4]) !== undefined
      ? {
        args: [t.int8],
        result: t.numeric,
        strict: true,
        fn: ([v]) => {
          const n = BigInt(v as number | bigint);
          if (n < 0n) throw new DataError("22003", "factorial of a negative number is undefined");
          let r = 1n;
          for (let i = 2n; i <= n; i++) r *= i;
          return r.toString();
        },
      }
      : undefined,
);

define(
  "width_bucket",
  (types) =>
    types.length === 4 && types.slice(0, 3).every((type) => isNumeric(type) || isUnknown(type)) &&
      integerPair([types[3]!, t.int4]) !== undefined
      ? {
        args: [t.float8, t.float8, t.float8, t.int4],
        result: t.int4,
        strict: true,
        fn: ([x, low, high, n]) => {
          const [v, lo, hi, count] = [x, low, high, n] as number[];
          if (count! <= 0) throw new DataError("2201G", "count must be greater than zero");
          if (lo === hi) throw new DataError("2201G", "lower bound cannot equal upper bound");
          if (lo! < hi!) {
            if (v! < lo!) return 0;
            if (v! >= hi!) return count! + 1;
            return Math.floor((count! * (v! - lo!)) / (hi! - lo!)) + 1;
          }
          if (v! > lo!) return 0;
          if (v! <= hi!) return count! + 1;
          return Math.floor((count! * (lo! - v!)) / (lo! - hi!)) + 1;
        },
      }
      : undefined,
);

define("ascii", (types) =>
  types.length === 1
    ? {
      args: [t.text],
      result: t.int4,
      strict: true,
      fn: ([s]) => (s as string).codePointAt(0) ?? 0,
    }
    : undefined);

define("chr", (types) =>
  types.length === 1
    ? {
      args: [t.int4],
      result: t.text,
      strict: true,
      fn: ([n]) => {
        if ((n as number) <= 0) throw new DataError("54000", "requested character too large");
        return String.fromCodePoint(n as number);
      },
    }
    : undefined);

define("make_date", (types) =>
  types.length === 3
    ? {
      args: [t.int4, t.int4, t.int4],
      result: t.date,
      strict: true,
      fn: ([y, m, d]) => {
        const [year, month, day] = [y, m, d] as number[];
        if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth(year!, month!)) {
          throw new DataError(
            "22008",
            `date field value out of range: ${year}-${pad2(month!)}-${pad2(day!)}`,
          );
        }
        return daysFromDate(year!, month!, day!);
      },
    }
    : undefined);

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

define("pg_typeof", (types) =>
  types.length === 1
    ? {
      args: [types[0]!],
      result: t.regtype,
      strict: false,
      // A regtype value is the type's oid (printed as its name).
      fn: () => typeOid(isUnknown(types[0]!) ? t.unknown : types[0]!),
    }
    : undefined);

define("translate", (types) =>
  types.length === 3
    ? {
      args: [t.text, t.text, t.text],
      result: t.text,
      strict: true,
      fn: ([s, from, to]) => {
        const f = chars(from as string);
        const r = chars(to as string);
        // Characters of `from` beyond the length of `to` are removed.
        return chars(s as string).map((c) => {
          const i = f.indexOf(c);
          return i < 0 ? c : (r[i] ?? "");
        }).join("");
      },
    }
    : undefined);

define("starts_with", (types) =>
  types.length === 2
    ? {
      args: [t.text, t.text],
      result: t.bool,
      strict: true,
      fn: ([s, prefix]) => (s as string).startsWith(prefix as string),
    }
    : undefined);

define(
  "to_hex",
  (types) =>
    types.length === 1 && (types[0]!.id === TypeId.bigint || isUnknown(types[0]!) ||
        types[0]!.id === TypeId.integer || types[0]!.id === TypeId.smallint)
      ? {
        args: [types[0]!.id === TypeId.bigint ? t.int8 : t.int4],
        result: t.text,
        strict: true,
        // Two's complement for negatives, as PostgreSQL prints them.
        fn: ([v]) =>
          typeof v === "bigint"
            ? BigInt.asUintN(64, v).toString(16)
            : ((v as number) >>> 0).toString(16),
      }
      : undefined,
);

define("quote_literal", (types) =>
  types.length === 1
    ? {
      args: [t.text],
      result: t.text,
      strict: true,
      fn: ([s]) => {
        const text = s as string;
        const body = text.replace(/'/g, "''");
        // A literal with backslashes is written E'…' with them doubled.
        return text.includes("\\") ? `E'${body.replace(/\\/g, "\\\\")}'` : `'${body}'`;
      },
    }
    : undefined);

define("quote_ident", (types) =>
  types.length === 1
    ? {
      args: [t.text],
      result: t.text,
      strict: true,
      fn: ([s]) => {
        const text = s as string;
        return /^[a-z_][a-z0-9_$]*$/.test(text) ? text : `"${text.replace(/"/g, '""')}"`;
      },
    }
    : undefined);
