import assert from "node:assert/strict";
import { type CallContext, resolveFunction } from "../../query/functions.ts";
import { formatValue, parseValue } from "../../query/pg_text.ts";
import { type SqlType, storable, t } from "../../query/sql_types.ts";

const ctx: CallContext = {
  transactionStartMicros: 0,
  statementStartMicros: 0,
  timeZoneOffsetSeconds: 0,
  random: Math.random,
};

/** Calls `name` on text literals of the given types; prints the result as PostgreSQL would. */
function call(name: string, args: [string, SqlType][]): string | null {
  const resolved = resolveFunction(name, args.map(([, type]) => type));
  const values = args.map(([text], i) => parseValue(text, storable(resolved.args[i]!)));
  return formatValue(resolved.fn(values, ctx), storable(resolved.result));
}

// Expected texts are PostgreSQL 15's outputs for the same calls (psql on this machine).
Deno.test("extract, age and date_trunc match PostgreSQL", () => {
  assert.equal(
    call("extract", [["epoch", t.text], ["2024-01-01 00:00:01.5", t.timestamp]]),
    "1704067201.500000",
  );
  assert.equal(call("extract", [["epoch", t.text], ["2024-01-01", t.date]]), "1704067200");
  assert.equal(
    call("extract", [["epoch", t.text], ["1 year 1 mon 1 day 1 second", t.interval]]),
    "34236001.000000",
  );
  assert.equal(call("extract", [["dow", t.text], ["2024-01-07", t.date]]), "0");
  assert.equal(call("extract", [["isodow", t.text], ["2024-01-07", t.date]]), "7");
  assert.equal(call("extract", [["week", t.text], ["2024-01-01", t.date]]), "1");
  assert.equal(call("extract", [["doy", t.text], ["2024-03-01", t.date]]), "61");
  assert.equal(
    call("extract", [["second", t.text], ["2024-01-01 00:00:01.5", t.timestamp]]),
    "1.500000",
  );
  assert.equal(call("extract", [["century", t.text], ["2000-01-01", t.date]]), "20");
  assert.equal(
    call("age", [["2024-03-01", t.timestamp], ["2023-01-31 12:00", t.timestamp]]),
    "1 year 1 mon 12:00:00",
  );
  assert.equal(
    call("date_trunc", [["week", t.text], ["2024-01-10 10:00", t.timestamp]]),
    "2024-01-08 00:00:00",
  );
  assert.equal(
    call("date_trunc", [["quarter", t.text], ["2024-05-10", t.timestamp]]),
    "2024-04-01 00:00:00",
  );
});

Deno.test("string and number functions match PostgreSQL", () => {
  assert.equal(call("lpad", [["ab", t.text], ["5", t.int4], ["xy", t.text]]), "xyxab");
  assert.equal(call("initcap", [["hello wORLD foo_bar", t.text]]), "Hello World Foo_Bar");
  assert.equal(call("split_part", [["a,b,c", t.text], [",", t.text], ["-1", t.int4]]), "c");
  assert.equal(call("md5", [["abc", t.text]]), "900150983cd24fb0d6963f7d28e17f72");
  assert.equal(call("round", [["2.5", t.float8]]), "2");
  assert.equal(call("round", [["3.5", t.float8]]), "4");
  assert.equal(call("round", [["2.5", t.numeric]]), "3");
  assert.equal(call("substring", [["hello", t.text], ["0", t.int4], ["3", t.int4]]), "he");
  assert.equal(call("length", [["héllo", t.text]]), "5");
  assert.equal(call("position", [["hello", t.text], ["ll", t.text]]), "3");
  assert.equal(call("btrim", [["xxhixx", t.text], ["x", t.text]]), "hi");
  assert.equal(call("replace", [["a-b-c", t.text], ["-", t.text], ["+", t.text]]), "a+b+c");
  assert.throws(
    () => resolveFunction("nosuch", [t.int4]),
    (e: Error & { sqlState?: string }) =>
      e.sqlState === "42883" && e.message === "function nosuch(integer) does not exist",
  );
});
