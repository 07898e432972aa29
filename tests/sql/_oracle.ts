/**
 * A logic-bug oracle in the spirit of SQLancer: seeded random tables and predicates, checked with
 * Ternary Logic Partitioning (the rows where p, NOT p and p IS NULL partition the input, so counts,
 * sums and DISTINCT sets over the three parts recombine to the unfiltered ones) and NoREC (a
 * filtered count equals the count of rows the predicate evaluates to true on, computed without
 * a WHERE clause). Every case is reproducible from the seed alone.
 */
import type { Appliance } from "../../kernel/boot.ts";
import { sqlRunner } from "../query/_appliance.ts";

/** A small seeded generator (mulberry32): the same seed gives the same cases. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let x = this.#state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

type ColumnKind = "int" | "text" | "numeric" | "bool" | "float";

interface OracleColumn {
  table: string;
  name: string;
  kind: ColumnKind;
}

const words = ["a", "ab", "abc", "b", "B", "ba", "", "x_y", "x%", "hello", "Hello", "z"];

/** A random literal of `kind` (NULL sometimes). */
function literal(r: Random, kind: ColumnKind, nullChance = 0.1): string {
  if (r.chance(nullChance)) return "null";
  switch (kind) {
    case "int":
      return String(r.int(21) - 10);
    case "text":
      return `'${r.pick(words)}'`;
    case "numeric":
      return `${r.int(41) - 20}.${r.int(4) * 25}`;
    case "bool":
      return r.pick(["true", "false"]);
    case "float":
      return `${r.pick(["0", "1.5", "-2.25", "3", "0.125", "-0.5"])}::float8`;
  }
}

/** Schema and data: two tables with duplicates and NULLs. */
export function generateSchema(r: Random): { sql: string[]; columns: OracleColumn[] } {
  const sql: string[] = [];
  const columns: OracleColumn[] = [];
  const kinds: ColumnKind[] = ["int", "text", "numeric", "bool", "float"];
  for (const table of ["t0", "t1"]) {
    const tableColumns = kinds.map((kind, i) => ({ table, name: `c${i}`, kind }));
    columns.push(...tableColumns);
    const types = {
      int: "int",
      text: "text",
      numeric: "numeric",
      bool: "boolean",
      float: "float8",
    };
    // t0 also has a primary key `id` (1, 2, …) so predicates on it take the access paths.
    const key = table === "t0" ? "id int primary key, " : "";
    sql.push(
      `create table ${table} (${key}${
        tableColumns.map((c) => `${c.name} ${types[c.kind]}`).join(", ")
      })`,
    );
    const rows: string[] = [];
    const count = 1 + r.int(table === "t0" ? 25 : 8);
    for (let i = 0; i < count; i++) {
      if (rows.length > 0 && r.chance(0.2)) {
        rows.push(r.pick(rows)); // a duplicate row
        continue;
      }
      rows.push(tableColumns.map((c) => literal(r, c.kind, 0.2)).join(", "));
    }
    const values = rows.map((row, i) => table === "t0" ? `(${i + 1}, ${row})` : `(${row})`);
    sql.push(`insert into ${table} values ${values.join(", ")}`);
  }
  return { sql, columns };
}

/** Random expressions and predicates over the columns in scope. */
export class ExprGenerator {
  #r: Random;
  #columns: OracleColumn[];
  constructor(r: Random, columns: OracleColumn[]) {
    this.#r = r;
    this.#columns = columns;
  }

  #column(kind: ColumnKind): string | undefined {
    const candidates = this.#columns.filter((c) => c.kind === kind);
    if (candidates.length === 0) return undefined;
    const c = this.#r.pick(candidates);
    return `${c.table}.${c.name}`;
  }

  /** A value expression of `kind`. */
  value(kind: ColumnKind, depth: number): string {
    const r = this.#r;
    if (depth <= 0 || r.chance(0.4)) {
      return r.chance(0.7) ? (this.#column(kind) ?? literal(r, kind)) : literal(r, kind);
    }
    const d = depth - 1;
    switch (kind) {
      case "int":
        return r.pick([
          () => `(${this.value("int", d)} ${r.pick(["+", "-", "*"])} ${this.value("int", d)})`,
          () => `abs(${this.value("int", d)})`,
          () => `coalesce(${this.value("int", d)}, ${this.value("int", d)})`,
          () => `nullif(${this.value("int", d)}, ${this.value("int", d)})`,
          () =>
            `case when ${this.predicate(d)} then ${this.value("int", d)} else ${
              this.value("int", d)
            } end`,
          () => `length(${this.value("text", d)})`,
          () => `(-(${this.value("int", d)}))`,
          () => `mod(${this.value("int", d)}, 7)`,
        ])();
      case "text":
        return r.pick([
          () => `(${this.value("text", d)} || ${this.value("text", d)})`,
          () => `lower(${this.value("text", d)})`,
          () => `upper(${this.value("text", d)})`,
          () => `substring(${this.value("text", d)}, 2, 2)`,
          () => `coalesce(${this.value("text", d)}, ${this.value("text", d)})`,
          () => `replace(${this.value("text", d)}, 'a', 'b')`,
          () => `(${this.value("int", d)})::text`,
        ])();
      case "numeric":
        return r.pick([
          () =>
            `(${this.value("numeric", d)} ${r.pick(["+", "-", "*"])} ${this.value("numeric", d)})`,
          () => `round(${this.value("numeric", d)}, 1)`,
          () => `floor(${this.value("numeric", d)})`,
          () => `(${this.value("int", d)} + ${this.value("numeric", d)})`,
          () => `abs(${this.value("numeric", d)})`,
        ])();
      case "float":
        return r.pick([
          () => `(${this.value("float", d)} ${r.pick(["+", "-", "*"])} ${this.value("float", d)})`,
          () => `(${this.value("int", d)} * ${this.value("float", d)})`,
          () => `abs(${this.value("float", d)})`,
        ])();
      case "bool":
        return `(${this.predicate(d)})`;
    }
  }

  /** A boolean expression, possibly NULL-valued. */
  predicate(depth: number): string {
    const r = this.#r;
    const d = Math.max(0, depth - 1);
    const kind = r.pick<ColumnKind>(["int", "text", "numeric", "bool", "float", "int"]);
    const leaf = (): string => {
      switch (r.int(12)) {
        case 0:
          return `${this.value(kind, d)} is ${r.pick(["", "not "])}null`;
        case 1:
          return `${this.value(kind, d)} is ${r.pick(["", "not "])}distinct from ${
            this.value(kind, d)
          }`;
        case 2: {
          const items = Array.from({ length: 1 + r.int(3) }, () => this.value(kind, 0));
          return `${this.value(kind, d)} ${r.pick(["", "not "])}in (${items.join(", ")})`;
        }
        case 3:
          return `${this.value(kind, d)} ${r.pick(["", "not "])}between ${
            this.value(kind, 0)
          } and ${this.value(kind, 0)}`;
        case 4:
          return `${this.value("text", d)} ${r.pick(["like", "not like", "ilike"])} '${
            r.pick(["a%", "%b", "_", "%", "x\\_%", "%a_"])
          }'`;
        case 5:
          return `${this.value("bool", d)} is ${r.pick(["", "not "])}${
            r.pick(["true", "false", "unknown"])
          }`;
        case 6:
          return this.#column("bool") ?? "true";
        case 8:
          // The primary key: equality and ranges become index lookups and range scans.
          return `t0.id ${r.pick(["=", "<", "<=", ">", ">=", "<>"])} ${r.int(30) - 2}`;
        case 7: {
          // Subqueries over t1, correlated or not.
          const inner = r.pick(["c0", "c1", "c2"]);
          const kindOf = { c0: "int", c1: "text", c2: "numeric" } as const;
          const outer = this.value(kindOf[inner as keyof typeof kindOf], 0);
          return r.pick([
            () => `exists (select 1 from t1 as s where s.${inner} = ${outer})`,
            () => `not exists (select 1 from t1 as s where s.${inner} > ${outer})`,
            () => `${outer} ${r.pick(["", "not "])}in (select s.${inner} from t1 as s)`,
            () => `${outer} = (select max(s.${inner}) from t1 as s)`,
            () => `${outer} ${r.pick(["<", "="])} any (select s.${inner} from t1 as s)`,
          ])();
        }
        default:
          return `${this.value(kind, d)} ${r.pick(["=", "<>", "<", "<=", ">", ">="])} ${
            this.value(kind, d)
          }`;
      }
    };
    if (depth <= 0 || r.chance(0.4)) return leaf();
    switch (r.int(4)) {
      case 0:
        return `(${this.predicate(d)}) and (${this.predicate(d)})`;
      case 1:
        return `(${this.predicate(d)}) or (${this.predicate(d)})`;
      case 2:
        return `not (${this.predicate(d)})`;
      default:
        return leaf();
    }
  }
}

/** One oracle check that failed: everything needed to reproduce it. */
export interface OracleFailure {
  seed: number;
  oracle: string;
  setup: string[];
  queries: string[];
  detail: string;
}

/** Results of a bounded oracle run. */
export interface OracleReport {
  cases: number;
  /** Cases skipped because a query raised an error (e.g. overflow): not a logic bug by itself. */
  errored: number;
  /** A few of those errors (SQLSTATE, message, query), to tell expected ones from bugs. */
  sampleErrors: string[];
  failures: OracleFailure[];
}

function scalar(rows: unknown[][] | undefined): string {
  const v = rows?.[0]?.[0];
  return v === null || v === undefined ? "null" : String(v);
}

function rowSet(rows: unknown[][] | undefined): string[] {
  return [
    ...new Set(
      (rows ?? []).map((r) => JSON.stringify(r.map((v) => v === null ? null : String(v)))),
    ),
  ].sort();
}

/**
 * Runs oracle cases on `appliance` for about `budgetMs` (or at most `maxCases`), one schema per
 * seed: seed, seed + 1, …. Stops at the first failure.
 */
export async function runOracle(
  appliance: Appliance,
  firstSeed: number,
  budgetMs: number,
  maxCases = Number.MAX_SAFE_INTEGER,
): Promise<OracleReport> {
  const report: OracleReport = { cases: 0, errored: 0, sampleErrors: [], failures: [] };
  const deadline = Date.now() + budgetMs;
  for (let seed = firstSeed; Date.now() < deadline && report.cases < maxCases; seed++) {
    const r = new Random(seed);
    const { run } = sqlRunner(appliance);
    await run("drop table if exists t0, t1");
    const schema = generateSchema(r);
    for (const s of schema.sql) await run(s);
    // Several predicates per schema: building tables costs more than a query.
    for (let q = 0; q < 20 && report.cases < maxCases; q++) {
      const joined = r.chance(0.3);
      const from = joined
        ? r.pick([
          "t0, t1",
          "t0 join t1 on t0.c0 = t1.c0",
          "t0 left join t1 on t0.c0 = t1.c0",
          "t0 full join t1 on t0.c1 = t1.c1",
        ])
        : "t0";
      const columns = joined ? schema.columns : schema.columns.filter((c) => c.table === "t0");
      const p = new ExprGenerator(r, columns).predicate(3);
      const checks = oracleQueries(r, from, p);
      report.cases++;
      for (const check of checks) {
        const results: unknown[][][] = [];
        try {
          for (const query of check.queries) results.push((await run(query))[0]!.rows ?? []);
        } catch (error) {
          report.errored++;
          if (report.sampleErrors.length < 5) {
            const e = error as { sqlState?: string; code?: string; message?: string };
            report.sampleErrors.push(
              `${e.sqlState ?? e.code ?? "?"} ${e.message} in: ${check.queries.join("; ")}`,
            );
          }
          await run("rollback").catch(() => {});
          continue;
        }
        const detail = check.verify(results);
        if (detail !== undefined) {
          report.failures.push({
            seed,
            oracle: check.name,
            setup: schema.sql,
            queries: check.queries,
            detail,
          });
          return report;
        }
      }
    }
  }
  return report;
}

interface Check {
  name: string;
  queries: string[];
  /** undefined when consistent, else what differs. */
  verify(results: unknown[][][]): string | undefined;
}

function oracleQueries(r: Random, from: string, p: string): Check[] {
  const parts = [`(${p})`, `not (${p})`, `(${p}) is null`];
  const aggregate = r.pick(["count(*)", "sum(t0.c0)", "max(t0.c1)", "min(t0.c2)", "count(t0.c3)"]);
  const combine = aggregate.startsWith("max") ? "max" : aggregate.startsWith("min") ? "min" : "sum";
  return [
    {
      name: "TLP count",
      queries: [
        `select count(*) from ${from}`,
        ...parts.map((part) => `select count(*) from ${from} where ${part}`),
      ],
      verify(results) {
        const [all, ...split] = results.map(scalar).map(Number);
        const total = split.reduce((a, b) => a + b, 0);
        return total === all
          ? undefined
          : `partitions sum to ${split.join(" + ")} = ${total}, unfiltered ${all}`;
      },
    },
    {
      name: `TLP ${aggregate}`,
      queries: [
        `select ${aggregate} from ${from}`,
        `select ${combine}(a) from (${
          parts.map((part) => `select ${aggregate} as a from ${from} where ${part}`).join(
            " union all ",
          )
        }) as parts`,
      ],
      verify(results) {
        const [all, recombined] = results.map(scalar);
        const norm = (
          s: string,
        ) => (s === "null" && combine === "sum" && aggregate.startsWith("count") ? "0" : s);
        return norm(all!) === norm(recombined!)
          ? undefined
          : `unfiltered ${all}, recombined ${recombined}`;
      },
    },
    {
      name: "TLP DISTINCT",
      queries: [
        `select distinct t0.c1, t0.c0 from ${from}`,
        parts.map((part) => `select distinct t0.c1, t0.c0 from ${from} where ${part}`).join(
          " union ",
        ),
      ],
      verify(results) {
        const [all, union] = results.map(rowSet);
        return JSON.stringify(all) === JSON.stringify(union)
          ? undefined
          : `unfiltered ${JSON.stringify(all)}, union of partitions ${JSON.stringify(union)}`;
      },
    },
    {
      // A primary-key conjunct in front: index lookups and range scans with a residual filter.
      name: "TLP count under a key predicate",
      queries: (() => {
        const key = `t0.id ${r.pick(["=", "=", "<=", ">"])} ${r.int(20)}`;
        return [
          `select count(*) from ${from} where ${key}`,
          ...parts.map((part) => `select count(*) from ${from} where ${key} and ${part}`),
        ];
      })(),
      verify(results) {
        const [all, ...split] = results.map(scalar).map(Number);
        const total = split.reduce((a, b) => a + b, 0);
        return total === all
          ? undefined
          : `partitions sum to ${split.join(" + ")} = ${total}, key-filtered ${all}`;
      },
    },
    {
      name: "TLP GROUP BY",
      queries: [
        `select t0.c1, count(*) from ${from} group by t0.c1`,
        `select c1, sum(n) from (${
          parts.map((part) =>
            `select t0.c1, count(*) as n from ${from} where ${part} group by t0.c1`
          )
            .join(" union all ")
        }) as parts group by c1`,
      ],
      verify(results) {
        const [all, recombined] = results.map(rowSet);
        return JSON.stringify(all) === JSON.stringify(recombined)
          ? undefined
          : `grouped ${JSON.stringify(all)}, recombined ${JSON.stringify(recombined)}`;
      },
    },
    {
      name: "NoREC",
      queries: [
        `select count(*) from ${from} where ${p}`,
        `select sum(case when ${p} then 1 else 0 end) from ${from}`,
      ],
      verify(results) {
        const [filtered, counted] = results.map(scalar);
        const c = counted === "null" ? "0" : counted;
        return filtered === c ? undefined : `WHERE count ${filtered}, CASE count ${c}`;
      },
    },
  ];
}

/** A failure as a self-contained SQL script and the seed that regenerates it. */
export function describeFailure(f: OracleFailure): string {
  return [
    `oracle ${f.oracle} failed for seed ${f.seed}: ${f.detail}`,
    `reproduce: deno task sql:oracle 1 ${f.seed}`,
    ...f.setup.map((s) => `${s};`),
    ...f.queries.map((q) => `${q};`),
  ].join("\n");
}
