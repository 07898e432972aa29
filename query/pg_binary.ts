/**
 * PostgreSQL's binary wire formats (format code 1) for the common types: send/recv functions.
 * All integers big-endian. int2/int4/int8, float4/float8, bool (one byte), text kinds (UTF-8
 * bytes), bytea (raw), date (int32 days since 2000-01-01), timestamp/timestamptz (int64
 * microseconds since 2000-01-01), interval (int64 microseconds, int32 days, int32 months),
 * numeric (base-10000 digits: ndigits, weight, sign, dscale, digits as int16).
 */
import { type Interval, type SqlValue, TypeId } from "../dbengine/types.ts";
import { decodeUtf8, encodeUtf8 } from "../dbengine/utf8.ts";
import { DataError } from "./pg_text.ts";
import { QueryTypeId, type SqlType } from "./sql_types.ts";

const dateInfinity = 0x7fff_ffff;
const dateMinusInfinity = -0x8000_0000;
const timestampInfinity = 0x7fff_ffff_ffff_ffffn;
const timestampMinusInfinity = -0x8000_0000_0000_0000n;

/** Encodes `value` of `type` in binary format; undefined when the type has no binary form here. */
export function encodeBinary(value: SqlValue, type: SqlType): Uint8Array | undefined {
  switch (type.id) {
    case TypeId.smallint: {
      const out = new Uint8Array(2);
      new DataView(out.buffer).setInt16(0, value as number);
      return out;
    }
    case TypeId.integer: {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setInt32(0, value as number);
      return out;
    }
    case QueryTypeId.oid: {
      // oidsend: an unsigned 32-bit integer (values arrive as numbers or their text).
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, Number(value));
      return out;
    }
    case TypeId.bigint: {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigInt64(0, value as bigint);
      return out;
    }
    case TypeId.real: {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setFloat32(0, value as number);
      return out;
    }
    case TypeId.double: {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setFloat64(0, value as number);
      return out;
    }
    case TypeId.boolean:
      return new Uint8Array([value ? 1 : 0]);
    case TypeId.text:
    case TypeId.varchar:
    case TypeId.char:
      return encodeUtf8(value as string);
    case TypeId.bytea:
      return value as Uint8Array;
    case TypeId.date: {
      const out = new Uint8Array(4);
      const days = value as number;
      new DataView(out.buffer).setInt32(
        0,
        days === Infinity ? dateInfinity : days === -Infinity ? dateMinusInfinity : days,
      );
      return out;
    }
    case TypeId.timestamp:
    case TypeId.timestamptz: {
      const out = new Uint8Array(8);
      const micros = value as number;
      new DataView(out.buffer).setBigInt64(
        0,
        micros === Infinity
          ? timestampInfinity
          : micros === -Infinity
          ? timestampMinusInfinity
          : BigInt(micros),
      );
      return out;
    }
    case TypeId.interval: {
      const out = new Uint8Array(16);
      const view = new DataView(out.buffer);
      const interval = value as Interval;
      view.setBigInt64(0, BigInt(interval.micros));
      view.setInt32(8, interval.days);
      view.setInt32(12, interval.months);
      return out;
    }
    case TypeId.numeric:
      return encodeNumericBinary(value as string);
  }
  return undefined;
}

/** Decodes a binary parameter of `type`; throws 22P03 on a malformed value. */
export function decodeBinary(bytes: Uint8Array, type: SqlType): SqlValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (length: number) => {
    if (bytes.length !== length) {
      throw new DataError(
        "22P03",
        `incorrect binary data format in bind parameter: expected ${length} bytes, got ${bytes.length}`,
      );
    }
  };
  switch (type.id) {
    case TypeId.smallint:
      need(2);
      return view.getInt16(0);
    case TypeId.integer:
      need(4);
      return view.getInt32(0);
    case TypeId.bigint:
      need(8);
      return view.getBigInt64(0);
    case TypeId.real:
      need(4);
      return view.getFloat32(0);
    case TypeId.double:
      need(8);
      return view.getFloat64(0);
    case TypeId.boolean:
      need(1);
      return bytes[0] !== 0;
    case TypeId.text:
    case TypeId.varchar:
    case TypeId.char:
      try {
        return decodeUtf8(bytes);
      } catch {
        throw new DataError("22021", 'invalid byte sequence for encoding "UTF8"');
      }
    case TypeId.bytea:
      return bytes.slice();
    case TypeId.date: {
      need(4);
      const days = view.getInt32(0);
      return days === dateInfinity ? Infinity : days === dateMinusInfinity ? -Infinity : days;
    }
    case TypeId.timestamp:
    case TypeId.timestamptz: {
      need(8);
      const micros = view.getBigInt64(0);
      return micros === timestampInfinity
        ? Infinity
        : micros === timestampMinusInfinity
        ? -Infinity
        : Number(micros);
    }
    case TypeId.interval:
      need(16);
      return {
        micros: Number(view.getBigInt64(0)),
        days: view.getInt32(8),
        months: view.getInt32(12),
      };
    case TypeId.numeric:
      return decodeNumericBinary(bytes);
  }
  throw new DataError("22P03", "binary format is not supported for this parameter type");
}

const numericPositive = 0x0000;
const numericNegative = 0x4000;
const numericNaN = 0xc000;
const numericPlusInfinity = 0xd000;
const numericMinusInfinity = 0xf000;

/** numeric → PostgreSQL's binary form (base-10000 digit groups aligned on the decimal point). */
export function encodeNumericBinary(text: string): Uint8Array {
  const header = (ndigits: number, weight: number, sign: number, dscale: number) => {
    const out = new Uint8Array(8 + ndigits * 2);
    const view = new DataView(out.buffer);
    view.setInt16(0, ndigits);
    view.setInt16(2, weight);
    view.setUint16(4, sign);
    view.setInt16(6, dscale);
    return out;
  };
  if (text === "NaN") return header(0, 0, numericNaN, 0);
  if (text === "Infinity") return header(0, 0, numericPlusInfinity, 0);
  if (text === "-Infinity") return header(0, 0, numericMinusInfinity, 0);
  const negative = text.startsWith("-");
  const [intPart = "0", fracPart = ""] = text.replace("-", "").split(".");
  const dscale = fracPart.length;
  // Pad the integer part on the left and the fraction on the right to whole 4-digit groups.
  const intDigits = intPart.replace(/^0+/, "");
  const intPadded = intDigits.padStart(Math.ceil(intDigits.length / 4) * 4, "0");
  const fracPadded = fracPart.padEnd(Math.ceil(fracPart.length / 4) * 4, "0");
  const groups: number[] = [];
  for (let i = 0; i < intPadded.length; i += 4) groups.push(Number(intPadded.slice(i, i + 4)));
  for (let i = 0; i < fracPadded.length; i += 4) groups.push(Number(fracPadded.slice(i, i + 4)));
  let weight = intPadded.length / 4 - 1;
  // Strip leading and trailing zero groups (PostgreSQL sends no zero digits at either end).
  while (groups.length > 0 && groups[0] === 0) {
    groups.shift();
    weight--;
  }
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  if (groups.length === 0) weight = 0;
  const out = header(
    groups.length,
    weight,
    negative && groups.length > 0 ? numericNegative : numericPositive,
    dscale,
  );
  const view = new DataView(out.buffer);
  groups.forEach((digit, i) => view.setInt16(8 + i * 2, digit));
  return out;
}

export function decodeNumericBinary(bytes: Uint8Array): string {
  if (bytes.length < 8) throw new DataError("22P03", "invalid numeric binary format");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ndigits = view.getInt16(0);
  const weight = view.getInt16(2);
  const sign = view.getUint16(4);
  const dscale = view.getInt16(6);
  if (ndigits < 0 || bytes.length !== 8 + ndigits * 2 || dscale < 0) {
    throw new DataError("22P03", "invalid numeric binary format");
  }
  if (sign === numericNaN) return "NaN";
  if (sign === numericPlusInfinity) return "Infinity";
  if (sign === numericMinusInfinity) return "-Infinity";
  if (sign !== numericPositive && sign !== numericNegative) {
    throw new DataError("22P03", "invalid sign in numeric value");
  }
  let intText = "";
  let fracText = "";
  for (let i = 0; i < ndigits; i++) {
    const digit = view.getInt16(8 + i * 2);
    if (digit < 0 || digit > 9999) throw new DataError("22P03", "invalid digit in numeric value");
    const group = String(digit).padStart(4, "0");
    if (weight - i >= 0) intText += group;
    else fracText += group;
  }
  // Groups between the last digit and the decimal point are zeros.
  for (let w = weight - ndigits; w >= 0; w--) intText += "0000";
  if (weight < -1) fracText = "0000".repeat(-weight - 1) + fracText;
  intText = intText.replace(/^0+/, "") || "0";
  fracText = fracText.padEnd(dscale, "0").slice(0, dscale);
  const text = dscale > 0 ? `${intText}.${fracText}` : intText;
  return sign === numericNegative && /[1-9]/.test(text) ? `-${text}` : text;
}
