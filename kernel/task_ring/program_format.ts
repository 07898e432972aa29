/**
 * Step programs: the second kind of task-ring task. A program is a short, straight-line list of
 * engine steps over typed registers (get a row by primary key, read or set a column, arithmetic,
 * compare, forward jumps, update/insert/delete, emit a value, fail) that the kernel verifies
 * before it runs (program_verifier.ts) and runs to completion in one transaction
 * (program_runner.ts). Only forward jumps exist, so a program runs at most `stepCount` steps.
 *
 * Encoding (little-endian), written by the app into its slot's request half:
 *
 * | bytes            | field          | meaning                                                |
 * | ---------------: | -------------- | ------------------------------------------------------ |
 * |                4 | magic          | {@link programMagic} ("EXOP")                          |
 * |                1 | version        | {@link programVersion}                                 |
 * |                1 | flags          | bit 0: read-write (the program declares a writing txn) |
 * |                1 | registerCount  | typed registers r0 … r(n-1)                            |
 * |                1 | rowSlotCount   | row slots s0 … s(n-1) (a row of one table each)        |
 * |                2 | stepCount      | steps                                                  |
 * |                2 | constantCount  | constants                                              |
 * |                1 | tableCount     | table names                                            |
 * |                1 | columnCount    | column names (each of one of the tables)               |
 * |                2 | codeBytes      | bytes from offset 0 to the end of the steps            |
 * |    registerCount | registerTypes  | one {@link RegType} per register                       |
 * |                … | tables         | per table: u8 length, UTF-8 name                       |
 * |                … | columns        | per column: u8 table index, u8 length, UTF-8 name      |
 * |     8 × steps    | steps          | per step: u8 op, u8 a, u16 b, u16 c, u16 d             |
 * |                … | constants      | per constant: u8 {@link ValueTag}, payload             |
 *
 * Value payloads (constants and results): int i64 (8 bytes), float f64, text u16 length + UTF-8,
 * bool u8, null nothing. The code part (everything before the constants) is what the verifier
 * checks and caches; the constants change per submission and are checked against it each time.
 *
 * A result (the completion's slot result half, status done) is u16 count + that many values, in
 * the order the program emitted them.
 */

/** "EXOP" as a little-endian u32. */
export const programMagic = 0x504f5845;
/** The format version this kernel understands. */
export const programVersion = 1;
/** Bytes of the fixed header. */
export const programHeaderBytes = 16;
/** Bytes per encoded step. */
export const stepBytes = 8;

/** Limits the verifier enforces (54000 beyond them). */
export const programLimits = {
  stepsMax: 256,
  registersMax: 64,
  rowSlotsMax: 8,
  constantsMax: 256,
  tablesMax: 8,
  columnsMax: 64,
  emitsMax: 64,
} as const;

/** Register types: what a register holds (or NULL). */
export const RegType = { int: 0, float: 1, text: 2, bool: 3 } as const;
/** A register type code. */
export type RegTypeCode = (typeof RegType)[keyof typeof RegType];
/** Register type names, by code. */
export const regTypeNames = ["int", "float", "text", "bool"] as const;
/** A register type name. */
export type RegTypeName = (typeof regTypeNames)[number];

/** Tags of encoded values. */
export const ValueTag = { null: 0, int: 1, float: 2, text: 3, bool: 4 } as const;

/** A register's value: int as bigint (int8 range), float as number, text, bool, or null. */
export type ProgramValue = bigint | number | string | boolean | null;

/** Operation codes. Operands: a (u8), b, c, d (u16); unused operands are zero. */
export const Op = {
  /** Stop (also implied after the last step). */
  end: 0,
  /** r[a] ← constants[b]. */
  const: 1,
  /** r[a] ← r[b]. */
  move: 2,
  /** s[a] ← the row of tables[b] whose primary key is r[c] … r[c+n-1] (or "missing"). */
  get: 3,
  /** s[a] ← a new row of tables[b], every column NULL (no DEFAULT is evaluated). */
  newRow: 4,
  /** r[a] ← column columns[c] of s[b] (P0002 when s[b] is missing). */
  column: 5,
  /** column columns[b] of s[a] ← r[c] (in the slot only; update/insert writes it). */
  setColumn: 6,
  /** Writes s[a] (read by get) back to its table. */
  update: 7,
  /** Inserts s[a] (made by newRow) into its table. */
  insert: 8,
  /** Deletes the row s[a] (read by get). */
  delete: 9,
  /** r[a] ← r[b] + r[c] (int or float; NULL if either is). */
  add: 10,
  sub: 11,
  mul: 12,
  /** Integer division truncates; 22012 on zero. */
  div: 13,
  /** r[a] (bool) ← r[b] = r[c] (same types; NULL if either is). */
  eq: 14,
  ne: 15,
  lt: 16,
  le: 17,
  /** Continue at step b (b > this step). */
  jump: 18,
  /** Continue at step b when r[a] (bool) is true. */
  jumpIf: 19,
  /** Continue at step b when r[a] (bool) is not true (false or NULL). */
  jumpUnless: 20,
  /** Continue at step b when s[a] holds a row. */
  jumpIfFound: 21,
  /** Continue at step b when s[a] is missing. */
  jumpIfMissing: 22,
  /** r[a] (bool) ← r[b] IS NULL. */
  isNull: 23,
  /** Appends r[a] to the result. */
  emit: 24,
  /** Fails the program (P0001) with text constant b as the message: the transaction rolls back. */
  fail: 25,
} as const;
/** An operation code. */
export type OpCode = (typeof Op)[keyof typeof Op];
/** Highest operation code. */
export const opCodeMax = 25;
/** Operation names, by code (for messages). */
export const opNames: readonly string[] = Object.keys(Op);

/** One step, decoded. */
export interface Step {
  op: number;
  a: number;
  b: number;
  c: number;
  d: number;
}

/** A program's parts, as the builder makes them and the decoder returns them. */
export interface ProgramParts {
  readWrite: boolean;
  registerTypes: number[];
  rowSlots: number;
  tables: string[];
  columns: { table: number; name: string }[];
  steps: Step[];
  constants: ProgramValue[];
}

/** A program that does not decode (08P01). */
export class ProgramFormatError extends Error {
  override name = "ProgramFormatError";
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** A growable little-endian byte writer. */
class Writer {
  bytes = new Uint8Array(256);
  view = new DataView(this.bytes.buffer);
  length = 0;

  #room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
  u8(value: number): void {
    this.#room(1);
    this.bytes[this.length++] = value;
  }
  u16(value: number): void {
    this.#room(2);
    this.view.setUint16(this.length, value, true);
    this.length += 2;
  }
  u32(value: number): void {
    this.#room(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }
  i64(value: bigint): void {
    this.#room(8);
    this.view.setBigInt64(this.length, value, true);
    this.length += 8;
  }
  f64(value: number): void {
    this.#room(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }
  raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** A bounds-checked little-endian reader (every overrun is a ProgramFormatError). */
export class ProgramReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.#bytes.length - this.offset;
  }
  #need(n: number): void {
    if (this.offset + n > this.#bytes.length) {
      throw new ProgramFormatError(
        `task program ends early: ${n} bytes needed at offset ${this.offset} of ${this.#bytes.length}`,
      );
    }
  }
  u8(): number {
    this.#need(1);
    return this.#bytes[this.offset++]!;
  }
  u16(): number {
    this.#need(2);
    const value = this.#view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }
  u32(): number {
    this.#need(4);
    const value = this.#view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }
  i64(): bigint {
    this.#need(8);
    const value = this.#view.getBigInt64(this.offset, true);
    this.offset += 8;
    return value;
  }
  f64(): number {
    this.#need(8);
    const value = this.#view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }
  utf8(length: number): string {
    this.#need(length);
    const bytes = this.#bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw new ProgramFormatError("task program holds invalid UTF-8");
    }
  }
}

const int8Min = -(1n << 63n);
const int8Max = (1n << 63n) - 1n;

/** Appends one tagged value. */
function writeValue(out: Writer, value: ProgramValue): void {
  if (value === null) out.u8(ValueTag.null);
  else if (typeof value === "bigint") {
    if (value < int8Min || value > int8Max) throw new RangeError(`int out of range: ${value}`);
    out.u8(ValueTag.int);
    out.i64(value);
  } else if (typeof value === "number") {
    out.u8(ValueTag.float);
    out.f64(value);
  } else if (typeof value === "string") {
    const bytes = utf8Encoder.encode(value);
    if (bytes.length > 0xffff) throw new RangeError(`text of ${bytes.length} bytes is too long`);
    out.u8(ValueTag.text);
    out.u16(bytes.length);
    out.raw(bytes);
  } else if (typeof value === "boolean") {
    out.u8(ValueTag.bool);
    out.u8(value ? 1 : 0);
  } else throw new TypeError(`not a program value: ${typeof value}`);
}

/** Reads one tagged value. */
export function readValue(input: ProgramReader): ProgramValue {
  const tag = input.u8();
  switch (tag) {
    case ValueTag.null:
      return null;
    case ValueTag.int:
      return input.i64();
    case ValueTag.float:
      return input.f64();
    case ValueTag.text:
      return input.utf8(input.u16());
    case ValueTag.bool:
      return input.u8() !== 0;
    default:
      throw new ProgramFormatError(`task program value has unknown tag ${tag}`);
  }
}

/** The register type a value fits (null fits any). */
export function valueRegType(value: ProgramValue): RegTypeCode | undefined {
  if (value === null) return undefined;
  if (typeof value === "bigint") return RegType.int;
  if (typeof value === "number") return RegType.float;
  if (typeof value === "string") return RegType.text;
  return RegType.bool;
}

function writeName(out: Writer, name: string): void {
  const bytes = utf8Encoder.encode(name);
  if (bytes.length > 255) throw new RangeError(`name of ${bytes.length} bytes is too long`);
  out.u8(bytes.length);
  out.raw(bytes);
}

/**
 * Encodes a program. Encodes what it is given, well-formed or not (counts beyond the header's
 * field widths excepted): checking is the verifier's job, so tests can build bad programs.
 */
export function encodeProgram(parts: ProgramParts): Uint8Array {
  const out = new Writer();
  out.u32(programMagic);
  out.u8(programVersion);
  out.u8(parts.readWrite ? 1 : 0);
  out.u8(parts.registerTypes.length);
  out.u8(parts.rowSlots);
  out.u16(parts.steps.length);
  out.u16(parts.constants.length);
  out.u8(parts.tables.length);
  out.u8(parts.columns.length);
  const codeBytesAt = out.length;
  out.u16(0);
  for (const type of parts.registerTypes) out.u8(type);
  for (const table of parts.tables) writeName(out, table);
  for (const column of parts.columns) {
    out.u8(column.table);
    writeName(out, column.name);
  }
  for (const step of parts.steps) {
    out.u8(step.op);
    out.u8(step.a);
    out.u16(step.b);
    out.u16(step.c);
    out.u16(step.d);
  }
  const codeBytes = out.length;
  out.view.setUint16(codeBytesAt, codeBytes, true);
  for (const value of parts.constants) writeValue(out, value);
  return out.finish();
}

/** Decodes the code part (header through steps); constants are read by {@link decodeConstants}. */
export function decodeCode(bytes: Uint8Array): Omit<ProgramParts, "constants"> & {
  constantCount: number;
  codeBytes: number;
} {
  const input = new ProgramReader(bytes);
  const magic = input.u32();
  if (magic !== programMagic) {
    throw new ProgramFormatError(`not a task program: magic ${magic.toString(16)}`);
  }
  const version = input.u8();
  if (version !== programVersion) {
    throw new ProgramFormatError(`task program version ${version} is not ${programVersion}`);
  }
  const flags = input.u8();
  if ((flags & ~1) !== 0) throw new ProgramFormatError(`task program flags ${flags} unknown`);
  const registerCount = input.u8();
  const rowSlots = input.u8();
  const stepCount = input.u16();
  const constantCount = input.u16();
  const tableCount = input.u8();
  const columnCount = input.u8();
  const codeBytes = input.u16();
  const registerTypes: number[] = [];
  for (let i = 0; i < registerCount; i++) registerTypes.push(input.u8());
  const tables: string[] = [];
  for (let i = 0; i < tableCount; i++) tables.push(input.utf8(input.u8()));
  const columns: { table: number; name: string }[] = [];
  for (let i = 0; i < columnCount; i++) {
    const table = input.u8();
    columns.push({ table, name: input.utf8(input.u8()) });
  }
  const steps: Step[] = [];
  for (let i = 0; i < stepCount; i++) {
    steps.push({ op: input.u8(), a: input.u8(), b: input.u16(), c: input.u16(), d: input.u16() });
  }
  if (input.offset !== codeBytes) {
    throw new ProgramFormatError(
      `task program code is ${input.offset} bytes, its header says ${codeBytes}`,
    );
  }
  return {
    readWrite: (flags & 1) !== 0,
    registerTypes,
    rowSlots,
    tables,
    columns,
    steps,
    constantCount,
    codeBytes,
  };
}

/** Decodes `count` constants starting at `offset`; the bytes must end with the last one. */
export function decodeConstants(bytes: Uint8Array, offset: number, count: number): ProgramValue[] {
  const input = new ProgramReader(bytes);
  input.offset = offset;
  const constants: ProgramValue[] = [];
  for (let i = 0; i < count; i++) constants.push(readValue(input));
  if (input.remaining !== 0) {
    throw new ProgramFormatError(`task program has ${input.remaining} bytes after its constants`);
  }
  return constants;
}

/** Encodes a program's result: u16 count, then the values. */
export function encodeResult(values: readonly ProgramValue[]): Uint8Array {
  const out = new Writer();
  out.u16(values.length);
  for (const value of values) writeValue(out, value);
  return out.finish();
}

/** Decodes a program's result. */
export function decodeResult(bytes: Uint8Array): ProgramValue[] {
  const input = new ProgramReader(bytes);
  const count = input.u16();
  const values: ProgramValue[] = [];
  for (let i = 0; i < count; i++) values.push(readValue(input));
  return values;
}

/** Encodes constants (no count: the code's header has it), to follow the code in a request. */
export function encodeConstants(values: readonly ProgramValue[]): Uint8Array {
  const out = new Writer();
  for (const value of values) writeValue(out, value);
  return out.finish();
}
