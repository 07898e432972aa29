/**
 * Row encoding: the stored form of a table row (the value in its primary B+tree).
 *
 * | bytes          | field                                                     |
 * |----------------|-----------------------------------------------------------|
 * | 2              | column count n (u16 LE): rows written before an ADD COLUMN have fewer |
 * | ceil(n/8)      | null bitmap: bit i set = column i is NULL                 |
 * | …              | each non-NULL column in order, encoded by type:           |
 *
 * smallint i16, integer i32, bigint i64, real f32, double f64, boolean u8, date i32 (±Infinity
 * as i32 max/min), timestamp(tz) f64 microseconds (exact below 2^53, holds ±Infinity),
 * interval i32 months + i32 days + f64 microseconds; numeric, text, varchar, char and bytea a
 * LEB128 length then the UTF-8 (or raw) bytes. All little-endian.
 */
import { assert } from "../lib/assert.ts";
import { type ColumnType, type Interval, type SqlValue, TypeId } from "./types.ts";
import { decodeUtf8, encodeUtf8 } from "./utf8.ts";
const dateInfinity = 0x7fff_ffff;
const dateMinusInfinity = -0x8000_0000;

/** Builds rows into a growing scratch buffer; `finish()` returns a copy. */
export class RowWriter {
  #bytes = new Uint8Array(512);
  #view = new DataView(this.#bytes.buffer);
  #at = 0;

  #ensure(extra: number): void {
    if (this.#at + extra <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#at + extra));
    grown.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }

  #varint(value: number): void {
    this.#ensure(5);
    let v = value;
    while (v >= 0x80) {
      this.#bytes[this.#at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#bytes[this.#at++] = v;
  }

  #raw(bytes: Uint8Array): void {
    this.#varint(bytes.length);
    this.#ensure(bytes.length);
    this.#bytes.set(bytes, this.#at);
    this.#at += bytes.length;
  }

  /** Encodes `values` (one per column of `types`). */
  encode(types: readonly ColumnType[], values: readonly SqlValue[]): Uint8Array {
    assert(values.length === types.length, "one value per column");
    const n = types.length;
    this.#at = 0;
    const bitmapBytes = (n + 7) >> 3;
    this.#ensure(2 + bitmapBytes);
    this.#view.setUint16(0, n, true);
    this.#bytes.fill(0, 2, 2 + bitmapBytes);
    this.#at = 2 + bitmapBytes;
    for (let i = 0; i < n; i++) {
      const value = values[i]!;
      if (value === null) {
        this.#bytes[2 + (i >> 3)]! |= 1 << (i & 7);
        continue;
      }
      this.#value(types[i]!.id, value);
    }
    return this.#bytes.slice(0, this.#at);
  }

  #value(type: number, value: SqlValue): void {
    switch (type) {
      case TypeId.smallint:
        this.#ensure(2);
        this.#view.setInt16(this.#at, value as number, true);
        this.#at += 2;
        return;
      case TypeId.integer:
        this.#ensure(4);
        this.#view.setInt32(this.#at, value as number, true);
        this.#at += 4;
        return;
      case TypeId.bigint:
        this.#ensure(8);
        this.#view.setBigInt64(this.#at, value as bigint, true);
        this.#at += 8;
        return;
      case TypeId.real:
        this.#ensure(4);
        this.#view.setFloat32(this.#at, value as number, true);
        this.#at += 4;
        return;
      case TypeId.double:
      case TypeId.timestamp:
      case TypeId.timestamptz:
        this.#ensure(8);
        this.#view.setFloat64(this.#at, value as number, true);
        this.#at += 8;
        return;
      case TypeId.boolean:
        this.#ensure(1);
        this.#bytes[this.#at++] = value ? 1 : 0;
        return;
      case TypeId.date: {
        const days = value as number;
        const stored = days === Infinity
          ? dateInfinity
          : days === -Infinity
          ? dateMinusInfinity
          : days;
        this.#ensure(4);
        this.#view.setInt32(this.#at, stored, true);
        this.#at += 4;
        return;
      }
      case TypeId.interval: {
        const interval = value as Interval;
        this.#ensure(16);
        this.#view.setInt32(this.#at, interval.months, true);
        this.#view.setInt32(this.#at + 4, interval.days, true);
        this.#view.setFloat64(this.#at + 8, interval.micros, true);
        this.#at += 16;
        return;
      }
      case TypeId.numeric:
      case TypeId.text:
      case TypeId.varchar:
      case TypeId.char:
        this.#raw(encodeUtf8(value as string));
        return;
      case TypeId.bytea:
        this.#raw(value as Uint8Array);
        return;
      default:
        assert(false, `no row encoding for type ${type}`);
    }
  }
}

/** Decodes a row for a table whose columns are `types`; columns added later read as `missing`. */
export function decodeRow(
  bytes: Uint8Array,
  types: readonly ColumnType[],
  missing: readonly SqlValue[] = [],
): SqlValue[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint16(0, true);
  assert(stored <= types.length, `row has ${stored} columns, table ${types.length}`);
  const out = new Array<SqlValue>(types.length);
  let at = 2 + ((stored + 7) >> 3);
  for (let i = 0; i < types.length; i++) {
    if (i >= stored) {
      out[i] = missing[i] ?? null;
      continue;
    }
    if (bytes[2 + (i >> 3)]! & (1 << (i & 7))) {
      out[i] = null;
      continue;
    }
    switch (types[i]!.id) {
      case TypeId.smallint:
        out[i] = view.getInt16(at, true);
        at += 2;
        break;
      case TypeId.integer:
        out[i] = view.getInt32(at, true);
        at += 4;
        break;
      case TypeId.bigint:
        out[i] = view.getBigInt64(at, true);
        at += 8;
        break;
      case TypeId.real:
        out[i] = view.getFloat32(at, true);
        at += 4;
        break;
      case TypeId.double:
      case TypeId.timestamp:
      case TypeId.timestamptz:
        out[i] = view.getFloat64(at, true);
        at += 8;
        break;
      case TypeId.boolean:
        out[i] = bytes[at++] === 1;
        break;
      case TypeId.date: {
        const days = view.getInt32(at, true);
        out[i] = days === dateInfinity ? Infinity : days === dateMinusInfinity ? -Infinity : days;
        at += 4;
        break;
      }
      case TypeId.interval:
        out[i] = {
          months: view.getInt32(at, true),
          days: view.getInt32(at + 4, true),
          micros: view.getFloat64(at + 8, true),
        };
        at += 16;
        break;
      default: {
        let length = 0;
        let shift = 1;
        for (;;) {
          const b = bytes[at++]!;
          length += (b & 0x7f) * shift;
          if (b < 0x80) break;
          shift *= 128;
        }
        const raw = bytes.subarray(at, at + length);
        at += length;
        out[i] = types[i]!.id === TypeId.bytea ? raw.slice() : decodeUtf8(raw);
      }
    }
  }
  assert(at === bytes.length, `row length ${bytes.length}, decoded ${at}`);
  return out;
}
