/**
 * `deno task sql:fuzz [seconds] [seed]`: random differential testing against a throw-away
 * PostgreSQL 15. Each seed builds the oracle's random tables and a script of random queries
 * (select lists of random expressions, random predicates, joins, aggregates), runs it on ExoDB
 * and on PostgreSQL through the corpus runner, and prints the first script whose results
 * differ (rows, column types, SQLSTATEs), which reproduces from its seed alone.
 */
import { findPgBinDir, pgMissingMessage } from "../_support/pg_cluster.ts";
import { diffOutcomes, runOnExoDb, startPgRunner, type StatementOutcome } from "./_corpus.ts";
import { ExprGenerator, generateSchema, Random } from "./_oracle.ts";

type Kind = "int" | "text" | "numeric" | "bool" | "float";

/** A script for `seed`: the schema, then random queries, one per line. */
export function randomScript(seed: number, queries = 25): string {
  const r = new Random(seed);
  const schema = generateSchema(r);
  const lines = schema.sql.map((s) => `${s};`);
  for (let q = 0; q < queries; q++) {
    const joined = r.chance(0.3);
    const from = joined
      ? r.pick(["t0, t1", "t0 join t1 on t0.c0 = t1.c0", "t0 left join t1 on t0.c1 = t1.c1"])
      : "t0";
    const columns = joined ? schema.columns : schema.columns.filter((c) => c.table === "t0");
    const g = new ExprGenerator(r, columns);
    const where = r.chance(0.7) ? ` where ${g.predicate(2)}` : "";
    if (r.chance(0.3)) {
      const key = g.value(r.pick<Kind>(["int", "text", "bool"]), 1);
      const aggregate = r.pick([
        "count(*)",
        "count(t0.c2)",
        "sum(t0.c0)",
        "min(t0.c1)",
        "max(t0.c2)",
        "avg(t0.c0)",
        "count(distinct t0.c1)",
        "bool_or(t0.c3)",
        "string_agg(t0.c1, ',' order by t0.c1, t0.id)",
      ]);
      lines.push(`select ${key} as k, ${aggregate} as a from ${from}${where} group by 1;`);
    } else {
      const kinds = Array.from(
        { length: 1 + r.int(3) },
        () => r.pick<Kind>(["int", "text", "numeric", "bool", "float"]),
      );
      const exprs = kinds.map((kind, i) => `${g.value(kind, 2)} as e${i}`);
      const distinct = r.chance(0.2) ? "distinct " : "";
      const select = `select ${distinct}${exprs.join(", ")} from ${from}${where}`;
      const shape = r.int(5);
      if (shape === 0) {
        // Ordered by every output column (identical rows are interchangeable), with LIMIT.
        const ordinals = kinds.map((_k, i) =>
          `${i + 1}${r.pick(["", " desc"])}${r.pick(["", " nulls first", " nulls last"])}`
        );
        lines.push(
          `${select} order by ${ordinals.join(", ")} limit ${r.int(8)} offset ${r.int(3)};`,
        );
      } else if (shape === 1) {
        const other = `select ${kinds.map((kind) => g.value(kind, 1)).join(", ")} from t0`;
        const op = r.pick(["union", "union all", "intersect", "except", "except all"]);
        lines.push(`${select} ${op} ${other};`);
      } else lines.push(`${select};`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * Equal values can print differently: -0 and 0, numerics of different scales (5.0 and 5.00).
 * Which of them DISTINCT, GROUP BY or a set operation keeps for a group, and which of tied rows
 * ORDER BY … LIMIT keeps, is unspecified (PostgreSQL keeps whichever it met first), so for those
 * statements they are compared as one; elsewhere the exact text is compared.
 */
function zeroSign(outcomes: StatementOutcome[]): StatementOutcome[] {
  return outcomes.map((o) => {
    if (o.rows === undefined) return o;
    const representative = o.ordered ||
      /\b(distinct|union|intersect|except|group by)\b/.test(o.sql);
    const same = (v: string | null) => {
      if (v === "-0") return "0";
      if (!representative || v === null || !/^-?\d+\.\d+$/.test(v)) return v;
      return v.replace(/\.?0+$/, "");
    };
    const rows = o.rows.map((row) => row.map(same));
    if (!o.ordered) rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    return { ...o, rows };
  });
}

if (import.meta.main) {
  if (findPgBinDir() === undefined) {
    console.log(pgMissingMessage);
    Deno.exit(0);
  }
  const seconds = Number(Deno.args[0] ?? 60);
  const firstSeed = Number(Deno.args[1] ?? Math.floor(Math.random() * 1e6) * 1000);
  const pg = await startPgRunner();
  let scripts = 0;
  let statements = 0;
  let failed = false;
  const deadline = Date.now() + seconds * 1000;
  try {
    for (let seed = firstSeed; Date.now() < deadline; seed++) {
      const script = randomScript(seed);
      // A script that takes over 30 s is reported as hung (with its seed) instead of waiting.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise<"hung">((resolve) => {
        timer = setTimeout(() => resolve("hung"), 30_000);
      });
      const both = Promise.all([pg.run(`seed ${seed}`, script), runOnExoDb(script)]);
      const outcome = await Promise.race([both, hung]);
      clearTimeout(timer);
      if (outcome === "hung") {
        console.log(`seed ${seed}: no result after 30 s (deno task sql:fuzz 1 ${seed})`);
        console.log(script);
        failed = true;
        break;
      }
      const [expected, actual] = outcome;
      scripts++;
      if (scripts % 50 === 0) console.log(`… ${scripts} scripts (seed ${seed})`);
      statements += expected.length;
      const diffs = diffOutcomes(`seed ${seed}`, zeroSign(expected), zeroSign(actual));
      if (diffs.length > 0) {
        console.log(`differences for seed ${seed} (deno task sql:fuzz 1 ${seed}):\n`);
        console.log(script.split("\n").slice(0, 4).join("\n"));
        for (const d of diffs.slice(0, 5)) console.log(`\n${d}`);
        failed = true;
        break;
      }
    }
  } finally {
    await pg.stop();
  }
  console.log(`${scripts} scripts, ${statements} statements compared from seed ${firstSeed}`);
  Deno.exit(failed ? 1 : 0);
}
