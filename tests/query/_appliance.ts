/** An in-process appliance on a temporary data directory, for SQL tests that need no socket. */
import assert from "node:assert/strict";
import { type Appliance, boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";
import { parseSql } from "../../query/sql_parser.ts";
import { SqlSession, type StatementResult } from "../../query/sql_session.ts";

/** Boots an appliance, runs `body`, shuts it down and removes its data directory. */
export async function withAppliance(
  body: (appliance: Appliance) => Promise<void>,
  flags: Record<string, string> = {},
): Promise<void> {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-sql-" });
  const result = resolveConfig(
    { "data-dir": dataDir, port: "0", "pool-size": "8MiB", ...flags },
    {},
  );
  assert.ok(result.ok);
  const appliance = await boot(result.config, new Logger("error", () => {}));
  try {
    await body(appliance);
  } finally {
    await appliance.shutdown();
    Deno.removeSync(dataDir, { recursive: true });
  }
}

/** A session on `appliance` and a helper that runs every statement of a SQL string. */
export function sqlRunner(appliance: Appliance): {
  session: SqlSession;
  run(sql: string): Promise<StatementResult[]>;
} {
  const session = new SqlSession(() => appliance.engine);
  return {
    session,
    async run(sql) {
      const results: StatementResult[] = [];
      for (const { statement } of parseSql(sql)) results.push(await session.execute(statement));
      return results;
    },
  };
}
