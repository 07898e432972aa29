/**
 * The PostgreSQL protocol 3.0 codec: frontend messages decoded from socket bytes, backend
 * messages encoded into one growing buffer (a whole batch of responses is one socket write).
 * No semantics here: the session (kernel/) decides what the messages mean.
 *
 * Framing rules (PostgreSQL's pq_getmessage, and the startup packet's checks):
 * 1. The length field is checked before anything is buffered or allocated: a startup packet is
 *    8..10,000 bytes, a typed message 4..maxMessageBytes (default 64 MiB). A bad length is
 *    08P01 and the connection closes (framing is lost).
 * 2. Every string must end with a NUL inside its message; every count must match the bytes;
 *    no bytes may be left over. Violations are 08P01 with PostgreSQL's texts.
 * 3. Strings are decoded as UTF-8; bodies are views into the received bytes when a message
 *    arrived in one chunk (no copy), copies only when it spanned chunks.
 */
import { ExoError } from "../../lib/errors.ts";

/** A protocol violation: 08P01 (or 0A000 for an unsupported protocol version). */
export class ProtocolViolation extends ExoError {
  override name = "ProtocolViolation";
  /** True when the stream can no longer be framed and the connection must close. */
  readonly fatal: boolean;
  constructor(message: string, fatal: boolean, sqlState = "08P01") {
    super(sqlState, message);
    this.fatal = fatal;
  }
}

export const startupPacketBytesMax = 10_000;
export const protocolVersion3 = 196608; // 3 << 16
const sslRequestCode = 80877103;
const gssEncRequestCode = 80877104;
const cancelRequestCode = 80877102;

/** What a client sends before its startup completes. */
export type StartupMessage =
  | { kind: "startup"; version: number; parameters: Map<string, string> }
  | { kind: "sslRequest" }
  | { kind: "gssEncRequest" }
  | { kind: "cancel"; processId: number; secretKey: number };

/** What a client sends after startup. */
export type FrontendMessage =
  | { kind: "query"; sql: string }
  | { kind: "parse"; name: string; sql: string; paramTypes: number[] }
  | {
    kind: "bind";
    portal: string;
    statement: string;
    paramFormats: number[];
    params: (Uint8Array | null)[];
    resultFormats: number[];
  }
  | { kind: "describe"; target: "S" | "P"; name: string }
  | { kind: "execute"; portal: string; maxRows: number }
  | { kind: "sync" }
  | { kind: "flush" }
  | { kind: "close"; target: "S" | "P"; name: string }
  | { kind: "terminate" }
  | { kind: "copyData"; data: Uint8Array }
  | { kind: "copyDone" }
  | { kind: "copyFail"; message: string }
  | { kind: "password"; data: Uint8Array }
  | {
    kind: "functionCall";
    functionOid: number;
    argFormats: number[];
    args: (Uint8Array | null)[];
    resultFormat: number;
  };

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Strings up to this many bytes that are all ASCII are decoded and encoded in JS: Deno's
 * TextDecoder.decode and TextEncoder.encodeInto are a runtime op per call, which costs more than
 * the work for the short names, tags and values of a typical message.
 */
const asciiFastMax = 64;
/** Up to this many bytes a string is built one character at a time (names like `P0_1`). */
const asciiShortMax = 16;

/** Strict UTF-8 of `bytes[start, end)` (invalid bytes throw). */
function decodeRange(bytes: Uint8Array, start: number, end: number): string {
  if (end === start) return ""; // the unnamed statement and portal: most strings of a Bind
  if (end - start <= asciiShortMax) {
    // Built char by char: cheaper than a view plus fromCharCode.apply for a few bytes.
    let text = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) return decoder.decode(bytes.subarray(start, end));
      text += String.fromCharCode(c);
    }
    return text;
  }
  if (end - start <= asciiFastMax) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
    }
  }
  return decoder.decode(bytes.subarray(start, end));
}

/** Writes `text` as UTF-8 at `at` (room for 3 bytes per UTF-16 unit is ensured by the caller). */
function encodeAt(text: string, bytes: Uint8Array, at: number): number {
  const n = text.length;
  if (n <= asciiFastMax) {
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[at + i] = c;
    }
    if (i === n) return n;
  }
  return encoder.encodeInto(text, bytes.subarray(at)).written;
}

/**
 * Reads fields of one message body, `bytes[start, end)`, with the protocol's strictness. The
 * body is read in place (the decoder's chunk may hold further messages after `end`): integers
 * are assembled from bytes, no DataView, and nothing reads past `end`.
 */
class BodyReader {
  readonly #bytes: Uint8Array;
  readonly #end: number;
  #at: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#at = start;
    this.#end = end;
  }

  #need(n: number): void {
    if (this.#at + n > this.#end) {
      throw new ProtocolViolation("invalid message format", false);
    }
  }

  int16(): number {
    this.#need(2);
    const b = this.#bytes;
    const at = this.#at;
    this.#at = at + 2;
    return ((b[at]! << 8) | b[at + 1]!) << 16 >> 16; // signed
  }

  int32(): number {
    this.#need(4);
    const b = this.#bytes;
    const at = this.#at;
    this.#at = at + 4;
    return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
  }

  byte(): number {
    this.#need(1);
    return this.#bytes[this.#at++]!;
  }

  string(): string {
    const end = this.#bytes.indexOf(0, this.#at);
    // The terminator must lie inside this message (the chunk may go on with the next one).
    if (end < 0 || end >= this.#end) {
      throw new ProtocolViolation("invalid string in message", false);
    }
    let text: string;
    try {
      text = decodeRange(this.#bytes, this.#at, end);
    } catch {
      throw new ProtocolViolation('invalid byte sequence for encoding "UTF8"', false, "22021");
    }
    this.#at = end + 1;
    return text;
  }

  bytes(n: number): Uint8Array {
    if (n < 0) throw new ProtocolViolation("invalid message format", false);
    this.#need(n);
    const out = this.#bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  rest(): Uint8Array {
    const out = this.#bytes.subarray(this.#at, this.#end);
    this.#at = this.#end;
    return out;
  }

  end(): void {
    if (this.#at !== this.#end) {
      throw new ProtocolViolation("invalid message format", false);
    }
  }
}

/** Incremental decoder: push socket chunks, take whole messages. */
export class FrontendDecoder {
  readonly maxMessageBytes: number;
  #chunks: Uint8Array[] = [];
  /** Bytes of `#chunks[0]` already consumed (views are not re-cut per message). */
  #headOffset = 0;
  #buffered = 0;
  #started = false;
  #lastType = 0;

  constructor(maxMessageBytes = 64 * 1024 * 1024) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Adds bytes received from the socket. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Marks startup as done: from now on messages are typed. */
  startupDone(): void {
    this.#started = true;
  }

  /** The type byte of the last typed message framed (also when its body failed to decode). */
  get lastType(): string {
    return String.fromCharCode(this.#lastType);
  }

  /** The type byte of the next buffered typed message, if its first byte has arrived. */
  peekType(): string | undefined {
    if (!this.#started || this.#buffered === 0) return undefined;
    return String.fromCharCode(this.#peek(0, 1)[0]!);
  }

  /** Bytes received and not yet decoded. */
  get buffered(): number {
    return this.#buffered;
  }

  #peek(offset: number, length: number): Uint8Array {
    // Bytes [offset, offset+length) of the buffered stream; a view when inside one chunk.
    if (length === 0) return new Uint8Array(0);
    let skip = offset + this.#headOffset; // chunk 0 is consumed up to #headOffset
    for (let i = 0; i < this.#chunks.length; i++) {
      const chunk = this.#chunks[i]!;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      if (skip + length <= chunk.length) return chunk.subarray(skip, skip + length);
      const out = new Uint8Array(length);
      let copied = 0;
      for (let j = i; copied < length; j++) {
        const c = this.#chunks[j]!;
        const from = j === i ? skip : 0;
        const n = Math.min(length - copied, c.length - from);
        out.set(c.subarray(from, from + n), copied);
        copied += n;
      }
      return out;
    }
    throw new Error("peek past the buffered bytes");
  }

  #consume(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const left = this.#chunks[0]!.length - this.#headOffset;
      if (n >= left) {
        n -= left;
        this.#chunks.shift();
        this.#headOffset = 0;
      } else {
        this.#headOffset += n;
        n = 0;
      }
    }
  }

  /** The next startup-phase message, or undefined until more bytes arrive. */
  nextStartup(): StartupMessage | undefined {
    if (this.#buffered < 4) return undefined;
    const length = new DataView(this.#peek(0, 4).slice().buffer).getInt32(0);
    if (length < 8 || length > startupPacketBytesMax) {
      throw new ProtocolViolation("invalid length of startup packet", true);
    }
    if (this.#buffered < length) return undefined;
    const body = this.#peek(4, length - 4);
    this.#consume(length);
    const reader = new BodyReader(body);
    const code = reader.int32();
    if (code === sslRequestCode) return { kind: "sslRequest" };
    if (code === gssEncRequestCode) return { kind: "gssEncRequest" };
    if (code === cancelRequestCode) {
      const processId = reader.int32();
      const secretKey = reader.int32();
      return { kind: "cancel", processId, secretKey };
    }
    if (code >> 16 !== 3) {
      throw new ProtocolViolation(
        `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: server supports 3.0 to 3.0`,
        true,
        "0A000",
      );
    }
    const parameters = new Map<string, string>();
    for (;;) {
      const name = reader.string();
      if (name === "") break;
      parameters.set(name, reader.string());
    }
    reader.end();
    return { kind: "startup", version: code, parameters };
  }

  /** The next typed message, or undefined until more bytes arrive. */
  next(): FrontendMessage | undefined {
    if (!this.#started) throw new Error("typed messages only after startup");
    if (this.#buffered < 5) return undefined;
    const chunk = this.#chunks[0]!;
    const at = this.#headOffset;
    // The common case: the whole header (and usually the body) lies in the first chunk.
    const head = chunk.length - at >= 5 ? chunk : this.#peek(0, 5);
    const h = head === chunk ? at : 0;
    const type = head[h]!;
    const length = (head[h + 1]! << 24 | head[h + 2]! << 16 | head[h + 3]! << 8 | head[h + 4]!) |
      0;
    if (length < 4 || length > this.maxMessageBytes) {
      throw new ProtocolViolation("invalid message length", true);
    }
    if (this.#buffered < 1 + length) return undefined;
    this.#lastType = type;
    if (chunk.length - at >= 1 + length) {
      // Read in place; the reader stops at this message's end.
      this.#consume(1 + length);
      return decodeTyped(type, new BodyReader(chunk, at + 5, at + 1 + length));
    }
    const body = this.#peek(5, length - 4);
    this.#consume(1 + length);
    return decodeTyped(type, new BodyReader(body));
  }
}

function target(byte: number): "S" | "P" {
  if (byte === 0x53) return "S";
  if (byte === 0x50) return "P";
  throw new ProtocolViolation(`invalid DESCRIBE message subtype ${byte}`, false);
}

function decodeTyped(type: number, r: BodyReader): FrontendMessage {
  let message: FrontendMessage;
  switch (String.fromCharCode(type)) {
    case "Q":
      message = { kind: "query", sql: r.string() };
      break;
    case "P": {
      const name = r.string();
      const sql = r.string();
      const count = r.int16();
      if (count < 0) throw new ProtocolViolation("invalid message format", false);
      const paramTypes: number[] = [];
      for (let i = 0; i < count; i++) paramTypes.push(r.int32() >>> 0);
      message = { kind: "parse", name, sql, paramTypes };
      break;
    }
    case "B": {
      const portal = r.string();
      const statement = r.string();
      const formatCount = r.int16();
      if (formatCount < 0) throw new ProtocolViolation("invalid message format", false);
      const paramFormats: number[] = [];
      for (let i = 0; i < formatCount; i++) paramFormats.push(r.int16());
      const paramCount = r.int16();
      if (paramCount < 0) throw new ProtocolViolation("invalid message format", false);
      const params: (Uint8Array | null)[] = [];
      for (let i = 0; i < paramCount; i++) {
        const length = r.int32();
        params.push(length === -1 ? null : r.bytes(length));
      }
      const resultCount = r.int16();
      if (resultCount < 0) throw new ProtocolViolation("invalid message format", false);
      const resultFormats: number[] = [];
      for (let i = 0; i < resultCount; i++) resultFormats.push(r.int16());
      message = { kind: "bind", portal, statement, paramFormats, params, resultFormats };
      break;
    }
    case "D":
      message = { kind: "describe", target: target(r.byte()), name: r.string() };
      break;
    case "E":
      message = { kind: "execute", portal: r.string(), maxRows: r.int32() };
      break;
    case "S":
      message = { kind: "sync" };
      break;
    case "H":
      message = { kind: "flush" };
      break;
    case "C":
      message = { kind: "close", target: target(r.byte()), name: r.string() };
      break;
    case "X":
      message = { kind: "terminate" };
      break;
    case "d":
      return { kind: "copyData", data: r.rest() };
    case "c":
      message = { kind: "copyDone" };
      break;
    case "f":
      message = { kind: "copyFail", message: r.string() };
      break;
    case "p":
      return { kind: "password", data: r.rest() };
    case "F": {
      const functionOid = r.int32() >>> 0;
      const formatCount = r.int16();
      if (formatCount < 0) throw new ProtocolViolation("invalid message format", false);
      const argFormats: number[] = [];
      for (let i = 0; i < formatCount; i++) argFormats.push(r.int16());
      const argCount = r.int16();
      if (argCount < 0) throw new ProtocolViolation("invalid message format", false);
      const args: (Uint8Array | null)[] = [];
      for (let i = 0; i < argCount; i++) {
        const length = r.int32();
        args.push(length === -1 ? null : r.bytes(length));
      }
      message = { kind: "functionCall", functionOid, argFormats, args, resultFormat: r.int16() };
      break;
    }
    default:
      throw new ProtocolViolation(`invalid frontend message type ${type}`, true);
  }
  r.end();
  return message;
}

/** A RowDescription field. */
export interface FieldDescription {
  name: string;
  tableOid: number;
  columnNumber: number;
  typeOid: number;
  typeLength: number;
  typeModifier: number;
  format: number;
}

/** Fields of an ErrorResponse / NoticeResponse. */
export interface ErrorFields {
  severity: "ERROR" | "FATAL" | "PANIC" | "WARNING" | "NOTICE" | "DEBUG" | "INFO" | "LOG";
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: number;
}

const encoder = new TextEncoder();

/** Encodes backend messages into one growing buffer; `take()` returns the batch. */
/**
 * The backend messages in `bytes` (whole messages back to back, as {@link BackendWriter.take}
 * returns them), each as a view: the conventional profile writes them one socket write each.
 */
export function splitBackendMessages(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = at + 1 + view.getInt32(at + 1);
    if (end > bytes.length || end <= at) throw new RangeError("not whole backend messages");
    out.push(bytes.subarray(at, end));
    at = end;
  }
  return out;
}

export class BackendWriter {
  #bytes = new Uint8Array(16 * 1024);
  #view = new DataView(this.#bytes.buffer);
  #at = 0;
  #start = 0;

  #ensure(n: number): void {
    if (this.#at + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#at + n + 1024));
    grown.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }

  #begin(type: string): void {
    this.#ensure(5);
    this.#bytes[this.#at] = type.charCodeAt(0);
    this.#start = this.#at + 1;
    this.#at += 5;
  }

  #end(): void {
    this.#view.setInt32(this.#start, this.#at - this.#start);
  }

  #int16(v: number): void {
    this.#ensure(2);
    this.#view.setInt16(this.#at, v);
    this.#at += 2;
  }

  #int32(v: number): void {
    this.#ensure(4);
    this.#view.setInt32(this.#at, v);
    this.#at += 4;
  }

  #byte(v: number): void {
    this.#ensure(1);
    this.#bytes[this.#at++] = v;
  }

  #string(text: string): void {
    this.#ensure(text.length * 3 + 1);
    const written = encodeAt(text, this.#bytes, this.#at);
    this.#at += written;
    this.#bytes[this.#at++] = 0;
  }

  #raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#bytes.set(bytes, this.#at);
    this.#at += bytes.length;
  }

  /** Bytes written since the last take. */
  get length(): number {
    return this.#at;
  }

  /**
   * The batch so far as a view of the writer's buffer, valid until the next message is added;
   * {@link clear} then starts the next batch (for a sink that copies at once).
   */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#at);
  }

  /** Drops the batch (after {@link view}'s bytes were copied out). */
  clear(): void {
    this.#at = 0;
  }

  /** The batch so far (a copy); the writer starts empty again. */
  take(): Uint8Array {
    const out = this.#bytes.slice(0, this.#at);
    this.#at = 0;
    return out;
  }

  /** The single-byte answer to SSLRequest / GSSENCRequest. */
  refuseEncryption(): void {
    this.#byte(0x4e); // 'N'
  }

  authenticationOk(): void {
    this.#begin("R");
    this.#int32(0);
    this.#end();
  }

  authenticationCleartextPassword(): void {
    this.#begin("R");
    this.#int32(3);
    this.#end();
  }

  authenticationMd5Password(salt: Uint8Array): void {
    this.#begin("R");
    this.#int32(5);
    this.#raw(salt.subarray(0, 4));
    this.#end();
  }

  authenticationSasl(mechanisms: string[]): void {
    this.#begin("R");
    this.#int32(10);
    for (const mechanism of mechanisms) this.#string(mechanism);
    this.#byte(0);
    this.#end();
  }

  authenticationSaslContinue(data: Uint8Array): void {
    this.#begin("R");
    this.#int32(11);
    this.#raw(data);
    this.#end();
  }

  authenticationSaslFinal(data: Uint8Array): void {
    this.#begin("R");
    this.#int32(12);
    this.#raw(data);
    this.#end();
  }

  /** The newest minor version this server speaks, and the `_pq_.` options it did not know. */
  negotiateProtocolVersion(newestVersion: number, unknownOptions: readonly string[]): void {
    this.#begin("v");
    this.#int32(newestVersion);
    this.#int32(unknownOptions.length);
    for (const option of unknownOptions) this.#string(option);
    this.#end();
  }

  notificationResponse(processId: number, channel: string, payload: string): void {
    this.#begin("A");
    this.#int32(processId);
    this.#string(channel);
    this.#string(payload);
    this.#end();
  }

  /** FunctionCallResponse; null is the SQL NULL result. */
  functionCallResponse(result: Uint8Array | null): void {
    this.#begin("V");
    if (result === null) this.#int32(-1);
    else {
      this.#int32(result.length);
      this.#raw(result);
    }
    this.#end();
  }

  parameterStatus(name: string, value: string): void {
    this.#begin("S");
    this.#string(name);
    this.#string(value);
    this.#end();
  }

  backendKeyData(processId: number, secretKey: number): void {
    this.#begin("K");
    this.#int32(processId);
    this.#int32(secretKey);
    this.#end();
  }

  readyForQuery(status: "I" | "T" | "E"): void {
    this.#begin("Z");
    this.#byte(status.charCodeAt(0));
    this.#end();
  }

  rowDescription(fields: readonly FieldDescription[]): void {
    this.#begin("T");
    this.#int16(fields.length);
    for (const f of fields) {
      this.#string(f.name);
      this.#int32(f.tableOid);
      this.#int16(f.columnNumber);
      this.#int32(f.typeOid);
      this.#int16(f.typeLength);
      this.#int32(f.typeModifier);
      this.#int16(f.format);
    }
    this.#end();
  }

  /** A DataRow; strings are encoded straight into the buffer. */
  dataRow(values: readonly (string | Uint8Array | null)[]): void {
    this.#begin("D");
    this.#int16(values.length);
    for (const value of values) {
      if (value === null) {
        this.#int32(-1);
      } else if (typeof value === "string") {
        this.#ensure(4 + value.length * 3);
        const lengthAt = this.#at;
        this.#at += 4;
        const written = encodeAt(value, this.#bytes, this.#at);
        this.#view.setInt32(lengthAt, written);
        this.#at += written;
      } else {
        this.#int32(value.length);
        this.#raw(value);
      }
    }
    this.#end();
  }

  commandComplete(tag: string): void {
    this.#begin("C");
    this.#string(tag);
    this.#end();
  }

  emptyQueryResponse(): void {
    this.#begin("I");
    this.#end();
  }

  #fields(type: "E" | "N", fields: ErrorFields): void {
    this.#begin(type);
    this.#byte(0x53); // S: localized severity
    this.#string(fields.severity);
    this.#byte(0x56); // V: severity, never localized
    this.#string(fields.severity);
    this.#byte(0x43); // C: SQLSTATE
    this.#string(fields.code);
    this.#byte(0x4d); // M: message
    this.#string(fields.message);
    if (fields.detail !== undefined) {
      this.#byte(0x44);
      this.#string(fields.detail);
    }
    if (fields.hint !== undefined) {
      this.#byte(0x48);
      this.#string(fields.hint);
    }
    if (fields.position !== undefined) {
      this.#byte(0x50);
      this.#string(String(fields.position));
    }
    this.#byte(0);
    this.#end();
  }

  errorResponse(fields: ErrorFields): void {
    this.#fields("E", fields);
  }

  noticeResponse(fields: ErrorFields): void {
    this.#fields("N", fields);
  }

  parseComplete(): void {
    this.#begin("1");
    this.#end();
  }

  bindComplete(): void {
    this.#begin("2");
    this.#end();
  }

  closeComplete(): void {
    this.#begin("3");
    this.#end();
  }

  noData(): void {
    this.#begin("n");
    this.#end();
  }

  portalSuspended(): void {
    this.#begin("s");
    this.#end();
  }

  parameterDescription(oids: readonly number[]): void {
    this.#begin("t");
    this.#int16(oids.length);
    for (const oid of oids) this.#int32(oid);
    this.#end();
  }

  copyInResponse(format: number, columnFormats: readonly number[]): void {
    this.#begin("G");
    this.#byte(format);
    this.#int16(columnFormats.length);
    for (const f of columnFormats) this.#int16(f);
    this.#end();
  }

  copyOutResponse(format: number, columnFormats: readonly number[]): void {
    this.#begin("H");
    this.#byte(format);
    this.#int16(columnFormats.length);
    for (const f of columnFormats) this.#int16(f);
    this.#end();
  }

  copyBothResponse(format: number, columnFormats: readonly number[]): void {
    this.#begin("W");
    this.#byte(format);
    this.#int16(columnFormats.length);
    for (const f of columnFormats) this.#int16(f);
    this.#end();
  }

  copyData(data: Uint8Array | string): void {
    this.#begin("d");
    if (typeof data === "string") {
      this.#ensure(data.length * 3);
      const { written } = encoder.encodeInto(data, this.#bytes.subarray(this.#at));
      this.#at += written;
    } else this.#raw(data);
    this.#end();
  }

  copyDone(): void {
    this.#begin("c");
    this.#end();
  }
}

/**
 * The body of a SASLInitialResponse ('p' during SASL): mechanism\0, Int32 length (-1: none),
 * then exactly that many bytes of client-first-message.
 */
export function decodeSaslInitialResponse(
  data: Uint8Array,
): { mechanism: string; response: Uint8Array | null } {
  const r = new BodyReader(data);
  const mechanism = r.string();
  const length = r.int32();
  const response = length === -1 ? null : r.bytes(length);
  r.end();
  return { mechanism, response };
}
