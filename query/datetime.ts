/**
 * Calendar arithmetic on PostgreSQL's representation: dates as days since 2000-01-01,
 * timestamps as microseconds since 2000-01-01 00:00:00 (UTC for timestamptz), proleptic
 * Gregorian calendar, ISO year numbering internally (year 0 = 1 BC), as PostgreSQL does.
 */

/** Julian day number of 2000-01-01 (PostgreSQL's POSTGRES_EPOCH_JDATE). */
export const epochJulianDay = 2451545;
export const microsPerSecond = 1_000_000;
export const microsPerDay = 86_400_000_000;

/** Julian day number of a Gregorian date (year may be ≤ 0: 0 = 1 BC). */
export function julianDay(year: number, month: number, day: number): number {
  // Fliegel & Van Flandern's integer algorithm, shifted so that months start in March.
  const a = Math.floor((14 - month) / 12);
  const y = year + 4800 - a;
  const m = month + 12 * a - 3;
  return day + Math.floor((153 * m + 2) / 5) + 365 * y + Math.floor(y / 4) - Math.floor(y / 100) +
    Math.floor(y / 400) - 32045;
}

/** The Gregorian date of a Julian day number. */
export function fromJulianDay(jd: number): { year: number; month: number; day: number } {
  const a = jd + 32044;
  const b = Math.floor((4 * a + 3) / 146097);
  const c = a - Math.floor((146097 * b) / 4);
  const d = Math.floor((4 * c + 3) / 1461);
  const e = c - Math.floor((1461 * d) / 4);
  const m = Math.floor((5 * e + 2) / 153);
  return {
    day: e - Math.floor((153 * m + 2) / 5) + 1,
    month: m + 3 - 12 * Math.floor(m / 10),
    year: 100 * b + d - 4800 + Math.floor(m / 10),
  };
}

/** Days since 2000-01-01 for a date. */
export function daysFromDate(year: number, month: number, day: number): number {
  return julianDay(year, month, day) - epochJulianDay;
}

/** The date of a day count. */
export function dateFromDays(days: number): { year: number; month: number; day: number } {
  return fromJulianDay(days + epochJulianDay);
}

/** True for a valid Gregorian date. */
export function isValidDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month);
}

export function daysInMonth(year: number, month: number): number {
  const lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (month === 2 && isLeapYear(year)) return 29;
  return lengths[month - 1]!;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Splits microseconds since the epoch into calendar fields (UTC). */
export function timestampFields(micros: number): {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
} {
  const days = Math.floor(micros / microsPerDay);
  let rest = micros - days * microsPerDay;
  const { year, month, day } = dateFromDays(days);
  const hour = Math.floor(rest / 3_600_000_000);
  rest -= hour * 3_600_000_000;
  const minute = Math.floor(rest / 60_000_000);
  rest -= minute * 60_000_000;
  const second = Math.floor(rest / microsPerSecond);
  const micro = rest - second * microsPerSecond;
  return { year, month, day, hour, minute, second, micro };
}

/** Microseconds since the epoch of calendar fields (UTC). */
export function timestampFromFields(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  micro: number,
): number {
  return daysFromDate(year, month, day) * microsPerDay + hour * 3_600_000_000 +
    minute * 60_000_000 +
    second * microsPerSecond + micro;
}

/** Microseconds since the epoch for a JavaScript time in milliseconds. */
export function timestampFromUnixMillis(millis: number): number {
  return Math.round(millis * 1000) - 946_684_800_000_000;
}

/** The current wall-clock time as microseconds since 2000-01-01 UTC. */
export function nowMicros(): number {
  return timestampFromUnixMillis(Date.now());
}
