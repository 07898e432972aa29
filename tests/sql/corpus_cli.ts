/**
 * Corpus tasks. `expected [folder…]` reruns the scripts of each folder ("corpus", "pending";
 * both by default) on a throw-away PostgreSQL 15 cluster and writes the expected outputs;
 * `compare folder [file…]` compares ExoDB (and PostgreSQL, where installed) with them.
 */
import { findPgBinDir, pgMissingMessage } from "../_support/pg_cluster.ts";
import { compareFolder, corpusFiles, readScript, startPgRunner, writeExpected } from "./_corpus.ts";

async function expected(folders: string[]): Promise<void> {
  if (findPgBinDir() === undefined) throw new Error(pgMissingMessage);
  const pgRunner = await startPgRunner();
  try {
    for (const folder of folders) {
      for (const file of corpusFiles(folder)) {
        const outcomes = await pgRunner.run(file, readScript(folder, file));
        writeExpected(folder, file, outcomes);
        const errors = outcomes.filter((o) => o.error).length;
        console.log(`${folder}/${file}: ${outcomes.length} statements (${errors} errors)`);
      }
    }
  } finally {
    await pgRunner.stop();
  }
}

async function compare(folder: string, files: string[]): Promise<number> {
  const pgRunner = findPgBinDir() === undefined ? undefined : await startPgRunner();
  try {
    const { statements, diffs } = await compareFolder(folder, pgRunner, files);
    for (const d of diffs) console.log(d + "\n");
    console.log(
      `${folder}: ${statements} statements, ${diffs.length} differences` +
        (pgRunner ? " (PostgreSQL rerun too)" : ` (${pgMissingMessage})`),
    );
    return diffs.length === 0 ? 0 : 1;
  } finally {
    await pgRunner?.stop();
  }
}

if (import.meta.main) {
  const [command, ...rest] = Deno.args;
  if (command === "expected") {
    await expected(rest.length > 0 ? rest : ["corpus", "pending"]);
  } else if (command === "compare") {
    Deno.exit(await compare(rest[0] ?? "corpus", rest.slice(1)));
  } else {
    console.error("usage: corpus_cli.ts expected [folder…] | compare folder [file…]");
    Deno.exit(2);
  }
}
