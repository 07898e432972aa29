/**
 * Aggregate functions with PostgreSQL's result types: count → bigint; sum(int2/int4) →
 * bigint, sum(int8/numeric) → numeric, sum(float) → float; avg(integers/numeric) → numeric,
 * avg(float) → float8; min/max keep the type; string_agg → text; array_agg → array;
 * bool_and/bool_or → boolean. NULL inputs are skipped; an aggregate over no rows is NULL
 * (count is 0). DISTINCT is applied by the executor before `step`.
 */
import { type SqlValue, TypeId } from "../dbengine/types.ts";
import { checkInt8 } from "./casts.ts";
import { numericAdd, numericAvg, numericFromBigint } from "./numeric.ts";
import { comparator } from "./operators.ts";
import { DataError } from "./pg_text.ts";
import { arrayOf, isNumeric, isText, isUnknown, type SqlType, t, typeName } from "./sql_types.ts";

/** An aggregate's state machine; `state` is whatever `init` returns. */
export interface Aggregate {
  /** Argument types after casts. */
  args: SqlType[];
  result: SqlType;
  init(): unknown;
  /** Adds one row's (non-NULL, unless `acceptsNulls`) arguments. Returns the new state. */
  step(state: unknown, args: SqlValue[]): unknown;
  final(state: unknown): SqlValue;
  /** count(*) and array_agg see NULLs; the others skip rows with a NULL argument. */
  acceptsNulls: boolean;
}

/** Names of the aggregate functions. */
export const aggregateNames: ReadonlySet<string> = new Set([
  "count",
  "sum",
  "avg",
  "min",
  "max",
  "string_agg",
  "array_agg",
  "bool_and",
  "bool_or",
  "every",
]);

/** Resolves an aggregate; `star` for count(*). Throws 42883 for unsupported types. */
export function resolveAggregate(name: string, types: SqlType[], star = false): Aggregate {
  const n = name.toLowerCase();
  const arg = types[0] ?? t.unknown;
  const fail = () =>
    new DataError(
      "42883",
      `function ${n}(${types.map((type) => typeName(type)).join(", ")}) does not exist`,
    );
  // An untyped literal matches several sum/avg/min/max signatures: 42725.
  if (["sum", "avg", "min", "max"].includes(n) && types.length === 1 && isUnknown(arg)) {
    throw new DataError("42725", `function ${n}(unknown) is not unique`);
  }
  switch (n) {
    case "count":
      if (!star && types.length !== 1) throw fail();
      return {
        args: star ? [] : [arg],
        result: t.int8,
        acceptsNulls: star,
        init: () => 0n,
        step: (s) => (s as bigint) + 1n,
        final: (s) => s as bigint,
      };
    case "sum": {
      if (arg.id === TypeId.smallint || arg.id === TypeId.integer) {
        return {
          args: [arg],
          result: t.int8,
          acceptsNulls: false,
          init: () => null,
          step: (s, [v]) => checkInt8(((s as bigint | null) ?? 0n) + BigInt(v as number)),
          final: (s) => s as bigint | null,
        };
      }
      if (arg.id === TypeId.bigint || arg.id === TypeId.numeric) {
        const type = isUnknown(arg) ? t.numeric : arg;
        return {
          args: [type],
          result: t.numeric,
          acceptsNulls: false,
          init: () => null,
          step: (s, [v]) => {
            const value = type.id === TypeId.bigint ? numericFromBigint(v as bigint) : v as string;
            return s === null ? value : numericAdd(s as string, value);
          },
          final: (s) => s as string | null,
        };
      }
      if (arg.id === TypeId.real || arg.id === TypeId.double) {
        return {
          args: [arg],
          result: arg,
          acceptsNulls: false,
          init: () => null,
          step: (s, [v]) => ((s as number | null) ?? 0) + (v as number),
          final: (s) =>
            s === null ? null : arg.id === TypeId.real ? Math.fround(s as number) : s as number,
        };
      }
      if (arg.id === TypeId.interval) {
        return {
          args: [arg],
          result: t.interval,
          acceptsNulls: false,
          init: () => null,
          step: (s, [v]) => {
            const a = (s ?? { months: 0, days: 0, micros: 0 }) as {
              months: number;
              days: number;
              micros: number;
            };
            const b = v as typeof a;
            return {
              months: a.months + b.months,
              days: a.days + b.days,
              micros: a.micros + b.micros,
            };
          },
          final: (s) => s as SqlValue,
        };
      }
      throw fail();
    }
    case "avg": {
      if (arg.id === TypeId.real || arg.id === TypeId.double) {
        return {
          args: [t.float8],
          result: t.float8,
          acceptsNulls: false,
          init: () => ({ sum: 0, count: 0 }),
          step: (s, [v]) => {
            const state = s as { sum: number; count: number };
            return { sum: state.sum + (v as number), count: state.count + 1 };
          },
          final: (s) => {
            const state = s as { sum: number; count: number };
            return state.count === 0 ? null : state.sum / state.count;
          },
        };
      }
      if (isNumeric(arg) || isUnknown(arg)) {
        const type = isUnknown(arg) ? t.numeric : arg;
        return {
          args: [type],
          result: t.numeric,
          acceptsNulls: false,
          init: () => ({ sum: "0", count: 0n }),
          step: (s, [v]) => {
            const state = s as { sum: string; count: bigint };
            const value = type.id === TypeId.numeric
              ? v as string
              : type.id === TypeId.bigint
              ? numericFromBigint(v as bigint)
              : String(v);
            return { sum: numericAdd(state.sum, value), count: state.count + 1n };
          },
          final: (s) => {
            const state = s as { sum: string; count: bigint };
            return state.count === 0n ? null : numericAvg(state.sum, state.count);
          },
        };
      }
      throw fail();
    }
    case "min":
    case "max": {
      if (isUnknown(arg) || arg.id === TypeId.boolean || types.length !== 1) throw fail();
      const type = isText(arg) && arg.id !== TypeId.char ? t.text : arg;
      const order = comparator(type);
      const better = n === "min" ? (c: number) => c < 0 : (c: number) => c > 0;
      return {
        args: [type],
        result: type,
        acceptsNulls: false,
        init: () => null,
        step: (s, [v]) => (s === null || better(order(v!, s as SqlValue)) ? v : s),
        final: (s) => s as SqlValue,
      };
    }
    case "string_agg":
      if (types.length !== 2) throw fail();
      return {
        args: [t.text, t.text],
        result: t.text,
        acceptsNulls: true,
        init: () => null,
        step: (s, [v, separator]) => {
          if (v === null) return s;
          if (s === null) return String(v);
          return `${s}${separator ?? ""}${v}`;
        },
        final: (s) => s as string | null,
      };
    case "array_agg":
      return {
        args: [isUnknown(arg) ? t.text : arg],
        result: arrayOf(isUnknown(arg) ? t.text : arg),
        acceptsNulls: true,
        init: () => null,
        step: (s, [v]) => {
          const list = (s as SqlValue[] | null) ?? [];
          list.push(v ?? null);
          return list;
        },
        final: (s) => s as unknown as SqlValue,
      };
    case "bool_and":
    case "every":
    case "bool_or":
      if (arg.id !== TypeId.boolean && !isUnknown(arg)) throw fail();
      return {
        args: [t.bool],
        result: t.bool,
        acceptsNulls: false,
        init: () => null,
        step: (s, [v]) =>
          s === null
            ? v
            : n === "bool_or"
            ? (s as boolean) || (v as boolean)
            : (s as boolean) && (v as boolean),
        final: (s) => s as boolean | null,
      };
  }
  throw fail();
}
