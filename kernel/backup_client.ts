/**
 * The client side of `exodb backup`: connects like any PostgreSQL client (node-postgres, so
 * trust and SCRAM-SHA-256 work as for psql), sends `EXODB_BASE_BACKUP`, verifies every frame
 * of the COPY OUT stream as it arrives (`BackupReceiver`: every block's stored CRC32C, every
 * WAL record's CRC32C, the trailer's counts and digest) and writes it to `FILE.partial`.
 *
 * Invariant: the backup file appears under its name only complete and verified — fsynced,
 * then renamed from `.partial`. Any failure (a damaged block, a dropped connection, a
 * truncated stream) removes the partial file and names the cause.
 */
import pg from "pg";
import { BackupReceiver, type ReceiveProgress } from "../dbengine/backup/receiver.ts";
import type { BackupHeader, BackupTrailer } from "../dbengine/backup/stream.ts";

/** Options for {@link takeBackup}. */
export interface BackupClientOptions {
  host: string;
  port: number;
  user?: string;
  database?: string;
  password?: string;
  /** The backup file to create (must not exist). */
  file: string;
  /** Called after each verified chunk. */
  onProgress?: (progress: ReceiveProgress, header: BackupHeader | undefined) => void;
}

/** What a finished backup holds. */
export interface BackupResult {
  header: BackupHeader;
  trailer: BackupTrailer;
  progress: ReceiveProgress;
  elapsedMs: number;
}

interface CopyDataMessage {
  chunk: Uint8Array;
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/** Takes an online backup of the server at host:port into `options.file`. */
export async function takeBackup(options: BackupClientOptions): Promise<BackupResult> {
  const started = performance.now();
  const partial = `${options.file}.partial`;
  try {
    Deno.lstatSync(options.file);
    throw new Error(`${options.file} already exists; refusing to overwrite it`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const out = Deno.openSync(partial, { write: true, create: true, truncate: true });
  let closed = false;
  const client = new pg.Client({
    host: options.host,
    port: options.port,
    user: options.user ?? "exodb",
    database: options.database ?? "exodb",
    ...(options.password ? { password: options.password } : {}),
  });
  client.on("error", () => {}); // the query's own handler reports the failure
  const receiver = new BackupReceiver();
  try {
    await client.connect();
    await new Promise<void>((resolve, reject) => {
      let failure: unknown;
      const fail = (error: unknown) => {
        if (failure !== undefined) return;
        failure = error;
        // Stop the server's stream at once: it sees the connection go and releases its hold.
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream
          .destroy();
        reject(error);
      };
      const copyOut = {
        submit(connection: { query(text: string): void }) {
          connection.query("EXODB_BASE_BACKUP");
        },
        handleCopyData(message: CopyDataMessage) {
          if (failure !== undefined) return;
          try {
            receiver.push(message.chunk); // verifies before anything is written
            writeAll(out, message.chunk);
            options.onProgress?.(receiver.progress, receiver.header);
          } catch (error) {
            fail(error);
          }
        },
        handleError(error: unknown) {
          fail(error);
        },
        handleReadyForQuery() {
          if (failure === undefined) resolve();
        },
        handleCommandComplete() {},
        handleRowDescription() {},
        handleDataRow() {},
        handleEmptyQuery() {},
        handlePortalSuspended() {},
      };
      // deno-lint-ignore no-explicit-any
      client.query(copyOut as any);
    });
    const { header, trailer } = receiver.finish();
    out.syncSync();
    out.close();
    closed = true;
    Deno.renameSync(partial, options.file);
    return { header, trailer, progress: receiver.progress, elapsedMs: performance.now() - started };
  } catch (error) {
    if (!closed) out.close();
    try {
      Deno.removeSync(partial);
    } catch {
      // Already gone.
    }
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
