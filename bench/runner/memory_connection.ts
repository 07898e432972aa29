/**
 * A client connection held in memory, for measuring the wire protocol's share of a statement
 * without a socket: the benchmark feeds it frontend messages and it hands them to
 * kernel/pg_session.ts as one socket read each; what the server writes is dropped, except that
 * a ReadyForQuery at the end of a write wakes the waiting client.
 */
import type { NetConnection } from "../../hw/net.ts";

const utf8 = new TextEncoder();

/** One frontend message: its type byte, its length, then `body`. */
export function frontendMessage(type: string, body: readonly number[]): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

/** A NUL-terminated string, as bytes. */
export const cString = (text: string): number[] => [...utf8.encode(text), 0];
/** A big-endian int16 / int32, as bytes. */
export const int16Bytes = (v: number): number[] => [(v >> 8) & 255, v & 255];
export const int32Bytes = (v: number): number[] => [
  (v >>> 24) & 255,
  (v >> 16) & 255,
  (v >> 8) & 255,
  v & 255,
];

/** The protocol 3.0 startup packet for user and database `exodb`. */
export function startupMessage(): Uint8Array {
  const body = [
    ...int32Bytes(196608),
    ...cString("user"),
    ...cString("exodb"),
    ...cString("database"),
    ...cString("exodb"),
    0,
  ];
  return new Uint8Array([...int32Bytes(4 + body.length), ...body]);
}

/** Bind (text parameters) + Describe portal + Execute + Sync of prepared statement `name`. */
export function bindExecuteSync(name: string, params: readonly (number | string)[]): Uint8Array {
  const bind = [...cString(""), ...cString(name), ...int16Bytes(0), ...int16Bytes(params.length)];
  for (const param of params) {
    const bytes = utf8.encode(String(param));
    bind.push(...int32Bytes(bytes.length), ...bytes);
  }
  bind.push(...int16Bytes(0));
  return concatBytes([
    frontendMessage("B", bind),
    frontendMessage("D", [80, 0]), // portal ""
    frontendMessage("E", [0, ...int32Bytes(0)]),
    frontendMessage("S", []),
  ]);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The server's side of an in-memory connection (one read in flight at a time, as pg_session). */
export class MemoryConnection implements NetConnection {
  readonly peer = "memory";
  readonly localHost = "127.0.0.1";
  readonly localPort = 0;
  readonly socketCallsPerRead = 0;
  readonly copiesOnWrite = false;
  #queued: Uint8Array[] = [];
  #reader: { target: Uint8Array; resolve: (n: number | null) => void } | undefined;
  #onReady: (() => void) | undefined;
  #closed = false;

  /** Sends `bytes` from the client and resolves at the server's next ReadyForQuery. */
  roundTrip(bytes: Uint8Array): Promise<void> {
    const ready = new Promise<void>((resolve) => this.#onReady = resolve);
    this.#queued.push(bytes);
    this.#deliver();
    return ready;
  }

  #deliver(): void {
    const reader = this.#reader;
    const bytes = this.#queued[0];
    if (reader === undefined || bytes === undefined) return;
    if (bytes.length > reader.target.length) throw new Error("message larger than the read");
    this.#queued.shift();
    this.#reader = undefined;
    reader.target.set(bytes);
    reader.resolve(bytes.length);
  }

  read(target: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#reader = { target, resolve };
      this.#deliver();
    });
  }

  write(source: Uint8Array): Promise<number> {
    // ReadyForQuery ('Z', length 5, status) ends every answer the benchmark waits for.
    if (source.length >= 6 && source[source.length - 6] === 0x5a) {
      const wake = this.#onReady;
      this.#onReady = undefined;
      wake?.();
    }
    return Promise.resolve(0);
  }

  close(): void {
    this.#closed = true;
    this.#reader?.resolve(null);
    this.#reader = undefined;
  }
}
