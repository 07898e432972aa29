/**
 * SQL lexer for PostgreSQL's dialect: a single pass over char codes. Identifiers fold to lower
 * case unless quoted; strings support '' escapes, E'…' escapes and $tag$…$tag$ quoting;
 * comments are -- and nested /* *\/. Every token keeps its 0-based offset (errors report
 * PostgreSQL's 1-based position).
 */
import { ExoError } from "../lib/errors.ts";

/** A syntax error (42601) with PostgreSQL's message and 1-based character position. */
export class SqlSyntaxError extends ExoError {
  override name = "SqlSyntaxError";
  /** 1-based character position, as ErrorResponse's P field. */
  readonly position: number;
  constructor(message: string, offset: number, sqlState = "42601") {
    super(sqlState, message);
    this.position = offset + 1;
  }
}

export type TokenKind =
  | "ident"
  | "keyword"
  | "string"
  | "number"
  | "param"
  | "op"
  | "punct"
  | "end";

export interface Token {
  kind: TokenKind;
  /** Identifier (folded), keyword (lower case), string contents, number text, operator. */
  text: string;
  offset: number;
  /** True for "quoted" identifiers (never keywords). */
  quoted?: boolean;
}

const reservedWords = new Set([
  "all",
  "and",
  "any",
  "array",
  "as",
  "asc",
  "between",
  "both",
  "case",
  "cast",
  "check",
  "collate",
  "column",
  "constraint",
  "create",
  "cross",
  "current_date",
  "current_time",
  "current_timestamp",
  "current_user",
  "default",
  "desc",
  "distinct",
  "do",
  "else",
  "end",
  "except",
  "false",
  "fetch",
  "for",
  "foreign",
  "from",
  "full",
  "grant",
  "group",
  "having",
  "ilike",
  "in",
  "inner",
  "intersect",
  "into",
  "is",
  "isnull",
  "join",
  "leading",
  "left",
  "like",
  "limit",
  "localtimestamp",
  "natural",
  "not",
  "notnull",
  "null",
  "offset",
  "on",
  "only",
  "or",
  "order",
  "outer",
  "primary",
  "references",
  "returning",
  "right",
  "select",
  "session_user",
  "similar",
  "some",
  "symmetric",
  "table",
  "then",
  "to",
  "trailing",
  "true",
  "union",
  "unique",
  "user",
  "using",
  "values",
  "when",
  "where",
  "window",
  "with",
]);

/** True for words that cannot be column or table names without quotes. */
export function isReserved(word: string): boolean {
  return reservedWords.has(word);
}

const operatorChars = new Set("+-*/<>=~!@#%^&|`?".split(""));

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Splits `sql` into tokens; the last is `end`. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) {
      i++;
      continue;
    }
    if (c === 45 && sql.charCodeAt(i + 1) === 45) { // --
      while (i < n && sql.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (c === 47 && sql.charCodeAt(i + 1) === 42) { // /*
      const start = i;
      let depth = 0;
      do {
        if (sql.startsWith("/*", i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith("*/", i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < n);
      if (depth > 0) throw new SqlSyntaxError("unterminated /* comment", start);
      continue;
    }
    const start = i;
    if ((c === 69 || c === 101) && sql.charCodeAt(i + 1) === 39) { // E'…'
      const { text, next } = readString(sql, i + 1, true);
      tokens.push({ kind: "string", text, offset: start });
      i = next;
      continue;
    }
    if (c === 39) {
      const { text, next } = readString(sql, i, false);
      tokens.push({ kind: "string", text, offset: start });
      i = next;
      continue;
    }
    if (c === 36) { // $1 or $tag$
      if (isDigit(sql.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
        tokens.push({ kind: "param", text: sql.slice(start + 1, i), offset: start });
        continue;
      }
      const tagEnd = sql.indexOf("$", i + 1);
      const tag = tagEnd < 0 ? "" : sql.slice(i, tagEnd + 1);
      if (tagEnd >= 0 && /^\$[A-Za-z_]*\$$/.test(tag)) {
        const close = sql.indexOf(tag, tagEnd + 1);
        if (close < 0) {
          throw new SqlSyntaxError(
            `unterminated dollar-quoted string at or near "${sql.slice(start)}"`,
            start,
          );
        }
        tokens.push({ kind: "string", text: sql.slice(tagEnd + 1, close), offset: start });
        i = close + tag.length;
        continue;
      }
    }
    if (c === 34) { // "quoted identifier"
      let text = "";
      i++;
      for (;;) {
        if (i >= n) {
          throw new SqlSyntaxError(
            `unterminated quoted identifier at or near "${sql.slice(start)}"`,
            start,
          );
        }
        if (sql.charCodeAt(i) === 34) {
          if (sql.charCodeAt(i + 1) === 34) {
            text += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += sql[i];
        i++;
      }
      if (text === "") {
        throw new SqlSyntaxError('zero-length delimited identifier at or near """"', start);
      }
      tokens.push({ kind: "ident", text, offset: start, quoted: true });
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) {
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      if (sql.charCodeAt(i) === 46 && sql.charCodeAt(i + 1) !== 46) {
        i++;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
      }
      if ((sql.charCodeAt(i) === 101 || sql.charCodeAt(i) === 69)) {
        const save = i;
        i++;
        if (sql.charCodeAt(i) === 43 || sql.charCodeAt(i) === 45) i++;
        if (isDigit(sql.charCodeAt(i))) { while (i < n && isDigit(sql.charCodeAt(i))) i++; }
        else i = save;
      }
      if (isIdentStart(sql.charCodeAt(i))) {
        throw new SqlSyntaxError(
          `trailing junk after numeric literal at or near "${sql.slice(start, i + 1)}"`,
          start,
        );
      }
      tokens.push({ kind: "number", text: sql.slice(start, i), offset: start });
      continue;
    }
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(sql.charCodeAt(i))) i++;
      const word = sql.slice(start, i).toLowerCase();
      tokens.push({
        kind: reservedWords.has(word) ? "keyword" : "ident",
        text: word,
        offset: start,
      });
      continue;
    }
    if ("(),;[].:".includes(sql[i]!)) {
      if (sql.startsWith("::", i)) {
        tokens.push({ kind: "op", text: "::", offset: start });
        i += 2;
        continue;
      }
      tokens.push({ kind: "punct", text: sql[i]!, offset: start });
      i++;
      continue;
    }
    if (operatorChars.has(sql[i]!)) {
      while (i < n && operatorChars.has(sql[i]!)) {
        // A comment start ends an operator.
        if (sql.startsWith("--", i) || sql.startsWith("/*", i)) break;
        i++;
      }
      let op = sql.slice(start, i);
      // PostgreSQL: a multi-char operator may not end in + or - unless it contains ~ ! @ # % ^ & | ` ?
      while (op.length > 1 && /[+-]$/.test(op) && !/[~!@#%^&|`?]/.test(op)) {
        op = op.slice(0, -1);
        i--;
      }
      tokens.push({ kind: "op", text: op, offset: start });
      continue;
    }
    throw new SqlSyntaxError(`syntax error at or near "${sql[i]}"`, start);
  }
  tokens.push({ kind: "end", text: "", offset: n });
  return tokens;
}

function readString(sql: string, quote: number, escapes: boolean): { text: string; next: number } {
  let i = quote + 1;
  let text = "";
  for (;;) {
    if (i >= sql.length) {
      throw new SqlSyntaxError(
        `unterminated quoted string at or near "${sql.slice(quote)}"`,
        quote,
      );
    }
    const ch = sql[i]!;
    if (ch === "'") {
      if (sql[i + 1] === "'") {
        text += "'";
        i += 2;
        continue;
      }
      i++;
      // Adjacent string literals separated by a newline concatenate (SQL standard).
      const gap = /^[ \t\r\f]*\n\s*'/.exec(sql.slice(i));
      if (gap) {
        const more = readString(sql, i + gap[0].length - 1, escapes);
        return { text: text + more.text, next: more.next };
      }
      return { text, next: i };
    }
    if (escapes && ch === "\\") {
      const e = sql[i + 1];
      const map: Record<string, string> = {
        n: "\n",
        t: "\t",
        r: "\r",
        b: "\b",
        f: "\f",
        "\\": "\\",
        "'": "'",
      };
      if (e !== undefined && map[e] !== undefined) {
        text += map[e];
        i += 2;
        continue;
      }
      if (e === "x") {
        const hex = /^[0-9a-fA-F]{1,2}/.exec(sql.slice(i + 2))?.[0] ?? "";
        text += String.fromCharCode(parseInt(hex || "0", 16));
        i += 2 + hex.length;
        continue;
      }
      if (e === "u" || e === "U") {
        const width = e === "u" ? 4 : 8;
        text += String.fromCodePoint(parseInt(sql.slice(i + 2, i + 2 + width), 16));
        i += 2 + width;
        continue;
      }
      const octal = /^[0-7]{1,3}/.exec(sql.slice(i + 1))?.[0];
      if (octal) {
        text += String.fromCharCode(parseInt(octal, 8));
        i += 1 + octal.length;
        continue;
      }
      text += e ?? "";
      i += 2;
      continue;
    }
    text += ch;
    i++;
  }
}
