import assert from "node:assert/strict";
import { TypeId } from "../../dbengine/types.ts";
import {
  DataError,
  formatDate,
  formatFloat,
  formatInterval,
  formatTimestamp,
  formatValue,
  numericTypmod,
  parseInterval,
  parseValue,
} from "../../query/pg_text.ts";
import { daysFromDate, timestampFromFields } from "../../query/datetime.ts";

const t = (id: number, typmod = -1) => ({ id, typmod }) as Parameters<typeof parseValue>[1];

Deno.test("floats print like PostgreSQL with extra_float_digits = 1", () => {
  const cases: [number, boolean, string][] = [
    [0.1, false, "0.1"],
    [1e15, false, "1e+15"],
    [123456789012345, false, "123456789012345"],
    [1e-5, false, "1e-05"],
    [0.0001, false, "0.0001"],
    [1.5e300, false, "1.5e+300"],
    [-2.5, false, "-2.5"],
    [100, false, "100"],
    [Math.fround(3.14159), true, "3.14159"],
    [1e6, true, "1e+06"],
    [123456, true, "123456"],
    [Math.fround(0.1), true, "0.1"],
    [NaN, false, "NaN"],
    [-Infinity, false, "-Infinity"],
    [-0, false, "-0"],
    [1 / 3, false, "0.3333333333333333"],
    [2 ** 60, false, "1.152921504606847e+18"],
  ];
  for (const [value, single, text] of cases) {
    assert.equal(formatFloat(value, single), text, `${value}`);
  }
});

Deno.test("dates, timestamps and intervals print in ISO / postgres style", () => {
  assert.equal(formatDate(0), "2000-01-01");
  assert.equal(formatDate(daysFromDate(1999, 12, 31)), "1999-12-31");
  assert.equal(formatDate(daysFromDate(0, 1, 1)), "0001-01-01 BC");
  assert.equal(formatDate(Infinity), "infinity");
  const ts = timestampFromFields(2024, 2, 29, 13, 5, 9, 120_000);
  assert.equal(formatTimestamp(ts, undefined), "2024-02-29 13:05:09.12");
  assert.equal(formatTimestamp(ts, 0), "2024-02-29 13:05:09.12+00");
  assert.equal(formatTimestamp(ts, 19800), "2024-02-29 18:35:09.12+05:30");
  const iv = (months: number, days: number, micros: number) =>
    formatInterval({ months, days, micros });
  assert.equal(iv(14, 3, ((4 * 60 + 5) * 60 + 6.5) * 1e6), "1 year 2 mons 3 days 04:05:06.5");
  assert.equal(iv(0, -1, 0), "-1 days");
  assert.equal(iv(0, -1, 7_200_000_000), "-1 days +02:00:00");
  assert.equal(iv(0, 1, -7_200_000_000), "1 day -02:00:00");
  assert.equal(iv(0, 0, 0), "00:00:00");
  assert.equal(iv(1, 0, 0), "1 mon");
  assert.equal(iv(-13, 0, 0), "-1 years -1 mons");
  assert.equal(formatValue(new Uint8Array([0, 171, 255]), t(TypeId.bytea)), "\\x00abff");
  assert.equal(formatValue(true, t(TypeId.boolean)), "t");
});

Deno.test("input functions accept PostgreSQL's forms and reject the rest with its errors", () => {
  assert.equal(parseValue(" 42 ", t(TypeId.integer)), 42);
  assert.equal(parseValue("-9223372036854775808", t(TypeId.bigint)), -(2n ** 63n));
  assert.throws(
    () => parseValue("12a", t(TypeId.integer)),
    (e) =>
      e instanceof DataError && e.sqlState === "22P02" &&
      e.message === 'invalid input syntax for type integer: "12a"',
  );
  assert.throws(
    () => parseValue("2147483648", t(TypeId.integer)),
    (e) =>
      e instanceof DataError && e.sqlState === "22003" &&
      e.message === 'value "2147483648" is out of range for type integer',
  );
  assert.throws(
    () => parseValue("40000", t(TypeId.smallint)),
    (e) => e instanceof DataError && e.sqlState === "22003",
  );
  assert.equal(parseValue("1.50", t(TypeId.numeric)), "1.50");
  assert.equal(parseValue("1e3", t(TypeId.numeric)), "1000");
  assert.equal(parseValue("-0.000", t(TypeId.numeric)), "0.000");
  assert.equal(parseValue("123.456", t(TypeId.numeric, numericTypmod(5, 2))), "123.46");
  assert.throws(
    () => parseValue("1234.5", t(TypeId.numeric, numericTypmod(5, 2))),
    (e) => e instanceof DataError && e.sqlState === "22003",
  );
  assert.equal(parseValue("yes", t(TypeId.boolean)), true);
  assert.equal(parseValue("f", t(TypeId.boolean)), false);
  assert.throws(() => parseValue("maybe", t(TypeId.boolean)), DataError);
  assert.equal(parseValue("ab", t(TypeId.char, 4 + 4)), "ab  ");
  assert.throws(
    () => parseValue("abcdef", t(TypeId.varchar, 4 + 4)),
    (e) =>
      e instanceof DataError && e.sqlState === "22001" &&
      e.message === "value too long for type character varying(4)",
  );
  assert.equal(parseValue("abcd  ", t(TypeId.varchar, 4 + 4)), "abcd");
  assert.equal(parseValue("2024-02-29", t(TypeId.date)), daysFromDate(2024, 2, 29));
  assert.throws(
    () => parseValue("2023-02-29", t(TypeId.date)),
    (e) => e instanceof DataError && e.sqlState === "22008",
  );
  assert.equal(
    parseValue("2024-01-02 03:04:05.678", t(TypeId.timestamp)),
    timestampFromFields(2024, 1, 2, 3, 4, 5, 678_000),
  );
  assert.equal(
    parseValue("2024-01-02T03:04:05+02", t(TypeId.timestamptz)),
    timestampFromFields(2024, 1, 2, 1, 4, 5, 0),
  );
  assert.deepEqual(parseValue("\\x00ff", t(TypeId.bytea)), new Uint8Array([0, 255]));
  assert.deepEqual(parseValue("a\\\\b\\001", t(TypeId.bytea)), new Uint8Array([97, 92, 98, 1]));
});

Deno.test("interval input: units, fractions, clock times, ago and ISO 8601", () => {
  assert.deepEqual(parseInterval("1 day"), { months: 0, days: 1, micros: 0 });
  assert.deepEqual(parseInterval("1 year 2 mons 3 days 04:05:06.5"), {
    months: 14,
    days: 3,
    micros: 14_706_500_000,
  });
  assert.deepEqual(parseInterval("1.5 days"), { months: 0, days: 1, micros: 43_200_000_000 });
  assert.deepEqual(parseInterval("1.5 months"), { months: 1, days: 15, micros: 0 });
  assert.deepEqual(parseInterval("2 hours ago"), { months: 0, days: 0, micros: -7_200_000_000 });
  assert.deepEqual(parseInterval("P1Y2M3DT4H5M6S"), {
    months: 14,
    days: 3,
    micros: 14_706_000_000,
  });
  assert.deepEqual(parseInterval("10"), { months: 0, days: 0, micros: 10_000_000 });
  assert.throws(
    () => parseInterval("1 fortnight"),
    (e) => e instanceof DataError && e.sqlState === "22007",
  );
});
