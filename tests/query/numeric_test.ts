import assert from "node:assert/strict";
import {
  numericAdd,
  numericAvg,
  numericDiv,
  numericMod,
  numericMul,
  numericPower,
  numericRound,
  numericSqrt,
  numericSub,
  numericTrunc,
} from "../../query/numeric.ts";
import { DataError } from "../../query/pg_text.ts";

// Expected texts are PostgreSQL 15's own outputs for the same expressions (psql, this machine).
Deno.test("numeric arithmetic gives PostgreSQL's values and display scales", () => {
  const cases: [string, string][] = [
    [numericDiv("1", "3"), "0.33333333333333333333"],
    [numericDiv("2", "3"), "0.66666666666666666667"],
    [numericDiv("10", "4"), "2.5000000000000000"],
    [numericDiv("1.0", "3.0"), "0.33333333333333333333"],
    [numericMul("123.456", "2.5"), "308.6400"],
    [numericSub("1", "0.001"), "0.999"],
    [numericRound("2.5", 0), "3"],
    [numericRound("-2.5", 0), "-3"],
    [numericRound("1234.5678", -2), "1200"],
    [numericTrunc("1234.5678", 2), "1234.56"],
    [numericMod("7.5", "2"), "1.5"],
    [numericAvg("3", 2n), "1.5000000000000000"],
    [numericDiv("100000", "3"), "33333.333333333333"],
    [numericDiv("0.001", "7"), "0.00014285714285714286"],
    [numericDiv("12345678901234567890", "0.3"), "41152263004115226300.0"],
    [numericDiv("100000000000000000000", "7"), "14285714285714285714"],
    [numericAdd("1.5", "2.25"), "3.75"],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
  assert.throws(
    () => numericDiv("1", "0"),
    (e) => e instanceof DataError && e.sqlState === "22012",
  );
});

Deno.test("numeric sqrt and power keep at least 16 significant digits", () => {
  assert.equal(numericSqrt("2"), "1.414213562373095");
  assert.equal(numericSqrt("100"), "10.000000000000000");
  assert.equal(numericPower("2", "0.5"), "1.4142135623730950");
  assert.equal(numericPower("2", "10"), "1024.0000000000000000");
  assert.equal(numericPower("10", "-2"), "0.0100000000000000");
});
