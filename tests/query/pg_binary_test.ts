import assert from "node:assert/strict";
import {
  decodeBinary,
  decodeNumericBinary,
  encodeBinary,
  encodeNumericBinary,
} from "../../query/pg_binary.ts";
import { t } from "../../query/sql_types.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// Expected bytes are PostgreSQL 15's numeric_send() of the same values.
Deno.test("numeric binary form matches PostgreSQL's numeric_send and round-trips", () => {
  const cases: [string, string][] = [
    ["123.45", "0002000000000002007b1194"],
    ["0", "0000000000000000"],
    ["-0.0001", "0001ffff400000040001"],
    ["10000", "00010001000000000001"],
    ["1.5", "000200000000000100011388"],
    ["12345678.9", "000300010000000104d2162e2328"],
    ["0.00", "0000000000000002"],
    ["NaN", "00000000c0000000"],
    ["100000000", "00010002000000000001"],
  ];
  for (const [text, bytes] of cases) {
    assert.equal(hex(encodeNumericBinary(text)), bytes, text);
    assert.equal(decodeNumericBinary(encodeNumericBinary(text)), text, text);
  }
});

Deno.test("binary forms of integers, floats, booleans, dates, timestamps and intervals round-trip", () => {
  const values: [unknown, keyof typeof t][] = [
    [-12, "int2"],
    [123456789, "int4"],
    [-(2n ** 62n), "int8"],
    [1.5, "float4"],
    [Math.PI, "float8"],
    [true, "bool"],
    ["héllo", "text"],
    [new Uint8Array([0, 255]), "bytea"],
    [-365, "date"],
    [Infinity, "date"],
    [8.5e14, "timestamptz"],
    [{ micros: -5, days: 3, months: 14 }, "interval"],
  ];
  for (const [value, type] of values) {
    const encoded = encodeBinary(value as never, t[type])!;
    assert.deepEqual(decodeBinary(encoded, t[type]), value, type);
  }
  assert.equal(hex(encodeBinary(1, t.int4)!), "00000001");
  assert.throws(
    () => decodeBinary(new Uint8Array(3), t.int4),
    (e: Error & { sqlState?: string }) => e.sqlState === "22P03",
  );
});
