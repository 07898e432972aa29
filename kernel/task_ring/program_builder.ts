/**
 * The typed way for an app to write a step program (program_format.ts): registers carry their
 * type in TypeScript, labels give forward jumps, and `build()` returns a {@link StepProgram}
 * whose code is encoded once and whose parameters are supplied per run. The builder does not
 * check the program — the kernel's verifier does, and is the only judge.
 */
import {
  encodeProgram,
  Op,
  type ProgramValue,
  RegType,
  type RegTypeName,
  regTypeNames,
  type Step,
} from "./program_format.ts";

/** The JS type a register of each type holds. */
export interface RegValue {
  int: bigint;
  float: number;
  text: string;
  bool: boolean;
}

/** A typed register. */
export interface Reg<T extends RegTypeName = RegTypeName> {
  readonly index: number;
  readonly type: T;
}

/** A row slot: a row of one table, read by get or made by newRow. */
export interface RowRef {
  readonly slot: number;
  readonly table: string;
}

/** A forward jump target; place it after the jumps to it. */
export interface Label {
  readonly id: number;
}

/** A built program: encoded code plus the constants (parameters first, then literals). */
export class StepProgram {
  /** The code part: header, names and steps (what the kernel verifies and caches). */
  readonly code: Uint8Array;
  /** Parameter types, in order. */
  readonly paramTypes: readonly RegTypeName[];
  /** Literal constants, after the parameters. */
  readonly literals: readonly ProgramValue[];

  constructor(code: Uint8Array, paramTypes: RegTypeName[], literals: ProgramValue[]) {
    this.code = code;
    this.paramTypes = paramTypes;
    this.literals = literals;
  }

  /** The constants for one run with `params`. */
  constants(params: readonly ProgramValue[]): ProgramValue[] {
    if (params.length !== this.paramTypes.length) {
      throw new RangeError(
        `program takes ${this.paramTypes.length} parameters, got ${params.length}`,
      );
    }
    return [...params, ...this.literals];
  }
}

/** Builds a step program. */
export class ProgramBuilder {
  readonly #readWrite: boolean;
  readonly #registerTypes: number[] = [];
  readonly #tables: string[] = [];
  readonly #columns: { table: number; name: string }[] = [];
  readonly #steps: Step[] = [];
  readonly #paramTypes: RegTypeName[] = [];
  /** Steps loading parameters (their constant index is fixed at build). */
  readonly #paramLoads: Step[] = [];
  readonly #literals: ProgramValue[] = [];
  /** Steps loading literals (constant index = params + literal index, fixed at build). */
  readonly #literalLoads: { step: Step; literal: number }[] = [];
  readonly #labelUses = new Map<number, Step[]>();
  readonly #labelAt = new Map<number, number>();
  #slots = 0;
  #labels = 0;

  /** `readWrite` declares the transaction that update/insert/delete need. */
  constructor(options: { readWrite?: boolean } = {}) {
    this.#readWrite = options.readWrite ?? false;
  }

  #step(op: number, a = 0, b = 0, c = 0): Step {
    const step = { op, a, b, c, d: 0 };
    this.#steps.push(step);
    return step;
  }

  #table(name: string): number {
    const known = this.#tables.indexOf(name);
    if (known >= 0) return known;
    this.#tables.push(name);
    return this.#tables.length - 1;
  }

  #column(table: string, name: string): number {
    const t = this.#table(table);
    const known = this.#columns.findIndex((c) => c.table === t && c.name === name);
    if (known >= 0) return known;
    this.#columns.push({ table: t, name });
    return this.#columns.length - 1;
  }

  /** Declares a register (unset until a step writes it). */
  register<T extends RegTypeName>(type: T): Reg<T> {
    this.#registerTypes.push(RegType[type]);
    return { index: this.#registerTypes.length - 1, type };
  }

  /** Declares a register loaded from the next run parameter. */
  param<T extends RegTypeName>(type: T): Reg<T> {
    const reg = this.register(type);
    this.#paramTypes.push(type);
    this.#paramLoads.push(this.#step(Op.const, reg.index, this.#paramTypes.length - 1));
    return reg;
  }

  /** Sets `reg` to a literal value (or NULL). */
  literal<T extends RegTypeName>(reg: Reg<T>, value: RegValue[T] | null): this {
    this.#literals.push(value);
    this.#literalLoads.push({
      step: this.#step(Op.const, reg.index),
      literal: this.#literals.length - 1,
    });
    return this;
  }

  /** A new register holding a literal. */
  constant<T extends RegTypeName>(type: T, value: RegValue[T] | null): Reg<T> {
    const reg = this.register(type);
    this.literal(reg, value);
    return reg;
  }

  move<T extends RegTypeName>(into: Reg<T>, from: Reg<T>): this {
    this.#step(Op.move, into.index, from.index);
    return this;
  }

  /** Reads the row of `table` with primary key `key` (consecutive registers, in key order). */
  get(table: string, ...key: Reg[]): RowRef {
    const first = key[0]?.index ?? 0;
    key.forEach((reg, i) => {
      if (reg.index !== first + i) {
        throw new RangeError("get: key registers must be consecutive (declare them in key order)");
      }
    });
    const slot = this.#slots++;
    this.#step(Op.get, slot, this.#table(table), first);
    return { slot, table };
  }

  /** A new row of `table`, every column NULL, for insert. */
  newRow(table: string): RowRef {
    const slot = this.#slots++;
    this.#step(Op.newRow, slot, this.#table(table));
    return { slot, table };
  }

  /** into ← row.column. */
  readColumn(into: Reg, row: RowRef, column: string): this {
    this.#step(Op.column, into.index, row.slot, this.#column(row.table, column));
    return this;
  }

  /** row.column ← from (in the slot; update or insert writes it). */
  setColumn(row: RowRef, column: string, from: Reg): this {
    this.#step(Op.setColumn, row.slot, this.#column(row.table, column), from.index);
    return this;
  }

  update(row: RowRef): this {
    this.#step(Op.update, row.slot);
    return this;
  }

  insert(row: RowRef): this {
    this.#step(Op.insert, row.slot);
    return this;
  }

  delete(row: RowRef): this {
    this.#step(Op.delete, row.slot);
    return this;
  }

  add<T extends "int" | "float">(into: Reg<T>, left: Reg<T>, right: Reg<T>): this {
    this.#step(Op.add, into.index, left.index, right.index);
    return this;
  }
  sub<T extends "int" | "float">(into: Reg<T>, left: Reg<T>, right: Reg<T>): this {
    this.#step(Op.sub, into.index, left.index, right.index);
    return this;
  }
  mul<T extends "int" | "float">(into: Reg<T>, left: Reg<T>, right: Reg<T>): this {
    this.#step(Op.mul, into.index, left.index, right.index);
    return this;
  }
  div<T extends "int" | "float">(into: Reg<T>, left: Reg<T>, right: Reg<T>): this {
    this.#step(Op.div, into.index, left.index, right.index);
    return this;
  }

  eq<T extends RegTypeName>(into: Reg<"bool">, left: Reg<T>, right: Reg<T>): this {
    this.#step(Op.eq, into.index, left.index, right.index);
    return this;
  }
  ne<T extends RegTypeName>(into: Reg<"bool">, left: Reg<T>, right: Reg<T>): this {
    this.#step(Op.ne, into.index, left.index, right.index);
    return this;
  }
  lt<T extends RegTypeName>(into: Reg<"bool">, left: Reg<T>, right: Reg<T>): this {
    this.#step(Op.lt, into.index, left.index, right.index);
    return this;
  }
  le<T extends RegTypeName>(into: Reg<"bool">, left: Reg<T>, right: Reg<T>): this {
    this.#step(Op.le, into.index, left.index, right.index);
    return this;
  }

  isNull(into: Reg<"bool">, from: Reg): this {
    this.#step(Op.isNull, into.index, from.index);
    return this;
  }

  /** A new label (a forward jump target). */
  label(): Label {
    return { id: this.#labels++ };
  }

  /** Places `label` at the next step. */
  place(label: Label): this {
    this.#labelAt.set(label.id, this.#steps.length);
    return this;
  }

  #jump(op: number, a: number, label: Label): this {
    const step = this.#step(op, a);
    const uses = this.#labelUses.get(label.id) ?? [];
    uses.push(step);
    this.#labelUses.set(label.id, uses);
    return this;
  }

  jump(label: Label): this {
    return this.#jump(Op.jump, 0, label);
  }
  jumpIf(condition: Reg<"bool">, label: Label): this {
    return this.#jump(Op.jumpIf, condition.index, label);
  }
  jumpUnless(condition: Reg<"bool">, label: Label): this {
    return this.#jump(Op.jumpUnless, condition.index, label);
  }
  jumpIfFound(row: RowRef, label: Label): this {
    return this.#jump(Op.jumpIfFound, row.slot, label);
  }
  jumpIfMissing(row: RowRef, label: Label): this {
    return this.#jump(Op.jumpIfMissing, row.slot, label);
  }

  /** Appends a register's value to the result. */
  emit(from: Reg): this {
    this.#step(Op.emit, from.index);
    return this;
  }

  /** Fails the program with `message` (P0001): its transaction rolls back. */
  fail(message: string): this {
    this.#literals.push(message);
    this.#literalLoads.push({ step: this.#step(Op.fail), literal: this.#literals.length - 1 });
    return this;
  }

  end(): this {
    this.#step(Op.end);
    return this;
  }

  /** Encodes the program. Labels must have been placed. */
  build(): StepProgram {
    for (const [id, uses] of this.#labelUses) {
      const at = this.#labelAt.get(id);
      if (at === undefined) throw new RangeError(`label ${id} was never placed`);
      for (const step of uses) step.b = at;
    }
    const params = this.#paramTypes.length;
    for (const { step, literal } of this.#literalLoads) step.b = params + literal;
    const code = encodeProgram({
      readWrite: this.#readWrite,
      registerTypes: this.#registerTypes,
      rowSlots: this.#slots,
      tables: this.#tables,
      columns: this.#columns,
      steps: this.#steps,
      constants: new Array(params + this.#literals.length).fill(null),
    });
    // Keep only the code part: constants are encoded per run.
    const codeBytes = new DataView(code.buffer).getUint16(14, true);
    return new StepProgram(code.slice(0, codeBytes), [...this.#paramTypes], [...this.#literals]);
  }
}

/** Names of register types (re-exported for apps). */
export { regTypeNames };
