/**
 * Types as the SQL layer sees them: the stored types (dbengine/types.ts) plus the ones that
 * only exist during a query (unknown literals, arrays, records), their PostgreSQL OIDs,
 * type lengths and names, and PostgreSQL's implicit-promotion order for numbers.
 */
import { type ColumnType, TypeId, type TypeIdValue } from "../dbengine/types.ts";

/** Query-only type ids (never stored). */
export const QueryTypeId = {
  /** An untyped literal, NULL or parameter: takes the type its context needs. */
  unknown: 0,
  /** An array (element type in `element`). */
  array: 100,
  /** A row value. */
  record: 101,
  /** The oid / regclass / regtype family, printed as numbers or names. */
  oid: 102,
  /** PostgreSQL's `name` (63-byte identifiers), treated as text. */
  name: 103,
  /** The "char" type (one byte). */
  charByte: 104,
  /** void (functions returning nothing). */
  void: 105,
  /** regclass / regtype / regnamespace / regproc: an oid printed as a name. */
  regclass: 106,
  regtype: 107,
  regnamespace: 108,
  regproc: 109,
} as const;

/** A type during a query. */
export interface SqlType {
  id: TypeIdValue | (typeof QueryTypeId)[keyof typeof QueryTypeId];
  typmod: number;
  /** The element type of an array. */
  element?: SqlType;
}

export const t = {
  unknown: { id: QueryTypeId.unknown, typmod: -1 } as SqlType,
  bool: { id: TypeId.boolean, typmod: -1 } as SqlType,
  int2: { id: TypeId.smallint, typmod: -1 } as SqlType,
  int4: { id: TypeId.integer, typmod: -1 } as SqlType,
  int8: { id: TypeId.bigint, typmod: -1 } as SqlType,
  float4: { id: TypeId.real, typmod: -1 } as SqlType,
  float8: { id: TypeId.double, typmod: -1 } as SqlType,
  numeric: { id: TypeId.numeric, typmod: -1 } as SqlType,
  text: { id: TypeId.text, typmod: -1 } as SqlType,
  varchar: { id: TypeId.varchar, typmod: -1 } as SqlType,
  bpchar: { id: TypeId.char, typmod: -1 } as SqlType,
  date: { id: TypeId.date, typmod: -1 } as SqlType,
  timestamp: { id: TypeId.timestamp, typmod: -1 } as SqlType,
  timestamptz: { id: TypeId.timestamptz, typmod: -1 } as SqlType,
  interval: { id: TypeId.interval, typmod: -1 } as SqlType,
  bytea: { id: TypeId.bytea, typmod: -1 } as SqlType,
  oid: { id: QueryTypeId.oid, typmod: -1 } as SqlType,
  name: { id: QueryTypeId.name, typmod: -1 } as SqlType,
  record: { id: QueryTypeId.record, typmod: -1 } as SqlType,
  void: { id: QueryTypeId.void, typmod: -1 } as SqlType,
  charByte: { id: QueryTypeId.charByte, typmod: -1 } as SqlType,
  regclass: { id: QueryTypeId.regclass, typmod: -1 } as SqlType,
  regtype: { id: QueryTypeId.regtype, typmod: -1 } as SqlType,
  regnamespace: { id: QueryTypeId.regnamespace, typmod: -1 } as SqlType,
  regproc: { id: QueryTypeId.regproc, typmod: -1 } as SqlType,
};

/** True for oid and the reg* types (values are oids, as JS numbers). */
export function isOidFamily(type: SqlType): boolean {
  return type.id === QueryTypeId.oid || type.id === QueryTypeId.regclass ||
    type.id === QueryTypeId.regtype || type.id === QueryTypeId.regnamespace ||
    type.id === QueryTypeId.regproc;
}

/** An array type of `element`. */
export function arrayOf(element: SqlType): SqlType {
  return { id: QueryTypeId.array, typmod: -1, element };
}

/** PostgreSQL type OIDs (pg_type.oid) and lengths, for RowDescription. */
const oids: Record<number, { oid: number; length: number; name: string }> = {
  [QueryTypeId.unknown]: { oid: 705, length: -2, name: "unknown" },
  [TypeId.boolean]: { oid: 16, length: 1, name: "boolean" },
  [TypeId.bytea]: { oid: 17, length: -1, name: "bytea" },
  [QueryTypeId.charByte]: { oid: 18, length: 1, name: '"char"' },
  [QueryTypeId.name]: { oid: 19, length: 64, name: "name" },
  [TypeId.bigint]: { oid: 20, length: 8, name: "bigint" },
  [TypeId.smallint]: { oid: 21, length: 2, name: "smallint" },
  [TypeId.integer]: { oid: 23, length: 4, name: "integer" },
  [TypeId.text]: { oid: 25, length: -1, name: "text" },
  [QueryTypeId.oid]: { oid: 26, length: 4, name: "oid" },
  [TypeId.real]: { oid: 700, length: 4, name: "real" },
  [TypeId.double]: { oid: 701, length: 8, name: "double precision" },
  [TypeId.char]: { oid: 1042, length: -1, name: "character" },
  [TypeId.varchar]: { oid: 1043, length: -1, name: "character varying" },
  [TypeId.date]: { oid: 1082, length: 4, name: "date" },
  [TypeId.timestamp]: { oid: 1114, length: 8, name: "timestamp without time zone" },
  [TypeId.timestamptz]: { oid: 1184, length: 8, name: "timestamp with time zone" },
  [TypeId.interval]: { oid: 1186, length: 16, name: "interval" },
  [TypeId.numeric]: { oid: 1700, length: -1, name: "numeric" },
  [QueryTypeId.record]: { oid: 2249, length: -1, name: "record" },
  [QueryTypeId.void]: { oid: 2278, length: 4, name: "void" },
  [QueryTypeId.regproc]: { oid: 24, length: 4, name: "regproc" },
  [QueryTypeId.regclass]: { oid: 2205, length: 4, name: "regclass" },
  [QueryTypeId.regtype]: { oid: 2206, length: 4, name: "regtype" },
  [QueryTypeId.regnamespace]: { oid: 4089, length: 4, name: "regnamespace" },
};

/** pg_type.typname: the name PostgreSQL gives a cast's result column ("int4" for ::integer). */
const internalNames: Record<number, string> = {
  [TypeId.boolean]: "bool",
  [TypeId.bigint]: "int8",
  [TypeId.smallint]: "int2",
  [TypeId.integer]: "int4",
  [TypeId.real]: "float4",
  [TypeId.double]: "float8",
  [TypeId.char]: "bpchar",
  [TypeId.varchar]: "varchar",
  [TypeId.timestamp]: "timestamp",
  [TypeId.timestamptz]: "timestamptz",
  [QueryTypeId.charByte]: "char",
};

/** The internal type name (pg_type.typname) of a type. */
export function internalTypeName(type: SqlType): string {
  if (type.id === QueryTypeId.array) return `_${internalTypeName(type.element ?? t.text)}`;
  return internalNames[type.id] ?? oids[type.id]?.name ?? "unknown";
}

/** Array type OIDs by element OID (pg_type.typarray). */
const arrayOids: Record<number, number> = {
  16: 1000,
  17: 1001,
  18: 1002,
  19: 1003,
  20: 1016,
  21: 1005,
  23: 1007,
  25: 1009,
  26: 1028,
  700: 1021,
  701: 1022,
  1042: 1014,
  1043: 1015,
  1082: 1182,
  1114: 1115,
  1184: 1185,
  1186: 1187,
  1700: 1231,
  24: 1008,
  2205: 2210,
  2206: 2211,
  4089: 4090,
};

/** The OID of a type, as sent in RowDescription and ParameterDescription. */
export function typeOid(type: SqlType): number {
  if (type.id === QueryTypeId.array) return arrayOids[typeOid(type.element ?? t.text)] ?? 1009;
  return oids[type.id]?.oid ?? 25;
}

/** typlen, as sent in RowDescription. */
export function typeLength(type: SqlType): number {
  if (type.id === QueryTypeId.array) return -1;
  return oids[type.id]?.length ?? -1;
}

/** The type for an OID clients send (Parse parameter types); undefined when unknown. */
export function typeOfOid(oid: number): SqlType | undefined {
  if (oid === 0) return undefined;
  for (const [id, entry] of Object.entries(oids)) {
    if (entry.oid === oid) return { id: Number(id) as SqlType["id"], typmod: -1 };
  }
  for (const [element, array] of Object.entries(arrayOids)) {
    if (array === oid) return arrayOf(typeOfOid(Number(element)) ?? t.text);
  }
  return undefined;
}

/** The name PostgreSQL uses for a type in messages and format_type (with typmod). */
export function typeName(type: SqlType): string {
  if (type.id === QueryTypeId.array) return `${typeName(type.element ?? t.text)}[]`;
  const base = oids[type.id]?.name ?? "unknown";
  if (type.typmod < 0) return base;
  if (type.id === TypeId.varchar || type.id === TypeId.char) return `${base}(${type.typmod - 4})`;
  if (type.id === TypeId.numeric) {
    const precision = ((type.typmod - 4) >> 16) & 0xffff;
    const scale = (type.typmod - 4) & 0xffff;
    return `numeric(${precision},${scale})`;
  }
  return base;
}

/** Numeric categories in PostgreSQL's implicit promotion order (int2 < … < float8). */
const numericRank: Record<number, number> = {
  [TypeId.smallint]: 1,
  [TypeId.integer]: 2,
  [TypeId.bigint]: 3,
  [TypeId.numeric]: 4,
  [TypeId.real]: 5,
  [TypeId.double]: 6,
};

export function isNumeric(type: SqlType): boolean {
  return numericRank[type.id] !== undefined;
}

export function isText(type: SqlType): boolean {
  return type.id === TypeId.text || type.id === TypeId.varchar || type.id === TypeId.char ||
    type.id === QueryTypeId.name;
}

export function isUnknown(type: SqlType): boolean {
  return type.id === QueryTypeId.unknown;
}

/** The common numeric type of two numeric types (the higher in promotion order). */
export function promoteNumeric(a: SqlType, b: SqlType): SqlType {
  const ra = numericRank[a.id]!;
  const rb = numericRank[b.id]!;
  const winner = ra >= rb ? a : b;
  return { id: winner.id, typmod: -1 };
}

/** As a storable ColumnType (query-only types are stored as text). */
export function storable(type: SqlType): ColumnType {
  if (
    type.id === QueryTypeId.unknown || type.id === QueryTypeId.name ||
    type.id === QueryTypeId.array ||
    type.id === QueryTypeId.record || type.id === QueryTypeId.oid ||
    type.id === QueryTypeId.charByte ||
    type.id === QueryTypeId.void || isOidFamily(type)
  ) {
    return { id: TypeId.text, typmod: -1 };
  }
  return { id: type.id as TypeIdValue, typmod: type.typmod };
}
