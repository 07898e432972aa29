import assert from "node:assert/strict";
import { compareKeys, encodeKeyComponent, KeyWriter } from "../../dbengine/key_codec.ts";
import { decodeRow, RowWriter } from "../../dbengine/row_codec.ts";
import { type ColumnType, type SqlValue, TypeId, type TypeIdValue } from "../../dbengine/types.ts";
import { Rng } from "../../lib/rng.ts";

const writer = new KeyWriter();
function key(type: TypeIdValue, value: SqlValue, descending = false): Uint8Array {
  writer.reset();
  encodeKeyComponent(writer, type, value, descending);
  return writer.finish();
}

/** Asserts that `values`, listed in SQL order, encode to strictly increasing keys. */
function assertOrdered(type: TypeIdValue, values: SqlValue[]) {
  for (let i = 1; i < values.length; i++) {
    const a = key(type, values[i - 1]!);
    const b = key(type, values[i]!);
    assert.ok(compareKeys(a, b) < 0, `${String(values[i - 1])} < ${String(values[i])}`);
    const da = key(type, values[i - 1]!, true);
    const db = key(type, values[i]!, true);
    assert.ok(
      compareKeys(da, db) > 0,
      `descending ${String(values[i - 1])} > ${String(values[i])}`,
    );
  }
}

Deno.test("integer keys sort numerically, NULL last", () => {
  assertOrdered(TypeId.smallint, [-32768, -1, 0, 1, 255, 256, 32767, null]);
  assertOrdered(TypeId.integer, [-2147483648, -65536, -1, 0, 1, 2147483647, null]);
  assertOrdered(TypeId.bigint, [-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, null]);
});

Deno.test("float keys sort numerically with NaN above Infinity, and -0 equals 0", () => {
  assertOrdered(TypeId.double, [
    -Infinity,
    -1e300,
    -1.5,
    -Number.MIN_VALUE,
    0,
    Number.MIN_VALUE,
    2.5,
    1e300,
    Infinity,
    NaN,
    null,
  ]);
  assert.deepEqual(key(TypeId.double, -0), key(TypeId.double, 0));
});

Deno.test("numeric keys sort by value across signs, exponents and scales", () => {
  assertOrdered(TypeId.numeric, [
    "-Infinity",
    "-1000",
    "-999.99",
    "-10",
    "-9.5",
    "-1",
    "-0.123",
    "-0.12",
    "-0.001",
    "0",
    "0.001",
    "0.12",
    "0.123",
    "1",
    "9.5",
    "10",
    "999.99",
    "1000",
    "1e40",
    "Infinity",
    "NaN",
    null,
  ]);
  assert.deepEqual(key(TypeId.numeric, "1.5"), key(TypeId.numeric, "1.500"));
  assert.deepEqual(key(TypeId.numeric, "0.00"), key(TypeId.numeric, "0"));
  assert.deepEqual(key(TypeId.numeric, "-012.30"), key(TypeId.numeric, "-12.3"));
});

Deno.test("numeric key order matches numeric order on random values", () => {
  const rng = new Rng(99);
  const values = Array.from({ length: 2000 }, () => {
    const sign = rng.nextInt(2) ? "-" : "";
    const int = String(rng.nextInt(100000)).slice(0, 1 + rng.nextInt(5));
    const frac = String(rng.nextInt(100000)).padStart(5, "0").slice(0, rng.nextInt(6));
    return `${sign}${int}${frac ? "." + frac : ""}`;
  });
  const byKey = [...values].sort((a, b) =>
    compareKeys(key(TypeId.numeric, a), key(TypeId.numeric, b))
  );
  for (let i = 1; i < byKey.length; i++) {
    assert.ok(Number(byKey[i - 1]) <= Number(byKey[i]), `${byKey[i - 1]} before ${byKey[i]}`);
  }
});

Deno.test("text and bytea keys sort bytewise, prefixes first, NULs escaped", () => {
  assertOrdered(TypeId.text, ["", "a", "a\u0000", "a\u0000b", "ab", "b", "é", "日本", null]);
  assertOrdered(TypeId.bytea, [
    new Uint8Array([]),
    new Uint8Array([0]),
    new Uint8Array([0, 0]),
    new Uint8Array([0, 1]),
    new Uint8Array([1]),
    new Uint8Array([255]),
  ]);
  assert.deepEqual(key(TypeId.char, "ab   "), key(TypeId.char, "ab"));
});

Deno.test("dates, timestamps, intervals and booleans sort by their value", () => {
  assertOrdered(TypeId.boolean, [false, true, null]);
  assertOrdered(TypeId.date, [-Infinity, -730000, -1, 0, 1, 9000, Infinity, null]);
  assertOrdered(TypeId.timestamptz, [-Infinity, -1e15, -1, 0, 1, 8e14, Infinity]);
  assertOrdered(TypeId.interval, [
    { months: -1, days: 0, micros: 0 },
    { months: 0, days: -1, micros: 0 },
    { months: 0, days: 0, micros: 0 },
    { months: 0, days: 0, micros: 1 },
    { months: 0, days: 1, micros: 0 },
    { months: 1, days: 0, micros: 1 },
    { months: 12, days: 0, micros: 0 },
  ]);
  assert.deepEqual(
    key(TypeId.interval, { months: 1, days: 0, micros: 0 }),
    key(TypeId.interval, { months: 0, days: 30, micros: 0 }),
  );
});

Deno.test("composite keys order by first column, then second", () => {
  const composite = (a: number, b: string | null) => {
    writer.reset();
    encodeKeyComponent(writer, TypeId.integer, a);
    encodeKeyComponent(writer, TypeId.text, b);
    return writer.finish();
  };
  const ordered = [
    composite(1, "a"),
    composite(1, "ab"),
    composite(1, "b"),
    composite(1, null),
    composite(2, ""),
    composite(2, "a"),
  ];
  for (let i = 1; i < ordered.length; i++) {
    assert.ok(compareKeys(ordered[i - 1]!, ordered[i]!) < 0, `pair ${i}`);
  }
});

Deno.test("rows round-trip every type, NULLs, and columns added later", () => {
  const types: ColumnType[] = [
    TypeId.smallint,
    TypeId.integer,
    TypeId.bigint,
    TypeId.real,
    TypeId.double,
    TypeId.numeric,
    TypeId.text,
    TypeId.varchar,
    TypeId.char,
    TypeId.boolean,
    TypeId.date,
    TypeId.timestamp,
    TypeId.timestamptz,
    TypeId.interval,
    TypeId.bytea,
  ].map((id) => ({ id, typmod: -1 }));
  const values: SqlValue[] = [
    -12,
    123456789,
    -(2n ** 62n),
    1.5,
    Math.PI,
    "-12345678901234567890.000123",
    "héllo\u0000",
    "v",
    "c   ",
    true,
    -Infinity,
    7.5e14,
    -1,
    { months: 14, days: -3, micros: 3_600_000_001 },
    new Uint8Array([0, 1, 255]),
  ];
  const row = new RowWriter().encode(types, values);
  assert.deepEqual(decodeRow(row, types), values);
  const nulls = values.map((v, i) => (i % 2 ? null : v));
  assert.deepEqual(decodeRow(new RowWriter().encode(types, nulls), types), nulls);
  const widened = [...types, { id: TypeId.integer, typmod: -1 }, { id: TypeId.text, typmod: -1 }];
  assert.deepEqual(decodeRow(row, widened, [...values.map(() => null), 42, null]), [
    ...values,
    42,
    null,
  ]);
  const long = "x".repeat(100_000);
  const big = new RowWriter().encode([{ id: TypeId.text, typmod: -1 }], [long]);
  assert.equal(decodeRow(big, [{ id: TypeId.text, typmod: -1 }])[0], long);
});
