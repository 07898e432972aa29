/**
 * The step-program verifier (like a BPF verifier): a program runs only after every check below
 * passed, so a running program cannot loop, read an unset register, address a register, slot,
 * constant, table or column that does not exist, mix types, or write outside the read-write
 * transaction it declared. A rejected program has had no effect.
 *
 * Checks, with the SQLSTATE of a rejection:
 * - 08P01: the bytes do not decode (format, version, lengths, UTF-8).
 * - 54000: more steps, registers, row slots, constants, tables, columns or emits than
 *   {@link programLimits} allows.
 * - 42601: an unknown operation; a register, slot, constant, table or column index out of range;
 *   a jump that is not strictly forward or lands past the end; a register or slot read before
 *   every path to it has set it; a slot reached with different tables on different paths; an
 *   unreachable step; a nonzero reserved operand.
 * - 42P01 / 42703: a table or column that does not exist (at the catalog's current snapshot).
 * - 42804: operand types that do not fit (register vs column, arithmetic, compare, constants).
 * - 0A000: a column type programs do not handle, a get on a table without a primary key, a write
 *   to a table with CHECK constraints (they are SQL expressions, evaluated by the SQL layer).
 * - 25006: an update, insert or delete in a program that did not declare read-write.
 *
 * Invariant: jumps only go forward, so when step i is checked every path into it has been seen;
 * the state at i is the meet (intersection) of the states its predecessors leave, and a program
 * runs at most `stepCount` steps.
 */
import { ExoError } from "../../lib/errors.ts";
import type { TableDef } from "../../dbengine/table.ts";
import { type ColumnType, TypeId } from "../../dbengine/types.ts";
import {
  decodeCode,
  Op,
  opCodeMax,
  opNames,
  ProgramFormatError,
  programLimits,
  RegType,
  type RegTypeCode,
  regTypeNames,
  type Step,
} from "./program_format.ts";

/** A column a program names, resolved. */
export interface ResolvedColumn {
  /** Index into the program's tables. */
  table: number;
  /** Position in the table's row. */
  position: number;
  name: string;
  type: ColumnType;
  regType: RegTypeCode;
  notNull: boolean;
}

/** A program that passed verification: the code, with names resolved. */
export interface VerifiedProgram {
  readWrite: boolean;
  registerTypes: RegTypeCode[];
  rowSlots: number;
  tables: TableDef[];
  columns: ResolvedColumn[];
  steps: Step[];
  /** Bytes of the code part (constants follow). */
  codeBytes: number;
  constantCount: number;
  /** The register type each constant must have (undefined: unused), NULL always fits. */
  constantTypes: (RegTypeCode | undefined)[];
}

function reject(sqlState: string, message: string): never {
  throw new ExoError(sqlState, `task program rejected: ${message}`);
}

/** The register type a stored column maps to, or undefined when programs cannot use it. */
export function columnRegType(type: ColumnType): RegTypeCode | undefined {
  switch (type.id) {
    case TypeId.smallint:
    case TypeId.integer:
    case TypeId.bigint:
      return RegType.int;
    case TypeId.real:
    case TypeId.double:
      return RegType.float;
    case TypeId.text:
    case TypeId.varchar:
    case TypeId.char:
      return RegType.text;
    case TypeId.boolean:
      return RegType.bool;
    default:
      return undefined;
  }
}

/** Flow state before a step: which registers are set, what each row slot holds. */
interface FlowState {
  /** 1 where the register is set on every path. */
  regs: Uint8Array;
  /** Per slot: -1 unset (on some path), -2 different tables on different paths, else table*2+kind. */
  slots: Int16Array;
}

const slotUnset = -1;
const slotConflict = -2;
const slotKindGet = 0;
const slotKindNew = 1;

function copyState(state: FlowState): FlowState {
  return { regs: state.regs.slice(), slots: state.slots.slice() };
}

/** Meets `incoming` into `into` (in place). */
function meet(into: FlowState, incoming: FlowState): void {
  for (let r = 0; r < into.regs.length; r++) into.regs[r]! &= incoming.regs[r]!;
  for (let s = 0; s < into.slots.length; s++) {
    const a = into.slots[s]!;
    const b = incoming.slots[s]!;
    if (a === b) continue;
    into.slots[s] = a === slotUnset || b === slotUnset ? slotUnset : slotConflict;
  }
}

/**
 * Verifies a program's code against the catalog (`tableDef` looks a table up by name at the
 * current snapshot). Throws ExoError with the SQLSTATE of the first failed check.
 */
export function verifyProgram(
  bytes: Uint8Array,
  tableDef: (name: string) => TableDef | null,
): VerifiedProgram {
  let code: ReturnType<typeof decodeCode>;
  try {
    code = decodeCode(bytes);
  } catch (error) {
    if (error instanceof ProgramFormatError) reject("08P01", error.message);
    throw error;
  }
  const { registerTypes, rowSlots, steps, readWrite } = code;
  const limits: [string, number, number][] = [
    ["steps", steps.length, programLimits.stepsMax],
    ["registers", registerTypes.length, programLimits.registersMax],
    ["row slots", rowSlots, programLimits.rowSlotsMax],
    ["constants", code.constantCount, programLimits.constantsMax],
    ["tables", code.tables.length, programLimits.tablesMax],
    ["columns", code.columns.length, programLimits.columnsMax],
  ];
  for (const [what, count, max] of limits) {
    if (count > max) reject("54000", `${count} ${what}, at most ${max} allowed`);
  }
  registerTypes.forEach((type, r) => {
    if (type > RegType.bool) reject("42601", `register r${r} has unknown type ${type}`);
  });
  const tables = code.tables.map((name) => {
    const def = tableDef(name);
    if (def === null) reject("42P01", `relation "${name}" does not exist`);
    return def;
  });
  const columns = code.columns.map((column, i): ResolvedColumn => {
    const def = tables[column.table];
    if (def === undefined) {
      reject("42601", `column ${i} names table ${column.table} of ${tables.length}`);
    }
    const position = def.columns.findIndex((c) => c.name === column.name && !c.dropped);
    if (position < 0) {
      reject("42703", `column "${column.name}" of relation "${def.name}" does not exist`);
    }
    const stored = def.columns[position]!;
    const regType = columnRegType(stored.type);
    if (regType === undefined) {
      reject("0A000", `column "${def.name}.${column.name}" has a type programs cannot use`);
    }
    return {
      table: column.table,
      position,
      name: column.name,
      type: stored.type,
      regType,
      notNull: stored.notNull,
    };
  });
  const constantTypes: (RegTypeCode | undefined)[] = new Array(code.constantCount).fill(undefined);
  const needConstant = (i: number, index: number, type: RegTypeCode) => {
    if (index >= code.constantCount) {
      reject("42601", `step ${i} uses constant ${index} of ${code.constantCount}`);
    }
    const known = constantTypes[index];
    if (known !== undefined && known !== type) {
      reject(
        "42804",
        `constant ${index} is used as ${regTypeNames[known]} and ${regTypeNames[type]}`,
      );
    }
    constantTypes[index] = type;
  };

  const incoming: (FlowState | undefined)[] = new Array(steps.length + 1).fill(undefined);
  let state: FlowState | undefined = {
    regs: new Uint8Array(registerTypes.length),
    slots: new Int16Array(rowSlots).fill(slotUnset),
  };
  let emits = 0;

  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    // The state here: what falls through from i-1, met with every jump into i.
    const joined = incoming[i];
    if (state === undefined) state = joined;
    else if (joined !== undefined) meet(state, joined);
    if (state === undefined) reject("42601", `step ${i} is unreachable`);
    const here: FlowState = state;
    const name = step.op <= opCodeMax ? opNames[step.op]! : String(step.op);
    if (step.op > opCodeMax) reject("42601", `step ${i} has unknown operation ${step.op}`);
    if (step.d !== 0) reject("42601", `step ${i} (${name}) has a nonzero reserved operand`);

    const reg = (index: number, role: string): RegTypeCode => {
      if (index >= registerTypes.length) {
        reject("42601", `step ${i} (${name}) ${role} register r${index} does not exist`);
      }
      return registerTypes[index] as RegTypeCode;
    };
    const readReg = (index: number, role: string): RegTypeCode => {
      const type = reg(index, role);
      if (here.regs[index] !== 1) {
        reject("42601", `step ${i} (${name}) reads register r${index} before it is set`);
      }
      return type;
    };
    const writeReg = (index: number, type: RegTypeCode): void => {
      const declared = reg(index, "target");
      if (declared !== type) {
        reject(
          "42804",
          `step ${i} (${name}) puts ${regTypeNames[type]} into ${
            regTypeNames[declared]
          } register r${index}`,
        );
      }
      here.regs[index] = 1;
    };
    const slotIndex = (index: number): void => {
      if (index >= rowSlots) {
        reject("42601", `step ${i} (${name}) row slot s${index} does not exist`);
      }
    };
    const readSlot = (index: number): { table: number; kind: number } => {
      slotIndex(index);
      const value = here.slots[index]!;
      if (value === slotUnset) {
        reject("42601", `step ${i} (${name}) uses row slot s${index} before it is set`);
      }
      if (value === slotConflict) {
        reject(
          "42601",
          `step ${i} (${name}) row slot s${index} holds different tables on its paths`,
        );
      }
      return { table: value >> 1, kind: value & 1 };
    };
    const tableIndex = (index: number): TableDef => {
      const def = tables[index];
      if (def === undefined) reject("42601", `step ${i} (${name}) table ${index} does not exist`);
      return def;
    };
    const columnOf = (index: number, table: number): ResolvedColumn => {
      const column = columns[index];
      if (column === undefined) {
        reject("42601", `step ${i} (${name}) column ${index} does not exist`);
      }
      if (column.table !== table) {
        reject(
          "42601",
          `step ${i} (${name}) column "${column.name}" is not of relation "${tables[table]!.name}"`,
        );
      }
      return column;
    };
    const target = (to: number): void => {
      if (to <= i || to > steps.length) {
        reject("42601", `step ${i} (${name}) jumps to ${to}: only forward, up to ${steps.length}`);
      }
      const copy = copyState(here);
      const known = incoming[to];
      if (known === undefined) incoming[to] = copy;
      else meet(known, copy);
    };
    const writes = (table: TableDef): void => {
      if (!readWrite) {
        reject("25006", `step ${i} (${name}) writes in a program that did not declare read-write`);
      }
      if (table.checks.length > 0) {
        reject("0A000", `step ${i} (${name}) writes "${table.name}", which has CHECK constraints`);
      }
    };
    const sameTypes = (b: number, c: number): RegTypeCode => {
      const left = readReg(b, "left");
      const right = readReg(c, "right");
      if (left !== right) {
        reject(
          "42804",
          `step ${i} (${name}) mixes ${regTypeNames[left]} and ${regTypeNames[right]}`,
        );
      }
      return left;
    };

    let fallsThrough = true;
    switch (step.op) {
      case Op.end:
        fallsThrough = false;
        break;
      case Op.const:
        needConstant(i, step.b, reg(step.a, "target"));
        here.regs[step.a] = 1;
        break;
      case Op.move:
        writeReg(step.a, readReg(step.b, "source"));
        break;
      case Op.get: {
        slotIndex(step.a);
        const def = tableIndex(step.b);
        if (def.primaryKey.length === 0) {
          reject("0A000", `step ${i} (get) on "${def.name}", which has no primary key`);
        }
        def.primaryKey.forEach((position, k) => {
          const column = def.columns[position]!;
          const want = columnRegType(column.type);
          const got = readReg(step.c + k, "key");
          if (want !== got) {
            reject(
              "42804",
              `step ${i} (get) key r${step.c + k} is ${regTypeNames[got]}, "${column.name}" is ${
                want === undefined ? "of a type programs cannot use" : regTypeNames[want]
              }`,
            );
          }
        });
        here.slots[step.a] = step.b * 2 + slotKindGet;
        break;
      }
      case Op.newRow:
        slotIndex(step.a);
        tableIndex(step.b);
        here.slots[step.a] = step.b * 2 + slotKindNew;
        break;
      case Op.column: {
        const slot = readSlot(step.b);
        writeReg(step.a, columnOf(step.c, slot.table).regType);
        break;
      }
      case Op.setColumn: {
        const slot = readSlot(step.a);
        const column = columnOf(step.b, slot.table);
        const type = readReg(step.c, "source");
        if (type !== column.regType) {
          reject(
            "42804",
            `step ${i} (setColumn) puts ${regTypeNames[type]} into column "${column.name}"`,
          );
        }
        if (column.type.id === TypeId.char) {
          reject("0A000", `step ${i} (setColumn) writes character(n) column "${column.name}"`);
        }
        break;
      }
      case Op.update:
      case Op.delete:
      case Op.insert: {
        const slot = readSlot(step.a);
        const wanted = step.op === Op.insert ? slotKindNew : slotKindGet;
        if (slot.kind !== wanted) {
          reject(
            "42601",
            `step ${i} (${name}) needs a row slot made by ${
              wanted === slotKindNew ? "newRow" : "get"
            }`,
          );
        }
        writes(tables[slot.table]!);
        break;
      }
      case Op.add:
      case Op.sub:
      case Op.mul:
      case Op.div: {
        const type = sameTypes(step.b, step.c);
        if (type !== RegType.int && type !== RegType.float) {
          reject("42804", `step ${i} (${name}) on ${regTypeNames[type]}`);
        }
        writeReg(step.a, type);
        break;
      }
      case Op.eq:
      case Op.ne:
      case Op.lt:
      case Op.le:
        sameTypes(step.b, step.c);
        writeReg(step.a, RegType.bool);
        break;
      case Op.jump:
        target(step.b);
        fallsThrough = false;
        break;
      case Op.jumpIf:
      case Op.jumpUnless:
        if (readReg(step.a, "condition") !== RegType.bool) {
          reject("42804", `step ${i} (${name}) condition r${step.a} is not bool`);
        }
        target(step.b);
        break;
      case Op.jumpIfFound:
      case Op.jumpIfMissing:
        readSlot(step.a);
        target(step.b);
        break;
      case Op.isNull:
        readReg(step.b, "source");
        writeReg(step.a, RegType.bool);
        break;
      case Op.emit:
        readReg(step.a, "source");
        if (++emits > programLimits.emitsMax) {
          reject("54000", `more than ${programLimits.emitsMax} emits`);
        }
        break;
      case Op.fail:
        needConstant(i, step.b, RegType.text);
        fallsThrough = false;
        break;
    }
    state = fallsThrough ? here : undefined;
  }
  return {
    readWrite,
    registerTypes: registerTypes as RegTypeCode[],
    rowSlots,
    tables,
    columns,
    steps,
    codeBytes: code.codeBytes,
    constantCount: code.constantCount,
    constantTypes,
  };
}
