/**
 * One PostgreSQL client connection: startup, trust authentication, simple and extended query,
 * COPY FROM STDIN, errors with SQLSTATEs, ReadyForQuery status. Responses to everything read
 * in one socket read are corked into one socket write.
 *
 * Rules:
 * 1. A protocol violation that loses framing ends the connection after an ErrorResponse (08P01);
 *    any other error is reported and the session goes on (the server never goes down).
 * 2. After an error in the extended protocol, messages are skipped until Sync.
 * 3. A connection that goes away rolls back its open transaction.
 */
import { AssertionError } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import type { TcpConnection } from "../hw/net_tcp.ts";
import {
  BackendWriter,
  FrontendDecoder,
  type FrontendMessage,
  ProtocolViolation,
} from "../io/pgwire/messages.ts";
import { type SqlValue, TypeId } from "../dbengine/types.ts";
import { Binder } from "../query/binder.ts";
import { decodeBinary, encodeBinary } from "../query/pg_binary.ts";
import { formatValue, parseValue } from "../query/pg_text.ts";
import type { OutputColumn } from "../query/plan.ts";
import type { Statement } from "../query/sql_ast.ts";
import { SqlSyntaxError } from "../query/sql_lexer.ts";
import { parseSql } from "../query/sql_parser.ts";
import { SqlSession, type StatementResult } from "../query/sql_session.ts";
import { type SqlType, storable, t, typeLength, typeOfOid, typeOid } from "../query/sql_types.ts";
import type { Appliance } from "./boot.ts";
import type { Logger } from "./log.ts";

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

/** Serves one connection until it ends. */
export async function servePostgres(
  connection: TcpConnection,
  appliance: Appliance,
  logger: Logger,
): Promise<void> {
  const decoder = new FrontendDecoder();
  const out = new BackendWriter();
  const processId = nextProcessId++;
  const secretKey = crypto.getRandomValues(new Uint32Array(1))[0]! | 0;
  const session = new SqlSession(() => appliance.engine);
  const statements = new Map<string, Prepared>();
  const portals = new Map<string, Portal>();
  const buffer = new Uint8Array(64 * 1024);
  let started = false;
  let skipToSync = false;
  let copy: {
    table: string;
    columns: string[] | undefined;
    csv: boolean;
    rows: string[];
    partial: string;
  } | undefined;

  const flush = async () => {
    if (out.length > 0) await connection.write(out.take());
  };
  const sendError = (error: unknown) => {
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
    out.errorResponse({
      severity: "ERROR",
      code,
      message,
      ...(position !== undefined ? { position } : {}),
    });
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
  const sendRows = (result: StatementResult, formats: number[]) => {
    const columns = result.columns!;
    const settings = session.textSettings;
    for (const row of result.rows ?? []) {
      out.dataRow(row.map((value, i) => {
        if (value === null) return null;
        const format = formats.length === 1 ? formats[0]! : formats[i] ?? 0;
        const type = columns[i]!.type;
        if (format === 1) {
          return encodeBinary(value, type) ?? formatValue(value, storable(type), settings);
        }
        if (type.id === 100) {
          return formatArray(value as unknown as SqlValue[], type.element ?? t.text, settings);
        }
        return formatValue(value, storable(type), settings);
      }));
    }
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

  const simpleQuery = async (sql: string) => {
    let parsed;
    try {
      parsed = parseCached(sql);
    } catch (error) {
      sendError(error);
      out.readyForQuery(session.status);
      return;
    }
    if (parsed.length === 1 && parsed[0]!.statement.kind === "empty") {
      out.emptyQueryResponse();
      out.readyForQuery(session.status);
      return;
    }
    for (const { statement } of parsed) {
      if (statement.kind === "empty") continue;
      if (statement.kind === "copyFrom") {
        const table = appliance.engine.catalog.tableDef(
          statement.table,
          undefined,
          appliance.engine.storage.txns.snapshot(),
        );
        if (table === null) {
          sendError(new ExoError("42P01", `relation "${statement.table}" does not exist`));
          break;
        }
        const columns = statement.columns ??
          table.columns.filter((c) => !c.dropped).map((c) => c.name);
        const csv = (statement.options.get("format") ?? "text").toLowerCase() === "csv";
        copy = { table: statement.table, columns: statement.columns, csv, rows: [], partial: "" };
        out.copyInResponse(0, columns.map(() => 0));
        return; // ReadyForQuery after CopyDone
      }
      try {
        const result = await session.execute(statement);
        sendNotices(result);
        if (result.columns !== undefined) {
          describeRows(result.columns, []);
          sendRows(result, []);
        }
        out.commandComplete(result.tag);
      } catch (error) {
        sendError(error);
        break;
      }
      if (out.length > 256 * 1024) await flush();
    }
    out.readyForQuery(session.status);
  };

  const finishCopy = async () => {
    const pending = copy!;
    copy = undefined;
    const lines = pending.partial.length > 0 ? [...pending.rows, pending.partial] : pending.rows;
    const values = lines.filter((line) => line !== "\\." && line !== "").map((line) =>
      parseCopyLine(line, pending.csv)
    );
    try {
      const count = await session.copyIn(pending.table, pending.columns, values);
      out.commandComplete(`COPY ${count}`);
    } catch (error) {
      sendError(error);
    }
    out.readyForQuery(session.status);
  };

  const extended = async (message: FrontendMessage) => {
    switch (message.kind) {
      case "parse": {
        const parsed = parseSql(message.sql);
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
        const params = message.params.map((bytes, i) => {
          if (bytes === null) return null;
          const format = message.paramFormats.length === 1
            ? message.paramFormats[0]!
            : message.paramFormats[i] ?? 0;
          const type = prepared.paramTypes[i]!;
          if (format === 1) return decodeBinary(bytes, type.id === 0 ? t.text : type);
          const text = new TextDecoder().decode(bytes);
          return type.id === 0 ? text : parseValue(text, storable(type), session.textSettings);
        });
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
      case "execute": {
        const portal = portals.get(message.portal);
        if (portal === undefined) {
          throw new ExoError("34000", `portal "${message.portal}" does not exist`);
        }
        if (portal.prepared.statement.kind === "empty") {
          out.emptyQueryResponse();
          return;
        }
        const result = await session.execute(
          portal.prepared.statement,
          portal.params,
          portal.prepared.paramTypes,
        );
        sendNotices(result);
        if (result.columns !== undefined) sendRows(result, portal.resultFormats);
        out.commandComplete(result.tag);
        return;
      }
      case "close":
        if (message.target === "S") statements.delete(message.name);
        else portals.delete(message.name);
        out.closeComplete();
        return;
      case "flush":
        await flush();
        return;
      default:
        throw new ProtocolViolation(`unexpected message ${message.kind}`, false);
    }
  };

  /** Binds once at Parse time to learn parameter and result types (no execution). */
  const describe = (
    statement: Statement,
    paramTypes: SqlType[],
  ): { columns: OutputColumn[] | undefined; paramTypes: SqlType[] } => {
    const { storage, catalog } = appliance.engine;
    const snapshot = storage.txns.snapshot();
    try {
      const binder = new Binder({
        catalog,
        txn: undefined,
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

  // A client that never finishes startup is closed (PostgreSQL's authentication_timeout).
  const startupTimer = setTimeout(() => {
    if (!started) {
      logger.info(
        `closing ${connection.peer}: startup not completed in ${appliance.config.authenticationTimeoutMs} ms`,
      );
      connection.close();
    }
  }, appliance.config.authenticationTimeoutMs);
  try {
    for (;;) {
      const n = await connection.read(buffer);
      if (n === null) return;
      decoder.push(buffer.slice(0, n));
      try {
        while (!started) {
          const message = decoder.nextStartup();
          if (message === undefined) break;
          if (message.kind === "sslRequest" || message.kind === "gssEncRequest") {
            out.refuseEncryption();
            continue;
          }
          if (message.kind === "cancel") return; // cancellation comes with the kernel issue
          for (const [name, value] of message.parameters) {
            if (
              name === "application_name" || name === "client_encoding" || name === "datestyle" ||
              name === "timezone"
            ) {
              session.settings.set(name.toLowerCase(), value);
            }
          }
          out.authenticationOk();
          for (
            const name of [
              "server_version",
              "server_encoding",
              "client_encoding",
              "DateStyle",
              "IntervalStyle",
              "TimeZone",
              "integer_datetimes",
              "standard_conforming_strings",
              "application_name",
              "is_superuser",
              "session_authorization",
            ]
          ) {
            out.parameterStatus(name, session.settings.get(name.toLowerCase()) ?? "");
          }
          out.backendKeyData(processId, secretKey);
          out.readyForQuery("I");
          started = true;
          decoder.startupDone();
        }
        while (started) {
          const message = decoder.next();
          if (message === undefined) break;
          if (copy !== undefined) {
            if (message.kind === "copyData") {
              const text = copy.partial + new TextDecoder().decode(message.data);
              const lines = text.split("\n");
              copy.partial = lines.pop()!;
              copy.rows.push(...lines);
            } else if (message.kind === "copyDone") await finishCopy();
            else if (message.kind === "copyFail") {
              copy = undefined;
              sendError(new ExoError("57014", `COPY from stdin failed: ${message.message}`));
              out.readyForQuery(session.status);
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
            out.readyForQuery(session.status);
            continue;
          }
          if (skipToSync) continue;
          try {
            await extended(message);
          } catch (error) {
            sendError(error);
            skipToSync = true;
          }
        }
      } catch (error) {
        if (error instanceof ProtocolViolation && error.fatal) {
          sendError(error);
          await flush();
          return;
        }
        throw error;
      }
      await flush();
    }
  } finally {
    clearTimeout(startupTimer);
    session.abort(); // rule 3
  }
}

/**
 * Parsed query strings, most recently used last (bounded): a client repeating the same text
 * skips the parse, and the session's plan cache, keyed by the parsed statement, skips the bind.
 */
const parseCache = new Map<string, ReturnType<typeof parseSql>>();
const parseCacheEntriesMax = 512;

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
