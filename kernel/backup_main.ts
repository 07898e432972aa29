/**
 * `exodb backup` and `exodb restore`, started by cli.ts with only the permissions each needs
 * (backup: the server's address and the backup file; restore: the backup file and the target
 * directory). Progress goes to stderr; the result to stdout; exit 1 with the cause on failure.
 */
import type { ReceiveProgress } from "../dbengine/backup/receiver.ts";
import type { BackupHeader } from "../dbengine/backup/stream.ts";
import { takeBackup } from "./backup_client.ts";
import { restoreBackup } from "./restore.ts";

const encoder = new TextEncoder();
const interactive = Deno.stderr.isTerminal();
let lastShownMs = -Infinity;

/** Prints a progress line at most twice a second (in place on a terminal). */
function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function showProgress(verb: string, progress: ReceiveProgress, header: BackupHeader | undefined) {
  const now = performance.now();
  if (now - lastShownMs < 500) return;
  lastShownMs = now;
  const total = header?.usedBlocks ?? 0;
  const percent = total > 0 ? Math.min(100, (100 * progress.blocks) / total).toFixed(0) : "?";
  const line = `${verb}: ${progress.blocks}/${total} blocks (${percent}%), ` +
    `${progress.walRecords} WAL records, ${mib(progress.bytes)}`;
  Deno.stderr.writeSync(encoder.encode(interactive ? `\r${line}` : `${line}\n`));
}

function endProgress(): void {
  if (interactive && lastShownMs > -Infinity) Deno.stderr.writeSync(encoder.encode("\n"));
}

const [mode, ...rest] = Deno.args;
const flags = Object.fromEntries(rest.map((arg) => {
  const at = arg.indexOf("=");
  return [arg.slice(2, at), arg.slice(at + 1)];
}));
try {
  if (mode === "backup") {
    const [host, port] = [flags.host!, Number(flags.port)];
    const result = await takeBackup({
      host,
      port,
      user: flags.user ?? "exodb",
      database: flags.database ?? "exodb",
      password: Deno.env.get("EXODB_PASSWORD") ?? "",
      file: flags.to!,
      onProgress: (progress, header) => showProgress("backup", progress, header),
    });
    endProgress();
    const seconds = result.elapsedMs / 1000;
    console.log(
      `backup of ${host}:${port} written to ${flags.to}: ${result.progress.blocks} blocks ` +
        `(${result.progress.neverWrittenBlocks} never written), ${result.progress.walRecords} WAL records ` +
        `(LSN ${result.header.startLsn}..${result.trailer.endLsn}), ${
          mib(result.progress.bytes)
        } in ${seconds.toFixed(2)} s (${
          (result.progress.bytes / 1048576 / seconds).toFixed(1)
        } MiB/s), ` +
        `every block and record verified`,
    );
  } else if (mode === "restore") {
    const report = await restoreBackup(flags.from!, flags["data-dir"]!, {
      onProgress: (progress, header) => showProgress("restore", progress, header),
    });
    endProgress();
    console.log(
      `restored ${flags.from} into ${flags["data-dir"]}: ${report.progress.blocks} blocks and ` +
        `${report.progress.walRecords} WAL records verified, ${report.groupsReplayed} page groups ` +
        `replayed, ${report.blocksChecked} blocks and ${report.trees} B+trees checked`,
    );
  } else {
    console.error("exodb: kernel/backup_main.ts is started by `deno task exodb backup|restore`");
    Deno.exit(2);
  }
} catch (error) {
  endProgress();
  console.error(`exodb ${mode}: ${(error as Error).message}`);
  Deno.exit(1);
}
