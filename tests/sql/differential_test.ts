/**
 * The differential SQL corpus: every script of tests/sql/corpus/ runs on a fresh ExoDB appliance
 * over the wire and must match the committed expected output (PostgreSQL 15's, produced by
 * `deno task sql:expected`): command tags, column names and type OIDs, rows, SQLSTATEs. Where the
 * PostgreSQL binaries exist, the scripts also rerun on a throw-away cluster, which must still
 * produce the committed expectation — so the expectations are provably PostgreSQL's. The corpus
 * runs under both boot profiles (exo: I/O worker, group commit, corked responses; conventional:
 * a runtime op per block, a sync per commit, a socket write per message): same answers.
 */
import assert from "node:assert/strict";
import { findPgBinDir, pgMissingMessage } from "../_support/pg_cluster.ts";
import {
  compareFolder,
  corpusFiles,
  readExpected,
  readScript,
  splitStatements,
  startPgRunner,
} from "./_corpus.ts";

Deno.test("corpus: expected outputs are committed for every script and statement", () => {
  let statements = 0;
  for (const file of corpusFiles("corpus")) {
    const expected = readExpected("corpus", file).statements;
    const script = splitStatements(readScript("corpus", file));
    assert.deepEqual(expected.map((s) => s.sql), script, `${file}: rerun deno task sql:expected`);
    statements += script.length;
  }
  assert.ok(statements >= 400, `the CI corpus holds ${statements} statements (at least 400)`);
});

Deno.test("corpus: ExoDB matches PostgreSQL 15 statement by statement", async () => {
  const pgRunner = findPgBinDir() === undefined ? undefined : await startPgRunner();
  if (pgRunner === undefined) console.log(`PostgreSQL rerun ${pgMissingMessage}`);
  try {
    const { statements, diffs } = await compareFolder("corpus", pgRunner);
    console.log(`${statements} statements compared, ${diffs.length} differences`);
    assert.equal(diffs.length, 0, `${diffs.length} differences:\n\n${diffs.join("\n\n")}`);
  } finally {
    await pgRunner?.stop();
  }
});

Deno.test("corpus: the conventional profile gives the same answers", async () => {
  const { statements, diffs } = await compareFolder("corpus", undefined, [], "conventional");
  console.log(
    `${statements} statements compared under --profile=conventional, ${diffs.length} differences`,
  );
  assert.equal(diffs.length, 0, `${diffs.length} differences:\n\n${diffs.join("\n\n")}`);
});
