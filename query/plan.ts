/**
 * The bound, typed intermediate form the binder produces from the parser's AST and the
 * executor runs: expressions (`Expr`) over the columns of an input row, and plan nodes
 * (`PlanNode`) that produce rows. Plans are read-only data; execution state lives in the
 * executor's operator objects (PostgreSQL's plan/state split).
 */
import type { SqlValue } from "../dbengine/types.ts";
import type { Table } from "../dbengine/table.ts";
import type { Aggregate } from "./aggregates.ts";
import type { CallContext, SessionView } from "./functions.ts";
import type { SqlType } from "./sql_types.ts";

/** A typed expression. `column` indexes the input row of the node that evaluates it. */
export type Expr =
  | { kind: "const"; type: SqlType; value: SqlValue }
  | { kind: "column"; type: SqlType; index: number }
  /** A column of an enclosing query's row (correlated subqueries): `depth` levels out. */
  | { kind: "outer"; type: SqlType; depth: number; index: number }
  | { kind: "param"; type: SqlType; index: number }
  | {
    kind: "call";
    type: SqlType;
    name: string;
    strict: boolean;
    args: Expr[];
    fn: (args: SqlValue[], ctx: CallContext) => SqlValue;
  }
  | { kind: "and" | "or"; type: SqlType; args: Expr[] }
  | { kind: "not"; type: SqlType; arg: Expr }
  | { kind: "isNull"; type: SqlType; arg: Expr; negated: boolean }
  /** IS [NOT] DISTINCT FROM: `fn` compares two non-NULL values for equality. */
  | {
    kind: "distinct";
    type: SqlType;
    left: Expr;
    right: Expr;
    negated: boolean;
    equal: (a: SqlValue, b: SqlValue) => boolean;
  }
  /** IS [NOT] TRUE / FALSE / UNKNOWN. */
  | {
    kind: "isBool";
    type: SqlType;
    arg: Expr;
    test: "true" | "false" | "unknown";
    negated: boolean;
  }
  | {
    kind: "case";
    type: SqlType;
    whens: { when: Expr; then: Expr }[];
    otherwise: Expr | undefined;
  }
  | { kind: "coalesce"; type: SqlType; args: Expr[] }
  /** x [NOT] IN (list): `equal` compares non-NULL values. */
  | {
    kind: "inList";
    type: SqlType;
    arg: Expr;
    list: Expr[];
    negated: boolean;
    equal: (a: SqlValue, b: SqlValue) => boolean;
  }
  /**
   * A scalar subquery: the first column of its only row (NULL for none; 21000 for several).
   * Subqueries with a `cacheId` refer to no enclosing row: their rows are computed once per
   * execution and kept under that id; the others run again for every row.
   */
  | { kind: "subquery"; type: SqlType; plan: PlanNode; cacheId: number | undefined }
  /** ARRAY(subquery): the first column of every row, as an array. */
  | { kind: "arraySubquery"; type: SqlType; plan: PlanNode }
  | {
    kind: "exists";
    type: SqlType;
    plan: PlanNode;
    negated: boolean;
    cacheId: number | undefined;
  }
  /** x [NOT] IN (subquery) and x op ANY/ALL (subquery). */
  | {
    kind: "quantified";
    type: SqlType;
    arg: Expr;
    plan: PlanNode;
    cacheId: number | undefined;
    all: boolean;
    negated: boolean;
    compare: (a: SqlValue, b: SqlValue) => boolean;
  }
  | { kind: "array"; type: SqlType; elements: Expr[] };

/** One sort key. */
export interface SortKey {
  expr: Expr;
  descending: boolean;
  nullsFirst: boolean;
  compare: (a: SqlValue, b: SqlValue) => number;
}

/** An aggregate call inside an Aggregate node. */
export interface AggregateCall {
  aggregate: Aggregate;
  args: Expr[];
  distinct: boolean;
  /** FILTER (WHERE …). */
  filter: Expr | undefined;
  /** ORDER BY inside the call (string_agg, array_agg). */
  orderBy: SortKey[];
}

/** A bound on the clustering key for a table scan (encoded key bytes, computed per execution). */
export interface KeyBound {
  /** Values of the leading primary key columns. */
  values: Expr[];
  inclusive: boolean;
}

/** Plan nodes; `columns` names and types the rows each produces. */
export type PlanNode =
  | {
    kind: "scan";
    columns: OutputColumn[];
    table: Table;
    /** Exact primary key lookup (all key columns equal), evaluated per execution. */
    lookup: Expr[] | undefined;
    lower: KeyBound | undefined;
    upper: KeyBound | undefined;
    reverse: boolean;
  }
  | {
    kind: "indexScan";
    columns: OutputColumn[];
    table: Table;
    index: string;
    /** Equality on the leading index columns. */
    equal: Expr[];
  }
  | { kind: "values"; columns: OutputColumn[]; rows: Expr[][] }
  /** A system relation (pg_catalog, information_schema): rows computed per execution. */
  | {
    kind: "system";
    columns: OutputColumn[];
    relation: string;
    rows: (session: SessionView) => SqlValue[][];
  }
  | { kind: "function"; columns: OutputColumn[]; name: string; args: Expr[] }
  | { kind: "filter"; columns: OutputColumn[]; input: PlanNode; predicate: Expr }
  | { kind: "project"; columns: OutputColumn[]; input: PlanNode; exprs: Expr[] }
  | {
    kind: "join";
    columns: OutputColumn[];
    joinType: "inner" | "left" | "right" | "full" | "cross";
    left: PlanNode;
    right: PlanNode;
    /** Evaluated on left ‖ right. */
    condition: Expr | undefined;
    /** Equi-join keys for a hash join: left exprs (on left rows) and right exprs (on right rows). */
    hashKeys: { left: Expr[]; right: Expr[] } | undefined;
    /**
     * An index nested loop: `right` runs again for every left row, which it sees as its
     * enclosing row (`outer` depth 1), typically a key lookup. Inner and left joins only.
     */
    lookup?: true;
  }
  | {
    kind: "aggregate";
    columns: OutputColumn[];
    input: PlanNode;
    groupBy: Expr[];
    aggregates: AggregateCall[];
  }
  | { kind: "sort"; columns: OutputColumn[]; input: PlanNode; keys: SortKey[] }
  | {
    kind: "limit";
    columns: OutputColumn[];
    input: PlanNode;
    limit: Expr | undefined;
    offset: Expr | undefined;
  }
  | { kind: "distinct"; columns: OutputColumn[]; input: PlanNode; on: Expr[] | undefined }
  | {
    kind: "setOp";
    columns: OutputColumn[];
    op: "union" | "intersect" | "except";
    all: boolean;
    left: PlanNode;
    right: PlanNode;
  }
  /** A CTE or subquery in FROM, materialized once per execution. */
  | { kind: "materialize"; columns: OutputColumn[]; input: PlanNode; id: number };

/** A column of a plan node's output. */
export interface OutputColumn {
  name: string;
  type: SqlType;
  /** For RowDescription: the table OID and column number when the column comes from a table. */
  tableOid: number;
  columnNumber: number;
}
