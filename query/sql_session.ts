/**
 * A SQL session: transaction state (autocommit, BEGIN … COMMIT, failed transactions), session
 * settings, and statement execution over the storage engine. The wire protocol (kernel/) turns
 * messages into calls here and results into messages.
 *
 * Rules (PostgreSQL's):
 * 1. Outside a transaction block every statement runs in its own transaction (autocommit).
 * 2. Each statement gets a new snapshot and command id (READ COMMITTED).
 * 3. After an error inside a block, everything but COMMIT/ROLLBACK fails with 25P02; COMMIT of
 *    a failed block rolls back (tag ROLLBACK).
 * 4. UPDATE and DELETE re-check their WHERE on the newest row version after a lock wait.
 */
import type { Catalog, NewTableDef, SequenceDef } from "../dbengine/catalog.ts";
import type { Storage } from "../dbengine/storage.ts";
import {
  type ColumnDef,
  type IndexDef,
  type Table,
  type TableRow,
  vacuumStepKeys,
} from "../dbengine/table.ts";
import { UniqueViolationError } from "../dbengine/mvcc.ts";
import { bulkAppendSorted } from "../dbengine/bulk_append.ts";
import { compareKeys } from "../dbengine/key_codec.ts";
import type { Transaction } from "../dbengine/txn.ts";
import { sameStoredValue, type SqlValue, TypeId } from "../dbengine/types.ts";
import { ExoError } from "../lib/errors.ts";
import { yieldPoint } from "../lib/yield.ts";
import { slicedSort } from "../lib/sliced_sort.ts";
import { TableChangedError } from "../dbengine/table_locks.ts";
import type { TaskClass, TaskContext, TaskRunner } from "../lib/task_context.ts";
import { Binder, BindError, notSupported, resolveTypeName, type Scope } from "./binder.ts";
import { crossingKinds, crossings, diffCrossings } from "../hw/crossings.ts";
import { analyzeTable } from "./analyze.ts";
import { createIndex, dropIndexes } from "./ddl_index.ts";
import { bindStoredExpr, checkRow, fillDefaults, tableScope } from "./table_rules.ts";
import { RowEstimator } from "./estimate.ts";
import { explainPlan } from "./explain.ts";
import {
  collect,
  evaluate,
  type ExecContext,
  type NodeProfile,
  passes,
  type Row,
} from "./executor.ts";
import { evaluateNow, isPlainExpr, passesNow } from "./expr_now.ts";
import { nowMicros } from "./datetime.ts";
import type { CallContext, SequenceAccess, SessionView } from "./functions.ts";
import "./sequence_functions.ts";
import "./exodb_stat_relations.ts";
import { chargeSince, newSessionCrossings } from "./session_stats.ts";
import { catalogModel } from "./catalog_model.ts";
import { regOutput } from "./reg_types.ts";
import { parseValue, parseZone, type TextSettings } from "./pg_text.ts";
import type { Expr, OutputColumn, PlanNode } from "./plan.ts";
import type { AstExpr, ColumnDefinition, Statement } from "./sql_ast.ts";
import { isOidFamily, type SqlType, storable, t } from "./sql_types.ts";

/** The result of one statement. */
/** SHOW's column name: the setting's canonical spelling ("TimeZone" for timezone). */
const showNames: Record<string, string> = {
  timezone: "TimeZone",
  datestyle: "DateStyle",
  intervalstyle: "IntervalStyle",
};

export interface StatementResult {
  tag: string;
  columns?: OutputColumn[];
  rows?: Row[];
  notices?: { code: string; message: string }[];
}

/** The engine a session runs on (read per statement: the kernel may restart it). */
export interface EngineAccess {
  storage: Storage;
  catalog: Catalog;
}

/** Settings clients send, with PostgreSQL's defaults. */
export const defaultSettings: Record<string, string> = {
  server_version: "15.10",
  server_version_num: "150010",
  server_encoding: "UTF8",
  client_encoding: "UTF8",
  datestyle: "ISO, MDY",
  intervalstyle: "postgres",
  timezone: "UTC",
  integer_datetimes: "on",
  standard_conforming_strings: "on",
  application_name: "",
  search_path: '"$user", public',
  statement_timeout: "0",
  idle_in_transaction_session_timeout: "0",
  extra_float_digits: "1",
  synchronous_commit: "on",
  transaction_isolation: "read committed",
  default_transaction_isolation: "read committed",
  is_superuser: "on",
  session_authorization: "exodb",
  max_connections: "100",
  lc_collate: "C",
  lc_ctype: "C",
  block_size: "8192",
};

const readOnlySettings = new Set([
  "server_version",
  "server_version_num",
  "server_encoding",
  "integer_datetimes",
  "is_superuser",
  "block_size",
  "lc_collate",
  "lc_ctype",
  "max_connections",
]);

/** Settings that hold a duration (checked on SET). */
const durationSettings = new Set(["statement_timeout", "idle_in_transaction_session_timeout"]);

/** A DML statement's target rows as bound: the table, its scope, how to find them, the filter. */
interface BoundTargets {
  table: Table;
  scope: Scope;
  plan: PlanNode;
  predicate: Expr | undefined;
}

/**
 * The plan cache's key text of a parameter type list, by array (a prepared statement's list is
 * one array for its life; a caller that changes an array's contents passes a new one).
 */
const typesKeys = new WeakMap<readonly SqlType[], { length: number; text: string }>();

/** A VALUES list with no ORDER BY or LIMIT: its rows are bound, not run as a query. */
function isPlainValues(
  source: Exclude<Extract<Statement, { kind: "insert" }>["source"], "defaults">,
): source is typeof source & { body: { kind: "values" } } {
  return source.body.kind === "values" && source.orderBy.length === 0 &&
    source.limit === undefined;
}

/** Rows a primary-key rebuild appends between two yield points (where writers wait for log space). */
const rebuildSliceRows = 256;
/**
 * The enclosing rows of a top-level statement: none. Shared by every statement, so frozen
 * (correlated subqueries build their own array: `[...ctx.outer, row]`).
 */
const noOuterRows: Row[] = Object.freeze([]) as never;

export class SqlSession {
  readonly #engine: () => EngineAccess;
  readonly settings = new Map<string, string>(Object.entries(defaultSettings));
  /** The settings when the block's first SET ran (restored on rollback). */
  #settingsAtBegin: Map<string, string> | undefined;
  /** Names set with SET LOCAL in this block (restored at its end). */
  readonly #localSettings = new Set<string>();
  #txn: Transaction | undefined;
  #explicit = false;
  #failed = false;
  #transactionStart = 0;
  /** Set by {@link cancel}; seen at the running statement's next yield point. */
  #cancelRequested = false;
  /** performance.now() past which the running statement fails (statement_timeout); 0: none. */
  #deadlineMs = 0;
  /** Who and where the client is (startup packet, connection): read by the system catalogs. */
  user = "exodb";
  database = "exodb";
  backendPid = Deno.pid;
  serverAddress: string | null = null;
  serverPort: number | null = null;
  /** For exodb_stat_sessions: when it began, statements run, crossings charged. */
  readonly startedMicros = nowMicros();
  statements = 0;
  readonly crossings = newSessionCrossings();
  #active = false;
  /** Called after every statement with its tag (or `error SQLSTATE`) and duration: the log. */
  afterStatement: ((outcome: string, durationMs: number) => void) | undefined;
  /**
   * Runs each statement as a scheduler task (the kernel installs its scheduler's runner); its
   * yield points then go through that task. Unset (tools, tests): the time slicer.
   */
  taskRunner: TaskRunner | undefined;
  /** The task the running statement holds, while one runs through {@link taskRunner}. */
  #task: TaskContext | undefined;

  constructor(engine: () => EngineAccess) {
    this.#engine = engine;
  }

  /**
   * The open transaction block as its next statement will see it — every change of its earlier
   * statements visible — for describing a statement before it runs (Parse). Undefined outside
   * a block.
   */
  get nextStatementReader(): Transaction | undefined {
    const txn = this.#explicit ? this.#txn : undefined;
    return txn === undefined ? undefined : Object.create(txn, { cid: { value: txn.cid + 1 } });
  }

  /** ReadyForQuery status: idle, in a transaction block, or in a failed one. */
  get status(): "I" | "T" | "E" {
    if (!this.#explicit) return "I";
    return this.#failed ? "E" : "T";
  }

  get textSettings(): TextSettings {
    const zone = this.settings.get("timezone") ?? "UTC";
    // Asked for by every statement: a fixed zone (UTC, an offset) is parsed once per setting; a
    // named zone's offset depends on the date (daylight saving), so it is worked out each time.
    const cached = this.#textSettingsCache;
    if (cached !== undefined && cached.zone === zone) return cached.settings;
    const settings = { timeZoneOffsetSeconds: this.#zoneOffsetSeconds(zone) };
    if (/^(utc|gmt|etc\/utc|z|[+-]\d[\d:]*)$/i.test(zone.trim())) {
      this.#textSettingsCache = { zone, settings };
    }
    return settings;
  }

  #textSettingsCache: { zone: string; settings: TextSettings } | undefined;
  /** Scratch counters for {@link chargeSince}; taken while a statement is charged. */
  #chargeScratch: Float64Array | undefined = newSessionCrossings();

  #zoneOffsetSeconds(zone: string): number {
    let offset = 0;
    try {
      offset = /^(utc|gmt|etc\/utc|z)$/i.test(zone) ? 0 : parseZone(zone, TypeId.timestamptz, zone);
      // A bare offset setting is a POSIX zone: '+05:30' is 5h30 WEST of Greenwich.
      if (/^[+-]\d/.test(zone.trim())) offset = -offset;
    } catch {
      offset = 0;
    }
    return offset;
  }

  /**
   * Asks the running statement to stop: it fails with 57014 at its next yield point. A request
   * that arrives while no statement runs is forgotten when the next one starts (PostgreSQL's
   * behaviour for a cancel that comes too late).
   */
  cancel(): void {
    this.#cancelRequested = true;
  }

  /** Starts a statement's interrupt state: no cancel pending, the statement_timeout deadline. */
  #startInterrupts(): void {
    this.#cancelRequested = false;
    const timeoutMs = this.durationSettingMs("statement_timeout");
    this.#deadlineMs = timeoutMs > 0 ? performance.now() + timeoutMs : 0;
  }

  /**
   * A duration setting (statement_timeout, idle_in_transaction_session_timeout) in ms, 0 when
   * off. Asked per statement and per read; each is parsed only when its text changes.
   */
  durationSettingMs(name: string): number {
    const text = this.settings.get(name) ?? "0";
    let parsed = this.#durations.get(name);
    if (parsed === undefined || parsed.text !== text) {
      parsed = { text, ms: parseDurationMs(text) ?? 0 };
      this.#durations.set(name, parsed);
    }
    return parsed.ms;
  }

  /** Duration settings as last parsed, by name. */
  readonly #durations = new Map<string, { text: string; ms: number }>();

  /** Throws 57014 when the statement was cancelled or ran past statement_timeout. */
  #checkInterrupts(): void {
    if (this.#cancelRequested) {
      this.#cancelRequested = false;
      throw new ExoError("57014", "canceling statement due to user request");
    }
    if (this.#deadlineMs > 0 && performance.now() > this.#deadlineMs) {
      throw new ExoError("57014", "canceling statement due to statement timeout");
    }
  }

  /** Rolls back whatever is open (the connection went away). */
  abort(): void {
    if (this.#txn !== undefined && this.#txn.state === "active") {
      this.#engine().storage.txns.rollback(this.#txn);
    }
    this.#txn = undefined;
    this.#explicit = false;
    this.#failed = false;
  }

  /** A statement is running now. */
  get active(): boolean {
    return this.#active;
  }

  /** Runs one statement with `params` (already typed by the caller), charging its crossings. */
  async execute(
    statement: Statement,
    params: SqlValue[] = [],
    paramTypes: SqlType[] = [],
  ): Promise<StatementResult> {
    this.statements++;
    this.#active = true;
    const startMs = this.afterStatement === undefined ? 0 : performance.now();
    let outcome = "error";
    try {
      const runner = this.taskRunner;
      const result = runner === undefined
        ? await this.#charged(statement, params, paramTypes, undefined)
        : await runner(
          statementClass(statement),
          statement.kind,
          (task) => this.#charged(statement, params, paramTypes, task),
        );
      outcome = result.tag;
      return result;
    } catch (error) {
      if (error instanceof ExoError) outcome = `error ${error.sqlState}`;
      throw error;
    } finally {
      this.#active = false;
      this.afterStatement?.(outcome, performance.now() - startMs);
    }
  }

  /**
   * Runs the statement (as `task`, when the runner gave one) and charges the crossings made
   * meanwhile to the session: one async frame between the runner and the statement.
   */
  async #charged(
    statement: Statement,
    params: SqlValue[],
    paramTypes: SqlType[],
    task: TaskContext | undefined,
  ): Promise<StatementResult> {
    // The session's scratch for the counters at the start, unless a statement of this session
    // is already being charged (one nested in another gets its own).
    const scratch = this.#chargeScratch;
    this.#chargeScratch = undefined;
    const start = scratch ?? newSessionCrossings();
    if (task !== undefined) this.#task = task;
    crossings.copyInto(start);
    try {
      return await this.#execute(statement, params, paramTypes);
    } finally {
      chargeSince(this.crossings, start);
      if (scratch !== undefined) this.#chargeScratch = scratch;
      if (task !== undefined) this.#task = undefined;
    }
  }

  /** Runs `body` as a task of the installed runner (or directly without one). */
  #asTask<T>(taskClass: TaskClass, name: string, body: () => Promise<T>): Promise<T> {
    const runner = this.taskRunner;
    if (runner === undefined) return body();
    return runner(taskClass, name, async (task) => {
      this.#task = task;
      try {
        return await body();
      } finally {
        this.#task = undefined;
      }
    });
  }

  async #execute(
    statement: Statement,
    params: SqlValue[],
    paramTypes: SqlType[],
  ): Promise<StatementResult> {
    const { storage } = this.#engine();
    this.#startInterrupts();
    switch (statement.kind) {
      case "begin":
        if (this.#explicit) {
          return {
            tag: statement.tag ?? "BEGIN",
            notices: [{ code: "25001", message: "there is already a transaction in progress" }],
          };
        }
        this.#explicit = true;
        this.#failed = false;
        this.#txn = storage.txns.begin();
        this.#transactionStart = nowMicros();
        return { tag: statement.tag ?? "BEGIN" };
      case "commit":
        return await this.#finish(true);
      case "rollback":
        return await this.#finish(false);
      case "empty":
        return { tag: "" };
    }
    if (this.#failed) {
      throw new ExoError(
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
      );
    }
    const autocommit = !this.#explicit;
    if (autocommit) {
      this.#txn = storage.txns.begin();
      this.#transactionStart = nowMicros();
    }
    const txn = this.#txn!;
    txn.cid++;
    try {
      const result = await this.#runRetryingTableChange(statement, txn, params, paramTypes);
      if (autocommit) {
        this.#txn = undefined;
        await storage.txns.commit(txn, {
          synchronous: this.settings.get("synchronous_commit") !== "off",
        });
      }
      return result;
    } catch (error) {
      if (autocommit) {
        if (txn.state === "active") await storage.txns.rollbackInSlices(txn, this.#task);
        this.#txn = undefined;
      } else this.#failed = true;
      throw error;
    }
  }

  /**
   * Settings are transactional: a rollback undoes the block's SETs, and SET LOCAL lasts until
   * the end of the block either way.
   */
  #endSettings(committed: boolean): void {
    const saved = this.#settingsAtBegin;
    if (saved !== undefined) {
      const names = committed
        ? [...this.#localSettings]
        : [...saved.keys(), ...this.settings.keys()];
      for (const name of names) {
        const value = saved.get(name);
        if (value === undefined) this.settings.delete(name);
        else this.settings.set(name, value);
      }
    }
    this.#settingsAtBegin = undefined;
    this.#localSettings.clear();
  }

  /** Before a SET or RESET inside a transaction block: remember the values to go back to. */
  #saveSettings(name: string, local: boolean): void {
    if (!this.#explicit) return;
    this.#settingsAtBegin ??= new Map(this.settings);
    if (local) this.#localSettings.add(name);
  }

  async #finish(commit: boolean): Promise<StatementResult> {
    this.#endSettings(commit && this.#explicit && !this.#failed);
    const { storage } = this.#engine();
    const txn = this.#txn;
    const wasExplicit = this.#explicit;
    const failed = this.#failed;
    this.#txn = undefined;
    this.#explicit = false;
    this.#failed = false;
    if (!wasExplicit || txn === undefined) {
      return {
        tag: commit ? "COMMIT" : "ROLLBACK",
        notices: [{ code: "25P01", message: "there is no transaction in progress" }],
      };
    }
    if (commit && !failed) {
      await storage.txns.commit(txn, {
        synchronous: this.settings.get("synchronous_commit") !== "off",
      });
      return { tag: "COMMIT" };
    }
    if (txn.state === "active") await storage.txns.rollbackInSlices(txn, this.#task);
    return { tag: "ROLLBACK" };
  }

  /** COPY … FROM STDIN: inserts rows of text fields (NULL for \\N), in one statement. */
  copyIn(
    tableName: string,
    columnNames: string[] | undefined,
    lines: (string | null)[][],
  ): Promise<number> {
    return this.#asTask("interactive", "copy", () => this.#copyIn(tableName, columnNames, lines));
  }

  async #copyIn(
    tableName: string,
    columnNames: string[] | undefined,
    lines: (string | null)[][],
  ): Promise<number> {
    let count = 0;
    this.#startInterrupts();
    await this.#statement(async (txn, binder, ctx) => {
      const table = binder.table(tableName);
      const names = columnNames ?? table.def.columns.filter((c) => !c.dropped).map((c) => c.name);
      const positions = names.map((name) => {
        const index = table.def.columns.findIndex((c) => c.name === name && !c.dropped);
        if (index < 0) {
          throw new BindError(
            "42703",
            `column "${name}" of relation "${table.def.name}" does not exist`,
          );
        }
        return index;
      });
      const settings = this.textSettings;
      for (const fields of lines) {
        if (fields.length !== positions.length) {
          throw new ExoError(
            "22P04",
            `missing data for column "${names[Math.min(fields.length, names.length - 1)]}"`,
          );
        }
        const row: SqlValue[] = table.def.columns.map(() => null);
        const given = new Set<number>();
        fields.forEach((field, i) => {
          const index = positions[i]!;
          row[index] = field === null
            ? null
            : parseValue(field, table.def.columns[index]!.type, settings);
          given.add(index);
        });
        await this.#defaults(table, binder, ctx, row, given);
        await table.insert(txn, row);
        count++;
        if (count % 64 === 0) await ctx.yieldPoint(); // resolves at once inside the slice
      }
    });
    return count;
  }

  /** Binds a DML statement's expressions so `$n` parameters get their types (for Parse). */
  inferDmlParams(statement: Statement, binder: Binder): void {
    if (statement.kind === "insert") {
      const table = binder.table(statement.table);
      const names = statement.columns ??
        table.def.columns.filter((c) => !c.dropped).map((c) => c.name);
      if (statement.source !== "defaults" && statement.source.body.kind === "values") {
        for (const row of statement.source.body.rows) {
          row.forEach((ast, i) => {
            const index = table.def.columns.findIndex((c) => c.name === names[i]);
            if (index >= 0 && !isDefault(ast)) {
              binder.expr(ast, { columns: [] }, columnSqlType(table, index));
            }
          });
        }
      }
      return;
    }
    if (statement.kind !== "update" && statement.kind !== "delete") return;
    const table = binder.table(statement.table);
    const scope = {
      columns: table.def.columns.map((c, index) => ({
        table: statement.alias ?? statement.table,
        name: c.name,
        type: columnSqlType(table, index),
        index,
        tableOid: 0,
        columnNumber: 0,
      })),
    };
    if (statement.kind === "update") {
      for (const set of statement.set) {
        const index = table.def.columns.findIndex((c) => c.name === set.column);
        if (index >= 0) binder.expr(set.value, scope, columnSqlType(table, index));
      }
    }
    if (statement.where) binder.expr(statement.where, scope, t.bool);
  }

  /** Runs `body` as one statement (autocommit or inside the open transaction block). */
  async #statement(
    body: (txn: Transaction, binder: Binder, ctx: ExecContext) => Promise<void>,
  ): Promise<void> {
    if (this.#failed) {
      throw new ExoError(
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
      );
    }
    const { storage, catalog } = this.#engine();
    const autocommit = !this.#explicit;
    if (autocommit) {
      this.#txn = storage.txns.begin();
      this.#transactionStart = nowMicros();
    }
    const txn = this.#txn!;
    txn.cid++;
    const snapshot = storage.txns.snapshot();
    let held = true;
    const release = () => {
      if (held) storage.txns.release(snapshot);
      held = false;
    };
    try {
      const binder = new Binder({
        catalog,
        txn,
        snapshot,
        paramTypes: [],
        settings: this.textSettings,
      });
      const ctx = this.#context(txn, snapshot, []);
      await body(txn, binder, ctx);
      release();
      if (autocommit) {
        this.#txn = undefined;
        await storage.txns.commit(txn, {
          synchronous: this.settings.get("synchronous_commit") !== "off",
        });
      }
    } catch (error) {
      release();
      if (autocommit) {
        if (txn.state === "active") await storage.txns.rollbackInSlices(txn, this.#task);
        this.#txn = undefined;
      } else this.#failed = true;
      throw error;
    }
  }

  /**
   * The plan cache: a binding is reused for the same parsed statement and parameter types
   * while the catalog is unchanged (plans hold no execution state; parameters are read at run
   * time). Nothing is cached while any transaction has uncommitted catalog changes.
   */
  #cachedBinding<T>(
    statement: Statement,
    paramTypes: SqlType[],
    catalog: Catalog,
    bind: () => T,
  ): T {
    const version = catalog.stableVersion;
    // Literals are parsed at bind time with the session's time zone, so it is part of the key.
    let types = typesKeys.get(paramTypes); // a prepared statement passes the same array each time
    if (types === undefined || types.length !== paramTypes.length) {
      types = {
        length: paramTypes.length,
        text: paramTypes.map((p) => `${p.id}:${p.typmod}`).join(","),
      };
      typesKeys.set(paramTypes, types);
    }
    const key = `${types.text}@${this.textSettings.timeZoneOffsetSeconds}`;
    const cached = this.#plans.get(statement);
    if (
      version !== undefined && cached !== undefined && cached.catalog === catalog &&
      cached.version === version && cached.key === key
    ) {
      this.planCacheHits++;
      return cached.plan as T; // one statement always binds to the same shape
    }
    const plan = bind();
    if (version !== undefined) this.#plans.set(statement, { catalog, version, key, plan });
    else this.#plans.delete(statement);
    return plan;
  }

  /**
   * Cached bindings by parsed statement (a SELECT's plan, an UPDATE's targets and SET list); the
   * catalog instance changes when the engine restarts.
   */
  readonly #plans = new WeakMap<
    Statement,
    { catalog: Catalog; version: number; key: string; plan: unknown }
  >();
  /** Executions that reused a cached plan (for stats and tests). */
  planCacheHits = 0;

  /** EXPLAIN [ANALYZE] of a SELECT: the plan tree, and under ANALYZE what running it took. */
  async #explain(
    statement: Extract<Statement, { kind: "explain" }>,
    binder: Binder,
    ctx: ExecContext,
  ): Promise<StatementResult> {
    const inner = statement.statement;
    if (inner.kind !== "select") {
      throw notSupported(`EXPLAIN of ${inner.kind.toUpperCase()}`, statement.offset);
    }
    const { catalog } = this.#engine();
    const planStart = performance.now();
    const { plan } = binder.select(inner);
    const planningMs = performance.now() - planStart;
    const estimator = new RowEstimator((table) =>
      catalog.statistics(table.def.name, ctx.txn, ctx.snapshot)
    );
    let profile: Map<PlanNode, NodeProfile> | undefined;
    const footer: string[] = [];
    if (statement.analyze) {
      profile = new Map();
      const before = crossings.snapshot();
      const runStart = performance.now();
      await collect(plan, { ...ctx, profile });
      const executionMs = performance.now() - runStart;
      const used = diffCrossings(crossings.snapshot(), before);
      footer.push(`Planning Time: ${planningMs.toFixed(3)} ms`);
      footer.push(`Execution Time: ${executionMs.toFixed(3)} ms`);
      footer.push(
        `Crossings: ${
          crossingKinds.filter((k) => used[k].count > 0).map((k) => `${k}=${used[k].count}`)
            .join(" ") || "none"
        }`,
      );
    }
    const lines = [
      ...explainPlan(plan, {
        estimator,
        costs: statement.costs,
        profile,
        timing: statement.timing,
      }),
      ...footer,
    ];
    return {
      tag: "EXPLAIN",
      columns: [{ name: "QUERY PLAN", type: t.text, tableOid: 0, columnNumber: 0 }],
      rows: lines.map((line) => [line]),
    };
  }

  /** The execution context of one statement. */
  #context(txn: Transaction, snapshot: number, params: SqlValue[]): ExecContext {
    return {
      txn,
      snapshot,
      params,
      call: this.#callContext(txn, snapshot),
      outer: noOuterRows,
      materialized: new Map(),
      yieldPoint: this.#yieldPoint,
    };
  }

  /**
   * Every statement's yield point (one closure per session: it reads only the session).
   * Time-sliced: other sessions, timers, socket reads and log syncs get their turn.
   * Cancellation and statement_timeout are checked at every yield point.
   */
  readonly #yieldPoint = async (): Promise<void> => {
    await yieldPoint(this.#task);
    // Writers wait for a running checkpoint while the log is nearly full (no 53100).
    const logSpace = this.#engine().storage.logSpace();
    if (logSpace !== undefined) await logSpace;
    this.#checkInterrupts();
  };

  /** What system relations and catalog functions read for one statement. */
  #view(txn: Transaction, snapshot: number): SessionView {
    return {
      catalog: this.#engine().catalog,
      txn,
      snapshot,
      settings: this.settings,
      user: this.user,
      database: this.database,
      backendPid: this.backendPid,
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
    };
  }

  #callContext(txn: Transaction, snapshot: number): CallContext {
    let sequences: SequenceAccess | undefined;
    let view: SessionView | undefined;
    // deno-lint-ignore no-this-alias -- the getters below have their own `this`
    const session = this;
    return {
      transactionStartMicros: this.#transactionStart,
      statementStartMicros: nowMicros(),
      timeZoneOffsetSeconds: this.textSettings.timeZoneOffsetSeconds,
      random: Math.random,
      // Both built on first use: few statements call nextval/currval/setval or read the
      // session's own view (system relations, catalog functions).
      get sequences() {
        return sequences ??= session.#sequenceAccess(txn, snapshot);
      },
      get session() {
        return view ??= session.#view(txn, snapshot);
      },
    };
  }

  /** Last value nextval gave this session, by sequence (currval). */
  readonly #currval = new Map<string, bigint>();

  /** nextval/currval/setval over the catalog's counters for sequences visible at `snapshot`. */
  #sequenceAccess(txn: Transaction, snapshot: number): SequenceAccess {
    const { catalog } = this.#engine();
    const definition = (name: string): SequenceDef => {
      const def = catalog.sequence(name, txn, snapshot);
      if (def !== null) return def;
      // serial and identity columns: `<table>_<column>_seq`, starting at 1 by 1.
      const owner = catalog.tables(txn, snapshot).find((table) =>
        table.columns.some((c) => c.identity !== null && `${table.name}_${c.name}_seq` === name)
      );
      if (owner === undefined) throw new ExoError("42P01", `relation "${name}" does not exist`);
      return { name, start: 1n, increment: 1n };
    };
    return {
      nextval: (name) => {
        const def = definition(name);
        const value = def.start + (catalog.nextval(name) - 1n) * def.increment;
        this.#currval.set(name, value);
        return value;
      },
      currval: (name) => {
        definition(name);
        const value = this.#currval.get(name);
        if (value === undefined) {
          throw new ExoError(
            "55000",
            `currval of sequence "${name}" is not yet defined in this session`,
          );
        }
        return value;
      },
      setval: (name, value, isCalled) => {
        const def = definition(name);
        const offset = value - def.start;
        if (offset % def.increment !== 0n) {
          throw new ExoError(
            "22023",
            `setval: value ${value} is not start plus a multiple of INCREMENT`,
          );
        }
        const counter = offset / def.increment + 1n;
        catalog.setval(name, isCalled ? counter : counter - 1n);
        if (isCalled) this.#currval.set(name, value);
        return value;
      },
    };
  }

  /**
   * Runs the statement; an INSERT, UPDATE or DELETE that waited for DDL on its table which then
   * committed (40001 from dbengine/table_locks.ts) before it wrote anything runs again, on a
   * new snapshot and the new definition, as PostgreSQL's statement would after its lock wait.
   * One that had written already keeps the 40001 (the client retries the transaction).
   */
  async #runRetryingTableChange(
    statement: Statement,
    txn: Transaction,
    params: SqlValue[],
    paramTypes: SqlType[],
  ): Promise<StatementResult> {
    const retryable = statement.kind === "insert" || statement.kind === "update" ||
      statement.kind === "delete";
    const undoBefore = txn.undo.length;
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#run(statement, txn, params, paramTypes);
      } catch (error) {
        const untouched = txn.undo.length === undoBefore;
        if (!(retryable && untouched && attempt < 3 && error instanceof TableChangedError)) {
          throw error;
        }
      }
    }
  }

  async #run(
    statement: Statement,
    txn: Transaction,
    params: SqlValue[],
    paramTypes: SqlType[],
  ): Promise<StatementResult> {
    const { storage, catalog } = this.#engine();
    const snapshot = storage.txns.snapshot();
    try {
      const binder = new Binder({
        catalog,
        txn,
        snapshot,
        paramTypes: [...paramTypes],
        settings: this.textSettings,
      });
      const ctx = this.#context(txn, snapshot, params);
      switch (statement.kind) {
        case "select": {
          const plan = this.#cachedBinding(
            statement,
            paramTypes,
            catalog,
            () => binder.select(statement).plan,
          );
          const rows = await collect(plan, ctx);
          return {
            tag: `SELECT ${rows.length}`,
            columns: plan.columns,
            rows: oidOutput(plan.columns, rows, ctx.call),
          };
        }
        case "insert":
          return await this.#insert(statement, binder, ctx, paramTypes, catalog);
        case "update":
          return await this.#update(statement, binder, ctx, paramTypes, catalog);
        case "delete":
          return await this.#delete(statement, binder, ctx);
        case "createTable":
          return await this.#createTable(statement, catalog, txn, snapshot);
        case "dropTable": {
          const notices: { code: string; message: string }[] = [];
          for (const name of statement.names) {
            const def = catalog.tableDef(name, txn, snapshot);
            if (def !== null) await catalog.lockForDdl(txn, def);
            const dropped = await catalog.dropTable(txn, name);
            if (!dropped) {
              if (!statement.ifExists) {
                throw new BindError("42P01", `table "${name}" does not exist`);
              }
              notices.push({ code: "00000", message: `table "${name}" does not exist, skipping` });
            }
          }
          return { tag: "DROP TABLE", notices };
        }
        case "createIndex":
          return await createIndex(statement, catalog, txn, snapshot);
        case "createSequence": {
          if (
            statement.ifNotExists &&
            (catalog.sequence(statement.name, txn, snapshot) !== null ||
              catalog.tableDef(statement.name, txn, snapshot) !== null)
          ) {
            return {
              tag: "CREATE SEQUENCE",
              notices: [{
                code: "42P07",
                message: `relation "${statement.name}" already exists, skipping`,
              }],
            };
          }
          if (catalog.tableDef(statement.name, txn, snapshot) !== null) {
            throw new ExoError("42P07", `relation "${statement.name}" already exists`);
          }
          await catalog.createSequence(txn, {
            name: statement.name,
            start: statement.start,
            increment: statement.increment,
          });
          return { tag: "CREATE SEQUENCE" };
        }
        case "dropSequence": {
          const notices: { code: string; message: string }[] = [];
          for (const name of statement.names) {
            if (!(await catalog.dropSequence(txn, name))) {
              if (!statement.ifExists) {
                throw new ExoError("42P01", `sequence "${name}" does not exist`);
              }
              notices.push({
                code: "00000",
                message: `sequence "${name}" does not exist, skipping`,
              });
            }
          }
          return { tag: "DROP SEQUENCE", notices };
        }
        case "dropIndex":
          return {
            tag: "DROP INDEX",
            notices: await dropIndexes(statement, catalog, txn, snapshot),
          };
        case "truncate":
          for (const name of statement.names) await this.#truncate(name, catalog, txn, snapshot);
          return { tag: "TRUNCATE TABLE" };
        case "alterTable":
          return await this.#alter(statement, catalog, txn, snapshot, binder, ctx);
        case "set": {
          const name = statement.name;
          if (readOnlySettings.has(name)) {
            throw new ExoError("55P02", `parameter "${name}" cannot be changed`);
          }
          const value = statement.value === undefined
            ? defaultSettings[name] ?? ""
            : statement.value.replace(/^'|'$/g, "");
          if (durationSettings.has(name) && parseDurationMs(value) === undefined) {
            throw new ExoError("22023", `invalid value for parameter "${name}": "${value}"`);
          }
          // SET LOCAL outside a transaction block lasts only for its own statement.
          if (statement.local && !this.#explicit) return { tag: "SET" };
          this.#saveSettings(name, statement.local);
          this.settings.set(name, value);
          return { tag: "SET" };
        }
        case "reset":
          this.#saveSettings(statement.name, false);
          if (statement.name === "all") {
            for (const [k, v] of Object.entries(defaultSettings)) this.settings.set(k, v);
          } else this.settings.set(statement.name, defaultSettings[statement.name] ?? "");
          return { tag: "RESET" };
        case "show": {
          const name = statement.name;
          const value = this.settings.get(name);
          if (value === undefined) {
            throw new ExoError("42704", `unrecognized configuration parameter "${name}"`);
          }
          return {
            tag: "SHOW",
            columns: [{
              name: showNames[name] ?? name,
              type: t.text,
              tableOid: 0,
              columnNumber: 0,
            }],
            rows: [[value]],
          };
        }
        case "utility":
          if (statement.tag === "CHECKPOINT") await storage.checkpoint(this.#task);
          if (statement.tag === "VACUUM" || statement.tag === "ANALYZE") {
            const defs = statement.tables.length > 0
              ? statement.tables.map((name) => binder.table(name))
              : catalog.tables(txn, snapshot).map((def) => catalog.handle(def));
            for (const table of defs) {
              if (statement.tag === "VACUUM") {
                // In steps with a yield point between them (dbengine/mvcc.ts rule 6): a large
                // table's VACUUM lets other sessions run and can be cancelled or time out.
                const pass = table.startVacuum(txn.id);
                while (!pass.step(vacuumStepKeys).done) await ctx.yieldPoint();
              }
              if (statement.analyze) {
                const stats = await analyzeTable(table, txn, snapshot, ctx.yieldPoint);
                await catalog.setStatistics(txn, table.def.name, stats);
              }
            }
          }
          return { tag: statement.tag };
        case "explain":
          return await this.#explain(statement, binder, ctx);
        default:
          throw notSupported(
            statement.kind.replace(/([A-Z])/g, " $1").toUpperCase(),
            statement.offset,
          );
      }
    } finally {
      storage.txns.release(snapshot);
    }
  }

  /**
   * Every row of `table` visible at `snapshot`, read in batches with a yield point between
   * them, so reading a large table for a rebuild never holds the thread for more than a batch.
   */
  async #scanAllSliced(
    table: Table,
    txn: Transaction,
    snapshot: number,
    ctx: ExecContext,
  ): Promise<TableRow[]> {
    const rows: TableRow[] = [];
    let last: Uint8Array | undefined;
    for (;;) {
      const batch = table.scan(txn, snapshot, {
        ...(last !== undefined ? { start: last, startInclusive: false } : {}),
        limit: rebuildSliceRows,
      });
      for (const row of batch) rows.push(row);
      if (batch.length < rebuildSliceRows) return rows;
      last = batch[batch.length - 1]!.key;
      await ctx.yieldPoint();
    }
  }

  /**
   * Runs `body` on a snapshot taken now, released after: for DDL whose lock wait let other
   * transactions commit what the statement's own snapshot does not see.
   */
  async #onFreshSnapshot<T>(body: (snapshot: number) => T | Promise<T>): Promise<T> {
    const { storage } = this.#engine();
    const fresh = storage.txns.snapshot();
    try {
      return await body(fresh);
    } finally {
      storage.txns.release(fresh);
    }
  }

  /** Values for a new row not given explicitly: identities and DEFAULT expressions. */
  async #defaults(
    table: Table,
    binder: Binder,
    ctx: ExecContext,
    row: SqlValue[],
    given: Set<number>,
  ): Promise<void> {
    await fillDefaults(table, this.#engine().catalog, binder, ctx, row, given);
    await checkRow(table, binder, ctx, row);
  }

  /**
   * An INSERT's binding: the table, the target column positions, the ON CONFLICT plan and, for
   * DEFAULT VALUES or a plain VALUES list, each row's expressions bound to the column types
   * (undefined for INSERT … SELECT, whose rows are read per execution). Reads nothing.
   */
  #bindInsert(statement: Extract<Statement, { kind: "insert" }>, binder: Binder) {
    const table = binder.table(statement.table, statement.offset);
    const names = statement.columns ??
      table.def.columns.filter((c) => !c.dropped).map((c) => c.name);
    const positions = names.map((name) => {
      const index = table.def.columns.findIndex((c) => c.name === name && !c.dropped);
      if (index < 0) {
        throw new BindError(
          "42703",
          `column "${name}" of relation "${table.def.name}" does not exist`,
          statement.offset,
        );
      }
      return index;
    });
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined) {
      throw new BindError(
        "42701",
        `column "${duplicate}" specified more than once`,
        statement.offset,
      );
    }
    let sourceRows: (Expr | "default")[][] | undefined;
    if (statement.source === "defaults") sourceRows = [[]];
    else if (isPlainValues(statement.source)) {
      const rowsAst = statement.source.body.rows;
      if (rowsAst.some((row) => row.length !== rowsAst[0]!.length)) {
        throw new BindError("42601", "VALUES lists must all be the same length", statement.offset);
      }
      sourceRows = rowsAst.map((row) => {
        if (row.length > positions.length) {
          throw new BindError(
            "42601",
            "INSERT has more expressions than target columns",
            statement.offset,
          );
        }
        return row.map((ast, i) =>
          isDefault(ast) ? "default" : binder.assign(
            binder.expr(ast, { columns: [] }, columnSqlType(table, positions[i]!)),
            columnSqlType(table, positions[i]!),
          )
        );
      });
    }
    const upsert = statement.onConflict === undefined || statement.onConflict.action === "nothing"
      ? undefined
      : this.#upsertPlan(statement, table, binder);
    return { table, positions, sourceRows, upsert };
  }

  async #insert(
    statement: Extract<Statement, { kind: "insert" }>,
    binder: Binder,
    ctx: ExecContext,
    paramTypes: SqlType[],
    catalog: Catalog,
  ): Promise<StatementResult> {
    // Cached like a SELECT's plan unless rows come from a query (bound each time with it).
    const cacheable = statement.source === "defaults" || isPlainValues(statement.source);
    const bound = cacheable
      ? this.#cachedBinding(
        statement,
        paramTypes,
        catalog,
        () => this.#bindInsert(statement, binder),
      )
      : this.#bindInsert(statement, binder);
    const { table, positions, upsert } = bound;
    let sourceRows = bound.sourceRows;
    if (sourceRows === undefined && statement.source !== "defaults") {
      const { plan } = binder.select(statement.source);
      const rows = await collect(plan, ctx);
      sourceRows = rows.map((r) =>
        r.map((v, i) =>
          binder.assign(
            { kind: "const", type: plan.columns[i]!.type, value: v },
            columnSqlType(table, positions[i]!),
          )
        )
      );
    }
    const upserted = new Set<string>();
    let count = 0;
    const returning: Row[] = [];
    for (const exprs of sourceRows ?? []) {
      await ctx.yieldPoint(); // a time slice each ~1 ms: log checkpoints run during long inserts
      const row: SqlValue[] = table.def.columns.map(() => null);
      const given = new Set<number>();
      for (let i = 0; i < exprs.length; i++) {
        const e = exprs[i]!;
        if (e === "default") continue;
        if (table.def.columns[positions[i]!]!.identity === "always") {
          throw new ExoError(
            "428C9",
            `cannot insert a non-DEFAULT value into column "${
              table.def.columns[positions[i]!]!.name
            }"`,
          );
        }
        row[positions[i]!] = isPlainExpr(e) ? evaluateNow(e, [], ctx) : await evaluate(e, [], ctx);
        given.add(positions[i]!);
      }
      await this.#defaults(table, binder, ctx, row, given);
      try {
        const inserted = await table.insert(ctx.txn!, row);
        // A row this command inserted cannot be updated by a later row of it either (21000).
        if (upsert !== undefined) upserted.add(inserted.join(","));
      } catch (error) {
        if (!(error instanceof UniqueViolationError)) throw error;
        if (statement.onConflict?.action === "nothing") continue;
        if (upsert === undefined || error.constraint !== upsert.constraint) throw error;
        const key = this.#conflictingKey(table, upsert, row, ctx);
        if (key === undefined) throw error;
        const id = key.join(",");
        if (upserted.has(id)) {
          throw new ExoError(
            "21000",
            "ON CONFLICT DO UPDATE command cannot affect row a second time",
          );
        }
        upserted.add(id);
        const after = await this.#updateRow(table, key, ctx, async (current) => {
          const both = [...current, ...row];
          if (
            upsert.where &&
            !(passesNow(upsert.where, both, ctx) ?? await passes(upsert.where, both, ctx))
          ) return undefined;
          const values = [...current];
          for (const set of upsert.sets) {
            values[set.index] = isPlainExpr(set.expr)
              ? evaluateNow(set.expr, both, ctx)
              : await evaluate(set.expr, both, ctx);
          }
          await checkRow(table, binder, ctx, values);
          return values;
        });
        if (after === null) continue;
        count++;
        if (statement.returning.length > 0) returning.push(after);
        continue;
      }
      count++;
      if (statement.returning.length > 0) returning.push(row);
    }
    if (statement.returning.length > 0) {
      return this.#returning(
        statement.returning,
        table,
        binder,
        returning,
        ctx,
        `INSERT 0 ${count}`,
      );
    }
    return { tag: `INSERT 0 ${count}` };
  }

  /**
   * ON CONFLICT (columns) DO UPDATE: the arbiter constraint (the primary key or a unique index
   * on exactly those columns) and the SET list and WHERE bound over the existing row followed
   * by the proposed one (`excluded`).
   */
  #upsertPlan(
    statement: Extract<Statement, { kind: "insert" }>,
    table: Table,
    binder: Binder,
  ) {
    const conflict = statement.onConflict!;
    const action = conflict.action as Exclude<typeof conflict.action, "nothing">;
    if (conflict.columns.length === 0) {
      throw new BindError(
        "42601",
        "ON CONFLICT DO UPDATE requires inference specification or constraint name",
        statement.offset,
      );
    }
    const wanted = conflict.columns.map((name) => {
      const index = table.def.columns.findIndex((c) => c.name === name && !c.dropped);
      if (index < 0) {
        throw new BindError("42703", `column "${name}" does not exist`, statement.offset);
      }
      return index;
    }).sort((a, b) => a - b);
    const same = (columns: number[]) =>
      columns.length === wanted.length && [...columns].sort((a, b) => a - b)
        .every((c, i) => c === wanted[i]);
    let constraint: string | undefined;
    let index: IndexDef | undefined;
    if (table.def.primaryKey.length > 0 && same(table.def.primaryKey)) {
      constraint = table.def.primaryKeyName;
    } else {
      index = table.def.indexes.find((i) => i.unique && same(i.columns.map((c) => c.column)));
      constraint = index?.name;
    }
    if (constraint === undefined) {
      throw new BindError(
        "42P10",
        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
        statement.offset,
      );
    }
    const width = table.def.columns.length;
    const columnsAs = (name: string, offset: number) =>
      table.def.columns.map((c, i) => ({
        table: name,
        name: c.name,
        type: columnSqlType(table, i),
        index: i + offset,
        tableOid: table.def.id,
        columnNumber: i + 1,
      }));
    const scope = {
      columns: [...columnsAs(statement.table, 0), ...columnsAs("excluded", width)],
    };
    const sets = action.set.map(({ column, value }) => {
      const i = table.def.columns.findIndex((c) => c.name === column && !c.dropped);
      if (i < 0) {
        throw new BindError(
          "42703",
          `column "${column}" of relation "${table.def.name}" does not exist`,
          statement.offset,
        );
      }
      const type = columnSqlType(table, i);
      return { index: i, expr: binder.assign(binder.expr(value, scope, type), type) };
    });
    const where = action.where === undefined ? undefined : binder.expr(action.where, scope, t.bool);
    return { constraint, index, sets, where };
  }

  /** The key of the committed row that `row` conflicts with on the upsert's arbiter. */
  #conflictingKey(
    table: Table,
    upsert: { index: IndexDef | undefined },
    row: SqlValue[],
    ctx: ExecContext,
  ): Uint8Array | undefined {
    if (upsert.index === undefined) return table.rowKey(row);
    // The conflicting row committed after this statement's snapshot: look with a new one.
    const { storage } = this.#engine();
    const snapshot = storage.txns.snapshot();
    try {
      const prefix = table.indexPrefix(
        upsert.index,
        upsert.index.columns.map((c) => row[c.column] ?? null),
      );
      const found = table.indexScan(upsert.index.name, ctx.txn, snapshot, {
        start: prefix,
        end: prefix,
        endInclusive: true,
        limit: 1,
      });
      return found[0]?.key;
    } finally {
      storage.txns.release(snapshot);
    }
  }

  async #returning(
    targets: Extract<Statement, { kind: "insert" }>["returning"],
    table: Table,
    binder: Binder,
    rows: Row[],
    ctx: ExecContext,
    tag: string,
    alias?: string,
  ): Promise<StatementResult> {
    const scope = {
      columns: table.def.columns.map((c, index) => ({
        table: alias ?? table.def.name,
        name: c.name,
        type: columnSqlType(table, index),
        index,
        tableOid: table.def.id,
        columnNumber: index + 1,
      })),
    };
    const exprs: { expr: Expr; name: string }[] = [];
    for (const target of targets) {
      if (target.expr.kind === "star") {
        for (const c of scope.columns) {
          exprs.push({ expr: { kind: "column", type: c.type, index: c.index }, name: c.name });
        }
      } else {exprs.push({
          expr: binder.expr(target.expr, scope),
          name: target.alias ??
            (target.expr.kind === "column" ? target.expr.parts.at(-1)! : "?column?"),
        });}
    }
    const out: Row[] = [];
    for (const row of rows) {
      out.push(await Promise.all(exprs.map((e) => evaluate(e.expr, row, ctx))));
    }
    return {
      tag,
      columns: exprs.map((e) => ({
        name: e.name,
        type: e.expr.type,
        tableOid: 0,
        columnNumber: 0,
      })),
      rows: out,
    };
  }

  /** The rows a DML statement targets: keys plus the predicate to re-check after a lock wait. */
  async #targets(
    tableName: string,
    alias: string | undefined,
    where: AstExpr | undefined,
    binder: Binder,
    ctx: ExecContext,
    read = true,
  ) {
    return await this.#readTargets(this.#bindTargets(tableName, alias, where, binder), ctx, read);
  }

  /** The table, scope, access plan and predicate of a DML statement's target rows. */
  #bindTargets(
    tableName: string,
    alias: string | undefined,
    where: AstExpr | undefined,
    binder: Binder,
  ): BoundTargets {
    const table = binder.table(tableName);
    const scope = {
      columns: table.def.columns.map((c, index) => ({
        table: alias ?? tableName,
        name: c.name,
        type: columnSqlType(table, index),
        index,
        tableOid: table.def.id,
        columnNumber: index + 1,
      })),
    };
    const allColumns: OutputColumn[] = scope.columns.map((c) => ({
      name: c.name,
      type: c.type,
      tableOid: table.def.id,
      columnNumber: c.columnNumber,
    }));
    let plan: PlanNode = {
      kind: "scan",
      columns: allColumns,
      table,
      lookup: undefined,
      lower: undefined,
      upper: undefined,
      reverse: false,
    };
    let predicate: Expr | undefined;
    if (where) {
      const bound = binder.expr(where, scope, t.bool);
      predicate = bound;
      plan = binder.accessPath(plan, bound) ??
        { kind: "filter", columns: allColumns, input: plan, predicate: bound };
    }
    return { table, scope, plan, predicate };
  }

  /** Reads the target rows (keys and values) of {@link bindTargets}'s binding. */
  async #readTargets(
    bound: BoundTargets,
    ctx: ExecContext,
    read: boolean,
  ) {
    const { table, scope, plan, predicate } = bound;
    if (table.def.primaryKey.length === 0 && read) {
      // Clustered by a hidden row id that rows do not carry: scan with the keys, filter here.
      const hidden: Uint8Array[] = [];
      const hiddenRows: Row[] = [];
      for (const r of table.scan(ctx.txn, ctx.snapshot, { limit: Number.MAX_SAFE_INTEGER })) {
        if (
          predicate === undefined ||
          (passesNow(predicate, r.values, ctx) ?? await passes(predicate, r.values, ctx))
        ) {
          hidden.push(r.key);
          hiddenRows.push(r.values);
        }
      }
      return { table, scope, plan, predicate, keys: hidden, rows: hiddenRows };
    }
    const rows = read ? await collect(plan, ctx) : [];
    return {
      table,
      scope,
      plan,
      predicate,
      keys: rows.map((r) => table.def.primaryKey.length > 0 ? table.rowKey(r) : undefined),
      rows,
    };
  }

  /**
   * An UPDATE's binding: its targets (WHERE and access path, or with FROM the joined source)
   * and SET list, each value bound to its column's type. Reads nothing.
   */
  #bindUpdate(statement: Extract<Statement, { kind: "update" }>, binder: Binder) {
    const withFrom = statement.from.length > 0;
    const target = this.#bindTargets(
      statement.table,
      statement.alias,
      withFrom ? undefined : statement.where,
      binder,
    );
    const { table } = target;
    if (table.def.primaryKey.length === 0 && withFrom) {
      throw notSupported("UPDATE … FROM on a table without a primary key", statement.offset);
    }
    const assigned = statement.set.map(({ column }) => column);
    const twice = assigned.find((name, i) => assigned.indexOf(name) !== i);
    if (twice !== undefined) {
      throw new BindError(
        "42601",
        `multiple assignments to same column "${twice}"`,
        statement.offset,
      );
    }
    const source = withFrom
      ? binder.updateSource(target.plan, target.scope, statement.from, statement.where)
      : undefined;
    const scope: Scope = source?.scope ?? target.scope;
    const sets = statement.set.map(({ column, value }) => {
      const index = table.def.columns.findIndex((c) => c.name === column && !c.dropped);
      if (index < 0) {
        throw new BindError(
          "42703",
          `column "${column}" of relation "${table.def.name}" does not exist`,
          statement.offset,
        );
      }
      if (table.def.columns[index]!.identity === "always") {
        throw new ExoError("428C9", `column "${column}" can only be updated to DEFAULT`);
      }
      const type = columnSqlType(table, index);
      return { index, expr: binder.assign(binder.expr(value, scope, type), type) };
    });
    return { ...target, source, sets };
  }

  async #update(
    statement: Extract<Statement, { kind: "update" }>,
    binder: Binder,
    ctx: ExecContext,
    paramTypes: SqlType[],
    catalog: Catalog,
  ): Promise<StatementResult> {
    // Without FROM the binding (targets and SET list) is cached like a SELECT's plan.
    const bound = statement.from.length > 0
      ? this.#bindUpdate(statement, binder)
      : this.#cachedBinding(statement, paramTypes, catalog, () =>
        this.#bindUpdate(statement, binder));
    const { table, sets } = bound;
    let predicate = bound.predicate;
    let pairs: { key: Uint8Array; extra: Row }[];
    if (bound.source !== undefined) {
      // With FROM, each target row is paired with the first FROM row that matches it; SET and
      // WHERE see the target's columns followed by the FROM items'.
      predicate = bound.source.predicate;
      const width = table.def.columns.length;
      const seen = new Set<string>();
      pairs = [];
      for (const row of await collect(bound.source.plan, ctx)) {
        const key = table.rowKey(row.slice(0, width));
        const id = key.join(",");
        if (seen.has(id)) continue;
        seen.add(id);
        pairs.push({ key, extra: row.slice(width) });
      }
    } else {
      const target = await this.#readTargets(bound, ctx, true);
      pairs = target.keys.map((key) => ({ key: key!, extra: [] }));
    }
    let count = 0;
    const changed: Row[] = [];
    for (const { key, extra } of pairs) {
      await ctx.yieldPoint();
      const after = await this.#updateRow(table, key, ctx, async (current) => {
        const row = extra.length === 0 ? current : [...current, ...extra];
        if (
          predicate &&
          !(passesNow(predicate, row, ctx) ?? await passes(predicate, row, ctx))
        ) return undefined;
        const values = [...current];
        for (const set of sets) {
          values[set.index] = isPlainExpr(set.expr)
            ? evaluateNow(set.expr, row, ctx)
            : await evaluate(set.expr, row, ctx);
        }
        await checkRow(table, binder, ctx, values);
        return values;
      });
      if (after !== null) {
        count++;
        changed.push(after);
      }
    }
    if (statement.returning.length > 0) {
      return this.#returning(
        statement.returning,
        table,
        binder,
        changed,
        ctx,
        `UPDATE ${count}`,
        statement.alias,
      );
    }
    return { tag: `UPDATE ${count}` };
  }

  /**
   * Rule 4 (PostgreSQL's EvalPlanQual): waits for any running writer of the row at `key`,
   * computes the new values from the newest version (undefined: leave it), and writes only if
   * that version is still the newest; otherwise computes again on the newer one. Returns the
   * values written, or null when nothing was (row gone or `compute` declined).
   */
  async #updateRow(
    table: Table,
    key: Uint8Array,
    ctx: ExecContext,
    compute: (current: SqlValue[]) => Promise<SqlValue[] | undefined>,
  ): Promise<SqlValue[] | null> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      let newest: SqlValue[] | null = null;
      await table.update(ctx.txn!, key, (row) => {
        newest = row;
        return undefined; // look only: no write yet
      });
      if (newest === null) return null; // deleted meanwhile
      const current: SqlValue[] = newest;
      const values = await compute(current);
      if (values === undefined) return null;
      let raced = false;
      const done = await table.update(ctx.txn!, key, (row) => {
        if (!row.every((v, i) => sameStoredValue(v, current[i]!))) {
          raced = true;
          return undefined;
        }
        return values;
      });
      if (raced) continue;
      return done === null ? null : done.after;
    }
    throw new ExoError("40001", "could not serialize access due to concurrent update");
  }

  async #delete(
    statement: Extract<Statement, { kind: "delete" }>,
    binder: Binder,
    ctx: ExecContext,
  ): Promise<StatementResult> {
    const { table, predicate, keys } = await this.#targets(
      statement.table,
      statement.alias,
      statement.where,
      binder,
      ctx,
    );
    let count = 0;
    const deleted: Row[] = [];
    for (const key of keys) {
      await ctx.yieldPoint();
      const current = table.get(key!, ctx.txn, ctx.snapshot + Number.MAX_SAFE_INTEGER);
      if (current === null) continue;
      if (
        predicate &&
        !(passesNow(predicate, current, ctx) ?? await passes(predicate, current, ctx))
      ) continue;
      const row = await table.delete(ctx.txn!, key!);
      if (row) {
        count++;
        deleted.push(row);
      }
    }
    if (statement.returning.length > 0) {
      return this.#returning(
        statement.returning,
        table,
        binder,
        deleted,
        ctx,
        `DELETE ${count}`,
        statement.alias,
      );
    }
    return { tag: `DELETE ${count}` };
  }

  async #createTable(
    statement: Extract<Statement, { kind: "createTable" }>,
    catalog: Catalog,
    txn: Transaction,
    snapshot: number,
  ): Promise<StatementResult> {
    if (catalog.tableDef(statement.name, txn, snapshot) !== null) {
      if (statement.ifNotExists) {
        return {
          tag: "CREATE TABLE",
          notices: [{
            code: "42P07",
            message: `relation "${statement.name}" already exists, skipping`,
          }],
        };
      }
      throw new BindError("42P07", `relation "${statement.name}" already exists`, statement.offset);
    }
    const columns = statement.columns.map((c) => columnDef(c));
    const repeated = columns.find((c, i) => columns.findIndex((o) => o.name === c.name) !== i);
    if (repeated !== undefined) {
      throw new BindError(
        "42701",
        `column "${repeated.name}" specified more than once`,
        statement.offset,
      );
    }
    if (statement.columns.filter((c) => c.primaryKey).length > 1) {
      throw new BindError(
        "42P16",
        `multiple primary keys for table "${statement.name}" are not allowed`,
        statement.offset,
      );
    }
    const find = (name: string) => {
      const index = columns.findIndex((c) => c.name === name);
      if (index < 0) {
        throw new BindError(
          "42703",
          `column "${name}" named in key does not exist`,
          statement.offset,
        );
      }
      return index;
    };
    let primaryKey = statement.columns.map((c, i) => (c.primaryKey ? i : -1)).filter((i) => i >= 0);
    const indexes: Omit<IndexDef, "root" | "treeId">[] = [];
    const checks: { name: string; sql: string }[] = [];
    statement.columns.forEach((c, i) => {
      if (c.unique) {
        indexes.push({
          name: `${statement.name}_${c.name}_key`,
          columns: [{ column: i, descending: false }],
          unique: true,
          constraint: true,
        });
      }
      if (c.check) checks.push({ name: `${statement.name}_${c.name}_check`, sql: c.check.sql });
    });
    for (const constraint of statement.constraints) {
      if (constraint.kind === "primaryKey") {
        if (primaryKey.length > 0) {
          throw new BindError(
            "42P16",
            `multiple primary keys for table "${statement.name}" are not allowed`,
            statement.offset,
          );
        }
        primaryKey = constraint.columns.map(find);
        for (const i of primaryKey) columns[i]!.notNull = true;
      } else if (constraint.kind === "unique") {
        indexes.push({
          name: constraint.name ?? `${statement.name}_${constraint.columns.join("_")}_key`,
          columns: constraint.columns.map((n) => ({ column: find(n), descending: false })),
          unique: true,
          constraint: true,
        });
      } else if (constraint.kind === "check") {
        checks.push({ name: constraint.name ?? `${statement.name}_check`, sql: constraint.sql });
      }
    }
    const def: NewTableDef = {
      name: statement.name,
      columns,
      primaryKey,
      primaryKeyName: `${statement.name}_pkey`,
      indexes,
      checks,
    };
    await catalog.createTable(txn, def);
    return { tag: "CREATE TABLE" };
  }

  async #truncate(
    name: string,
    catalog: Catalog,
    txn: Transaction,
    snapshot: number,
  ): Promise<void> {
    let def = catalog.tableDef(name, txn, snapshot);
    if (def === null) throw new BindError("42P01", `relation "${name}" does not exist`);
    if (await catalog.lockForDdl(txn, def)) {
      // A DDL that committed meanwhile may have replaced the trees: read the definition anew.
      def = await this.#onFreshSnapshot((fresh) => catalog.tableDef(name, txn, fresh));
      if (def === null) throw new BindError("42P01", `relation "${name}" does not exist`);
    }
    const old = catalog.handle(def).trees();
    await catalog.replaceTable(txn, name, (current) => ({
      ...current,
      ...catalog.newTree(txn),
      indexes: current.indexes.map((index) => ({ ...index, ...catalog.newTree(txn) })),
    }));
    catalog.dropLater(txn, old);
  }

  async #alter(
    statement: Extract<Statement, { kind: "alterTable" }>,
    catalog: Catalog,
    txn: Transaction,
    snapshot: number,
    binder: Binder,
    ctx: ExecContext,
  ): Promise<StatementResult> {
    const def = catalog.tableDef(statement.table, txn, snapshot);
    if (def === null) {
      throw new BindError(
        "42P01",
        `relation "${statement.table}" does not exist`,
        statement.offset,
      );
    }
    if (await catalog.lockForDdl(txn, def)) {
      // Writers (or DDL) committed while the lock waited for them: their rows and definition
      // are not in `snapshot`, so the alteration (which may copy every row) starts over on a
      // new one, as PostgreSQL's rewrite reads the latest committed rows.
      return await this.#onFreshSnapshot((fresh) =>
        this.#alter(statement, catalog, txn, fresh, binder, ctx)
      );
    }
    const action = statement.action;
    if (action.kind === "addConstraint" && action.constraint.kind === "primaryKey") {
      if (def.primaryKey.length > 0) {
        throw new BindError(
          "42P16",
          `multiple primary keys for table "${def.name}" are not allowed`,
          statement.offset,
        );
      }
      const keyColumns = action.constraint.columns.map((n) => {
        const index = def.columns.findIndex((c) => c.name === n && !c.dropped);
        if (index < 0) {
          throw new BindError(
            "42703",
            `column "${n}" of relation "${def.name}" does not exist`,
            statement.offset,
          );
        }
        return index;
      });
      // Rebuild clustered by the new key: copy every visible row into new trees.
      const oldTable = catalog.handle(def);
      const rows = await this.#scanAllSliced(oldTable, txn, snapshot, ctx);
      const next = await catalog.replaceTable(txn, def.name, (current) => ({
        ...current,
        ...catalog.newTree(txn),
        primaryKey: keyColumns,
        columns: current.columns.map((c, i) =>
          keyColumns.includes(i) ? { ...c, notNull: true } : c
        ),
        indexes: current.indexes.map((index) => ({ ...index, ...catalog.newTree(txn) })),
      }));
      const table = catalog.handle(next);
      if (next.indexes.length === 0 && next.checks.length === 0) {
        // Sorted by the new key, the rows fill the empty tree by bulk append (a pgbench -i
        // accounts table: ~20x faster than a row-by-row insert), in slices between yields.
        const unsorted: { key: Uint8Array; values: SqlValue[] }[] = [];
        for (const row of rows) {
          unsorted.push({ key: table.rowKey(row.values), values: row.values });
          if (unsorted.length % rebuildSliceRows === 0) await ctx.yieldPoint();
        }
        const keyed = await slicedSort(
          unsorted,
          (a, b) => compareKeys(a.key, b.key),
          ctx.yieldPoint,
        );
        for (let i = 1; i < keyed.length; i++) {
          if (compareKeys(keyed[i - 1]!.key, keyed[i]!.key) === 0) {
            throw new UniqueViolationError(next.primaryKeyName);
          }
          if (i % 4096 === 0) await ctx.yieldPoint();
        }
        for (let from = 0; from < keyed.length; from += rebuildSliceRows) {
          const slice = keyed.slice(from, from + rebuildSliceRows).map((k) => k.values);
          bulkAppendSorted(table, txn, slice);
          await ctx.yieldPoint(); // long rebuilds let checkpoints (and everyone else) run
        }
      } else {
        for (const row of rows) {
          await table.insert(txn, row.values);
          await ctx.yieldPoint(); // long rebuilds let checkpoints (and everyone else) run
        }
      }
      catalog.dropLater(txn, oldTable.trees());
      return { tag: "ALTER TABLE" };
    }
    if (action.kind === "addColumn") {
      const exists = def.columns.some((c) => c.name === action.column.name && !c.dropped);
      if (exists) {
        if (action.ifNotExists) return { tag: "ALTER TABLE" };
        throw new ExoError(
          "42701",
          `column "${action.column.name}" of relation "${def.name}" already exists`,
        );
      }
      const next = await catalog.replaceTable(
        txn,
        def.name,
        (current) => ({
          ...current,
          columns: [...current.columns, columnDef(action.column)],
        }),
      );
      // Existing rows take the new column's DEFAULT (evaluated per row, as PostgreSQL does
      // for a volatile default; a constant gives every row the same value).
      const added = next.columns.length - 1;
      if (next.columns[added]!.defaultSql !== null) {
        const table = catalog.handle(next);
        for (const row of await this.#scanAllSliced(table, txn, snapshot, ctx)) {
          const values = [...row.values];
          while (values.length < next.columns.length) values.push(null);
          await this.#defaults(
            table,
            binder,
            ctx,
            values,
            new Set([...values.keys()].filter((i) => i !== added)),
          );
          await table.update(txn, row.key, () => values);
          await ctx.yieldPoint();
        }
      }
      return { tag: "ALTER TABLE" };
    }
    if (action.kind === "dropColumn") {
      if (!def.columns.some((c) => c.name === action.name && !c.dropped)) {
        if (action.ifExists) return { tag: "ALTER TABLE" };
        throw new ExoError(
          "42703",
          `column "${action.name}" of relation "${def.name}" does not exist`,
        );
      }
      await catalog.replaceTable(txn, def.name, (current) => ({
        ...current,
        columns: current.columns.map((
          c,
        ) => (c.name === action.name
          ? { ...c, dropped: true, name: `........pg.dropped.${c.name}` }
          : c)
        ),
      }));
      return { tag: "ALTER TABLE" };
    }
    if (action.kind === "addConstraint" && action.constraint.kind === "check") {
      const check = action.constraint;
      const name = check.name ?? `${def.name}_check`;
      const table = catalog.handle(def);
      const expr = bindStoredExpr(check.sql, binder, tableScope(table));
      let start: Uint8Array | undefined;
      for (;;) {
        const rows = table.scan(txn, snapshot, {
          ...(start !== undefined ? { start, startInclusive: false } : {}),
          limit: 256,
        });
        for (const row of rows) {
          if (
            (isPlainExpr(expr)
              ? evaluateNow(expr, row.values, ctx)
              : await evaluate(expr, row.values, ctx)) === false
          ) {
            throw new ExoError(
              "23514",
              `check constraint "${name}" of relation "${def.name}" is violated by some row`,
            );
          }
        }
        if (rows.length < 256) break;
        start = rows[rows.length - 1]!.key;
        await ctx.yieldPoint();
      }
      await catalog.replaceTable(txn, def.name, (current) => ({
        ...current,
        checks: [...current.checks, { name, sql: check.sql }],
      }));
      return { tag: "ALTER TABLE" };
    }
    if (action.kind === "addConstraint" && action.constraint.kind === "unique") {
      const unique = action.constraint;
      const columns = unique.columns.map((n) => {
        const column = def.columns.findIndex((c) => c.name === n && !c.dropped);
        if (column < 0) {
          throw new BindError(
            "42703",
            `column "${n}" named in key does not exist`,
            statement.offset,
          );
        }
        return { column, descending: false };
      });
      await catalog.createIndex(txn, snapshot, def.name, {
        name: unique.name ?? `${def.name}_${unique.columns.join("_")}_key`,
        columns,
        unique: true,
        constraint: true,
      });
      return { tag: "ALTER TABLE" };
    }
    if (action.kind === "addConstraint" && action.constraint.kind === "foreignKey") {
      return { tag: "ALTER TABLE" };
    }
    throw notSupported(`ALTER TABLE ${action.kind}`, statement.offset);
  }
}

function isDefault(ast: AstExpr): boolean {
  return ast.kind === "column" && ast.parts.length === 1 && ast.parts[0] === "DEFAULT";
}

function columnSqlType(table: Table, index: number): SqlType {
  const type = table.def.columns[index]!.type;
  return { id: type.id, typmod: type.typmod };
}

function columnDef(c: ColumnDefinition): ColumnDef {
  const serial = /^(small|big)?serial$/.test(c.type.name);
  return {
    name: c.name,
    type: storable(resolveTypeName(c.type)),
    notNull: c.notNull || serial,
    defaultSql: serial ? null : c.defaultText ?? null,
    missing: null,
    dropped: false,
    identity: serial ? "by default" : c.identity ?? null,
    ...(serial ? { serial } : {}),
  };
}

/**
 * A duration setting in milliseconds: `50`, `50ms`, `2s`, `1min`, `1h` (PostgreSQL's units for
 * time GUCs whose base unit is ms). Undefined when it is not one.
 */
export function parseDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * durationUnitMs[match[2] ?? "ms"]!;
}

/** Milliseconds per unit of a duration setting. */
const durationUnitMs: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** oid and reg* results leave as text: numbers, or names looked up at the statement's snapshot. */
function oidOutput(columns: OutputColumn[], rows: Row[], call: CallContext): Row[] {
  if (!columns.some((c) => isOidFamily(c.type))) return rows; // almost every result
  const view = call.session!; // (built on first read: only here)
  const positions = columns.map((c, i) => (isOidFamily(c.type) ? i : -1)).filter((i) => i >= 0);
  const model = catalogModel(view);
  return rows.map((row) => {
    const out = [...row];
    for (const i of positions) {
      if (out[i] !== null) out[i] = regOutput(columns[i]!.type, out[i]!, model);
    }
    return out;
  });
}

/** The scheduling class of a statement: VACUUM, CHECKPOINT and CREATE INDEX on request are maintenance. */
function statementClass(statement: Statement): TaskClass {
  if (statement.kind === "createIndex") return "maintenance";
  if (
    statement.kind === "utility" && (statement.tag === "VACUUM" || statement.tag === "CHECKPOINT")
  ) {
    return "maintenance";
  }
  return "interactive";
}
