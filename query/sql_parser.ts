/**
 * A recursive-descent parser for PostgreSQL's dialect, producing sql_ast.ts. Expressions use
 * precedence climbing with PostgreSQL's operator precedence (lowest first): OR; AND; NOT;
 * IS / ISNULL / NOTNULL; comparisons (< > = <= >= <>); BETWEEN / IN / LIKE / ILIKE; other
 * operators (||, ~ …); + -; * / %; ^; unary minus; :: casts and subscripts.
 *
 * Coverage grows with the SQL issue; anything else is a 42601 syntax error at the offending
 * token, never another exception.
 */
import type {
  AlterAction,
  AstExpr,
  ColumnDefinition,
  FromItem,
  OrderItem,
  ParsedStatement,
  QueryBody,
  SelectCore,
  SelectStatement,
  SelectTarget,
  Statement,
  TableConstraint,
  TypeName,
} from "./sql_ast.ts";
import { SqlSyntaxError, type Token, tokenize } from "./sql_lexer.ts";

/** Parses a query string into statements (empty statements included, for EmptyQueryResponse). */
export function parseSql(sql: string): ParsedStatement[] {
  const tokens = tokenize(sql);
  const out: ParsedStatement[] = [];
  let i = 0;
  for (;;) {
    // Statement boundaries: top-level semicolons.
    let depth = 0;
    let j = i;
    while (
      tokens[j]!.kind !== "end" &&
      !(depth === 0 && tokens[j]!.text === ";" && tokens[j]!.kind === "punct")
    ) {
      if (tokens[j]!.text === "(" && tokens[j]!.kind === "punct") depth++;
      if (tokens[j]!.text === ")" && tokens[j]!.kind === "punct") depth--;
      j++;
    }
    const slice = [...tokens.slice(i, j), {
      kind: "end" as const,
      text: "",
      offset: tokens[j]!.offset,
    }];
    const start = tokens[i]!.offset;
    const end = tokens[j]!.offset;
    if (slice.length === 1) {
      if (tokens[j]!.kind === "end" && out.length > 0) break;
      out.push({ statement: { kind: "empty", offset: start }, text: "", start });
    } else {
      const parser = new Parser(slice, sql);
      out.push({ statement: parser.statement(), text: sql.slice(start, end), start });
    }
    if (tokens[j]!.kind === "end") break;
    i = j + 1;
    if (tokens[i]!.kind === "end") break;
  }
  return out;
}

const comparisonOps = new Set(["=", "<", ">", "<=", ">=", "<>", "!="]);

class Parser {
  readonly #t: Token[];
  readonly #sql: string;
  #i = 0;

  constructor(tokens: Token[], sql: string) {
    this.#t = tokens;
    this.#sql = sql;
  }

  get #peek(): Token {
    return this.#t[this.#i]!;
  }

  #at(offset: number): Token {
    return this.#t[Math.min(this.#i + offset, this.#t.length - 1)]!;
  }

  #next(): Token {
    return this.#t[this.#i++]!;
  }

  /** True (and consumed) when the next token is the word `word` (keyword or identifier). */
  #word(word: string): boolean {
    const t = this.#peek;
    if ((t.kind === "keyword" || (t.kind === "ident" && !t.quoted)) && t.text === word) {
      this.#i++;
      return true;
    }
    return false;
  }

  #isWord(word: string, offset = 0): boolean {
    const t = this.#at(offset);
    return (t.kind === "keyword" || (t.kind === "ident" && !t.quoted)) && t.text === word;
  }

  #punct(p: string): boolean {
    if (this.#peek.kind === "punct" && this.#peek.text === p) {
      this.#i++;
      return true;
    }
    return false;
  }

  #op(op: string): boolean {
    if (this.#peek.kind === "op" && this.#peek.text === op) {
      this.#i++;
      return true;
    }
    return false;
  }

  #fail(token: Token = this.#peek): never {
    if (token.kind === "end") {
      throw new SqlSyntaxError("syntax error at end of input", token.offset);
    }
    const text = this.#sql.slice(
      token.offset,
      token.offset + Math.max(1, token.text.length + (token.quoted ? 2 : 0)),
    );
    throw new SqlSyntaxError(
      `syntax error at or near "${token.kind === "string" ? token.text : text}"`,
      token.offset,
    );
  }

  #expectWord(word: string): void {
    if (!this.#word(word)) this.#fail();
  }

  #expectPunct(p: string): void {
    if (!this.#punct(p)) this.#fail();
  }

  /** An identifier (unreserved keywords allowed as names). */
  #name(): string {
    const t = this.#peek;
    if (t.kind === "ident") {
      this.#i++;
      return t.text;
    }
    this.#fail();
  }

  /** A possibly qualified name: schema.table → "table" (schemas are not modelled yet). */
  #qualifiedName(): string {
    let name = this.#name();
    while (this.#punct(".")) name = this.#name();
    return name;
  }

  #nameList(): string[] {
    const names = [this.#name()];
    while (this.#punct(",")) names.push(this.#name());
    return names;
  }

  statement(): Statement {
    const statement = this.#statementBody();
    if (this.#peek.kind !== "end") this.#fail();
    return statement;
  }

  #statementBody(): Statement {
    const t = this.#peek;
    const offset = t.offset;
    if (
      this.#isWord("select") || this.#isWord("with") || this.#isWord("values") ||
      (t.kind === "punct" && t.text === "(")
    ) {
      return this.#select();
    }
    if (this.#word("insert")) return this.#insert(offset);
    if (this.#word("update")) return this.#update(offset);
    if (this.#word("delete")) return this.#delete(offset);
    if (this.#word("create")) return this.#create(offset);
    if (this.#word("drop")) return this.#drop(offset);
    if (this.#word("alter")) return this.#alter(offset);
    if (this.#word("truncate")) {
      this.#word("table");
      const names = [this.#qualifiedName()];
      while (this.#punct(",")) names.push(this.#qualifiedName());
      while (
        this.#word("restart") || this.#word("identity") || this.#word("continue") ||
        this.#word("cascade") || this.#word("restrict")
      ) {
        // options accepted
      }
      return { kind: "truncate", names, offset };
    }
    const begin = this.#isWord("begin");
    if (this.#word("begin") || this.#word("start")) {
      this.#word("transaction") || this.#word("work");
      this.#skipTransactionModes();
      return { kind: "begin", offset, tag: begin ? "BEGIN" : "START TRANSACTION" };
    }
    if (this.#word("commit") || this.#word("end")) {
      this.#word("transaction") || this.#word("work");
      return { kind: "commit", offset };
    }
    if (this.#word("rollback") || this.#word("abort")) {
      this.#word("transaction") || this.#word("work");
      return { kind: "rollback", offset };
    }
    if (this.#word("set")) return this.#set(offset);
    if (this.#word("show")) {
      const parts = [this.#settingName()];
      return { kind: "show", name: parts.join(""), offset };
    }
    if (this.#word("reset")) {
      return {
        kind: "reset",
        name: this.#isWord("all") ? (this.#next(), "all") : this.#settingName(),
        offset,
      };
    }
    if (this.#word("vacuum") || this.#word("analyze") || this.#word("analyse")) {
      const tag = t.text === "vacuum" ? "VACUUM" : "ANALYZE";
      let analyze = tag === "ANALYZE";
      for (;;) {
        if (this.#word("analyze") || this.#word("analyse")) analyze = true;
        else if (!(this.#word("full") || this.#word("freeze") || this.#word("verbose"))) break;
      }
      if (this.#punct("(")) {
        while (!this.#punct(")")) {
          const option = this.#next();
          if (option.kind === "end") this.#fail(option);
          if (/^analy[sz]e$/i.test(option.text)) analyze = true;
        }
      }
      const tables: string[] = [];
      if (this.#peek.kind === "ident") {
        tables.push(this.#qualifiedName());
        while (this.#punct(",")) tables.push(this.#qualifiedName());
      }
      return { kind: "utility", tag, tables, offset, analyze };
    }
    if (this.#word("checkpoint")) return { kind: "utility", tag: "CHECKPOINT", tables: [], offset };
    if (this.#word("discard")) {
      this.#next();
      return { kind: "utility", tag: "DISCARD ALL", tables: [], offset };
    }
    if (this.#word("copy")) return this.#copy(offset);
    if (this.#word("explain")) {
      // EXPLAIN [ANALYZE] [VERBOSE] statement, or EXPLAIN (option [value], …) statement.
      const options = { analyze: false, costs: true, timing: true };
      if (this.#punct("(")) {
        do {
          const name = this.#name().toLowerCase();
          let value = true;
          if (this.#isWord("false") || this.#isWord("off")) (this.#next(), value = false);
          else if (this.#isWord("true") || this.#isWord("on")) this.#next();
          else if (name === "format") this.#name();
          if (name === "analyze" || name === "analyse") options.analyze = value;
          else if (name === "costs") options.costs = value;
          else if (name === "timing") options.timing = value;
        } while (this.#punct(","));
        this.#expectPunct(")");
      } else {
        options.analyze = this.#word("analyze") || this.#word("analyse");
        this.#word("verbose");
      }
      return { kind: "explain", ...options, statement: this.#statementBody(), offset };
    }
    this.#fail();
  }

  #skipTransactionModes(): void {
    for (;;) {
      if (this.#word("isolation")) {
        this.#expectWord("level");
        while (
          this.#word("read") || this.#word("committed") || this.#word("uncommitted") ||
          this.#word("repeatable") || this.#word("serializable")
        ) {
          // accepted: every level runs as READ COMMITTED for now
        }
      } else if (this.#word("read")) {
        if (!this.#word("write") && !this.#word("only")) this.#fail();
      } else if (this.#word("not")) {
        this.#expectWord("deferrable");
      } else if (this.#word("deferrable")) {
        // accepted
      } else if (!this.#punct(",")) return;
    }
  }

  #settingName(): string {
    let name = this.#next().text;
    while (this.#punct(".")) name += "." + this.#next().text;
    if (name === "time" && this.#word("zone")) name = "timezone";
    if (name === "transaction" && this.#word("isolation")) {
      this.#expectWord("level");
      name = "transaction_isolation";
    }
    return name.toLowerCase();
  }

  #set(offset: number): Statement {
    const local = this.#word("local");
    this.#word("session");
    if (this.#isWord("transaction") || this.#isWord("session")) {
      this.#next();
      this.#word("characteristics") && (this.#expectWord("as"), this.#expectWord("transaction"));
      this.#skipTransactionModes();
      return { kind: "utility", tag: "SET", tables: [], offset };
    }
    const name = this.#settingName();
    // SET TIME ZONE takes its value without TO or =; SET timezone TO / = takes it as usual.
    const assigned = this.#word("to") || this.#op("=");
    if (!assigned && name !== "timezone") this.#fail();
    if (!assigned && (this.#word("local") || this.#word("default"))) {
      return { kind: "set", name, value: undefined, local, offset };
    }
    if (this.#word("default")) return { kind: "set", name, value: undefined, local, offset };
    return { kind: "set", name, value: this.#settingValue(), local, offset };
  }

  #settingValue(): string {
    const parts: string[] = [];
    do {
      const t = this.#next();
      if (t.kind === "end") this.#fail(t);
      let text = t.text;
      if (t.kind === "op" && t.text === "-" && this.#peek.kind === "number") {
        text = "-" + this.#next().text;
      }
      parts.push(text);
    } while (this.#punct(","));
    return parts.join(", ");
  }

  #copy(offset: number): Statement {
    if (this.#punct("(")) {
      const query = this.#select();
      this.#expectPunct(")");
      this.#expectWord("to");
      this.#expectWord("stdout");
      return {
        kind: "copyTo",
        table: undefined,
        query,
        columns: undefined,
        options: this.#copyOptions(),
        offset,
      };
    }
    const table = this.#qualifiedName();
    let columns: string[] | undefined;
    if (this.#punct("(")) {
      columns = this.#nameList();
      this.#expectPunct(")");
    }
    if (this.#word("from")) {
      this.#expectWord("stdin");
      return { kind: "copyFrom", table, columns, options: this.#copyOptions(), offset };
    }
    this.#expectWord("to");
    this.#expectWord("stdout");
    return {
      kind: "copyTo",
      table,
      query: undefined,
      columns,
      options: this.#copyOptions(),
      offset,
    };
  }

  #copyOptions(): Map<string, string> {
    const options = new Map<string, string>();
    this.#word("with");
    if (this.#punct("(")) {
      do {
        const name = this.#next().text.toLowerCase();
        let value = "true";
        if (this.#peek.kind !== "punct") value = this.#next().text;
        options.set(name, value);
      } while (this.#punct(","));
      this.#expectPunct(")");
      return options;
    }
    // Old syntax: WITH CSV HEADER DELIMITER 'x' NULL 'y'
    for (;;) {
      if (this.#word("csv")) options.set("format", "csv");
      else if (this.#word("binary")) options.set("format", "binary");
      else if (this.#word("header")) options.set("header", "true");
      else if (this.#word("delimiter")) {
        this.#word("as");
        options.set("delimiter", this.#next().text);
      } else if (this.#word("null")) {
        this.#word("as");
        options.set("null", this.#next().text);
      } else if (this.#word("freeze")) options.set("freeze", "true");
      else return options;
    }
  }

  // ------------------------------------------------------------------ DDL

  #typeName(): TypeName {
    const first = this.#next();
    // "char" (quoted) is PostgreSQL's one-byte type, unlike char = character(1).
    let name = first.quoted && first.text === "char" ? '"char"' : first.text;
    if (this.#peek.kind === "punct" && this.#peek.text === "." && this.#at(1).kind === "ident") {
      this.#next();
      const part = this.#next();
      name = part.quoted && part.text === "char" ? '"char"' : part.text; // pg_catalog.<type>
    }
    if (name === "double" && this.#word("precision")) name = "double precision";
    else if (name === "character" && this.#word("varying")) name = "varchar";
    else if (
      (name === "timestamp" || name === "time") && (this.#isWord("with") || this.#isWord("without"))
    ) {
      const withZone = this.#next().text === "with";
      this.#expectWord("time");
      this.#expectWord("zone");
      name = withZone ? `${name}tz` : name;
    }
    const args: number[] = [];
    if (this.#punct("(")) {
      do {
        const t = this.#next();
        if (t.kind !== "number") this.#fail(t);
        args.push(Number(t.text));
      } while (this.#punct(","));
      this.#expectPunct(")");
    }
    if (
      (name === "timestamp" || name === "time") && (this.#isWord("with") || this.#isWord("without"))
    ) {
      const withZone = this.#next().text === "with";
      this.#expectWord("time");
      this.#expectWord("zone");
      name = withZone ? `${name}tz` : name;
    }
    let array = false;
    while (this.#punct("[")) {
      if (this.#peek.kind === "number") this.#next();
      this.#expectPunct("]");
      array = true;
    }
    return { name, args, array };
  }

  #create(offset: number): Statement {
    this.#word("unlogged") || this.#word("temporary") || this.#word("temp");
    if (this.#word("table")) return this.#createTable(offset);
    if (this.#word("sequence")) return this.#createSequence(offset);
    const unique = this.#word("unique");
    if (this.#word("index")) {
      const ifNotExists = this.#ifNotExists();
      let name: string | undefined;
      if (!this.#isWord("on")) name = this.#name();
      this.#expectWord("on");
      const table = this.#qualifiedName();
      if (this.#word("using")) this.#name();
      this.#expectPunct("(");
      const columns: { name: string; descending: boolean }[] = [];
      do {
        const column = this.#name();
        const descending = this.#word("desc");
        if (!descending) this.#word("asc");
        columns.push({ name: column, descending });
      } while (this.#punct(","));
      this.#expectPunct(")");
      return { kind: "createIndex", name, table, unique, ifNotExists, columns, offset };
    }
    this.#fail();
  }

  /** CREATE SEQUENCE [IF NOT EXISTS] name [AS type] [INCREMENT [BY] n] [START [WITH] n] …. */
  #createSequence(offset: number): Statement {
    const ifNotExists = this.#ifNotExists();
    const name = this.#qualifiedName();
    let start: bigint | undefined;
    let increment = 1n;
    const integer = (): bigint => {
      const negative = this.#op("-");
      const token = this.#next();
      if (token.kind !== "number" || !/^\d+$/.test(token.text)) this.#fail(token);
      return negative ? -BigInt(token.text) : BigInt(token.text);
    };
    for (;;) {
      if (this.#word("as")) this.#name();
      else if (this.#word("increment")) (this.#word("by"), increment = integer());
      else if (this.#word("start")) (this.#word("with"), start = integer());
      else if (this.#word("minvalue") || this.#word("maxvalue") || this.#word("cache")) integer();
      else if (this.#word("no")) {
        this.#word("minvalue") || this.#word("maxvalue") || this.#expectWord("cycle");
      } else if (this.#word("cycle")) continue;
      else if (this.#word("owned")) (this.#expectWord("by"), this.#qualifiedName());
      else break;
    }
    if (increment === 0n) {
      throw new SqlSyntaxError("INCREMENT must not be zero", offset, "22023");
    }
    return {
      kind: "createSequence",
      name,
      ifNotExists,
      start: start ?? (increment > 0n ? 1n : -1n),
      increment,
      offset,
    };
  }

  #ifNotExists(): boolean {
    if (this.#isWord("if")) {
      this.#next();
      this.#expectWord("not");
      this.#expectWord("exists");
      return true;
    }
    return false;
  }

  #ifExists(): boolean {
    if (this.#isWord("if")) {
      this.#next();
      this.#expectWord("exists");
      return true;
    }
    return false;
  }

  #createTable(offset: number): Statement {
    const ifNotExists = this.#ifNotExists();
    const name = this.#qualifiedName();
    this.#expectPunct("(");
    const columns: ColumnDefinition[] = [];
    const constraints: TableConstraint[] = [];
    do {
      if (
        this.#isWord("constraint") || this.#isWord("primary") || this.#isWord("unique") ||
        this.#isWord("check") || this.#isWord("foreign")
      ) {
        constraints.push(this.#tableConstraint());
      } else columns.push(this.#columnDefinition());
    } while (this.#punct(","));
    this.#expectPunct(")");
    if (this.#word("with")) { // storage parameters, e.g. (fillfactor=100): accepted
      this.#expectPunct("(");
      let depth = 1;
      while (depth > 0) {
        const t = this.#next();
        if (t.kind === "end") this.#fail(t);
        if (t.text === "(") depth++;
        if (t.text === ")") depth--;
      }
    }
    return { kind: "createTable", name, ifNotExists, columns, constraints, offset };
  }

  #columnDefinition(): ColumnDefinition {
    const name = this.#name();
    const type = this.#typeName();
    const column: ColumnDefinition = {
      name,
      type,
      notNull: false,
      primaryKey: false,
      unique: false,
      default: undefined,
      defaultText: undefined,
      check: undefined,
      identity: undefined,
    };
    for (;;) {
      if (this.#word("constraint")) this.#name();
      if (this.#word("not")) {
        this.#expectWord("null");
        column.notNull = true;
      } else if (this.#word("null")) {
        // explicit NULL: the default
      } else if (this.#word("primary")) {
        this.#expectWord("key");
        column.primaryKey = true;
        column.notNull = true;
      } else if (this.#word("unique")) column.unique = true;
      else if (this.#word("default")) {
        const start = this.#peek.offset;
        column.default = this.#expr(4); // b_expr: no comparisons without parentheses
        column.defaultText = this.#sql.slice(start, this.#peek.offset).trim();
      } else if (this.#word("check")) {
        this.#expectPunct("(");
        const start = this.#peek.offset;
        const expr = this.#expr();
        column.check = { sql: this.#sql.slice(start, this.#peek.offset).trim(), expr };
        this.#expectPunct(")");
      } else if (this.#word("generated")) {
        column.identity = this.#word("always")
          ? "always"
          : (this.#expectWord("by"), this.#expectWord("default"), "by default");
        this.#expectWord("as");
        this.#expectWord("identity");
        column.notNull = true;
      } else if (this.#word("references")) {
        this.#qualifiedName();
        if (this.#punct("(")) {
          this.#nameList();
          this.#expectPunct(")");
        }
      } else return column;
    }
  }

  #tableConstraint(): TableConstraint {
    const name = this.#word("constraint") ? this.#name() : undefined;
    if (this.#word("primary")) {
      this.#expectWord("key");
      this.#expectPunct("(");
      const columns = this.#nameList();
      this.#expectPunct(")");
      return { kind: "primaryKey", name, columns };
    }
    if (this.#word("unique")) {
      this.#expectPunct("(");
      const columns = this.#nameList();
      this.#expectPunct(")");
      return { kind: "unique", name, columns };
    }
    if (this.#word("check")) {
      this.#expectPunct("(");
      const start = this.#peek.offset;
      const expr = this.#expr();
      const sql = this.#sql.slice(start, this.#peek.offset).trim();
      this.#expectPunct(")");
      return { kind: "check", name, sql, expr };
    }
    if (this.#word("foreign")) {
      this.#expectWord("key");
      this.#expectPunct("(");
      const columns = this.#nameList();
      this.#expectPunct(")");
      this.#expectWord("references");
      this.#qualifiedName();
      if (this.#punct("(")) {
        this.#nameList();
        this.#expectPunct(")");
      }
      return { kind: "foreignKey", name, columns };
    }
    this.#fail();
  }

  #drop(offset: number): Statement {
    if (this.#word("sequence")) {
      const ifExists = this.#ifExists();
      const names = [this.#qualifiedName()];
      while (this.#punct(",")) names.push(this.#qualifiedName());
      this.#word("cascade") || this.#word("restrict");
      return { kind: "dropSequence", names, ifExists, offset };
    }
    if (this.#word("table")) {
      const ifExists = this.#ifExists();
      const names = [this.#qualifiedName()];
      while (this.#punct(",")) names.push(this.#qualifiedName());
      this.#word("cascade") || this.#word("restrict");
      return { kind: "dropTable", names, ifExists, offset };
    }
    if (this.#word("index")) {
      const ifExists = this.#ifExists();
      const names = [this.#qualifiedName()];
      while (this.#punct(",")) names.push(this.#qualifiedName());
      this.#word("cascade") || this.#word("restrict");
      return { kind: "dropIndex", names, ifExists, offset };
    }
    this.#fail();
  }

  #alter(offset: number): Statement {
    this.#expectWord("table");
    this.#ifExists();
    this.#word("only");
    const table = this.#qualifiedName();
    let action: AlterAction;
    if (this.#word("add")) {
      if (
        this.#isWord("constraint") || this.#isWord("primary") || this.#isWord("unique") ||
        this.#isWord("check") || this.#isWord("foreign")
      ) {
        action = { kind: "addConstraint", constraint: this.#tableConstraint() };
      } else {
        this.#word("column");
        const ifNotExists = this.#ifNotExists();
        action = { kind: "addColumn", column: this.#columnDefinition(), ifNotExists };
      }
    } else if (this.#word("drop")) {
      this.#word("column");
      const ifExists = this.#ifExists();
      action = { kind: "dropColumn", name: this.#name(), ifExists };
      this.#word("cascade") || this.#word("restrict");
    } else this.#fail();
    return { kind: "alterTable", table, action, offset };
  }

  // ------------------------------------------------------------------ DML

  #insert(offset: number): Statement {
    this.#expectWord("into");
    const table = this.#qualifiedName();
    if (this.#word("as")) this.#name();
    let columns: string[] | undefined;
    if (
      this.#peek.text === "(" && this.#peek.kind === "punct" && !this.#isWord("select", 1) &&
      !this.#isWord("with", 1)
    ) {
      this.#next();
      columns = this.#nameList();
      this.#expectPunct(")");
    }
    let source: SelectStatement | "defaults";
    if (this.#word("default")) {
      this.#expectWord("values");
      source = "defaults";
    } else source = this.#select();
    let onConflict: Extract<Statement, { kind: "insert" }>["onConflict"];
    if (this.#word("on")) {
      this.#expectWord("conflict");
      let conflictColumns: string[] = [];
      if (this.#punct("(")) {
        conflictColumns = this.#nameList();
        this.#expectPunct(")");
      }
      this.#expectWord("do");
      if (this.#word("nothing")) onConflict = { columns: conflictColumns, action: "nothing" };
      else {
        this.#expectWord("update");
        this.#expectWord("set");
        const set = this.#assignments();
        const where = this.#word("where") ? this.#expr() : undefined;
        onConflict = { columns: conflictColumns, action: { set, where } };
      }
    }
    return {
      kind: "insert",
      table,
      columns,
      source,
      onConflict,
      returning: this.#returning(),
      offset,
    };
  }

  #assignments(): { column: string; value: AstExpr }[] {
    const out: { column: string; value: AstExpr }[] = [];
    do {
      const column = this.#name();
      if (!this.#op("=")) this.#fail();
      out.push({
        column,
        value: this.#isWord("default") ? (this.#next(), { kind: "null", offset: 0 }) : this.#expr(),
      });
    } while (this.#punct(","));
    return out;
  }

  #returning(): SelectTarget[] {
    return this.#word("returning") ? this.#targets() : [];
  }

  #update(offset: number): Statement {
    this.#word("only");
    const table = this.#qualifiedName();
    let alias: string | undefined;
    if (this.#word("as") || (this.#peek.kind === "ident" && !this.#isWord("set"))) {
      alias = this.#name();
    }
    this.#expectWord("set");
    const set = this.#assignments();
    const from = this.#word("from") ? this.#fromList() : [];
    const where = this.#word("where") ? this.#expr() : undefined;
    return { kind: "update", table, alias, set, from, where, returning: this.#returning(), offset };
  }

  #delete(offset: number): Statement {
    this.#expectWord("from");
    this.#word("only");
    const table = this.#qualifiedName();
    let alias: string | undefined;
    if (this.#word("as") || this.#peek.kind === "ident") alias = this.#name();
    const where = this.#word("where") ? this.#expr() : undefined;
    return { kind: "delete", table, alias, where, returning: this.#returning(), offset };
  }

  // ------------------------------------------------------------------ SELECT

  #select(): SelectStatement {
    const offset = this.#peek.offset;
    const ctes: SelectStatement["with"] = [];
    if (this.#word("with")) {
      this.#word("recursive");
      do {
        const name = this.#name();
        let columns: string[] = [];
        if (this.#punct("(")) {
          columns = this.#nameList();
          this.#expectPunct(")");
        }
        this.#expectWord("as");
        this.#expectPunct("(");
        const query = this.#select();
        this.#expectPunct(")");
        ctes.push({ name, columns, query });
      } while (this.#punct(","));
    }
    const body = this.#setExpr(0);
    const orderBy = this.#word("order") ? (this.#expectWord("by"), this.#orderList()) : [];
    let limit: AstExpr | undefined;
    let offsetRows: AstExpr | undefined;
    for (;;) {
      if (this.#word("limit")) limit = this.#word("all") ? undefined : this.#expr();
      else if (this.#word("offset")) {
        offsetRows = this.#expr();
        this.#word("rows") || this.#word("row");
      } else if (this.#word("fetch")) {
        this.#word("first") || this.#word("next");
        limit = this.#peek.kind === "number"
          ? this.#expr()
          : { kind: "number", text: "1", offset: this.#peek.offset };
        this.#word("rows") || this.#word("row");
        this.#expectWord("only");
      } else if (this.#word("for")) {
        this.#word("update") || this.#word("share") || this.#word("no") || this.#word("key");
        while (this.#word("update") || this.#word("share") || this.#word("key")) {
          // FOR [NO KEY] UPDATE / SHARE: rows are locked when updated anyway
        }
      } else break;
    }
    return { kind: "select", with: ctes, body, orderBy, limit, offsetRows, offset };
  }

  /** Set operations: UNION/EXCEPT bind looser than INTERSECT. */
  #setExpr(level: number): QueryBody {
    let left = level === 0 ? this.#setExpr(1) : this.#primaryQuery();
    for (;;) {
      const offset = this.#peek.offset;
      let op: "union" | "intersect" | "except" | undefined;
      if (level === 0 && (this.#isWord("union") || this.#isWord("except"))) {
        op = this.#next().text as "union" | "except";
      } else if (level === 1 && this.#isWord("intersect")) op = (this.#next(), "intersect");
      if (op === undefined) return left;
      const all = this.#word("all");
      if (!all) this.#word("distinct");
      const right = level === 0 ? this.#setExpr(1) : this.#primaryQuery();
      left = { kind: "setOp", op, all, left, right, offset };
    }
  }

  #primaryQuery(): QueryBody {
    const offset = this.#peek.offset;
    if (this.#punct("(")) {
      const inner = this.#select();
      this.#expectPunct(")");
      return inner;
    }
    if (this.#word("values")) {
      const rows: AstExpr[][] = [];
      do {
        this.#expectPunct("(");
        const row = [this.#valueExpr()];
        while (this.#punct(",")) row.push(this.#valueExpr());
        this.#expectPunct(")");
        rows.push(row);
      } while (this.#punct(","));
      return { kind: "values", rows, offset };
    }
    this.#expectWord("select");
    const core: SelectCore = {
      kind: "core",
      distinct: false,
      distinctOn: undefined,
      targets: [],
      from: [],
      where: undefined,
      groupBy: [],
      having: undefined,
      offset,
    };
    if (this.#word("distinct")) {
      core.distinct = true;
      if (this.#word("on")) {
        this.#expectPunct("(");
        core.distinctOn = [this.#expr()];
        while (this.#punct(",")) core.distinctOn.push(this.#expr());
        this.#expectPunct(")");
      }
    } else this.#word("all");
    if (this.#peek.kind !== "end" && !this.#isWord("from")) core.targets = this.#targets();
    if (this.#word("from")) core.from = this.#fromList();
    if (this.#word("where")) core.where = this.#expr();
    if (this.#word("group")) {
      this.#expectWord("by");
      core.groupBy = [this.#expr()];
      while (this.#punct(",")) core.groupBy.push(this.#expr());
    }
    if (this.#word("having")) core.having = this.#expr();
    return core;
  }

  #valueExpr(): AstExpr {
    if (this.#isWord("default")) {
      const t = this.#next();
      return { kind: "column", parts: ["DEFAULT"], offset: t.offset };
    }
    return this.#expr();
  }

  #targets(): SelectTarget[] {
    const targets: SelectTarget[] = [];
    do {
      const offset = this.#peek.offset;
      if (this.#op("*")) {
        targets.push({ expr: { kind: "star", table: undefined, offset }, alias: undefined });
        continue;
      }
      const expr = this.#expr();
      let alias: string | undefined;
      if (this.#word("as")) {
        alias = this.#peek.kind === "keyword" ? this.#next().text : this.#name();
      } else if (this.#peek.kind === "ident") alias = this.#name();
      targets.push({ expr, alias });
    } while (this.#punct(","));
    return targets;
  }

  #orderList(): OrderItem[] {
    const items: OrderItem[] = [];
    do {
      const expr = this.#expr();
      let descending = false;
      if (this.#word("desc")) descending = true;
      else this.#word("asc");
      let nullsFirst: boolean | undefined;
      if (this.#word("nulls")) {
        if (this.#word("first")) nullsFirst = true;
        else if (this.#word("last")) nullsFirst = false;
        else this.#fail();
      }
      items.push({ expr, descending, nullsFirst });
    } while (this.#punct(","));
    return items;
  }

  #fromList(): FromItem[] {
    const items = [this.#joinedTable()];
    while (this.#punct(",")) items.push(this.#joinedTable());
    return items;
  }

  #joinedTable(): FromItem {
    let left = this.#tableRef();
    for (;;) {
      const offset = this.#peek.offset;
      let joinType: "inner" | "left" | "right" | "full" | "cross" | undefined;
      const natural = this.#word("natural");
      if (this.#word("cross")) {
        this.#expectWord("join");
        joinType = "cross";
      } else if (this.#word("join")) joinType = "inner";
      else if (this.#word("inner")) {
        this.#expectWord("join");
        joinType = "inner";
      } else if (this.#isWord("left") || this.#isWord("right") || this.#isWord("full")) {
        joinType = this.#next().text as "left" | "right" | "full";
        this.#word("outer");
        this.#expectWord("join");
      }
      if (joinType === undefined) {
        if (natural) this.#fail();
        return left;
      }
      const right = this.#tableRef();
      let on: AstExpr | undefined;
      let using: string[] | undefined;
      if (natural) {
        if (joinType === "cross") this.#fail();
        left = { kind: "join", joinType, left, right, on, using, natural, offset };
        continue;
      }
      if (joinType !== "cross") {
        if (this.#word("on")) on = this.#expr();
        else if (this.#word("using")) {
          this.#expectPunct("(");
          using = this.#nameList();
          this.#expectPunct(")");
        } else this.#fail();
      }
      left = { kind: "join", joinType, left, right, on, using, offset };
    }
  }

  #alias(): { alias: string | undefined; columns: string[] } {
    let alias: string | undefined;
    if (this.#word("as")) alias = this.#name();
    else if (this.#peek.kind === "ident") alias = this.#name();
    let columns: string[] = [];
    if (alias !== undefined && this.#punct("(")) {
      columns = this.#nameList();
      this.#expectPunct(")");
    }
    return { alias, columns };
  }

  #tableRef(): FromItem {
    const offset = this.#peek.offset;
    const lateral = this.#word("lateral");
    if (this.#punct("(")) {
      if (this.#isWord("select") || this.#isWord("values") || this.#isWord("with")) {
        const query = this.#select();
        this.#expectPunct(")");
        const { alias, columns } = this.#alias();
        return {
          kind: "subquery",
          query,
          alias: alias ?? "subquery",
          columnAliases: columns,
          ...(lateral ? { lateral } : {}),
          offset,
        };
      }
      const inner = this.#joinedTable();
      this.#expectPunct(")");
      return inner;
    }
    let name = this.#name();
    let schema: string | undefined;
    while (this.#punct(".")) [schema, name] = [name, this.#name()];
    if (this.#punct("(")) {
      const args: AstExpr[] = [];
      if (!this.#punct(")")) {
        do args.push(this.#expr()); while (this.#punct(","));
        this.#expectPunct(")");
      }
      const { alias, columns } = this.#alias();
      const call = {
        kind: "call" as const,
        name,
        args,
        distinct: false,
        star: false,
        orderBy: [],
        filter: undefined,
        offset,
      };
      return { kind: "function", call, alias, columnAliases: columns, offset };
    }
    const { alias, columns } = this.#alias();
    return schema === undefined
      ? { kind: "table", name, alias, columnAliases: columns, offset }
      : { kind: "table", name, schema, alias, columnAliases: columns, offset };
  }

  // ------------------------------------------------------------------ expressions

  /**
   * Precedence levels: 0 OR, 1 AND, 2 NOT, 3 IS, 4 comparison, 5 BETWEEN/IN/LIKE, 6 other
   * operators, 7 + -, 8 * / %, 9 ^, 10 unary, 11 postfix (:: and [ ]).
   */
  #expr(minLevel = 0): AstExpr {
    let left = this.#prefix(minLevel);
    for (;;) {
      const t = this.#peek;
      const offset = t.offset;
      if (minLevel <= 0 && this.#isWord("or")) {
        this.#next();
        const right = this.#expr(1);
        left = left.kind === "or"
          ? { ...left, args: [...left.args, right] }
          : { kind: "or", args: [left, right], offset };
        continue;
      }
      if (minLevel <= 1 && this.#isWord("and")) {
        this.#next();
        const right = this.#expr(2);
        left = left.kind === "and"
          ? { ...left, args: [...left.args, right] }
          : { kind: "and", args: [left, right], offset };
        continue;
      }
      if (minLevel <= 3 && this.#isWord("is")) {
        this.#next();
        const negated = this.#word("not");
        if (this.#word("null")) left = { kind: "isNull", arg: left, negated, offset };
        else if (this.#word("true")) {
          left = { kind: "isBool", arg: left, test: "true", negated, offset };
        } else if (this.#word("false")) {
          left = { kind: "isBool", arg: left, test: "false", negated, offset };
        } else if (this.#word("unknown")) {
          left = { kind: "isBool", arg: left, test: "unknown", negated, offset };
        } else if (this.#word("distinct")) {
          this.#expectWord("from");
          left = { kind: "isDistinct", left, right: this.#expr(4), negated, offset };
        } else this.#fail();
        continue;
      }
      if (minLevel <= 3 && (this.#isWord("isnull") || this.#isWord("notnull"))) {
        left = { kind: "isNull", arg: left, negated: this.#next().text === "notnull", offset };
        continue;
      }
      if (minLevel <= 4 && t.kind === "op" && comparisonOps.has(t.text)) {
        this.#next();
        if (this.#isWord("any") || this.#isWord("some") || this.#isWord("all")) {
          const all = this.#next().text === "all";
          this.#expectPunct("(");
          if (this.#isWord("select") || this.#isWord("with") || this.#isWord("values")) {
            const query = this.#select();
            this.#expectPunct(")");
            left = { kind: "quantified", op: t.text, arg: left, all, query, offset };
            continue;
          }
          const array = this.#expr();
          this.#expectPunct(")");
          left = {
            kind: "call",
            name: all ? "__all" : "__any",
            args: [left, array, { kind: "string", value: t.text, offset }],
            distinct: false,
            star: false,
            orderBy: [],
            filter: undefined,
            offset,
          };
          continue;
        }
        left = {
          kind: "binary",
          op: t.text === "!=" ? "<>" : t.text,
          left,
          right: this.#expr(5),
          offset,
        };
        continue;
      }
      if (minLevel <= 5) {
        const negated = this.#isWord("not") &&
          (this.#isWord("between", 1) || this.#isWord("in", 1) || this.#isWord("like", 1) ||
            this.#isWord("ilike", 1));
        if (negated) this.#next();
        if (this.#word("between")) {
          const symmetric = this.#word("symmetric");
          const low = this.#expr(6);
          this.#expectWord("and");
          const high = this.#expr(6);
          left = { kind: "between", arg: left, low, high, negated, symmetric, offset };
          continue;
        }
        if (this.#word("in")) {
          this.#expectPunct("(");
          if (this.#isWord("select") || this.#isWord("with") || this.#isWord("values")) {
            const query = this.#select();
            this.#expectPunct(")");
            left = { kind: "inSelect", arg: left, query, negated, offset };
            continue;
          }
          const list = [this.#expr()];
          while (this.#punct(",")) list.push(this.#expr());
          this.#expectPunct(")");
          left = { kind: "inList", arg: left, list, negated, offset };
          continue;
        }
        if (this.#isWord("like") || this.#isWord("ilike")) {
          const caseInsensitive = this.#next().text === "ilike";
          const pattern = this.#expr(6);
          const escape = this.#word("escape") ? this.#expr(6) : undefined;
          left = { kind: "like", arg: left, pattern, escape, caseInsensitive, negated, offset };
          continue;
        }
        if (negated) this.#fail();
      }
      if (minLevel <= 6 && this.#isWord("operator") && this.#at(1).text === "(") {
        left = { kind: "binary", op: this.#operatorName(), left, right: this.#expr(7), offset };
        continue;
      }
      if (
        minLevel <= 6 && t.kind === "op" &&
        !["+", "-", "*", "/", "%", "^", "::"].includes(t.text) && !comparisonOps.has(t.text)
      ) {
        this.#next();
        left = { kind: "binary", op: t.text, left, right: this.#expr(7), offset };
        continue;
      }
      if (minLevel <= 7 && t.kind === "op" && (t.text === "+" || t.text === "-")) {
        this.#next();
        left = { kind: "binary", op: t.text, left, right: this.#expr(8), offset };
        continue;
      }
      if (
        minLevel <= 8 && t.kind === "op" && (t.text === "*" || t.text === "/" || t.text === "%")
      ) {
        this.#next();
        left = { kind: "binary", op: t.text, left, right: this.#expr(9), offset };
        continue;
      }
      if (minLevel <= 9 && t.kind === "op" && t.text === "^") {
        this.#next();
        left = { kind: "binary", op: "^", left, right: this.#expr(10), offset };
        continue;
      }
      if (t.kind === "op" && t.text === "::") {
        this.#next();
        left = { kind: "cast", arg: left, type: this.#typeName(), offset };
        continue;
      }
      if (this.#isWord("collate")) {
        // COLLATE: every text comparison is in code point order ("C"); the name is checked.
        this.#next();
        this.#collationName();
        continue;
      }
      if (t.kind === "punct" && t.text === "[") {
        this.#next();
        const index = this.#expr();
        this.#expectPunct("]");
        left = {
          kind: "call",
          name: "__subscript",
          args: [left, index],
          distinct: false,
          star: false,
          orderBy: [],
          filter: undefined,
          offset,
        };
        continue;
      }
      return left;
    }
  }

  /** OPERATOR(schema.op): the operator's text. */
  #operatorName(): string {
    this.#next();
    this.#expectPunct("(");
    while (this.#peek.kind === "ident" && this.#at(1).text === ".") {
      const schema = this.#next();
      if (schema.text !== "pg_catalog") {
        throw new SqlSyntaxError(`schema "${schema.text}" does not exist`, schema.offset, "3F000");
      }
      this.#next();
    }
    const op = this.#next();
    if (op.kind !== "op") this.#fail(op);
    this.#expectPunct(")");
    return op.text === "!=" ? "<>" : op.text;
  }

  /** A collation name after COLLATE: default, "C", "POSIX", ucs_basic (optionally pg_catalog.). */
  #collationName(): void {
    let token = this.#next();
    if (token.kind === "ident" && this.#peek.kind === "punct" && this.#peek.text === ".") {
      this.#next();
      token = this.#next();
    }
    const name = token.text;
    if (token.kind !== "ident" && !(token.kind === "keyword" && name === "default")) {
      this.#fail(token);
    }
    if (!["default", "C", "c", "POSIX", "posix", "ucs_basic"].includes(name)) {
      throw new SqlSyntaxError(
        `collation "${name}" for encoding "UTF8" does not exist`,
        token.offset,
        "42704",
      );
    }
  }

  #prefix(minLevel: number): AstExpr {
    const t = this.#peek;
    const offset = t.offset;
    if (minLevel <= 2 && this.#word("not")) return { kind: "not", arg: this.#expr(3), offset };
    if (t.kind === "op" && (t.text === "-" || t.text === "+")) {
      this.#next();
      const arg = this.#expr(10);
      if (t.text === "+") return arg;
      if (arg.kind === "number" && !arg.text.startsWith("-")) {
        return { kind: "number", text: "-" + arg.text, offset };
      }
      return { kind: "unary", op: "-", arg, offset };
    }
    // Prefix operators: ~ (bitwise not), |/ (square root), ||/ (cube root), @ (absolute value).
    if (t.kind === "op" && ["~", "|/", "||/", "@"].includes(t.text)) {
      this.#next();
      return { kind: "unary", op: t.text, arg: this.#expr(10), offset };
    }
    return this.#primary();
  }

  #primary(): AstExpr {
    const t = this.#next();
    const offset = t.offset;
    switch (t.kind) {
      case "number":
        return { kind: "number", text: t.text, offset };
      case "string":
        return { kind: "string", value: t.text, offset };
      case "param":
        return { kind: "param", index: Number(t.text), offset };
      case "punct":
        if (t.text === "(") {
          if (this.#isWord("select") || this.#isWord("with") || this.#isWord("values")) {
            const query = this.#select();
            this.#expectPunct(")");
            return { kind: "subquery", query, offset };
          }
          const inner = this.#expr();
          this.#expectPunct(")");
          return inner;
        }
        break;
      case "keyword":
        switch (t.text) {
          case "null":
            return { kind: "null", offset };
          case "true":
            return { kind: "bool", value: true, offset };
          case "false":
            return { kind: "bool", value: false, offset };
          case "current_timestamp":
          case "localtimestamp":
          case "current_date":
          case "current_user":
          case "session_user":
          case "user":
            return {
              kind: "call",
              name: t.text,
              args: [],
              distinct: false,
              star: false,
              orderBy: [],
              filter: undefined,
              offset,
            };
          case "case":
            return this.#case(offset);
          case "cast": {
            this.#expectPunct("(");
            const arg = this.#expr();
            this.#expectWord("as");
            const type = this.#typeName();
            this.#expectPunct(")");
            return { kind: "cast", arg, type, offset };
          }
          case "array": {
            if (this.#punct("(")) {
              const query = this.#select();
              this.#expectPunct(")");
              return {
                kind: "call",
                name: "__array",
                args: [{ kind: "subquery", query, offset }],
                distinct: false,
                star: false,
                orderBy: [],
                filter: undefined,
                offset,
              };
            }
            if (this.#punct("[")) {
              const elements: AstExpr[] = [];
              if (!this.#punct("]")) {
                do elements.push(this.#expr()); while (this.#punct(","));
                this.#expectPunct("]");
              }
              return { kind: "array", elements, offset };
            }
            break;
          }
          case "exists": {
            this.#expectPunct("(");
            const query = this.#select();
            this.#expectPunct(")");
            return { kind: "exists", query, offset };
          }
          case "left":
          case "right":
            if (this.#peek.text === "(") return this.#call(t.text, offset);
            break;
        }
        break;
      case "ident": {
        // Typed literals: DATE '…', TIMESTAMP '…', INTERVAL '…'
        if (
          !t.quoted && this.#peek.kind === "string" &&
          [
            "date",
            "timestamp",
            "timestamptz",
            "interval",
            "time",
            "numeric",
            "int",
            "integer",
            "bool",
            "boolean",
            "text",
            "float8",
            "bytea",
          ].includes(t.text)
        ) {
          const value = this.#next().text;
          return { kind: "typed", type: { name: t.text, args: [], array: false }, value, offset };
        }
        if (
          !t.quoted && t.text === "exists" && this.#peek.text === "(" && this.#peek.kind === "punct"
        ) {
          this.#next();
          const query = this.#select();
          this.#expectPunct(")");
          return { kind: "exists", query, offset };
        }
        if (!t.quoted && t.text === "extract" && this.#punct("(")) {
          const field = this.#next().text;
          this.#expectWord("from");
          const arg = this.#expr();
          this.#expectPunct(")");
          return {
            kind: "call",
            name: "extract",
            args: [{ kind: "string", value: field, offset }, arg],
            distinct: false,
            star: false,
            orderBy: [],
            filter: undefined,
            offset,
          };
        }
        if (
          !t.quoted && ["current_schema", "current_catalog", "current_role"].includes(t.text) &&
          !(this.#peek.kind === "punct" && (this.#peek.text === "(" || this.#peek.text === "."))
        ) {
          // SQL value functions written without parentheses.
          return {
            kind: "call",
            name: t.text,
            args: [],
            distinct: false,
            star: false,
            orderBy: [],
            filter: undefined,
            offset,
          };
        }
        const parts = [t.text];
        while (this.#peek.kind === "punct" && this.#peek.text === ".") {
          this.#next();
          if (this.#op("*")) return { kind: "star", table: parts[parts.length - 1], offset };
          parts.push(this.#next().text);
        }
        if (this.#peek.kind === "punct" && this.#peek.text === "(") {
          if (parts.length === 1 && !t.quoted) {
            const special = this.#specialCall(t.text, offset);
            if (special !== undefined) return special;
          }
          return this.#call(parts[parts.length - 1]!, offset);
        }
        return { kind: "column", parts, offset };
      }
    }
    this.#fail(t);
  }

  /**
   * SQL-standard call forms with keywords: substring(s FROM a FOR b), position(a IN b),
   * trim([BOTH|LEADING|TRAILING] [chars] FROM s). Undefined (nothing consumed) for other names
   * and for the plain comma forms.
   */
  #specialCall(name: string, offset: number): AstExpr | undefined {
    const call = (callName: string, args: AstExpr[]): AstExpr => ({
      kind: "call",
      name: callName,
      args,
      distinct: false,
      star: false,
      orderBy: [],
      filter: undefined,
      offset,
    });
    const start = this.#i;
    if (name === "substring") {
      this.#expectPunct("(");
      const arg = this.#expr();
      if (!this.#isWord("from") && !this.#isWord("for")) {
        this.#i = start;
        return undefined;
      }
      const from = this.#word("from")
        ? this.#expr()
        : { kind: "number" as const, text: "1", offset };
      const args = [arg, from];
      if (this.#word("for")) args.push(this.#expr());
      this.#expectPunct(")");
      return call("substring", args);
    }
    if (name === "position") {
      this.#expectPunct("(");
      const needle = this.#expr(6);
      if (!this.#word("in")) {
        this.#i = start;
        return undefined;
      }
      const haystack = this.#expr();
      this.#expectPunct(")");
      return call("position", [haystack, needle]);
    }
    if (name === "trim") {
      this.#expectPunct("(");
      const side = this.#word("leading")
        ? "ltrim"
        : this.#word("trailing")
        ? "rtrim"
        : (this.#word("both"), "btrim");
      let chars: AstExpr | undefined;
      let subject: AstExpr;
      if (this.#word("from")) subject = this.#expr();
      else {
        const first = this.#expr();
        if (this.#word("from")) {
          chars = first;
          subject = this.#expr();
        } else subject = first;
      }
      this.#expectPunct(")");
      return call(side, chars === undefined ? [subject] : [subject, chars]);
    }
    return undefined;
  }

  #call(name: string, offset: number): AstExpr {
    this.#expectPunct("(");
    const args: AstExpr[] = [];
    let distinct = false;
    let star = false;
    let orderBy: OrderItem[] = [];
    if (this.#op("*")) star = true;
    else if (!(this.#peek.kind === "punct" && this.#peek.text === ")")) {
      distinct = this.#word("distinct");
      if (!distinct) this.#word("all");
      do args.push(this.#expr()); while (this.#punct(","));
      if (this.#word("order")) {
        this.#expectWord("by");
        orderBy = this.#orderList();
      }
    }
    this.#expectPunct(")");
    let filter: AstExpr | undefined;
    if (this.#word("filter")) {
      this.#expectPunct("(");
      this.#expectWord("where");
      filter = this.#expr();
      this.#expectPunct(")");
    }
    return { kind: "call", name, args, distinct, star, orderBy, filter, offset };
  }

  #case(offset: number): AstExpr {
    const operand = this.#isWord("when") ? undefined : this.#expr();
    const whens: { when: AstExpr; then: AstExpr }[] = [];
    while (this.#word("when")) {
      const when = this.#expr();
      this.#expectWord("then");
      whens.push({ when, then: this.#expr() });
    }
    if (whens.length === 0) this.#fail();
    const otherwise = this.#word("else") ? this.#expr() : undefined;
    this.#expectWord("end");
    return { kind: "case", operand, whens, otherwise, offset };
  }
}
