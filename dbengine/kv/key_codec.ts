/**
 * Deno KV keys in the FoundationDB tuple layer encoding (see /work/shared/DENOKV.md §2). A key
 * is its encoded parts concatenated; each part is self-delimiting, so byte order (memcmp) of
 * encodings is key order: bytes < string < bigint < number < false < true.
 *
 * | part    | encoding                                                                   |
 * |---------|----------------------------------------------------------------------------|
 * | bytes   | 01, bytes with each 00 written 00 FF, 00                                   |
 * | string  | 02, UTF-8 escaped the same way, 00                                         |
 * | bigint  | 14 for zero; 14±n then magnitude (n ≤ 8, inverted when negative);           |
 * |         | 1D n m (positive) or 0B (n^FF) ~m (negative) for 9 ≤ n ≤ 255               |
 * | number  | 21, IEEE-754 BE bits: all inverted when negative, else sign bit flipped    |
 * | boolean | 26 false, 27 true                                                          |
 */

/** A key part, as Deno.KvKeyPart. */
export type KvKeyPart = Uint8Array | string | number | bigint | boolean;
/** A key, as Deno.KvKey. */
export type KvKey = readonly KvKeyPart[];

const tagBytes = 0x01;
const tagString = 0x02;
const tagNegLong = 0x0b;
const tagIntZero = 0x14;
const tagPosLong = 0x1d;
const tagNumber = 0x21;
const tagFalse = 0x26;
const tagTrue = 0x27;

const partTypeMessage = "expected string, number, bigint, ArrayBufferView, boolean";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Growable output buffer for one key. */
class KeyBytes {
  bytes = new Uint8Array(64);
  length = 0;

  ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  push(byte: number): void {
    this.ensure(1);
    this.bytes[this.length++] = byte;
  }

  /** Appends `data` with every 00 written as 00 FF (the escaping of bytes and strings). */
  pushEscaped(data: Uint8Array): void {
    this.ensure(data.length * 2);
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!;
      this.bytes[this.length++] = b;
      if (b === 0) this.bytes[this.length++] = 0xff;
    }
  }
}

const numberScratch = new DataView(new ArrayBuffer(8));

function encodeNumber(out: KeyBytes, value: number): void {
  out.ensure(9);
  out.bytes[out.length++] = tagNumber;
  numberScratch.setFloat64(0, value);
  if (Number.isNaN(value)) {
    // Canonical NaN keeping only its sign bit (V8 keeps a NaN's bits through setFloat64).
    const sign = numberScratch.getUint8(0) & 0x80;
    numberScratch.setUint32(0, sign === 0 ? 0x7ff80000 : 0xfff80000);
    numberScratch.setUint32(4, 0);
  }
  const negative = (numberScratch.getUint8(0) & 0x80) !== 0;
  for (let i = 0; i < 8; i++) {
    const b = numberScratch.getUint8(i);
    out.bytes[out.length++] = negative ? b ^ 0xff : i === 0 ? b ^ 0x80 : b;
  }
}

function magnitudeBytes(magnitude: bigint): Uint8Array {
  let hex = magnitude.toString(16);
  if (hex.length % 2 === 1) hex = "0" + hex;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function encodeBigint(out: KeyBytes, value: bigint): void {
  if (value === 0n) {
    out.push(tagIntZero);
    return;
  }
  const negative = value < 0n;
  const m = magnitudeBytes(negative ? -value : value);
  const n = m.length;
  if (n > 255) throw new TypeError("BigUint requires more than 255 bytes to be represented");
  out.ensure(n + 2);
  if (n <= 8) out.bytes[out.length++] = negative ? tagIntZero - n : tagIntZero + n;
  else {
    out.bytes[out.length++] = negative ? tagNegLong : tagPosLong;
    out.bytes[out.length++] = negative ? n ^ 0xff : n;
  }
  for (let i = 0; i < n; i++) out.bytes[out.length++] = negative ? m[i]! ^ 0xff : m[i]!;
}

/** Throws Deno's error for a key that is not an array. */
function describeType(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "object") return "object";
  return typeof value;
}

/** Checks that `key` is an array, with Deno's serde wording. */
export function assertKeyArray(key: unknown): asserts key is readonly unknown[] {
  if (!Array.isArray(key)) {
    throw new TypeError(`serde_v8 error: invalid type; expected: array, got: ${describeType(key)}`);
  }
}

/** The scratch buffer keys are encoded into (copied out at the end); see {@link encodeKey}. */
const scratch = new KeyBytes();
let scratchBusy = false;

/** Encodes a key; throws TypeError with Deno's messages for bad parts. */
export function encodeKey(key: unknown): Uint8Array {
  assertKeyArray(key);
  // One shared scratch buffer (no allocation but the result); a re-entrant call (a Proxy key
  // whose traps encode another key) gets its own.
  const out = scratchBusy ? new KeyBytes() : scratch;
  const owner = !scratchBusy;
  scratchBusy = true;
  out.length = 0;
  try {
    for (const part of key) encodePart(out, part);
    return out.bytes.slice(0, out.length);
  } finally {
    if (owner) scratchBusy = false;
  }
}

/** Appends a string part's UTF-8 bytes, escaped; plain ASCII without a TextEncoder call. */
function pushString(out: KeyBytes, part: string): void {
  const n = part.length;
  out.ensure(n * 2 + 1);
  const bytes = out.bytes;
  let at = out.length;
  for (let i = 0; i < n; i++) {
    const c = part.charCodeAt(i);
    if (c >= 0x80) {
      // Not ASCII: the general path from the start of this part (TextEncoder writes U+FFFD for a
      // lone surrogate, as Deno's conversion to a Rust String does).
      out.pushEscaped(encoder.encode(part));
      return;
    }
    bytes[at++] = c;
    if (c === 0) bytes[at++] = 0xff;
  }
  out.length = at;
}

/** Checks every part of `key` without keeping the encoding (Deno's argument conversion). */
export function validateKey(key: unknown): void {
  encodeKey(key);
}

function encodePart(out: KeyBytes, part: unknown): void {
  switch (typeof part) {
    case "string":
      out.push(tagString);
      pushString(out, part);
      out.push(0);
      return;
    case "number":
      encodeNumber(out, part);
      return;
    case "bigint":
      encodeBigint(out, part);
      return;
    case "boolean":
      out.push(part ? tagTrue : tagFalse);
      return;
    case "object":
      if (part !== null && ArrayBuffer.isView(part)) {
        out.push(tagBytes);
        out.pushEscaped(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
        out.push(0);
        return;
      }
  }
  throw new TypeError(partTypeMessage);
}

/** Reads an escaped byte string from `at` (after the tag) up to its closing 00. */
function readEscaped(bytes: Uint8Array, at: number): { data: Uint8Array; next: number } {
  // Fast path: no escaped 00 inside, so the data is a plain slice up to the terminator.
  let i = at;
  let escapes = 0;
  for (;;) {
    const b = bytes[i];
    if (b === undefined) throw new Error("invalid key: unterminated string");
    if (b === 0) {
      if (bytes[i + 1] === 0xff) {
        escapes++;
        i += 2;
        continue;
      }
      break;
    }
    i++;
  }
  if (escapes === 0) return { data: bytes.subarray(at, i), next: i + 1 };
  const data = new Uint8Array(i - at - escapes);
  let w = 0;
  for (let r = at; r < i; r++) {
    data[w++] = bytes[r]!;
    if (bytes[r] === 0) r++; // skip the FF of an escaped 00
  }
  return { data, next: i + 1 };
}

/** Decodes an encoded key back into its parts (bytes as Uint8Array). */
export function decodeKey(bytes: Uint8Array): KvKeyPart[] {
  const parts: KvKeyPart[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = bytes[at++]!;
    if (tag === tagBytes || tag === tagString) {
      const { data, next } = readEscaped(bytes, at);
      parts.push(tag === tagBytes ? data.slice() : decoder.decode(data));
      at = next;
    } else if (tag === tagNumber) {
      for (let i = 0; i < 8; i++) {
        const b = bytes[at + i]!;
        const negative = (bytes[at]! & 0x80) === 0;
        numberScratch.setUint8(i, negative ? b ^ 0xff : i === 0 ? b ^ 0x80 : b);
      }
      const number = numberScratch.getFloat64(0);
      parts.push(Number.isNaN(number) ? NaN : number); // every NaN reads back as plain NaN
      at += 8;
    } else if (tag === tagFalse || tag === tagTrue) {
      parts.push(tag === tagTrue);
    } else if (tag >= tagNegLong && tag <= tagPosLong) {
      let n: number;
      let negative: boolean;
      if (tag === tagPosLong) {
        n = bytes[at++]!;
        negative = false;
      } else if (tag === tagNegLong) {
        n = bytes[at++]! ^ 0xff;
        negative = true;
      } else {
        n = Math.abs(tag - tagIntZero);
        negative = tag < tagIntZero;
      }
      let magnitude = 0n;
      for (let i = 0; i < n; i++) {
        const b = bytes[at + i]!;
        magnitude = (magnitude << 8n) | BigInt(negative ? b ^ 0xff : b);
      }
      at += n;
      parts.push(negative ? -magnitude : magnitude);
    } else {
      throw new Error(`invalid key: unknown tag ${tag}`);
    }
  }
  return parts;
}

/** Byte-wise comparison of encoded keys (a prefix sorts first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** `bytes` followed by one more byte. */
export function withByte(bytes: Uint8Array, byte: number): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = byte;
  return out;
}
