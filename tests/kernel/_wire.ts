/**
 * Wire-test support: an in-process appliance on 127.0.0.1 port 0, and a raw protocol client
 * that writes frontend messages byte by byte and reads backend messages (for what drivers
 * never send: row limits, bad framing, cancel requests).
 */
import assert from "node:assert/strict";
import { type Appliance, boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";

/** Boots an appliance on a free port for `body`, then shuts it down and removes its data. */
export async function withServer(
  body: (port: number, appliance: Appliance) => Promise<void>,
  flags: Record<string, string> = {},
): Promise<void> {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-wire-" });
  const result = resolveConfig(
    { "data-dir": dataDir, port: "0", "pool-size": "8MiB", ...flags },
    {},
  );
  assert.ok(result.ok, JSON.stringify(result));
  const appliance = await boot(result.config, new Logger("error", () => {}));
  try {
    await body(appliance.listener.port, appliance);
  } finally {
    await appliance.shutdown();
    Deno.removeSync(dataDir, { recursive: true });
  }
}

/** One decoded backend message. */
export interface BackendMessage {
  type: string;
  body: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Frontend message bytes: type byte (none for startup packets), Int32 length, body. */
export function frame(type: string | undefined, ...parts: (Uint8Array | string | number[])[]) {
  const bodies = parts.map((p) =>
    typeof p === "string" ? encoder.encode(p) : p instanceof Uint8Array ? p : new Uint8Array(p)
  );
  const length = 4 + bodies.reduce((n, b) => n + b.length, 0);
  const head = type === undefined ? 0 : 1;
  const out = new Uint8Array(head + length);
  if (type !== undefined) out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(head, length);
  let at = head + 4;
  for (const b of bodies) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Int16 / Int32 big-endian bytes. */
export const int16 = (v: number) => [(v >> 8) & 255, v & 255];
export const int32 = (v: number) => [(v >>> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255];
/** A NUL-terminated string. */
export const cstr = (s: string) => s + "\0";

/** A StartupMessage for protocol 3.0. */
export function startupPacket(parameters: Record<string, string> = { user: "exodb" }) {
  const pairs = Object.entries(parameters).map(([k, v]) => `${k}\0${v}\0`).join("") + "\0";
  return frame(undefined, int32(196608), pairs);
}

/** A raw connection that reads whole backend messages. */
export class RawClient {
  readonly conn: Deno.TcpConn;
  #pending = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(...chunks: Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      let at = 0;
      while (at < chunk.length) at += await this.conn.write(chunk.subarray(at));
    }
  }

  /** Reads one raw byte (the answer to SSLRequest). */
  async byte(): Promise<number | null> {
    if (this.#pending.length === 0 && !(await this.#fill())) return null;
    const b = this.#pending[0]!;
    this.#pending = this.#pending.subarray(1);
    return b;
  }

  async #fill(): Promise<boolean> {
    const buffer = new Uint8Array(65536);
    const n = await this.conn.read(buffer);
    if (n === null) return false;
    const merged = new Uint8Array(this.#pending.length + n);
    merged.set(this.#pending);
    merged.set(buffer.subarray(0, n), this.#pending.length);
    this.#pending = merged;
    return true;
  }

  /** The next backend message, or null when the server closed the connection. */
  async message(): Promise<BackendMessage | null> {
    for (;;) {
      if (this.#pending.length >= 5) {
        const length = new DataView(this.#pending.buffer, this.#pending.byteOffset).getInt32(1);
        if (this.#pending.length >= 1 + length) {
          const message = {
            type: String.fromCharCode(this.#pending[0]!),
            body: this.#pending.slice(5, 1 + length),
          };
          this.#pending = this.#pending.subarray(1 + length);
          return message;
        }
      }
      try {
        if (!(await this.#fill())) return null;
      } catch {
        return null; // reset by the server
      }
    }
  }

  /** Messages up to and including the next ReadyForQuery (or up to the close). */
  async untilReady(): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (;;) {
      const message = await this.message();
      if (message === null) return out;
      out.push(message);
      if (message.type === "Z") return out;
    }
  }

  /** Startup with trust authentication; returns the messages up to ReadyForQuery. */
  async startup(parameters?: Record<string, string>): Promise<BackendMessage[]> {
    await this.send(startupPacket(parameters));
    return await this.untilReady();
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** The fields of an ErrorResponse / NoticeResponse body by their code letter. */
export function errorFields(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]!);
    const end = body.indexOf(0, at + 1);
    out[code] = decoder.decode(body.subarray(at + 1, end));
    at = end + 1;
  }
  return out;
}

/** The NUL-terminated string fields of a message body. */
export function strings(body: Uint8Array): string[] {
  return decoder.decode(body).split("\0").slice(0, -1);
}

/** True when a PostgreSQL client binary is on this machine. */
export function hasBinary(name: string): boolean {
  try {
    return new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
