/**
 * PostgreSQL's text forms of values: output functions (what clients see with DateStyle ISO,
 * IntervalStyle postgres, extra_float_digits 1) and input functions (literals, COPY, text
 * parameters), with PostgreSQL's error codes and messages (22P02 invalid input syntax, 22003
 * out of range, 22001 too long, 22008 datetime field out of range).
 *
 * Time zones: the session TimeZone may be UTC/GMT or a fixed offset; named zones with DST
 * rules are not supported yet.
 */
import { Decimal } from "decimal.js";
import { ExoError } from "../lib/errors.ts";
import { type ColumnType, type Interval, type SqlValue, TypeId } from "../dbengine/types.ts";
import {
  dateFromDays,
  daysFromDate,
  isValidDate,
  microsPerDay,
  nowMicros,
  timestampFields,
  timestampFromFields,
} from "./datetime.ts";

/** A data error with a SQLSTATE (invalid input, out of range, …). */
export class DataError extends ExoError {
  override name = "DataError";
}

/** Names as PostgreSQL prints them in messages. */
export const typeNames: Record<number, string> = {
  [TypeId.smallint]: "smallint",
  [TypeId.integer]: "integer",
  [TypeId.bigint]: "bigint",
  [TypeId.real]: "real",
  [TypeId.double]: "double precision",
  [TypeId.numeric]: "numeric",
  [TypeId.text]: "text",
  [TypeId.varchar]: "character varying",
  [TypeId.char]: "character",
  [TypeId.boolean]: "boolean",
  [TypeId.date]: "date",
  [TypeId.timestamp]: "timestamp without time zone",
  [TypeId.timestamptz]: "timestamp with time zone",
  [TypeId.interval]: "interval",
  [TypeId.bytea]: "bytea",
};

function invalid(type: number, text: string): DataError {
  // Date/time input has its own class: 22007 invalid_datetime_format.
  const dateTime = type === TypeId.date || type === TypeId.timestamp ||
    type === TypeId.timestamptz || type === TypeId.interval;
  return new DataError(
    dateTime ? "22007" : "22P02",
    `invalid input syntax for type ${typeNames[type]}: "${text}"`,
  );
}

/** Session settings that change how values print and parse. */
export interface TextSettings {
  /** Offset of the session time zone east of UTC, in seconds. */
  timeZoneOffsetSeconds: number;
}

export const utcSettings: TextSettings = { timeZoneOffsetSeconds: 0 };

// ---------------------------------------------------------------- output

/** The text form of `value` of `type`, as PostgreSQL would send it. */
export function formatValue(
  value: SqlValue,
  type: ColumnType,
  settings: TextSettings = utcSettings,
): string | null {
  if (value === null) return null;
  switch (type.id) {
    case TypeId.smallint:
    case TypeId.integer:
      return String(value);
    case TypeId.bigint:
      return (value as bigint).toString();
    case TypeId.real:
      return formatFloat(value as number, true);
    case TypeId.double:
      return formatFloat(value as number, false);
    case TypeId.numeric:
    case TypeId.text:
    case TypeId.varchar:
    case TypeId.char:
      return value as string;
    case TypeId.boolean:
      return value ? "t" : "f";
    case TypeId.date:
      return formatDate(value as number);
    case TypeId.timestamp:
      return formatTimestamp(value as number, undefined);
    case TypeId.timestamptz:
      return formatTimestamp(value as number, settings.timeZoneOffsetSeconds);
    case TypeId.interval:
      return formatInterval(value as Interval);
    case TypeId.bytea:
      return formatBytea(value as Uint8Array);
    default:
      return String(value);
  }
}

/** Shortest round-trip form, PostgreSQL style: exponent when < -4 or ≥ 15 (6 for real). */
export function formatFloat(value: number, single: boolean): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  let exponential: string;
  if (single) {
    let precision = 1;
    while (precision < 9 && Math.fround(Number(value.toPrecision(precision))) !== value) {
      precision++;
    }
    exponential = Number(value.toPrecision(precision)).toExponential();
  } else {
    exponential = value.toExponential();
  }
  const [mantissa, exponentText] = exponential.split("e") as [string, string];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exponent < -4 || exponent >= (single ? 6 : 15)) {
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const sign = exponent < 0 ? "-" : "+";
    return `${negative ? "-" : ""}${body}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  let fixed: string;
  if (exponent >= 0) {
    fixed = digits.length > exponent + 1
      ? `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`
      : digits.padEnd(exponent + 1, "0");
  } else {
    fixed = `0.${"0".repeat(-exponent - 1)}${digits}`;
  }
  return negative ? `-${fixed}` : fixed;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function yearText(year: number): { text: string; bc: boolean } {
  return year <= 0 ? { text: pad(1 - year, 4), bc: true } : { text: pad(year, 4), bc: false };
}

export function formatDate(days: number): string {
  if (days === Infinity) return "infinity";
  if (days === -Infinity) return "-infinity";
  const { year, month, day } = dateFromDays(days);
  const y = yearText(year);
  return `${y.text}-${pad(month, 2)}-${pad(day, 2)}${y.bc ? " BC" : ""}`;
}

function fraction(micro: number): string {
  return micro === 0 ? "" : `.${pad(micro, 6).replace(/0+$/, "")}`;
}

/** Timestamps; `offsetSeconds` given for timestamptz (printed in that zone with its offset). */
export function formatTimestamp(micros: number, offsetSeconds: number | undefined): string {
  if (micros === Infinity) return "infinity";
  if (micros === -Infinity) return "-infinity";
  const local = micros + (offsetSeconds ?? 0) * 1_000_000;
  const f = timestampFields(local);
  const y = yearText(f.year);
  let out = `${y.text}-${pad(f.month, 2)}-${pad(f.day, 2)} ${pad(f.hour, 2)}:${pad(f.minute, 2)}:${
    pad(f.second, 2)
  }${fraction(f.micro)}`;
  if (offsetSeconds !== undefined) {
    const sign = offsetSeconds < 0 ? "-" : "+";
    const abs = Math.abs(offsetSeconds);
    out += `${sign}${pad(Math.floor(abs / 3600), 2)}`;
    const minutes = Math.floor((abs % 3600) / 60);
    if (minutes !== 0 || abs % 60 !== 0) out += `:${pad(minutes, 2)}`;
    if (abs % 60 !== 0) out += `:${pad(abs % 60, 2)}`;
  }
  return y.bc ? `${out} BC` : out;
}

/** IntervalStyle postgres, as PostgreSQL's EncodeInterval prints it. */
export function formatInterval(value: Interval): string {
  const parts: string[] = [];
  let isBefore = false;
  let isZero = true;
  const add = (amount: number, unit: string) => {
    if (amount === 0) return;
    parts.push(`${isBefore && amount > 0 ? "+" : ""}${amount} ${unit}${amount !== 1 ? "s" : ""}`);
    isBefore = amount < 0;
    isZero = false;
  };
  add(Math.trunc(value.months / 12), "year");
  add(value.months % 12, "mon");
  add(value.days, "day");
  const micros = value.micros;
  if (isZero || micros !== 0) {
    const minus = micros < 0;
    const abs = Math.abs(micros);
    const hours = Math.floor(abs / 3_600_000_000);
    const minutes = Math.floor((abs % 3_600_000_000) / 60_000_000);
    const seconds = Math.floor((abs % 60_000_000) / 1_000_000);
    const micro = abs % 1_000_000;
    const sign = minus ? "-" : isBefore ? "+" : "";
    parts.push(`${sign}${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}${fraction(micro)}`);
  }
  return parts.join(" ");
}

export function formatBytea(bytes: Uint8Array): string {
  let out = "\\x";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

// ---------------------------------------------------------------- input

const int16Range: [number, number] = [-32768, 32767];
const int32Range: [number, number] = [-2147483648, 2147483647];

/** Parses the text form of a value of `type` (input function); throws DataError. */
export function parseValue(
  text: string,
  type: ColumnType,
  settings: TextSettings = utcSettings,
): SqlValue {
  switch (type.id) {
    case TypeId.smallint:
      return parseInteger(text, type.id, int16Range);
    case TypeId.integer:
      return parseInteger(text, type.id, int32Range);
    case TypeId.bigint:
      return parseBigint(text);
    case TypeId.real:
    case TypeId.double:
      return parseFloat8(text, type.id);
    case TypeId.numeric:
      return parseNumeric(text, type.typmod);
    case TypeId.text:
      return text;
    case TypeId.varchar:
      return fitVarchar(text, type.typmod);
    case TypeId.char:
      return fitChar(text, type.typmod);
    case TypeId.boolean:
      return parseBoolean(text);
    case TypeId.date:
      return parseDate(text);
    case TypeId.timestamp:
      return parseTimestamp(text, undefined, type.id);
    case TypeId.timestamptz:
      return parseTimestamp(text, settings.timeZoneOffsetSeconds, type.id);
    case TypeId.interval:
      return parseInterval(text);
    case TypeId.bytea:
      return parseBytea(text);
    default:
      throw new DataError("0A000", `unsupported type ${type.id}`);
  }
}

function parseInteger(text: string, type: number, range: [number, number]): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) throw invalid(type, text);
  const n = Number(trimmed);
  if (n < range[0] || n > range[1]) {
    throw new DataError("22003", `value "${text}" is out of range for type ${typeNames[type]}`);
  }
  return n;
}

function parseBigint(text: string): bigint {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) throw invalid(TypeId.bigint, text);
  const n = BigInt(trimmed);
  if (n < -(2n ** 63n) || n > 2n ** 63n - 1n) {
    throw new DataError("22003", `value "${text}" is out of range for type bigint`);
  }
  return n;
}

function parseFloat8(text: string, type: number): number {
  const trimmed = text.trim().toLowerCase();
  const special: Record<string, number> = {
    "nan": NaN,
    "infinity": Infinity,
    "+infinity": Infinity,
    "-infinity": -Infinity,
    "inf": Infinity,
    "+inf": Infinity,
    "-inf": -Infinity,
  };
  if (trimmed in special) return special[trimmed]!;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(trimmed)) throw invalid(type, text);
  const n = Number(trimmed);
  if (!Number.isFinite(n) || (type === TypeId.real && !Number.isFinite(Math.fround(n)))) {
    throw new DataError("22003", `"${text}" is out of range for type ${typeNames[type]}`);
  }
  if (n === 0 && /[1-9]/.test(trimmed.split("e")[0]!)) {
    throw new DataError("22003", `"${text}" is out of range for type ${typeNames[type]}`);
  }
  return type === TypeId.real ? Math.fround(n) : n;
}

/** Numeric typmod: ((precision << 16) | scale) + 4, as PostgreSQL stores it; -1 for none. */
export function numericTypmod(precision: number, scale: number): number {
  return ((precision << 16) | (scale & 0xffff)) + 4;
}

/** Parses numeric text into its canonical form, applying the typmod's precision and scale. */
export function parseNumeric(text: string, typmod = -1): string {
  const trimmed = text.trim();
  const lower = trimmed.toLowerCase();
  if (lower === "nan") return "NaN";
  if (lower === "infinity" || lower === "+infinity" || lower === "inf") {
    return checkSpecial("Infinity", typmod, text);
  }
  if (lower === "-infinity" || lower === "-inf") return checkSpecial("-Infinity", typmod, text);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) throw invalid(TypeId.numeric, text);
  const value = new Decimal(trimmed);
  // Display scale: digits after the point as written (after an exponent shift), at least 0.
  const mantissa = trimmed.replace(/^[+-]/, "").split(/[eE]/)[0]!;
  const exponent = Number(trimmed.split(/[eE]/)[1] ?? "0");
  const written = mantissa.includes(".") ? mantissa.split(".")[1]!.length : 0;
  let scale = Math.max(0, written - exponent);
  let result = value;
  if (typmod >= 4) {
    const precision = ((typmod - 4) >> 16) & 0xffff;
    scale = (typmod - 4) & 0xffff;
    result = value.toDecimalPlaces(scale, Decimal.ROUND_HALF_UP);
    const integerDigits = result.abs().trunc().isZero()
      ? 0
      : result.abs().trunc().toFixed(0).length;
    if (integerDigits > precision - scale) {
      throw new DataError(
        "22003",
        `numeric field overflow`,
        {},
      );
    }
  }
  return canonicalNumeric(result, scale);
}

function checkSpecial(value: string, typmod: number, _text: string): string {
  if (typmod >= 4) throw new DataError("22003", "numeric field overflow");
  return value;
}

/** The canonical text of a decimal at a display scale (PostgreSQL prints -0 as 0). */
export function canonicalNumeric(value: Decimal, scale: number): string {
  const text = value.toFixed(scale, Decimal.ROUND_HALF_UP);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

function fitVarchar(text: string, typmod: number): string {
  const max = typmod >= 4 ? typmod - 4 : -1;
  if (max < 0 || [...text].length <= max) return text;
  const chars = [...text];
  if (chars.slice(max).every((c) => c === " ")) return chars.slice(0, max).join("");
  throw new DataError("22001", `value too long for type character varying(${max})`);
}

/** char(n): blank-padded to n. Without a typmod (bpchar) the text is kept as it is. */
function fitChar(text: string, typmod: number): string {
  if (typmod < 4) return text;
  const length = typmod - 4;
  const chars = [...text];
  if (chars.length > length) {
    if (chars.slice(length).every((c) => c === " ")) return chars.slice(0, length).join("");
    throw new DataError("22001", `value too long for type character(${length})`);
  }
  return text + " ".repeat(length - chars.length);
}

function parseBoolean(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t.length > 0) {
    if ("true".startsWith(t) || "yes".startsWith(t) || t === "on" || t === "1") return true;
    if ("false".startsWith(t) || "no".startsWith(t) || t === "off" || t === "of" || t === "0") {
      return false;
    }
  }
  throw invalid(TypeId.boolean, text);
}

const dateRegex = /^(\d{1,7})-(\d{1,2})-(\d{1,2})/;

function todayDays(): number {
  return Math.floor(nowMicros() / microsPerDay);
}

export function parseDate(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === "infinity" || t === "+infinity") return Infinity;
  if (t === "-infinity") return -Infinity;
  if (t === "epoch") return daysFromDate(1970, 1, 1);
  if (t === "today" || t === "now") return todayDays();
  if (t === "tomorrow") return todayDays() + 1;
  if (t === "yesterday") return todayDays() - 1;
  const parsed = parseDateTimeText(text, TypeId.date);
  return parsed.days;
}

/** Splits "YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]][zone][ BC]" (and M/D/Y dates). */
function parseDateTimeText(
  text: string,
  type: number,
): { days: number; micros: number; zoneSeconds: number | undefined } {
  let t = text.trim();
  let bc = false;
  if (/\s+bc$/i.test(t)) {
    bc = true;
    t = t.replace(/\s+bc$/i, "");
  } else t = t.replace(/\s+ad$/i, "");
  let year: number, month: number, day: number;
  let rest: string;
  const iso = dateRegex.exec(t);
  const mdy = /^(\d{1,2})\/(\d{1,2})\/(\d{1,7})/.exec(t);
  if (iso) {
    year = Number(iso[1]);
    month = Number(iso[2]);
    day = Number(iso[3]);
    rest = t.slice(iso[0].length);
  } else if (mdy) {
    month = Number(mdy[1]);
    day = Number(mdy[2]);
    year = Number(mdy[3]);
    rest = t.slice(mdy[0].length);
  } else throw invalid(type, text);
  if (bc) year = 1 - year;
  if (!isValidDate(year, month, day)) {
    throw new DataError("22008", `date/time field value out of range: "${text}"`);
  }
  let micros = 0;
  let zoneSeconds: number | undefined;
  rest = rest.trim().replace(/^t/i, "");
  if (rest.length > 0) {
    const time = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?\s*(.*)$/.exec(rest);
    if (!time) throw invalid(type, text);
    const hour = Number(time[1]);
    const minute = Number(time[2]);
    const second = Number(time[3] ?? "0");
    const micro = Number((time[4] ?? "").padEnd(6, "0"));
    if (
      hour > 24 || minute > 59 || second > 60 ||
      (hour === 24 && (minute > 0 || second > 0 || micro > 0))
    ) {
      throw new DataError("22008", `date/time field value out of range: "${text}"`);
    }
    micros = ((hour * 60 + minute) * 60 + second) * 1_000_000 + micro;
    const zone = (time[5] ?? "").trim();
    if (zone.length > 0) zoneSeconds = parseZone(zone, type, text);
  }
  return { days: daysFromDate(year, month, day), micros, zoneSeconds };
}

/** Parses a zone suffix: Z, UTC, GMT, ±HH, ±HH:MM, ±HHMM. Seconds east of UTC. */
export function parseZone(zone: string, type: number, text: string): number {
  const z = zone.toUpperCase();
  if (z === "Z" || z === "UTC" || z === "GMT" || z === "+00" || z === "-00") return 0;
  const m = /^([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$/.exec(z);
  if (!m) throw invalid(type, text);
  const seconds = Number(m[2]) * 3600 + Number(m[3] ?? "0") * 60 + Number(m[4] ?? "0");
  return m[1] === "-" ? -seconds : seconds;
}

export function parseTimestamp(
  text: string,
  sessionOffset: number | undefined,
  type: number,
): number {
  const t = text.trim().toLowerCase();
  if (t === "infinity" || t === "+infinity") return Infinity;
  if (t === "-infinity") return -Infinity;
  if (t === "epoch") return timestampFromFields(1970, 1, 1, 0, 0, 0, 0);
  if (t === "now") return nowMicros();
  if (t === "today" || t === "tomorrow" || t === "yesterday") {
    return parseDate(t) * microsPerDay - (sessionOffset ?? 0) * 1_000_000;
  }
  const parsed = parseDateTimeText(text, type);
  const local = parsed.days * microsPerDay + parsed.micros;
  if (sessionOffset === undefined) return local; // timestamp without time zone ignores a zone
  return local - (parsed.zoneSeconds ?? sessionOffset) * 1_000_000;
}

const intervalUnits: Record<string, { months?: number; days?: number; micros?: number }> = {
  microsecond: { micros: 1 },
  millisecond: { micros: 1000 },
  second: { micros: 1_000_000 },
  minute: { micros: 60_000_000 },
  hour: { micros: 3_600_000_000 },
  day: { days: 1 },
  week: { days: 7 },
  month: { months: 1 },
  year: { months: 12 },
  decade: { months: 120 },
  century: { months: 1200 },
  millennium: { months: 12000 },
};

const unitAliases: Record<string, string> = {
  us: "microsecond",
  usec: "microsecond",
  usecs: "microsecond",
  microseconds: "microsecond",
  ms: "millisecond",
  msec: "millisecond",
  msecs: "millisecond",
  milliseconds: "millisecond",
  s: "second",
  sec: "second",
  secs: "second",
  seconds: "second",
  m: "minute",
  min: "minute",
  mins: "minute",
  minutes: "minute",
  h: "hour",
  hr: "hour",
  hrs: "hour",
  hours: "hour",
  d: "day",
  days: "day",
  w: "week",
  weeks: "week",
  mon: "month",
  mons: "month",
  months: "month",
  y: "year",
  yr: "year",
  yrs: "year",
  years: "year",
  decades: "decade",
  centuries: "century",
  millennia: "millennium",
  millenniums: "millennium",
};

/** Parses PostgreSQL interval input (postgres style, SQL-style times, ISO 8601 P…). */
export function parseInterval(text: string): Interval {
  const t = text.trim().toLowerCase().replace(/^@\s*/, "");
  if (t.length === 0) throw invalid(TypeId.interval, text);
  if (t.startsWith("p")) return parseIsoInterval(t, text);
  let months = 0;
  let days = 0;
  let micros = 0;
  let ago = false;
  const tokens = t.split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === "ago") {
      ago = true;
      continue;
    }
    const time = /^([+-])?(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d+))?)?$/.exec(token);
    if (time) {
      const sign = time[1] === "-" ? -1 : 1;
      micros += sign *
        (((Number(time[2]) * 60 + Number(time[3])) * 60 + Number(time[4] ?? "0")) * 1_000_000 +
          Number((time[5] ?? "").slice(0, 6).padEnd(6, "0")));
      continue;
    }
    const number = /^([+-]?(?:\d+\.?\d*|\.\d+))([a-z]*)$/.exec(token);
    if (!number) throw invalid(TypeId.interval, text);
    let unitText = number[2]!;
    if (unitText === "") {
      unitText = tokens[i + 1] ?? "second";
      if (tokens[i + 1] !== undefined) i++;
    }
    const unitName = intervalUnits[unitText] ? unitText : unitAliases[unitText];
    const unit = unitName === undefined ? undefined : intervalUnits[unitName];
    if (unit === undefined) throw invalid(TypeId.interval, text);
    const amount = Number(number[1]);
    // Fractions spill into the next smaller field, as PostgreSQL does (a month is 30 days).
    if (unit.months) {
      const whole = Math.trunc(amount * unit.months);
      months += whole;
      const fractionDays = (amount * unit.months - whole) * 30;
      days += Math.trunc(fractionDays);
      micros += Math.round((fractionDays - Math.trunc(fractionDays)) * microsPerDay);
    } else if (unit.days) {
      const whole = Math.trunc(amount * unit.days);
      days += whole;
      micros += Math.round((amount * unit.days - whole) * microsPerDay);
    } else micros += Math.round(amount * unit.micros!);
  }
  const sign = ago ? -1 : 1;
  return { months: sign * months || 0, days: sign * days || 0, micros: sign * micros || 0 };
}

function parseIsoInterval(t: string, text: string): Interval {
  const m =
    /^p(?:(-?\d+(?:\.\d+)?)y)?(?:(-?\d+(?:\.\d+)?)m)?(?:(-?\d+(?:\.\d+)?)w)?(?:(-?\d+(?:\.\d+)?)d)?(?:t(?:(-?\d+(?:\.\d+)?)h)?(?:(-?\d+(?:\.\d+)?)m)?(?:(-?\d+(?:\.\d+)?)s)?)?$/
      .exec(t);
  if (!m || t === "p" || t.endsWith("t")) throw invalid(TypeId.interval, text);
  const n = (i: number) => Number(m[i] ?? "0");
  return {
    months: Math.trunc(n(1) * 12 + n(2)),
    days: Math.trunc(n(3) * 7 + n(4)),
    micros: Math.round(((n(5) * 60 + n(6)) * 60 + n(7)) * 1_000_000),
  };
}

function parseBytea(text: string): Uint8Array {
  if (text.startsWith("\\x")) {
    const hex = text.slice(2).replace(/\s+/g, "");
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw invalid(TypeId.bytea, text);
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return out;
  }
  // Escape format: backslash followed by three octal digits or a backslash.
  const out: number[] = [];
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x5c) {
      out.push(bytes[i]!);
      continue;
    }
    if (bytes[i + 1] === 0x5c) {
      out.push(0x5c);
      i++;
      continue;
    }
    const octal = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0, bytes[i + 3] ?? 0);
    if (!/^[0-3][0-7][0-7]$/.test(octal)) throw invalid(TypeId.bytea, text);
    out.push(parseInt(octal, 8));
    i += 3;
  }
  return Uint8Array.from(out);
}
