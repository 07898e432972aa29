/**
 * PostgreSQL's type resolution for UNION, CASE, COALESCE, GREATEST/LEAST and VALUES (the
 * "union" rules): unknown literals take the others' type, numbers promote along int2 < int4 <
 * int8 < numeric < float4 < float8, character types meet at text, date < timestamp <
 * timestamptz; anything else cannot be matched (42804).
 */
import { TypeId } from "../dbengine/types.ts";
import { DataError } from "./pg_text.ts";
import {
  isNumeric,
  isText,
  isUnknown,
  promoteNumeric,
  type SqlType,
  t,
  typeName,
} from "./sql_types.ts";

const temporalRank: Record<number, number> = {
  [TypeId.date]: 1,
  [TypeId.timestamp]: 2,
  [TypeId.timestamptz]: 3,
};

/** The common type of `types` for `context` ("CASE", "COALESCE", "UNION", …). */
export function commonType(types: SqlType[], context: string): SqlType {
  const known = types.filter((type) => !isUnknown(type));
  if (known.length === 0) return t.text;
  let result = known[0]!;
  for (const type of known.slice(1)) {
    if (type.id === result.id) {
      if (type.typmod !== result.typmod) result = { ...result, typmod: -1 };
      continue;
    }
    if (isNumeric(type) && isNumeric(result)) {
      result = promoteNumeric(result, type);
    } else if (isText(type) && isText(result)) {
      result = t.text;
    } else if (temporalRank[type.id] !== undefined && temporalRank[result.id] !== undefined) {
      result = temporalRank[type.id]! > temporalRank[result.id]! ? type : result;
    } else {
      throw new DataError(
        "42804",
        `${context} types ${typeName(result)} and ${typeName(type)} cannot be matched`,
      );
    }
  }
  return result;
}
