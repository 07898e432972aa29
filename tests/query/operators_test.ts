import assert from "node:assert/strict";
import { negate, resolveBinary } from "../../query/operators.ts";
import { DataError, formatValue, parseValue } from "../../query/pg_text.ts";
import { t } from "../../query/sql_types.ts";
import type { SqlValue } from "../../dbengine/types.ts";
import type { SqlType } from "../../query/sql_types.ts";
import { storable } from "../../query/sql_types.ts";

/** Evaluates `a op b` from text literals of the given types and prints the result as PostgreSQL would. */
function evaluate(a: string, ta: SqlType, op: string, b: string, tb: SqlType): string | null {
  const resolved = resolveBinary(op, ta, tb);
  const x: SqlValue = parseValue(a, storable(resolved.left));
  const y: SqlValue = parseValue(b, storable(resolved.right));
  return formatValue(resolved.fn(x, y), storable(resolved.result));
}

// Expected texts are PostgreSQL 15's outputs for the same expressions (psql on this machine).
Deno.test("date, timestamp and interval arithmetic match PostgreSQL", () => {
  assert.equal(evaluate("2024-01-31", t.date, "+", "1 month", t.interval), "2024-02-29 00:00:00");
  assert.equal(
    evaluate("2024-02-29 10:00", t.timestamp, "+", "1 year 1 day", t.interval),
    "2025-03-01 10:00:00",
  );
  assert.equal(
    evaluate("2024-03-01", t.timestamp, "-", "2024-01-01 12:00", t.timestamp),
    "59 days 12:00:00",
  );
  assert.equal(evaluate("1 mon", t.interval, "*", "1.5", t.numeric), "1 mon 15 days");
  assert.equal(evaluate("1 day", t.interval, "/", "3", t.int4), "08:00:00");
  assert.equal(evaluate("2024-03-01", t.date, "-", "2024-01-01", t.date), "60");
  assert.equal(evaluate("2024-01-01", t.date, "+", "30", t.int4), "2024-01-31");
});

Deno.test("integer and numeric arithmetic match PostgreSQL, errors included", () => {
  assert.equal(evaluate("7", t.int4, "/", "2", t.int4), "3");
  assert.equal(evaluate("-7", t.int4, "/", "2", t.int4), "-3");
  assert.equal(evaluate("-7", t.int4, "%", "3", t.int4), "-1");
  assert.equal(evaluate("7.0", t.numeric, "/", "2", t.int4), "3.5000000000000000");
  assert.equal(evaluate("9223372036854775807", t.int8, "-", "1", t.int4), "9223372036854775806");
  assert.throws(
    () => evaluate("2147483647", t.int4, "+", "1", t.int4),
    (e) => e instanceof DataError && e.sqlState === "22003" && e.message === "integer out of range",
  );
  assert.throws(
    () => evaluate("1", t.int4, "/", "0", t.int4),
    (e) => e instanceof DataError && e.sqlState === "22012" && e.message === "division by zero",
  );
  assert.throws(
    () => evaluate("9223372036854775807", t.int8, "+", "1", t.int8),
    (e) => e instanceof DataError && e.message === "bigint out of range",
  );
  assert.equal(negate(t.int4)(5), -5);
  assert.throws(
    () => resolveBinary("+", t.bool, t.int4),
    (e) =>
      e instanceof DataError && e.sqlState === "42883" &&
      e.message === "operator does not exist: boolean + integer",
  );
});

Deno.test("comparisons: C collation, char ignores trailing blanks, unknown literals adopt the other type", () => {
  assert.equal(evaluate("a", t.text, "<", "B", t.text), "f");
  assert.equal(evaluate("abc  ", t.bpchar, "=", "abc", t.bpchar), "t");
  assert.equal(evaluate("10", t.int4, ">", "9", t.unknown), "t");
  assert.equal(evaluate("1.5", t.numeric, "=", "1.50", t.numeric), "t");
  assert.equal(evaluate("NaN", t.float8, ">", "Infinity", t.float8), "t");
});
