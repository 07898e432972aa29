/**
 * SQL types the storage engine stores, and how their values look in memory.
 *
 * | type                      | in-memory value                                          |
 * |---------------------------|----------------------------------------------------------|
 * | smallint, integer         | number (range-checked)                                   |
 * | bigint                    | bigint                                                   |
 * | real, double precision    | number (real is rounded to float32 when stored)          |
 * | numeric                   | string in canonical form ("-12.500", "NaN", "Infinity")  |
 * | text, varchar(n), char(n) | string (char(n) is stored blank-padded, as PostgreSQL)   |
 * | boolean                   | boolean                                                  |
 * | date                      | number: days since 2000-01-01 (±Infinity allowed)        |
 * | timestamp, timestamptz    | number: microseconds since 2000-01-01 00:00 UTC          |
 * | interval                  | {@link Interval}                                         |
 * | bytea                     | Uint8Array                                               |
 * | NULL                      | null                                                     |
 *
 * The epoch is PostgreSQL's (2000-01-01), so stored values match its binary wire format.
 */

/** Type identifiers. Values are on disk (row headers, catalog): never renumber, only add. */
export const TypeId = {
  smallint: 1,
  integer: 2,
  bigint: 3,
  real: 4,
  double: 5,
  numeric: 6,
  text: 7,
  varchar: 8,
  char: 9,
  boolean: 10,
  date: 11,
  timestamp: 12,
  timestamptz: 13,
  interval: 14,
  bytea: 15,
} as const;

/** A type identifier. */
export type TypeIdValue = (typeof TypeId)[keyof typeof TypeId];

/** An interval as PostgreSQL keeps it: months, days and microseconds, each with its own sign. */
export interface Interval {
  months: number;
  days: number;
  micros: number;
}

/** Any stored value. */
export type SqlValue =
  | null
  | number
  | bigint
  | string
  | boolean
  | Uint8Array
  | Interval;

/**
 * True when two stored values are the same value (bytes compared by content, intervals by
 * fields): the re-check that a row did not change since it was read.
 */
export function sameStoredValue(a: SqlValue, b: SqlValue): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}

/** A column's type with its modifier (the n of varchar(n)/char(n); -1 when none). */
export interface ColumnType {
  id: TypeIdValue;
  typmod: number;
}

/** PostgreSQL's ordering of intervals: a month is 30 days, a day 24 hours. */
export function intervalSpanMicros(value: Interval): bigint {
  const dayMicros = 86_400_000_000n;
  return BigInt(value.months) * 30n * dayMicros + BigInt(value.days) * dayMicros +
    BigInt(value.micros);
}
