/**
 * The parsed form of SQL statements (what sql_parser.ts produces, what the binder reads).
 * Plain data with a `kind` tag; every node keeps `offset`, its 0-based position in the
 * statement text (errors report it as PostgreSQL's 1-based position).
 */

export interface TypeName {
  /** Lower-case name, e.g. "integer", "varchar", "timestamp with time zone". */
  name: string;
  /** Modifiers: varchar(n), numeric(p, s). */
  args: number[];
  array: boolean;
}

export type AstExpr =
  | { kind: "number"; text: string; offset: number }
  | { kind: "string"; value: string; offset: number }
  | { kind: "bool"; value: boolean; offset: number }
  | { kind: "null"; offset: number }
  | { kind: "param"; index: number; offset: number }
  /** a, t.a; `star` for t.* in a select list. */
  | { kind: "column"; parts: string[]; offset: number }
  | { kind: "star"; table: string | undefined; offset: number }
  | { kind: "binary"; op: string; left: AstExpr; right: AstExpr; offset: number }
  | { kind: "unary"; op: string; arg: AstExpr; offset: number }
  | { kind: "and" | "or"; args: AstExpr[]; offset: number }
  | { kind: "not"; arg: AstExpr; offset: number }
  | { kind: "isNull"; arg: AstExpr; negated: boolean; offset: number }
  | {
    kind: "isBool";
    arg: AstExpr;
    test: "true" | "false" | "unknown";
    negated: boolean;
    offset: number;
  }
  | { kind: "isDistinct"; left: AstExpr; right: AstExpr; negated: boolean; offset: number }
  | {
    kind: "between";
    arg: AstExpr;
    low: AstExpr;
    high: AstExpr;
    negated: boolean;
    symmetric: boolean;
    offset: number;
  }
  | { kind: "inList"; arg: AstExpr; list: AstExpr[]; negated: boolean; offset: number }
  | { kind: "inSelect"; arg: AstExpr; query: SelectStatement; negated: boolean; offset: number }
  | {
    kind: "like";
    arg: AstExpr;
    pattern: AstExpr;
    escape: AstExpr | undefined;
    caseInsensitive: boolean;
    negated: boolean;
    offset: number;
  }
  | {
    kind: "call";
    name: string;
    args: AstExpr[];
    distinct: boolean;
    star: boolean;
    orderBy: OrderItem[];
    filter: AstExpr | undefined;
    offset: number;
  }
  | { kind: "cast"; arg: AstExpr; type: TypeName; offset: number }
  | {
    kind: "case";
    operand: AstExpr | undefined;
    whens: { when: AstExpr; then: AstExpr }[];
    otherwise: AstExpr | undefined;
    offset: number;
  }
  | { kind: "subquery"; query: SelectStatement; offset: number }
  | { kind: "exists"; query: SelectStatement; offset: number }
  | {
    kind: "quantified";
    op: string;
    arg: AstExpr;
    all: boolean;
    query: SelectStatement;
    offset: number;
  }
  | { kind: "array"; elements: AstExpr[]; offset: number }
  /** Typed literal: DATE '…', INTERVAL '…'. */
  | { kind: "typed"; type: TypeName; value: string; offset: number };

export interface OrderItem {
  expr: AstExpr;
  descending: boolean;
  /** undefined: the default (NULLS LAST for ASC, FIRST for DESC). */
  nullsFirst: boolean | undefined;
}

export type FromItem =
  | {
    kind: "table";
    name: string;
    /** The schema when the name was qualified (pg_catalog, information_schema, public …). */
    schema?: string;
    alias: string | undefined;
    columnAliases: string[];
    offset: number;
  }
  | {
    kind: "subquery";
    query: SelectStatement;
    alias: string;
    columnAliases: string[];
    /** LATERAL: may refer to FROM items to its left (re-run per left row). */
    lateral?: boolean;
    offset: number;
  }
  | {
    kind: "function";
    call: Extract<AstExpr, { kind: "call" }>;
    alias: string | undefined;
    columnAliases: string[];
    offset: number;
  }
  | {
    kind: "join";
    joinType: "inner" | "left" | "right" | "full" | "cross";
    left: FromItem;
    right: FromItem;
    on: AstExpr | undefined;
    using: string[] | undefined;
    /** NATURAL JOIN: USING the column names both sides share. */
    natural?: boolean;
    offset: number;
  };

export interface SelectTarget {
  expr: AstExpr;
  alias: string | undefined;
}

export interface SelectCore {
  kind: "core";
  distinct: boolean;
  distinctOn: AstExpr[] | undefined;
  targets: SelectTarget[];
  from: FromItem[];
  where: AstExpr | undefined;
  groupBy: AstExpr[];
  having: AstExpr | undefined;
  offset: number;
}

export interface SelectValues {
  kind: "values";
  rows: AstExpr[][];
  offset: number;
}

export interface SetOperation {
  kind: "setOp";
  op: "union" | "intersect" | "except";
  all: boolean;
  left: QueryBody;
  right: QueryBody;
  offset: number;
}

export type QueryBody = SelectCore | SelectValues | SetOperation | SelectStatement;

export interface SelectStatement {
  kind: "select";
  with: { name: string; columns: string[]; query: SelectStatement }[];
  body: QueryBody;
  orderBy: OrderItem[];
  limit: AstExpr | undefined;
  offsetRows: AstExpr | undefined;
  offset: number;
}

export interface ColumnDefinition {
  name: string;
  type: TypeName;
  notNull: boolean;
  primaryKey: boolean;
  unique: boolean;
  default: AstExpr | undefined;
  defaultText: string | undefined;
  check: { sql: string; expr: AstExpr } | undefined;
  identity: "always" | "by default" | undefined;
}

export type TableConstraint =
  | { kind: "primaryKey"; name: string | undefined; columns: string[] }
  | { kind: "unique"; name: string | undefined; columns: string[] }
  | { kind: "check"; name: string | undefined; sql: string; expr: AstExpr }
  | { kind: "foreignKey"; name: string | undefined; columns: string[] };

export type Statement =
  | SelectStatement
  | {
    kind: "insert";
    table: string;
    columns: string[] | undefined;
    source: SelectStatement | "defaults";
    onConflict: {
      columns: string[];
      action: "nothing" | { set: { column: string; value: AstExpr }[]; where: AstExpr | undefined };
    } | undefined;
    returning: SelectTarget[];
    offset: number;
  }
  | {
    kind: "update";
    table: string;
    alias: string | undefined;
    set: { column: string; value: AstExpr }[];
    from: FromItem[];
    where: AstExpr | undefined;
    returning: SelectTarget[];
    offset: number;
  }
  | {
    kind: "delete";
    table: string;
    alias: string | undefined;
    where: AstExpr | undefined;
    returning: SelectTarget[];
    offset: number;
  }
  | {
    kind: "createTable";
    name: string;
    ifNotExists: boolean;
    columns: ColumnDefinition[];
    constraints: TableConstraint[];
    offset: number;
  }
  | { kind: "dropTable"; names: string[]; ifExists: boolean; offset: number }
  | {
    kind: "createIndex";
    name: string | undefined;
    table: string;
    unique: boolean;
    ifNotExists: boolean;
    columns: { name: string; descending: boolean }[];
    offset: number;
  }
  | { kind: "dropIndex"; names: string[]; ifExists: boolean; offset: number }
  | {
    kind: "createSequence";
    name: string;
    ifNotExists: boolean;
    start: bigint;
    increment: bigint;
    offset: number;
  }
  | { kind: "dropSequence"; names: string[]; ifExists: boolean; offset: number }
  | { kind: "alterTable"; table: string; action: AlterAction; offset: number }
  | { kind: "truncate"; names: string[]; offset: number }
  /** `tag`: the command tag, BEGIN or START TRANSACTION as written. */
  | { kind: "begin"; offset: number; tag?: string }
  | { kind: "commit"; offset: number }
  | { kind: "rollback"; offset: number }
  | { kind: "set"; name: string; value: string | undefined; local: boolean; offset: number }
  | { kind: "show"; name: string; offset: number }
  | { kind: "reset"; name: string; offset: number }
  /** VACUUM, ANALYZE, CHECKPOINT, DISCARD …: `tag` is the command tag. */
  /** VACUUM, ANALYZE, CHECKPOINT, …; `analyze` for ANALYZE and VACUUM (ANALYZE). */
  | { kind: "utility"; tag: string; tables: string[]; offset: number; analyze?: boolean }
  | {
    kind: "copyFrom";
    table: string;
    columns: string[] | undefined;
    options: Map<string, string>;
    offset: number;
  }
  | {
    kind: "copyTo";
    table: string | undefined;
    query: SelectStatement | undefined;
    columns: string[] | undefined;
    options: Map<string, string>;
    offset: number;
  }
  | {
    kind: "explain";
    analyze: boolean;
    /** Show estimated rows (COSTS, on by default). */
    costs: boolean;
    /** Show actual times under ANALYZE (TIMING, on by default). */
    timing: boolean;
    statement: Statement;
    offset: number;
  }
  | { kind: "empty"; offset: number };

export type AlterAction =
  | { kind: "addColumn"; column: ColumnDefinition; ifNotExists: boolean }
  | { kind: "dropColumn"; name: string; ifExists: boolean }
  | { kind: "addConstraint"; constraint: TableConstraint };

/** A statement with its source text (for the plan cache and error positions). */
export interface ParsedStatement {
  statement: Statement;
  text: string;
  /** Offset of `text` in the whole query string. */
  start: number;
}
