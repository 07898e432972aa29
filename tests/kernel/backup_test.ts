/**
 * Online backup and restore (issue 9): a backup taken while TPC-B transactions run restores to
 * an image that boots with the balance invariant intact; a damaged source block fails the
 * backup naming it; an interrupted or damaged backup is never restored into a bootable image.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { type Appliance, boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";
import { takeBackup } from "../../kernel/backup_client.ts";
import { restoreBackup } from "../../kernel/restore.ts";
import { BackupReceiver } from "../../dbengine/backup/receiver.ts";
import { backupStream } from "../../dbengine/backup/sender.ts";
import { blockFrameHeaderBytes, headerFrameBytes } from "../../dbengine/backup/stream.ts";
import { RecordType } from "../../dbengine/wal/record.ts";
import { blockHeaderBytes } from "../../io/block.ts";

async function bootOn(dataDir: string, password = ""): Promise<Appliance> {
  const result = resolveConfig(
    { "data-dir": dataDir, port: "0", "pool-size": "8MiB", password },
    {},
  );
  assert.ok(result.ok);
  return await boot(result.config, new Logger("error", () => {}));
}

function connect(port: number): pg.Client {
  return new pg.Client({ host: "127.0.0.1", port, user: "exodb", database: "exodb" });
}

async function withTemp(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-backup-" });
  try {
    await body(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function hasPgbench(): boolean {
  try {
    return new Deno.Command("pgbench", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Commit records in a backup file's WAL part (each verified on the way). */
function commitsIn(file: string): number {
  let commits = 0;
  const receiver = new BackupReceiver({
    record: (_lsn, bytes) => {
      if (bytes[24] === RecordType.commit) commits++;
    },
  });
  receiver.push(Deno.readFileSync(file));
  receiver.finish();
  return commits;
}

const balanceSql = "select (select sum(abalance) from pgbench_accounts) as a, " +
  "(select sum(bbalance) from pgbench_branches) as b, " +
  "(select sum(tbalance) from pgbench_tellers) as t, " +
  "(select sum(delta) from pgbench_history) as h";

const accounts = 20_000;

/** pgbench's built-in TPC-B transaction over one branch, 10 tellers and `accounts` accounts. */
const tpcbScript = `\\set aid random(1, ${accounts})
\\set tid random(1, 10)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = 1;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, 1, :aid, :delta, CURRENT_TIMESTAMP);
END;
`;

/**
 * TPC-B transactions for `seconds`: by pgbench (4 clients) when installed, else by 4
 * node-postgres clients running the same transaction.
 */
async function runTpcb(port: number, seconds: number, dir: string): Promise<void> {
  if (hasPgbench()) {
    Deno.writeTextFileSync(`${dir}/tpcb.sql`, tpcbScript);
    const result = await new Deno.Command("pgbench", {
      args: ["-n", "-c", "4", "-j", "2", "-T", String(seconds), "-f", `${dir}/tpcb.sql`],
      env: { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "exodb", PGDATABASE: "exodb" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
    assert.ok(result.success, text);
    assert.match(text, /number of failed transactions: 0 /, text);
    return;
  }
  console.log("pgbench is not installed: node-postgres clients run the TPC-B transaction instead");
  const until = performance.now() + seconds * 1000;
  await Promise.all([1, 2, 3, 4].map(async (worker) => {
    const client = connect(port);
    await client.connect();
    try {
      for (let i = 0; performance.now() < until && i < 100_000; i++) {
        const aid = 1 + ((worker * 7919 + i * 104729) % accounts);
        const tid = 1 + (i % 10);
        const delta = ((i * 31 + worker) % 10001) - 5000;
        await client.query("begin");
        await client.query("update pgbench_accounts set abalance = abalance + $1 where aid = $2", [
          delta,
          aid,
        ]);
        await client.query("update pgbench_tellers set tbalance = tbalance + $1 where tid = $2", [
          delta,
          tid,
        ]);
        await client.query("update pgbench_branches set bbalance = bbalance + $1 where bid = 1", [
          delta,
        ]);
        await client.query(
          "insert into pgbench_history (tid, bid, aid, delta, mtime) values ($1, 1, $2, $3, now())",
          [tid, aid, delta],
        );
        await client.query("commit");
      }
    } finally {
      await client.end();
    }
  }));
}

/** pgbench's tables (as `pgbench -i` makes them) at a size that loads in about a second. */
async function initTpcb(port: number): Promise<void> {
  const client = connect(port);
  await client.connect();
  await client.query(
    "create table pgbench_branches (bid int primary key, bbalance int, filler char(88));" +
      "create table pgbench_tellers (tid int primary key, bid int, tbalance int, filler char(84));" +
      "create table pgbench_accounts (aid int primary key, bid int, abalance int, filler char(84));" +
      "create table pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));" +
      "insert into pgbench_branches values (1, 0, '');" +
      "insert into pgbench_tellers select g, 1, 0, '' from generate_series(1, 10) g;" +
      `insert into pgbench_accounts select g, 1, 0, '' from generate_series(1, ${accounts}) g;`,
  );
  await client.end();
}

Deno.test("backup during a TPC-B run restores to an image that boots with balanced books", async () => {
  await withTemp(async (dir) => {
    const source = await bootOn(`${dir}/source`);
    const file = `${dir}/tpcb.exobak`;
    let progressCalls = 0;
    try {
      const port = source.listener.port;
      await initTpcb(port);
      const load = runTpcb(port, 6, dir);
      // Start backing up once transactions commit (a fixed sleep lost the race when pgbench
      // started late on a loaded machine): bounded, 10 s at most.
      const probe = connect(port);
      await probe.connect();
      try {
        for (let i = 0; i < 200; i++) {
          const row = (await probe.query("select count(*)::int as n from pgbench_history")).rows[0];
          if (row.n > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await probe.end();
      }
      // A small image copies in a few milliseconds, so one backup may see no commit in its
      // window by chance: take backups while the load runs until one carries commits (at most
      // five), then check that one.
      const backup = (async () => {
        for (let attempt = 1;; attempt++) {
          const result = await takeBackup({
            host: "127.0.0.1",
            port,
            file,
            onProgress: () => progressCalls++,
          });
          if (commitsIn(file) > 0 || attempt === 5) return result;
          Deno.removeSync(file);
        }
      })();
      // Both settle before the server shuts down, and a failed backup is reported as itself
      // (not as the load's clients losing their server).
      const [backupOutcome, loadOutcome] = await Promise.allSettled([backup, load]);
      if (backupOutcome.status === "rejected") throw backupOutcome.reason;
      if (loadOutcome.status === "rejected") throw loadOutcome.reason;
      const result = backupOutcome.value;
      assert.ok(result.progress.blocks > 100, `${result.progress.blocks} blocks`);
      assert.ok(progressCalls > 1);
      assert.ok(!exists(`${file}.partial`));
    } finally {
      await source.shutdown();
    }
    // Transactions committed while the blocks were copied: the WAL part carries them.
    assert.ok(commitsIn(file) > 0, "the backup overlapped committing transactions");

    const report = await restoreBackup(file, `${dir}/restored`);
    assert.ok(report.blocksChecked > 0 && report.trees > 0);
    assert.ok(!exists(`${dir}/restored.restoring`));
    const restored = await bootOn(`${dir}/restored`);
    try {
      const client = connect(restored.listener.port);
      await client.connect();
      try {
        const row = (await client.query(balanceSql)).rows[0];
        assert.ok(row.h !== null, "history rows were restored");
        assert.ok(row.a === row.b && row.b === row.t && row.t === row.h, JSON.stringify(row));
        const count = await client.query("select count(*)::int as n from pgbench_accounts");
        assert.equal(count.rows[0].n, accounts);
        // The restored server takes writes.
        await client.query("update pgbench_branches set bbalance = bbalance + 1 where bid = 1");
      } finally {
        await client.end();
      }
    } finally {
      await restored.shutdown();
    }
  });
});

Deno.test("a damaged block on the source fails the backup naming the block; the server stays up", async () => {
  await withTemp(async (dir) => {
    const source = await bootOn(`${dir}/source`);
    const file = `${dir}/bad.exobak`;
    try {
      const client = connect(source.listener.port);
      await client.connect();
      try {
        await client.query("create table t (id int primary key, v text)");
        await client.query(
          "insert into t select g, repeat('x', 50) from generate_series(1, 2000) g",
        );
        await client.query("checkpoint"); // every page on disk; none dirty in the pool
        const device = source.engine.storage.image.device;
        const victim = source.engine.storage.store.meta("highWater") - 1;
        const bytes = new Uint8Array(device.blockSizeBytes);
        device.read(victim, bytes);
        bytes[blockHeaderBytes + 100]! ^= 0x10; // a flipped bit at rest
        device.write(victim, bytes);
        await assert.rejects(
          takeBackup({ host: "127.0.0.1", port: source.listener.port, file }),
          (error: Error) => {
            assert.match(
              error.message,
              new RegExp(`block ${victim} failed verification \\(checksum\\)`),
            );
            return true;
          },
        );
        assert.ok(!exists(file) && !exists(`${file}.partial`), "no backup file is left");
        // A sender that recomputes checksums (the benchmark's baseline) ships the same damage
        // as valid: the stored CRC is what makes it detectable end to end.
        const receiver = new BackupReceiver();
        for await (
          const chunk of backupStream(source.engine.storage, { recomputeChecksums: true })
        ) {
          receiver.push(chunk);
        }
        assert.equal(receiver.finish().trailer.blockFrames, victim + 1);
        // The server serves on, and its log recycling hold was released.
        assert.equal((await client.query("select count(*)::int as n from t")).rows[0].n, 2000);
        const wal = source.engine.storage.wal;
        await client.query("insert into t values (5000, 'after')");
        await client.query("checkpoint");
        assert.ok(wal.recycleLsn > 0 && wal.insertLsn - wal.recycleLsn < 4096, "log recycled");
      } finally {
        await client.end();
      }
    } finally {
      await source.shutdown();
    }
  });
});

Deno.test("an interrupted or damaged backup is refused and leaves nothing that boots", async () => {
  await withTemp(async (dir) => {
    const source = await bootOn(`${dir}/source`);
    const file = `${dir}/good.exobak`;
    try {
      const client = connect(source.listener.port);
      await client.connect();
      await client.query("create table t (id int primary key, v text)");
      await client.query("insert into t select g, 'v' || g::text from generate_series(1, 3000) g");
      await client.end();
      // A client that gives up mid-stream keeps no file, and the server releases its hold.
      await assert.rejects(
        takeBackup({
          host: "127.0.0.1",
          port: source.listener.port,
          file,
          onProgress: (progress) => {
            if (progress.blocks > 0) throw new Error("interrupted by the test");
          },
        }),
        /interrupted by the test/,
      );
      assert.ok(!exists(file) && !exists(`${file}.partial`));
      await takeBackup({ host: "127.0.0.1", port: source.listener.port, file });
    } finally {
      await source.shutdown();
    }
    const whole = Deno.readFileSync(file);
    const blockSize = 8192;
    const damaged: [string, Uint8Array, RegExp][] = [];
    // Cut inside the first block, between blocks, inside the WAL part, before the trailer.
    for (
      const cut of [
        headerFrameBytes + 4000,
        headerFrameBytes + 3 * (blockFrameHeaderBytes + blockSize),
        whole.length - 300,
        whole.length - 37,
      ]
    ) {
      damaged.push([`cut at ${cut}`, whole.slice(0, cut), /backup is incomplete/]);
    }
    const flipped = whole.slice();
    const block5 = headerFrameBytes + 5 * (blockFrameHeaderBytes + blockSize) +
      blockFrameHeaderBytes;
    flipped[block5 + 1000]! ^= 1;
    damaged.push(["flipped bit in block 5", flipped, /block 5 failed verification \(checksum\)/]);
    const walFlip = whole.slice();
    walFlip[whole.length - 37 - 100]! ^= 1;
    damaged.push(["flipped bit in the last WAL record", walFlip, /WAL record at LSN \d+ failed/]);
    for (const [name, bytes, expected] of damaged) {
      const path = `${dir}/damaged.exobak`;
      Deno.writeFileSync(path, bytes);
      await assert.rejects(restoreBackup(path, `${dir}/target`), expected, name);
      assert.ok(!exists(`${dir}/target`), `${name}: no data directory`);
      assert.ok(!exists(`${dir}/target.restoring`), `${name}: no temporary directory`);
    }
    // The intact file restores, and the restored image holds every row.
    await restoreBackup(file, `${dir}/target`);
    await assert.rejects(restoreBackup(file, `${dir}/target`), /is not empty/);
    const restored = await bootOn(`${dir}/target`);
    try {
      const client = connect(restored.listener.port);
      await client.connect();
      assert.equal((await client.query("select count(*)::int as n from t")).rows[0].n, 3000);
      await client.end();
    } finally {
      await restored.shutdown();
    }
  });
});

Deno.test("EXODB_BASE_BACKUP is authenticated like any session and refused inside a transaction", async () => {
  await withTemp(async (dir) => {
    const source = await bootOn(`${dir}/source`, "s3cret");
    const port = source.listener.port;
    try {
      await assert.rejects(
        takeBackup({ host: "127.0.0.1", port, file: `${dir}/a.exobak`, password: "wrong" }),
        (error: { code?: string }) => error.code === "28P01",
      );
      assert.ok(!exists(`${dir}/a.exobak`) && !exists(`${dir}/a.exobak.partial`));
      const client = new pg.Client({
        host: "127.0.0.1",
        port,
        user: "exodb",
        database: "exodb",
        password: "s3cret",
      });
      await client.connect();
      try {
        await client.query("begin");
        await assert.rejects(
          client.query("EXODB_BASE_BACKUP"),
          (error: { code?: string }) => error.code === "25001",
        );
        await client.query("rollback");
      } finally {
        await client.end();
      }
      const result = await takeBackup({
        host: "127.0.0.1",
        port,
        file: `${dir}/a.exobak`,
        password: "s3cret",
      });
      assert.equal(result.progress.blocks, result.trailer.blockFrames);
    } finally {
      await source.shutdown();
    }
  });
});

Deno.test("a running backup holds log recycling at its start LSN until it ends", async () => {
  await withTemp(async (dir) => {
    const source = await bootOn(`${dir}/source`);
    try {
      const client = connect(source.listener.port);
      await client.connect();
      try {
        const storage = source.engine.storage;
        await client.query("create table t (id int primary key)");
        const begun = await storage.beginBackup();
        assert.equal(storage.wal.recycleLsn, begun.redoLsn);
        for (let i = 0; i < 3; i++) {
          await client.query(`insert into t values (${i})`);
          await client.query("checkpoint");
          assert.equal(storage.wal.recycleLsn, begun.redoLsn, "held while the backup runs");
        }
        begun.release();
        assert.ok(storage.wal.recycleLsn > begun.redoLsn, "released at the end");
      } finally {
        await client.end();
      }
    } finally {
      await source.shutdown();
    }
  });
});

const root = new URL("../../", import.meta.url).pathname;

async function exodb(args: string[]): Promise<{ code: number; text: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "exodb", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: result.code, text: decoder.decode(result.stdout) + decoder.decode(result.stderr) };
}

Deno.test("exodb backup and exodb restore run with their own narrow permissions", async () => {
  await withTemp(async (dir) => {
    const source = await bootOn(`${dir}/source`);
    const file = `${dir}/cli.exobak`;
    try {
      const client = connect(source.listener.port);
      await client.connect();
      await client.query("create table t (id int primary key, v text)");
      await client.query("insert into t select g, 'row' from generate_series(1, 500) g");
      await client.end();
      const backup = await exodb([
        "backup",
        "--from",
        `127.0.0.1:${source.listener.port}`,
        "--to",
        file,
      ]);
      assert.equal(backup.code, 0, backup.text);
      assert.match(backup.text, /every block and record verified/);
    } finally {
      await source.shutdown();
    }
    const restore = await exodb(["restore", "--from", file, "--data-dir", `${dir}/restored`]);
    assert.equal(restore.code, 0, restore.text);
    assert.match(restore.text, /restored .* blocks and \d+ WAL records verified/);
    const check = await exodb(["check", "--data-dir", `${dir}/restored`]);
    assert.equal(check.code, 0, check.text);
    const again = await exodb(["restore", "--from", file, "--data-dir", `${dir}/restored`]);
    assert.equal(again.code, 1, again.text);
    assert.match(again.text, /is not empty/);
    const usage = await exodb(["backup", "--to", file]);
    assert.equal(usage.code, 2, usage.text);
  });
});
