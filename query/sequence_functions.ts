/**
 * nextval, currval and setval over the session's sequences (CREATE SEQUENCE, and the
 * sequences behind serial and identity columns, named `<table>_<column>_seq`). As in
 * PostgreSQL they are not transactional: a value handed out is never handed out again, even
 * when the transaction that took it rolls back.
 */
import { ExoError } from "../lib/errors.ts";
import { type CallContext, define, type SequenceAccess } from "./functions.ts";
import { isText, isUnknown, type SqlType, t } from "./sql_types.ts";

function sequences(ctx: CallContext): SequenceAccess {
  if (ctx.sequences === undefined) {
    throw new ExoError("0A000", "sequence functions need a session");
  }
  return ctx.sequences;
}

const name = (type: SqlType | undefined) => type !== undefined && (isUnknown(type) || isText(type));

define("nextval", (types) =>
  types.length === 1 && name(types[0])
    ? {
      args: [t.text],
      result: t.int8,
      strict: true,
      fn: ([n], ctx) => sequences(ctx).nextval(n as string),
    }
    : undefined);

define("currval", (types) =>
  types.length === 1 && name(types[0])
    ? {
      args: [t.text],
      result: t.int8,
      strict: true,
      fn: ([n], ctx) => sequences(ctx).currval(n as string),
    }
    : undefined);

define("setval", (types) => {
  if ((types.length !== 2 && types.length !== 3) || !name(types[0])) return undefined;
  return {
    args: types.length === 2 ? [t.text, t.int8] : [t.text, t.int8, t.bool],
    result: t.int8,
    strict: true,
    fn: ([n, value, isCalled], ctx) =>
      sequences(ctx).setval(n as string, BigInt(value as bigint | number), isCalled !== false),
  };
});
