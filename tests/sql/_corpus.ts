/**
 * The SQL differential corpus: splits scripts into statements, runs them through node-postgres
 * against a server (ExoDB or a reference PostgreSQL 15), records what each statement produced, and
 * compares two such records with a readable diff.
 */
import pg from "pg";
import { type Appliance, boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";
import { startPgCluster } from "../_support/pg_cluster.ts";

/** What one statement produced, in a form that is compared exactly. */
export interface StatementOutcome {
  sql: string;
  /** The CommandComplete tag as sent ("INSERT 0 3"), on success. */
  tag?: string;
  /** Result columns: name and type OID (only for statements returning rows). */
  columns?: [string, number][];
  /** Text-format values, sorted unless the statement orders them (`ordered`). */
  rows?: (string | null)[][];
  ordered?: boolean;
  /** The error's SQLSTATE; the message is kept for the reader and not compared. */
  error?: { code: string; message: string };
}

/** The expected-output file of one corpus script. */
export interface ScriptOutcome {
  file: string;
  statements: StatementOutcome[];
}

const corpusRoot = new URL("./", import.meta.url);

/** The `.sql` files of one corpus folder ("corpus" or "pending"), sorted by name. */
export function corpusFiles(folder: string): string[] {
  const dir = new URL(`${folder}/`, corpusRoot);
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".sql"))
    .map((e) => e.name)
    .sort();
}

/** Reads a corpus script. */
export function readScript(folder: string, file: string): string {
  return Deno.readTextFileSync(new URL(`${folder}/${file}`, corpusRoot));
}

/** Path of the committed expected output for `file` of `folder`. */
export function expectedUrl(folder: string, file: string): URL {
  const expectedFolder = folder === "corpus" ? "expected" : `${folder}/expected`;
  return new URL(`${expectedFolder}/${file.replace(/\.sql$/, ".json")}`, corpusRoot);
}

/**
 * Splits a script into statements: a statement ends with a semicolon at the end of a line
 * (trailing `--` comments allowed). Chunks holding only comments are dropped.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const line of script.split("\n")) {
    current.push(line);
    if (/;\s*(--.*)?$/.test(line)) {
      const text = current.join("\n").trim();
      current = [];
      if (stripComments(text).trim() !== "") statements.push(text.replace(/;\s*(--.*)?$/, ""));
    }
  }
  if (stripComments(current.join("\n")).trim() !== "") {
    throw new Error(`script ends without a semicolon: ${current.join("\n").slice(0, 200)}`);
  }
  return statements.map((s) => s.split("\n").filter((l) => !/^\s*--/.test(l)).join("\n").trim());
}

function stripComments(text: string): string {
  return text.split("\n").map((l) => l.replace(/^\s*--.*$/, "")).join("\n");
}

/**
 * Whether the statement's top level has ORDER BY (then row order is defined and compared):
 * string literals and parenthesized parts are removed before looking.
 */
export function hasTopLevelOrderBy(sql: string): boolean {
  let text = sql.toLowerCase().replace(/'(?:[^']|'')*'/g, "''");
  for (let previous = ""; previous !== text;) {
    previous = text;
    text = text.replace(/\([^()]*\)/g, " ");
  }
  return /\border\s+by\b/.test(text);
}

function compareRows(a: (string | null)[], b: (string | null)[]): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Runs every statement of `script` on `client`, one simple query each. */
export async function runScript(client: pg.Client, script: string): Promise<StatementOutcome[]> {
  const outcomes: StatementOutcome[] = [];
  // The exact CommandComplete tag (node-postgres keeps only its first word and count).
  let lastTag: string | undefined;
  // deno-lint-ignore no-explicit-any
  const connection = (client as any).connection as {
    on(event: string, f: (msg: { text: string }) => void): void;
  };
  connection.on("commandComplete", (msg) => {
    lastTag = msg.text;
  });
  for (const sql of splitStatements(script)) {
    lastTag = undefined;
    try {
      const result = await client.query({ text: sql, rowMode: "array" });
      const outcome: StatementOutcome = { sql, tag: lastTag ?? "" };
      if (result.fields.length > 0) {
        outcome.columns = result.fields.map((
          f: { name: string; dataTypeID: number },
        ) => [f.name, f.dataTypeID]);
        const rows = (result.rows as (string | null)[][]).map((r) => [...r]);
        const ordered = hasTopLevelOrderBy(sql);
        if (!ordered) rows.sort(compareRows);
        outcome.rows = rows;
        outcome.ordered = ordered;
      }
      outcomes.push(outcome);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === undefined) throw e;
      outcomes.push({ sql, error: { code: err.code, message: err.message ?? "" } });
    }
  }
  return outcomes;
}

/** A client that returns every value as the server's text, unparsed. */
export async function connect(port: number, user: string, database: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port,
    user,
    database,
    types: { getTypeParser: () => (value: string) => value },
  });
  await client.connect();
  // Errors on an idle connection must not crash the process.
  client.on("error", () => {});
  return client;
}

/** Runs `script` on a fresh in-process ExoDB appliance listening on a free port. */
export async function runOnExoDb(
  script: string,
  profile: "exo" | "conventional" = "exo",
): Promise<StatementOutcome[]> {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-sqldiff-" });
  const result = resolveConfig(
    { "data-dir": dataDir, port: "0", "pool-size": "8MiB", profile },
    {},
  );
  if (!result.ok) throw new Error("bad test configuration");
  const appliance: Appliance = await boot(result.config, new Logger("error", () => {}));
  try {
    const client = await connect(appliance.listener.port, "exodb", "exodb");
    try {
      return await runScript(client, script);
    } finally {
      await client.end();
    }
  } finally {
    await appliance.shutdown();
    Deno.removeSync(dataDir, { recursive: true });
  }
}

/** A reference PostgreSQL cluster that runs each script in a database of its own. */
export interface PgRunner {
  run(name: string, script: string): Promise<StatementOutcome[]>;
  stop(): Promise<void>;
}

/** Starts a throw-away PostgreSQL 15 cluster (UTC, ISO dates, as ExoDB's defaults). */
export async function startPgRunner(): Promise<PgRunner> {
  const cluster = await startPgCluster({ TimeZone: "UTC", DateStyle: "ISO, MDY", fsync: "off" });
  let databases = 0;
  // The port accepts connections a little before the server does (57P03 "starting up").
  for (let attempt = 0;; attempt++) {
    try {
      const probe = await connect(cluster.port, cluster.user, "postgres");
      await probe.end();
      break;
    } catch (error) {
      if (attempt >= 100 || (error as { code?: string }).code !== "57P03") {
        await cluster.stop();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    async run(_name, script) {
      const database = `corpus_${++databases}`;
      const admin = await connect(cluster.port, cluster.user, "postgres");
      try {
        await admin.query(`create database ${database} template template0 encoding 'UTF8'`);
      } finally {
        await admin.end();
      }
      const client = await connect(cluster.port, cluster.user, database);
      try {
        return await runScript(client, script);
      } finally {
        await client.end();
      }
    },
    stop: () => cluster.stop(),
  };
}

/** Outcome keys that are compared (the error message is not). */
function comparable(o: StatementOutcome): unknown {
  return {
    tag: o.tag,
    columns: o.columns,
    rows: o.rows,
    error: o.error?.code,
  };
}

function show(o: StatementOutcome): string {
  if (o.error) return `ERROR ${o.error.code}: ${o.error.message}`;
  const lines = [`tag ${o.tag}`];
  if (o.columns) {
    lines.push(`columns ${o.columns.map(([n, t]) => `${n}:${t}`).join(", ")}`);
    for (const row of (o.rows ?? []).slice(0, 20)) {
      lines.push(`  (${row.map((v) => (v === null ? "NULL" : JSON.stringify(v))).join(", ")})`);
    }
    if ((o.rows?.length ?? 0) > 20) lines.push(`  … ${o.rows!.length - 20} more rows`);
  }
  return lines.join("\n    ");
}

/** Readable differences between an expected and an actual run of one script ([] if equal). */
export function diffOutcomes(
  file: string,
  expected: StatementOutcome[],
  actual: StatementOutcome[],
): string[] {
  const diffs: string[] = [];
  if (expected.length !== actual.length) {
    diffs.push(`${file}: ${expected.length} statements expected, ${actual.length} run`);
  }
  for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (JSON.stringify(comparable(e)) !== JSON.stringify(comparable(a))) {
      diffs.push(
        `${file} statement ${i + 1}: ${e.sql}\n  expected: ${show(e)}\n  got:      ${show(a)}`,
      );
    }
  }
  return diffs;
}

/** Reads the committed expected output of a script. */
export function readExpected(folder: string, file: string): ScriptOutcome {
  return JSON.parse(Deno.readTextFileSync(expectedUrl(folder, file))) as ScriptOutcome;
}

/** Writes the expected output of a script: one statement per line-group, stable for review. */
export function writeExpected(folder: string, file: string, statements: StatementOutcome[]): void {
  const url = expectedUrl(folder, file);
  Deno.mkdirSync(new URL("./", url), { recursive: true });
  const body = statements.map((s) => "    " + JSON.stringify(s)).join(",\n");
  Deno.writeTextFileSync(
    url,
    `{\n  "file": ${JSON.stringify(file)},\n  "statements": [\n${body}\n  ]\n}\n`,
  );
}

/**
 * Compares ExoDB with the committed expected outputs of `folder`'s scripts; with `pg` also checks
 * that PostgreSQL still produces them. Returns every difference found.
 */
export async function compareFolder(
  folder: string,
  pgRunner?: PgRunner,
  only: string[] = [],
  profile: "exo" | "conventional" = "exo",
): Promise<{ statements: number; diffs: string[] }> {
  const diffs: string[] = [];
  let statements = 0;
  for (const file of corpusFiles(folder)) {
    if (only.length > 0 && !only.some((o) => file.startsWith(o))) continue;
    const script = readScript(folder, file);
    const expected = readExpected(folder, file).statements;
    statements += expected.length;
    // Both servers run the script at the same time (each in its own database).
    const [fromPg, fromExoDb] = await Promise.all([
      pgRunner?.run(file, script),
      runOnExoDb(script, profile),
    ]);
    if (fromPg !== undefined) {
      for (const d of diffOutcomes(file, expected, fromPg)) {
        diffs.push(`PostgreSQL no longer matches the committed expectation: ${d}`);
      }
    }
    diffs.push(...diffOutcomes(file, expected, fromExoDb));
  }
  return { statements, diffs };
}
