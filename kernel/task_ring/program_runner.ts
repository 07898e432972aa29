/**
 * Runs a verified step program (program_verifier.ts) to completion in one transaction: a
 * read-write program in its own transaction, committed durably at the end (rolled back on any
 * error, so a failing program has no effect); a read-only one at one snapshot, without a
 * transaction. Reads see the program's own earlier writes.
 *
 * Runtime errors (each fails the task and rolls it back): P0002 a column read, set or write on a
 * missing row; 22003 int overflow or a value out of its column's range; 22012 division by zero;
 * 22001 text too long for varchar(n); 23502 NULL into a NOT NULL column on insert; 23505 a
 * duplicate key; 40001 the row changed (or vanished) since the program read it; P0001 a `fail`.
 */
import { ExoError } from "../../lib/errors.ts";
import type { EngineAccess } from "../../query/sql_session.ts";
import type { Table } from "../../dbengine/table.ts";
import type { Transaction } from "../../dbengine/txn.ts";
import { type ColumnType, sameStoredValue, type SqlValue, TypeId } from "../../dbengine/types.ts";
import { compareStrings } from "../../query/operators.ts";
import { Op, type ProgramValue, RegType, valueRegType } from "./program_format.ts";
import type { ResolvedColumn, VerifiedProgram } from "./program_verifier.ts";

/** A row slot at run time. */
interface RowSlot {
  /** The row's values as the program sees them (set by setColumn); null when missing. */
  values: SqlValue[] | null;
  /** The row as read by get (for update/delete: the row must not have changed since). */
  original: SqlValue[] | null;
}

const int8Min = -(1n << 63n);
const int8Max = (1n << 63n) - 1n;

function checkInt8(value: bigint): bigint {
  if (value < int8Min || value > int8Max) throw new ExoError("22003", "bigint out of range");
  return value;
}

/** A stored value as the register type of its column holds it. */
function fromColumn(value: SqlValue, column: ResolvedColumn): ProgramValue {
  if (value === null) return null;
  if (column.regType === RegType.int) {
    return typeof value === "bigint" ? value : BigInt(value as number);
  }
  return value as ProgramValue;
}

/** A register's value as a column of `type` stores it (range and length checks). */
function toStored(value: ProgramValue, type: ColumnType): SqlValue {
  if (value === null) return null;
  switch (type.id) {
    case TypeId.smallint:
    case TypeId.integer: {
      const small = type.id === TypeId.smallint;
      const limit = small ? 32768n : 2147483648n;
      const n = value as bigint;
      if (n < -limit || n >= limit) {
        throw new ExoError("22003", `${small ? "smallint" : "integer"} out of range`);
      }
      return Number(n);
    }
    case TypeId.varchar: {
      const max = type.typmod;
      const text = value as string;
      if (max >= 0 && [...text].length > max) {
        throw new ExoError("22001", `value too long for type character varying(${max})`);
      }
      return text;
    }
    default:
      return value;
  }
}

function sameRow(a: readonly SqlValue[], b: readonly SqlValue[]): boolean {
  return a.length === b.length && a.every((value, i) => sameStoredValue(value, b[i]!));
}

function arithmetic(op: number, x: ProgramValue, y: ProgramValue): ProgramValue {
  if (x === null || y === null) return null;
  if (typeof x === "bigint") {
    const b = y as bigint;
    switch (op) {
      case Op.add:
        return checkInt8(x + b);
      case Op.sub:
        return checkInt8(x - b);
      case Op.mul:
        return checkInt8(x * b);
      default:
        if (b === 0n) throw new ExoError("22012", "division by zero");
        return checkInt8(x / b);
    }
  }
  const a = x as number;
  const b = y as number;
  let result: number;
  switch (op) {
    case Op.add:
      result = a + b;
      break;
    case Op.sub:
      result = a - b;
      break;
    case Op.mul:
      result = a * b;
      break;
    default:
      if (b === 0) throw new ExoError("22012", "division by zero");
      result = a / b;
  }
  // PostgreSQL's float8 checks: an infinite result from finite inputs, or zero from nonzero ones.
  if (
    !Number.isFinite(result) && !Number.isNaN(result) && Number.isFinite(a) && Number.isFinite(b)
  ) {
    throw new ExoError("22003", "value out of range: overflow");
  }
  if (result === 0 && (op === Op.mul || op === Op.div) && a !== 0 && (op === Op.div || b !== 0)) {
    throw new ExoError("22003", "value out of range: underflow");
  }
  return result;
}

/** SQL order: text by code point (the C collation), NaN above every float and equal to itself. */
function order(x: ProgramValue, y: ProgramValue): number {
  if (typeof x === "string") return compareStrings(x, y as string);
  if (typeof x === "number" && (Number.isNaN(x) || Number.isNaN(y as number))) {
    return Number.isNaN(x) ? (Number.isNaN(y as number) ? 0 : 1) : -1;
  }
  return x! < y! ? -1 : x! > y! ? 1 : 0;
}

function compare(op: number, x: ProgramValue, y: ProgramValue): boolean | null {
  if (x === null || y === null) return null;
  const c = order(x, y);
  switch (op) {
    case Op.eq:
      return c === 0;
    case Op.ne:
      return c !== 0;
    case Op.lt:
      return c < 0;
    default:
      return c <= 0;
  }
}

/** Checks a submission's constants against what the verified code needs of them (42804). */
export function checkConstants(program: VerifiedProgram, constants: readonly ProgramValue[]): void {
  program.constantTypes.forEach((type, i) => {
    const got = valueRegType(constants[i] ?? null);
    if (type !== undefined && got !== undefined && got !== type) {
      throw new ExoError("42804", `task program rejected: constant ${i} has the wrong type`);
    }
  });
}

/** Runs `program` (verified, constants checked) and returns the values it emitted. */
export async function runProgram(
  engine: EngineAccess,
  program: VerifiedProgram,
  tables: Table[],
  constants: readonly ProgramValue[],
): Promise<ProgramValue[]> {
  const { storage } = engine;
  const txn: Transaction | undefined = program.readWrite ? storage.txns.begin() : undefined;
  const snapshot = storage.txns.snapshot();
  let held = true;
  const release = () => {
    if (held) storage.txns.release(snapshot);
    held = false;
  };
  try {
    if (txn !== undefined) txn.cid++;
    const output = await execute(program, tables, constants, txn, snapshot);
    release();
    if (txn !== undefined) await storage.txns.commit(txn, { synchronous: true });
    return output;
  } catch (error) {
    release();
    if (txn !== undefined && txn.state === "active") storage.txns.rollback(txn);
    throw error;
  }
}

async function execute(
  program: VerifiedProgram,
  tables: Table[],
  constants: readonly ProgramValue[],
  txn: Transaction | undefined,
  snapshot: number,
): Promise<ProgramValue[]> {
  const regs: ProgramValue[] = new Array(program.registerTypes.length).fill(null);
  const slots: RowSlot[] = [];
  const slotTable: number[] = [];
  for (let s = 0; s < program.rowSlots; s++) {
    slots.push({ values: null, original: null });
    slotTable.push(-1);
  }
  const output: ProgramValue[] = [];
  const { steps, columns } = program;
  const present = (s: number): SqlValue[] => {
    const values = slots[s]!.values;
    if (values === null) {
      throw new ExoError(
        "P0002",
        `row slot s${s} of "${tables[slotTable[s]!]!.def.name}" holds no row`,
      );
    }
    return values;
  };
  // Forward jumps only (verified): at most steps.length iterations.
  let i = 0;
  while (i < steps.length) {
    const { op, a, b, c } = steps[i]!;
    let next = i + 1;
    switch (op) {
      case Op.end:
        return output;
      case Op.const:
        regs[a] = constants[b] ?? null;
        break;
      case Op.move:
        regs[a] = regs[b]!;
        break;
      case Op.get: {
        const table = tables[b]!;
        const key: SqlValue[] = [];
        let nullKey = false;
        for (let k = 0; k < table.def.primaryKey.length; k++) {
          const column = table.def.columns[table.def.primaryKey[k]!]!;
          const value = regs[c + k]!;
          if (value === null) nullKey = true;
          else {
            key.push(toStored(value, column.type));
          }
        }
        const row = nullKey ? null : table.getByPrimaryKey(key, txn, snapshot);
        slots[a] = { values: row === null ? null : [...row], original: row };
        slotTable[a] = b;
        break;
      }
      case Op.newRow: {
        const table = tables[b]!;
        slots[a] = {
          values: new Array<SqlValue>(table.def.columns.length).fill(null),
          original: null,
        };
        slotTable[a] = b;
        break;
      }
      case Op.column: {
        const column = columns[c]!;
        regs[a] = fromColumn(present(b)[column.position]!, column);
        break;
      }
      case Op.setColumn: {
        const column = columns[b]!;
        present(a)[column.position] = toStored(regs[c]!, column.type);
        break;
      }
      case Op.update:
      case Op.delete: {
        const values = present(a);
        const original = slots[a]!.original!;
        const table = tables[slotTable[a]!]!;
        const key = table.rowKey(original);
        let raced = false;
        const changed = op === Op.update
          ? await table.update(txn!, key, (current) => {
            if (!sameRow(current, original)) {
              raced = true;
              return undefined;
            }
            return values;
          })
          : await table.delete(txn!, key, (current) => {
            raced = !sameRow(current, original);
            return !raced;
          });
        if (changed === null || raced) {
          throw new ExoError(
            "40001",
            `could not serialize access: a row of "${table.def.name}" changed since the program read it`,
          );
        }
        if (op === Op.update) slots[a]!.original = [...values];
        else slots[a] = { values: null, original: null };
        txn!.cid++; // later reads see this write
        break;
      }
      case Op.insert: {
        const values = present(a);
        const table = tables[slotTable[a]!]!;
        table.checkNotNull(values);
        await table.insert(txn!, [...values]);
        txn!.cid++;
        break;
      }
      case Op.add:
      case Op.sub:
      case Op.mul:
      case Op.div:
        regs[a] = arithmetic(op, regs[b]!, regs[c]!);
        break;
      case Op.eq:
      case Op.ne:
      case Op.lt:
      case Op.le:
        regs[a] = compare(op, regs[b]!, regs[c]!);
        break;
      case Op.jump:
        next = b;
        break;
      case Op.jumpIf:
        if (regs[a] === true) next = b;
        break;
      case Op.jumpUnless:
        if (regs[a] !== true) next = b;
        break;
      case Op.jumpIfFound:
        if (slots[a]!.values !== null) next = b;
        break;
      case Op.jumpIfMissing:
        if (slots[a]!.values === null) next = b;
        break;
      case Op.isNull:
        regs[a] = regs[b] === null;
        break;
      case Op.emit:
        output.push(regs[a]!);
        break;
      case Op.fail:
        throw new ExoError("P0001", String(constants[b] ?? "task program failed"));
    }
    i = next;
  }
  return output;
}
