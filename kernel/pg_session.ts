/**
 * One PostgreSQL client connection: startup, trust or SCRAM-SHA-256 authentication, simple and
 * extended query (row limits, PortalSuspended), COPY FROM STDIN and TO STDOUT, CancelRequest,
 * statement and idle-in-transaction timeouts, errors with SQLSTATEs, ParameterStatus on change,
 * ReadyForQuery status. On the exo profile, responses to everything read in one socket read are
 * corked into one socket write (a large result is written in pieces as it is encoded); on the
 * conventional profile every protocol message is its own socket write.
 *
 * Rules:
 * 1. A protocol violation that loses framing ends the connection after an ErrorResponse (08P01);
 *    any other error is reported and the session goes on (the server never goes down).
 * 2. After an error in the extended protocol, messages are skipped until Sync.
 * 3. A connection that goes away rolls back its open transaction.
 * 4. Nothing but the startup packet is decoded before authentication succeeds, except the
 *    SASL messages of the exchange itself; a failed exchange ends with FATAL and no
 *    ReadyForQuery.
 * 5. A slow reader stalls only itself: writes are awaited per connection, never globally.
 */
import { AssertionError } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import type { NetConnection } from "../hw/net.ts";
import {
  BackendWriter,
  decodeSaslInitialResponse,
  FrontendDecoder,
  type FrontendMessage,
  protocolVersion3,
  ProtocolViolation,
  splitBackendMessages,
  type StartupMessage,
} from "../io/pgwire/messages.ts";
import { type SqlValue, TypeId } from "../dbengine/types.ts";
import { decodeUtf8 } from "../dbengine/utf8.ts";
import { Binder } from "../query/binder.ts";
import { decodeBinary, encodeBinary } from "../query/pg_binary.ts";
import { formatValue, parseValue } from "../query/pg_text.ts";
import type { OutputColumn } from "../query/plan.ts";
import type { Statement } from "../query/sql_ast.ts";
import { SqlSyntaxError } from "../query/sql_lexer.ts";
import { parseSql } from "../query/sql_parser.ts";
import type { Row } from "../query/executor.ts";
import { chargeDirect, registerSession, unregisterSession } from "../query/session_stats.ts";
import { defaultSettings, SqlSession, type StatementResult } from "../query/sql_session.ts";
import { type SqlType, storable, t, typeLength, typeOfOid, typeOid } from "../query/sql_types.ts";
import type { Appliance } from "./boot.ts";
import type { Logger } from "./log.ts";
import { ScramExchange, type ScramVerifier, scramVerifier } from "./scram.ts";
import { isBaseBackupCommand, sendBaseBackup } from "./base_backup.ts";

interface Prepared {
  statement: Statement;
  paramTypes: SqlType[];
  columns: OutputColumn[] | undefined;
}

interface Portal {
  prepared: Prepared;
  params: SqlValue[];
  resultFormats: number[];
}

let nextProcessId = 1000;

/** Running sessions by process id, for CancelRequest (which arrives on a new connection). */
const cancelTargets = new Map<number, { secretKey: number; session: SqlSession }>();

/** Parameters reported with ParameterStatus, by the name the client sees → session setting. */
const reportedParameters: [string, string][] = [
  ["application_name", "application_name"],
  ["client_encoding", "client_encoding"],
  ["DateStyle", "datestyle"],
  ["default_transaction_read_only", "default_transaction_read_only"],
  ["in_hot_standby", "in_hot_standby"],
  ["integer_datetimes", "integer_datetimes"],
  ["IntervalStyle", "intervalstyle"],
  ["is_superuser", "is_superuser"],
  ["server_encoding", "server_encoding"],
  ["server_version", "server_version"],
  ["session_authorization", "session_authorization"],
  ["standard_conforming_strings", "standard_conforming_strings"],
  ["TimeZone", "timezone"],
];

/** Startup-packet keys that are not settings. */
const startupKeys = new Set(["user", "database", "options", "replication"]);

/** Rows of a result being sent in pieces (Execute with a row limit). */
interface PendingRows {
  result: StatementResult;
  sentRows: number;
}

/** Verifiers derived once per configured password (PBKDF2 is slow on purpose). */
const verifiers = new Map<string, ScramVerifier>();

/** Serves one connection until it ends. */
export async function servePostgres(
  connection: NetConnection,
  appliance: Appliance,
  logger: Logger,
): Promise<void> {
  const decoder = new FrontendDecoder(appliance.config.maxMessageBytes);
  const out = new BackendWriter();
  const processId = nextProcessId++;
  const secretKey = crypto.getRandomValues(new Uint32Array(1))[0]! | 0;
  const session = new SqlSession(() => appliance.engine);
  session.taskRunner = appliance.scheduler.runner; // each statement is an interactive task
  session.backendPid = processId;
  session.afterStatement = (outcome, durationMs) =>
    appliance.statementLog.record(processId, outcome, durationMs);
  session.serverAddress = connection.localHost;
  session.serverPort = connection.localPort;
  const statements = new Map<string, Prepared>();
  const portals = new Map<string, Portal & { pending?: PendingRows; done?: boolean }>();
  const buffer = new Uint8Array(64 * 1024);
  const reported = new Map<string, string>();
  type Phase = "startup" | "saslInitial" | "saslFinal" | "ready";
  let phase = "startup" as Phase; // changed inside the callbacks below
  let scram: ScramExchange | undefined;
  let user = "";
  let skipToSync = false;
  /**
   * Executes between two Syncs outside a block form one implicit transaction (PostgreSQL's
   * rule): opened by the first Execute, committed at Sync, or rolled back there after an error.
   */
  let implicitOpen = false;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  let copy: {
    table: string;
    columns: string[] | undefined;
    csv: boolean;
    rows: string[];
    partial: string;
    /** Started by Execute (extended protocol) rather than by a simple Query. */
    extended: boolean;
  } | undefined;

  // The exo profile corks everything answered to one socket read into one write; the
  // conventional one makes a socket write per protocol message.
  const perMessageWrites = appliance.config.profile === "conventional";
  const flush = async () => {
    // The session's own socket traffic is charged to it (exodb_stat_sessions).
    if (out.length > 0) {
      // (Before "ready" the stream may hold the headerless 'N' refusing SSL: written whole.)
      if (perMessageWrites && phase === "ready") {
        for (const message of splitBackendMessages(out.take())) {
          const calls = await connection.write(message);
          chargeDirect(session.crossings, "socket_write", calls, message.length);
        }
        return;
      }
      // A NIC that copies before write returns gets the writer's own bytes (no copy here).
      const bytes = connection.copiesOnWrite ? out.view() : out.take();
      const written = connection.write(bytes);
      out.clear(); // (after take, already empty)
      const calls = await written;
      chargeDirect(session.crossings, "socket_write", calls, bytes.length);
    }
  };
  const errorFields = (error: unknown) => {
    let code = "XX000";
    let message = String(error);
    let position: number | undefined;
    if (error instanceof ExoError) {
      code = error.sqlState;
      message = error.message;
      if (error instanceof SqlSyntaxError) position = error.position;
      const withPosition = error as { position?: number };
      if (typeof withPosition.position === "number") position = withPosition.position;
    } else if (error instanceof AssertionError) {
      logger.error(`internal error: ${error.stack}`);
      message = `internal error: ${error.message}`;
    } else if (error instanceof Error) {
      logger.error(`unexpected error: ${error.stack}`);
      message = error.message;
    }
    return { code, message, ...(position !== undefined ? { position } : {}) };
  };
  const sendError = (error: unknown) => {
    out.errorResponse({ severity: "ERROR", ...errorFields(error) });
  };
  /** A FATAL error: sent, flushed, and the connection ends (no ReadyForQuery). */
  const fatal = async (code: string, message: string) => {
    out.errorResponse({ severity: "FATAL", code, message });
    await flush().catch(() => {});
    connection.close();
  };
  /** ParameterStatus for every reported setting whose value changed, then ReadyForQuery. */
  const ready = () => {
    for (const [name, key] of reportedParameters) {
      const value = session.settings.get(key) ?? "off";
      if (reported.get(name) !== value) {
        reported.set(name, value);
        out.parameterStatus(name, value);
      }
    }
    const status = session.status;
    out.readyForQuery(status);
    // Portals die with their transaction.
    if (status === "I") portals.clear();
  };
  const describeRows = (columns: OutputColumn[], formats: number[]) => {
    out.rowDescription(columns.map((c, i) => ({
      name: c.name,
      tableOid: c.tableOid,
      columnNumber: c.columnNumber,
      typeOid: typeOid(c.type),
      typeLength: typeLength(c.type),
      typeModifier: c.type.typmod,
      format: formats.length === 1 ? formats[0]! : formats[i] ?? 0,
    })));
  };
  /** DataRows for `rows[from..to)`; a promise only when a big result is flushed midway. */
  const sendRows = (
    columns: OutputColumn[],
    rows: readonly Row[],
    formats: number[],
    from = 0,
    to = rows.length,
  ): Promise<void> | undefined => {
    const settings = session.textSettings;
    for (let r = from; r < to; r++) {
      out.dataRow(rows[r]!.map((value, i) => {
        if (value === null) return null;
        const format = formats.length === 1 ? formats[0]! : formats[i] ?? 0;
        const type = columns[i]!.type;
        if (format === 1) {
          const binary = encodeBinary(value, type);
          if (binary === undefined) {
            throw new ExoError(
              "42883",
              `no binary output function available for type with OID ${typeOid(type)}`,
            );
          }
          return binary;
        }
        return formatText(value, type, settings);
      }));
      // A big result goes out in pieces: a slow reader holds back only its own session.
      if (out.length > flushBytes) {
        return flush().then(() => sendRows(columns, rows, formats, r + 1, to));
      }
    }
    return undefined;
  };
  const sendNotices = (result: StatementResult) => {
    for (const notice of result.notices ?? []) {
      out.noticeResponse({
        severity: notice.code === "00000" ? "NOTICE" : "WARNING",
        code: notice.code,
        message: notice.message,
      });
    }
  };

  const copyOut = async (statement: Extract<Statement, { kind: "copyTo" }>) => {
    const format = (statement.options.get("format") ?? "text").toLowerCase();
    if (format !== "text" && format !== "csv") {
      throw new ExoError("0A000", `COPY format "${format}" is not supported`);
    }
    const csv = format === "csv";
    const header = csv && /^(true|on|1|)$/i.test(statement.options.get("header") ?? "false");
    let select: Statement;
    if (statement.query !== undefined) select = statement.query;
    else {
      const columns = statement.columns?.map(quoteIdentifier).join(", ") ?? "*";
      const table = statement.table!.split(".").map(quoteIdentifier).join(".");
      select = parseSql(`select ${columns} from ${table}`)[0]!.statement;
    }
    const result = await session.execute(select);
    const columns = result.columns ?? [];
    const rows = result.rows ?? [];
    const settings = session.textSettings;
    out.copyOutResponse(0, columns.map(() => 0));
    if (header) out.copyData(columns.map((c) => csvField(c.name)).join(",") + "\n");
    for (const row of rows) {
      const fields = row.map((value, i) => {
        if (value === null) return csv ? "" : "\\N";
        const text = formatText(value, columns[i]!.type, settings)!;
        return csv ? csvField(text) : copyTextField(text);
      });
      out.copyData(fields.join(csv ? "," : "\t") + "\n");
      if (out.length > flushBytes) await flush();
    }
    out.copyDone();
    out.commandComplete(`COPY ${rows.length}`);
  };

  /** EXODB_BASE_BACKUP: the online backup as one binary COPY OUT (kernel/base_backup.ts). */
  const baseBackup = async () => {
    try {
      if (session.status !== "I") {
        throw new ExoError("25001", "EXODB_BASE_BACKUP cannot run inside a transaction block");
      }
      out.copyOutResponse(1, []);
      await sendBaseBackup(appliance.engine.storage, async (chunk) => {
        out.copyData(chunk);
        await flush();
      }, logger);
      out.copyDone();
      out.commandComplete("EXODB_BASE_BACKUP");
    } catch (error) {
      sendError(error);
    }
    ready();
  };

  const simpleQuery = async (sql: string) => {
    if (isBaseBackupCommand(sql)) return await baseBackup();
    let parsed;
    try {
      parsed = parseCached(sql);
    } catch (error) {
      sendError(error);
      ready();
      return;
    }
    if (parsed.every(({ statement }) => statement.kind === "empty")) {
      out.emptyQueryResponse();
      ready();
      return;
    }
    // Several statements outside a block run as one implicit transaction (PostgreSQL's rule):
    // an error rolls back the ones before it. Strings with transaction control, COPY or
    // utility statements keep per-statement behaviour.
    const real = parsed.filter(({ statement }) => statement.kind !== "empty");
    const implicit = real.length > 1 && session.status === "I" &&
      real.every(({ statement }) => !ownTransaction.has(statement.kind));
    if (implicit) await session.execute({ kind: "begin", offset: 0 });
    let failed = false;
    for (const { statement } of parsed) {
      if (statement.kind === "empty") continue;
      if (statement.kind === "copyFrom") {
        try {
          startCopyIn(statement, false);
        } catch (error) {
          sendError(error);
          break;
        }
        return; // ReadyForQuery after CopyDone
      }
      try {
        if (statement.kind === "copyTo") await copyOut(statement);
        else {
          const result = await session.execute(statement);
          sendNotices(result);
          if (result.columns !== undefined) {
            describeRows(result.columns, []);
            await sendRows(result.columns, result.rows ?? [], []);
          }
          out.commandComplete(result.tag);
        }
      } catch (error) {
        sendError(error);
        failed = true;
        break;
      }
      if (out.length > flushBytes) await flush();
    }
    if (implicit) {
      try {
        await session.execute({ kind: failed ? "rollback" : "commit", offset: 0 });
      } catch (error) {
        sendError(error);
        session.abort();
      }
    }
    ready();
  };

  /** Answers COPY FROM STDIN with CopyInResponse; the rows follow as CopyData. */
  const startCopyIn = (statement: Extract<Statement, { kind: "copyFrom" }>, extended: boolean) => {
    const { storage, catalog } = appliance.engine;
    const snapshot = storage.txns.snapshot();
    let table;
    try {
      table = catalog.tableDef(statement.table, undefined, snapshot);
    } finally {
      storage.txns.release(snapshot);
    }
    if (table === null) {
      throw new ExoError("42P01", `relation "${statement.table}" does not exist`);
    }
    const columns = statement.columns ??
      table.columns.filter((c) => !c.dropped).map((c) => c.name);
    const csv = (statement.options.get("format") ?? "text").toLowerCase() === "csv";
    copy = {
      table: statement.table,
      columns: statement.columns,
      csv,
      rows: [],
      partial: "",
      extended,
    };
    out.copyInResponse(0, columns.map(() => 0));
  };

  const finishCopy = async () => {
    const pending = copy!;
    copy = undefined;
    const lines = pending.partial.length > 0 ? [...pending.rows, pending.partial] : pending.rows;
    try {
      const values = lines.filter((line) => line !== "\\." && line !== "").map((line) =>
        parseCopyLine(line, pending.csv)
      );
      const count = await session.copyIn(pending.table, pending.columns, values);
      out.commandComplete(`COPY ${count}`);
    } catch (error) {
      sendError(error);
      if (pending.extended) skipToSync = true;
    }
    // In the extended protocol ReadyForQuery waits for the Sync.
    if (!pending.extended) ready();
  };

  const execute = async (
    portal: Portal & { pending?: PendingRows; done?: boolean },
    maxRows: number,
  ) => {
    if (portal.prepared.statement.kind === "empty") {
      out.emptyQueryResponse();
      return;
    }
    if (portal.done) {
      // A portal run to completion returns no more rows.
      out.commandComplete(portal.prepared.statement.kind === "select" ? "SELECT 0" : "");
      return;
    }
    const statement = portal.prepared.statement;
    if (statement.kind === "copyFrom") {
      startCopyIn(statement, true);
      portal.done = true;
      return;
    }
    if (statement.kind === "copyTo") {
      await copyOut(statement);
      portal.done = true;
      return;
    }
    let pending = portal.pending;
    if (pending === undefined) {
      const result = await session.execute(
        portal.prepared.statement,
        portal.params,
        portal.prepared.paramTypes,
      );
      sendNotices(result);
      if (result.columns === undefined) {
        portal.done = true;
        out.commandComplete(result.tag);
        return;
      }
      pending = { result, sentRows: 0 };
    }
    const rows = pending.result.rows ?? [];
    const from = pending.sentRows;
    const to = maxRows > 0 ? Math.min(rows.length, from + maxRows) : rows.length;
    const sending = sendRows(pending.result.columns!, rows, portal.resultFormats, from, to);
    if (sending !== undefined) await sending;
    if (to < rows.length) {
      portal.pending = { result: pending.result, sentRows: to };
      out.portalSuspended();
      return;
    }
    delete portal.pending;
    portal.done = true;
    // The tag counts only the rows this Execute sent (PostgreSQL: 2 + 2 + 1 ends "SELECT 1").
    out.commandComplete(
      pending.result.tag.startsWith("SELECT ") ? `SELECT ${to - from}` : pending.result.tag,
    );
  };

  /**
   * One extended-protocol message. Parse, Bind, Describe and Close are answered at once (no
   * promise per message); Execute and Flush return the promise of their work.
   */
  const extended = (message: FrontendMessage): Promise<void> | undefined => {
    switch (message.kind) {
      case "parse": {
        if (message.name !== "" && statements.has(message.name)) {
          throw new ExoError("42P05", `prepared statement "${message.name}" already exists`);
        }
        const parsed = parseCached(message.sql);
        if (parsed.length > 1) {
          throw new ExoError("42601", "cannot insert multiple commands into a prepared statement");
        }
        const statement = parsed[0]?.statement ?? { kind: "empty" as const, offset: 0 };
        const paramTypes = message.paramTypes.map((oid) => typeOfOid(oid) ?? t.unknown);
        const { columns, paramTypes: inferred } = describe(statement, paramTypes);
        statements.set(message.name, { statement, paramTypes: inferred, columns });
        out.parseComplete();
        return;
      }
      case "bind": {
        const prepared = statements.get(message.statement);
        if (prepared === undefined) {
          throw new ExoError("26000", `prepared statement "${message.statement}" does not exist`);
        }
        if (message.params.length !== prepared.paramTypes.length) {
          throw new ExoError(
            "08P01",
            `bind message supplies ${message.params.length} parameters, but prepared statement "${message.statement}" requires ${prepared.paramTypes.length}`,
          );
        }
        if (
          message.paramFormats.length > 1 && message.paramFormats.length !== message.params.length
        ) {
          throw new ExoError(
            "08P01",
            `bind message has ${message.paramFormats.length} parameter formats but ${message.params.length} parameters`,
          );
        }
        const params = message.params.map((bytes, i) => {
          if (bytes === null) return null;
          const format = message.paramFormats.length === 1
            ? message.paramFormats[0]!
            : message.paramFormats[i] ?? 0;
          if (format !== 0 && format !== 1) {
            throw new ExoError("08P01", `unsupported format code: ${format}`);
          }
          const type = prepared.paramTypes[i]!;
          if (format === 1) return decodeBinary(bytes, type.id === 0 ? t.text : type);
          let text: string;
          try {
            text = decodeUtf8(bytes); // short ASCII without a runtime op
          } catch {
            throw new ExoError("22021", 'invalid byte sequence for encoding "UTF8"');
          }
          return type.id === 0 ? text : parseValue(text, storable(type), session.textSettings);
        });
        for (const format of message.resultFormats) {
          if (format !== 0 && format !== 1) {
            throw new ExoError("08P01", `unsupported format code: ${format}`);
          }
        }
        portals.set(message.portal, { prepared, params, resultFormats: message.resultFormats });
        out.bindComplete();
        return;
      }
      case "describe": {
        if (message.target === "S") {
          const prepared = statements.get(message.name);
          if (prepared === undefined) {
            throw new ExoError("26000", `prepared statement "${message.name}" does not exist`);
          }
          out.parameterDescription(
            prepared.paramTypes.map((type) => type.id === 0 ? 25 : typeOid(type)),
          );
          if (prepared.columns) describeRows(prepared.columns, []);
          else out.noData();
          return;
        }
        const portal = portals.get(message.name);
        if (portal === undefined) {
          throw new ExoError("34000", `portal "${message.name}" does not exist`);
        }
        if (portal.prepared.columns) describeRows(portal.prepared.columns, portal.resultFormats);
        else out.noData();
        return;
      }
      case "execute":
        return executeMessage(message.portal, message.maxRows);
      case "close":
        if (message.target === "S") statements.delete(message.name);
        else portals.delete(message.name);
        out.closeComplete();
        return;
      case "flush":
        return flush();
      default:
        throw new ProtocolViolation(`unexpected message ${message.kind}`, false);
    }
  };

  /** Execute: runs the portal (opening the batch's implicit transaction when one is due). */
  const executeMessage = (portalName: string, maxRows: number): Promise<void> | undefined => {
    const portal = portals.get(portalName);
    if (portal === undefined) {
      throw new ExoError("34000", `portal "${portalName}" does not exist`);
    }
    const kind = portal.prepared.statement.kind;
    if (implicitOpen && kind === "begin") {
      // BEGIN turns the implicit block into the client's explicit one.
      implicitOpen = false;
      out.commandComplete("BEGIN");
      return;
    }
    if (implicitOpen && (kind === "commit" || kind === "rollback")) implicitOpen = false;
    else if (
      // An Execute followed at once by Sync is its own transaction anyway (autocommit).
      !implicitOpen && session.status === "I" && !ownTransaction.has(kind) &&
      kind !== "empty" && decoder.peekType() !== "S"
    ) {
      return session.execute({ kind: "begin", offset: 0 }).then(() => {
        implicitOpen = true;
        return execute(portal, maxRows);
      });
    }
    return execute(portal, maxRows);
  };

  /** Ends the implicit transaction of an extended-protocol batch at its Sync. */
  const endImplicit = async () => {
    if (!implicitOpen) return;
    implicitOpen = false;
    try {
      await session.execute({ kind: session.status === "E" ? "rollback" : "commit", offset: 0 });
    } catch (error) {
      sendError(error);
      session.abort();
    }
  };

  /** Binds once at Parse time to learn parameter and result types (no execution). */
  const describe = (
    statement: Statement,
    paramTypes: SqlType[],
  ): { columns: OutputColumn[] | undefined; paramTypes: SqlType[] } => {
    // Clients that Parse the same text again (unnamed statements) reuse the description while
    // the catalog and time zone are unchanged, as the plan cache does.
    const { catalog } = appliance.engine;
    const version = catalog.stableVersion;
    const key = paramTypes.map((p) => `${p.id}:${p.typmod}`).join(",") +
      `@${session.textSettings.timeZoneOffsetSeconds}`;
    const cached = describeCache.get(statement);
    if (
      version !== undefined && cached !== undefined && cached.catalog === catalog &&
      cached.version === version && cached.key === key
    ) return cached.result;
    const result = describeNow(statement, paramTypes);
    if (version !== undefined) describeCache.set(statement, { catalog, version, key, result });
    return result;
  };

  const describeNow = (
    statement: Statement,
    paramTypes: SqlType[],
  ): { columns: OutputColumn[] | undefined; paramTypes: SqlType[] } => {
    const { storage, catalog } = appliance.engine;
    const snapshot = storage.txns.snapshot();
    try {
      const binder = new Binder({
        catalog,
        txn: session.nextStatementReader, // a block's own uncommitted tables are visible to it
        snapshot,
        paramTypes: [...paramTypes],
        settings: session.textSettings,
      });
      let columns: OutputColumn[] | undefined;
      if (statement.kind === "select") columns = binder.select(statement).plan.columns;
      else if (statement.kind === "show") {
        columns = [{ name: statement.name, type: t.text, tableOid: 0, columnNumber: 0 }];
      } else if (
        statement.kind === "update" || statement.kind === "delete" || statement.kind === "insert"
      ) {
        session.inferDmlParams(statement, binder);
      }
      const count = Math.max(paramTypes.length, binder.ctx.paramTypes.length, maxParam(statement));
      const types = Array.from(
        { length: count },
        (_, i) => binder.ctx.paramTypes[i] ?? paramTypes[i] ?? t.unknown,
      )
        .map((type) => type.id === 0 ? t.text : type);
      return { columns, paramTypes: types };
    } finally {
      storage.txns.release(snapshot);
    }
  };

  /** Startup complete: AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery. */
  const admit = () => {
    out.authenticationOk();
    out.backendKeyData(processId, secretKey);
    cancelTargets.set(processId, { secretKey, session });
    registerSession(session); // exodb_stat_sessions
    phase = "ready";
    clearTimeout(startupTimer);
    ready();
  };

  /** One startup-phase packet; false when the connection is to end. */
  const onStartup = async (message: StartupMessage): Promise<boolean> => {
    if (message.kind === "sslRequest" || message.kind === "gssEncRequest") {
      out.refuseEncryption(); // no TLS, no GSSAPI: the client goes on in the clear
      return true;
    }
    if (message.kind === "cancel") {
      // Answered by nothing; the target session's statement fails with 57014.
      const target = cancelTargets.get(message.processId);
      if (target !== undefined && target.secretKey === message.secretKey) target.session.cancel();
      return false;
    }
    user = message.parameters.get("user") ?? "";
    if (user === "") {
      await fatal("28000", "no PostgreSQL user name specified in startup packet");
      return false;
    }
    for (const [name, value] of message.parameters) {
      const key = name.toLowerCase();
      if (!startupKeys.has(key) && Object.hasOwn(defaultSettings, key)) {
        session.settings.set(key, value);
      }
    }
    const options = message.parameters.get("options") ?? "";
    for (const match of options.matchAll(/(?:-c\s*|--)([A-Za-z_.]+)=(\S+)/g)) {
      const key = match[1]!.toLowerCase();
      if (Object.hasOwn(defaultSettings, key)) session.settings.set(key, match[2]!);
    }
    session.settings.set("session_authorization", user);
    session.user = user;
    // No database named: PostgreSQL uses the user name.
    session.database = message.parameters.get("database") ?? user;
    // A newer minor version or protocol options: say what this server speaks, then go on.
    const unknownOptions = [...message.parameters.keys()].filter((k) => k.startsWith("_pq_."));
    if ((message.version & 0xffff) !== 0 || unknownOptions.length > 0) {
      out.negotiateProtocolVersion(protocolVersion3, unknownOptions);
    }
    decoder.startupDone();
    const password = appliance.config.password;
    if (password === "") {
      admit(); // trust
      return true;
    }
    let verifier = verifiers.get(password);
    if (verifier === undefined) {
      verifier = scramVerifier(password);
      verifiers.set(password, verifier);
    }
    scram = new ScramExchange(verifier);
    out.authenticationSasl(["SCRAM-SHA-256"]);
    phase = "saslInitial";
    return true;
  };

  /** One SASL message during authentication; false when the connection is to end. */
  const onSasl = async (message: FrontendMessage): Promise<boolean> => {
    if (message.kind !== "password") {
      await fatal("08P01", `expected SASL response, got message type ${message.kind}`);
      return false;
    }
    try {
      if (phase === "saslInitial") {
        const { mechanism, response } = decodeSaslInitialResponse(message.data);
        if (mechanism !== "SCRAM-SHA-256") {
          await fatal("08P01", "client selected an invalid SASL authentication mechanism");
          return false;
        }
        if (response === null) throw new ExoError("08P01", "malformed SCRAM message (empty)");
        out.authenticationSaslContinue(utf8Bytes.encode(scram!.serverFirst(utf8.decode(response))));
        phase = "saslFinal";
        return true;
      }
      const serverFinal = scram!.serverFinal(utf8.decode(message.data));
      if (serverFinal === undefined) {
        logger.info(`password authentication failed for user "${user}" from ${connection.peer}`);
        await fatal("28P01", `password authentication failed for user "${user}"`);
        return false;
      }
      out.authenticationSaslFinal(utf8Bytes.encode(serverFinal));
      admit();
      return true;
    } catch (error) {
      const { code, message: text } = errorFields(error);
      await fatal(code === "XX000" ? "08P01" : code, text);
      return false;
    }
  };

  /** Arms idle_in_transaction_session_timeout when the session waits inside a transaction. */
  const armIdleTimer = () => {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    if (session.status === "I" || copy !== undefined) return;
    const timeoutMs = session.durationSettingMs("idle_in_transaction_session_timeout");
    if (timeoutMs <= 0) return;
    idleTimer = setTimeout(() => {
      logger.info(`closing ${connection.peer}: idle in transaction for ${timeoutMs} ms`);
      fatal("25P03", "terminating connection due to idle-in-transaction timeout");
    }, timeoutMs);
  };

  // A client that never finishes startup is closed (PostgreSQL's authentication_timeout).
  const startupTimer = setTimeout(() => {
    if (phase !== "ready") {
      logger.info(
        `closing ${connection.peer}: startup not completed in ${appliance.config.authenticationTimeoutMs} ms`,
      );
      connection.close();
    }
  }, appliance.config.authenticationTimeoutMs);
  try {
    for (;;) {
      const n = await connection.read(buffer);
      chargeDirect(session.crossings, "socket_read", connection.socketCallsPerRead, n ?? 0);
      if (n === null) return;
      clearTimeout(idleTimer);
      decoder.push(buffer.slice(0, n));
      try {
        while (phase === "startup") {
          const message = decoder.nextStartup();
          if (message === undefined) break;
          if (!(await onStartup(message))) return;
        }
        while (phase === "saslInitial" || phase === "saslFinal") {
          const message = decoder.next();
          if (message === undefined) break;
          if (!(await onSasl(message))) return;
        }
        while (phase === "ready") {
          let message: FrontendMessage | undefined;
          try {
            message = decoder.next();
          } catch (error) {
            // A message that framed correctly but whose body is wrong: ERROR, skip to Sync.
            if (!(error instanceof ProtocolViolation) || error.fatal) throw error;
            sendError(error);
            const simple = copy !== undefined ? !copy.extended : decoder.lastType === "Q";
            copy = undefined;
            if (simple) ready(); // simple query and its COPY: ReadyForQuery follows the error
            else skipToSync = true;
            continue;
          }
          if (message === undefined) break;
          if (copy !== undefined) {
            if (message.kind === "copyData") {
              const text = copy.partial + utf8Stream.decode(message.data, { stream: true });
              const lines = text.split("\n");
              copy.partial = lines.pop()!;
              copy.rows.push(...lines);
            } else if (message.kind === "copyDone") await finishCopy();
            else if (message.kind === "copyFail") {
              const extended = copy.extended;
              copy = undefined;
              sendError(new ExoError("57014", `COPY from stdin failed: ${message.message}`));
              if (extended) skipToSync = true;
              else ready();
            } else if (message.kind === "terminate") return;
            else if (message.kind !== "sync" && message.kind !== "flush") {
              // PostgreSQL: anything but CopyData/CopyDone/CopyFail/Sync/Flush ends the COPY.
              const extended = copy.extended;
              copy = undefined;
              sendError(
                new ExoError(
                  "08P01",
                  `unexpected message type ${message.kind} during COPY from stdin`,
                ),
              );
              if (extended) skipToSync = true;
              else ready();
            }
            continue;
          }
          if (message.kind === "terminate") return;
          if (message.kind === "query") {
            skipToSync = false;
            await simpleQuery(message.sql);
            continue;
          }
          if (message.kind === "sync") {
            skipToSync = false;
            await endImplicit();
            ready();
            continue;
          }
          if (skipToSync) continue;
          if (
            message.kind === "copyData" || message.kind === "copyDone" ||
            message.kind === "copyFail"
          ) {
            continue; // stray COPY messages outside COPY are ignored, as PostgreSQL does
          }
          if (message.kind === "functionCall") {
            // The fastpath interface (a simple-protocol message): refused, then ReadyForQuery.
            sendError(new ExoError("0A000", "fastpath function calls are not supported"));
            ready();
            continue;
          }
          if (message.kind === "password") {
            sendError(new ProtocolViolation("unexpected password message", false));
            skipToSync = true;
            continue;
          }
          try {
            const work = extended(message);
            if (work !== undefined) await work;
          } catch (error) {
            sendError(error);
            skipToSync = true;
          }
        }
      } catch (error) {
        // Before startup completes every violation is fatal (there is no session to go on).
        if (error instanceof ProtocolViolation && (error.fatal || phase !== "ready")) {
          await fatal(error.sqlState, error.message);
          return;
        }
        throw error;
      }
      await flush();
      if (phase === "ready") armIdleTimer();
    }
  } finally {
    clearTimeout(startupTimer);
    clearTimeout(idleTimer);
    cancelTargets.delete(processId);
    unregisterSession(session);
    session.abort(); // rule 3
  }
}

/** Statement kinds that manage transactions themselves or must not run inside one. */
const ownTransaction = new Set<string>([
  "begin",
  "commit",
  "rollback",
  "copyFrom",
  "copyTo",
  "utility",
]);

/** Output is written to the socket whenever this much is pending. */
const flushBytes = 256 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Stream = new TextDecoder("utf-8");
const utf8Bytes = new TextEncoder();

/** The text form of a value, arrays included. */
function formatText(
  value: SqlValue,
  type: SqlType,
  settings: { timeZoneOffsetSeconds: number },
): string | null {
  if (type.id === 100) {
    return formatArray(value as unknown as SqlValue[], type.element ?? t.text, settings);
  }
  return formatValue(value, storable(type), settings);
}

/** An identifier as SQL text, quoted unless it is a plain lower-case name. */
function quoteIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A COPY text-format field: backslash, tab, newline and carriage return escaped. */
function copyTextField(text: string): string {
  return text.replace(
    /[\\\t\n\r]/g,
    (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!,
  );
}

/** A CSV field: quoted when it holds a comma, quote, line break, or is empty (not NULL). */
function csvField(text: string): string {
  return text === "" || /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Parsed query strings, most recently used last (bounded): a client repeating the same text
 * skips the parse, and the session's plan cache, keyed by the parsed statement, skips the bind.
 */
const parseCache = new Map<string, ReturnType<typeof parseSql>>();
const parseCacheEntriesMax = 512;

/** Statement descriptions (Parse) by parsed statement, valid for one catalog version. */
const describeCache = new WeakMap<Statement, {
  catalog: unknown;
  version: number;
  key: string;
  result: { columns: OutputColumn[] | undefined; paramTypes: SqlType[] };
}>();

function parseCached(sql: string): ReturnType<typeof parseSql> {
  const hit = parseCache.get(sql);
  if (hit !== undefined) {
    parseCache.delete(sql);
    parseCache.set(sql, hit);
    return hit;
  }
  const parsed = parseSql(sql);
  parseCache.set(sql, parsed);
  if (parseCache.size > parseCacheEntriesMax) parseCache.delete(parseCache.keys().next().value!);
  return parsed;
}

function maxParam(statement: Statement): number {
  let max = 0;
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") {
      const node = value as { kind?: string; index?: number };
      if (node.kind === "param" && typeof node.index === "number") max = Math.max(max, node.index);
      for (const child of Object.values(value)) visit(child);
    }
  };
  visit(statement);
  return max;
}

/** COPY text format: tab-separated, \N for NULL, backslash escapes. CSV: commas and quotes. */
function parseCopyLine(line: string, csv: boolean): (string | null)[] {
  if (csv) {
    const out: (string | null)[] = [];
    let i = 0;
    while (i <= line.length) {
      if (line[i] === '"') {
        let value = "";
        i++;
        while (i < line.length) {
          if (line[i] === '"' && line[i + 1] === '"') {
            value += '"';
            i += 2;
          } else if (line[i] === '"') {
            i++;
            break;
          } else value += line[i++];
        }
        out.push(value);
        i++;
      } else {
        const end = line.indexOf(",", i);
        const raw = end < 0 ? line.slice(i) : line.slice(i, end);
        out.push(raw === "" ? null : raw);
        i = end < 0 ? line.length + 1 : end + 1;
      }
    }
    return out;
  }
  return line.split("\t").map((field) => {
    if (field === "\\N") return null;
    return field.replace(
      /\\(.)/g,
      (_m, c: string) =>
        ({ n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v" } as Record<string, string>)[c] ??
          c,
    );
  });
}

function formatArray(
  values: SqlValue[],
  element: SqlType,
  settings: { timeZoneOffsetSeconds: number },
): string {
  const parts = values.map((v) => {
    if (v === null) return "NULL";
    const text = formatValue(v, storable(element), settings)!;
    return /^[^{},"\\\s]+$/.test(text) && text.toUpperCase() !== "NULL"
      ? text
      : `"${text.replace(/["\\]/g, "\\$&")}"`;
  });
  return `{${parts.join(",")}}`;
}

export { TypeId };
