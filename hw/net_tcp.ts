/**
 * The NIC stand-in: a TCP listener bound once at boot, and its connections. Every accept, read
 * and write is a runtime op into Deno and is counted here (socket_read / socket_write carry the
 * bytes moved).
 */
import { crossings } from "./crossings.ts";

/** One accepted connection. */
export class TcpConnection {
  readonly #conn: Deno.TcpConn;
  /** `host:port` of the peer, for logs. */
  readonly peer: string;
  /** The server end's address and port (inet_server_addr / inet_server_port). */
  readonly localHost: string;
  readonly localPort: number;
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    const remote = conn.remoteAddr;
    this.peer = `${remote.hostname}:${remote.port}`;
    this.localHost = conn.localAddr.hostname;
    this.localPort = conn.localAddr.port;
    conn.setNoDelay(true);
  }

  /** Reads into `target`; null at end of stream (or once closed locally). */
  async read(target: Uint8Array): Promise<number | null> {
    if (this.#closed) return null;
    let n: number | null;
    try {
      n = await this.#conn.read(target);
    } catch (error) {
      if (
        this.#closed || error instanceof Deno.errors.BadResource ||
        error instanceof Deno.errors.ConnectionReset
      ) return null;
      throw error;
    }
    crossings.add("socket_read", 1, n ?? 0);
    return n;
  }

  /**
   * Writes all of `source` (one counted socket write per underlying write call). Returns how
   * many write calls it took.
   */
  async write(source: Uint8Array): Promise<number> {
    let offset = 0;
    let calls = 0;
    while (offset < source.length) {
      const n = await this.#conn.write(source.subarray(offset));
      crossings.add("socket_write", 1, n);
      offset += n;
      calls++;
    }
    return calls;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer: nothing left to release.
    }
    crossings.add("runtime_op", 1);
  }
}

/** The listening socket. */
export class TcpListener {
  readonly #listener: Deno.TcpListener;
  readonly hostname: string;
  readonly port: number;

  constructor(hostname: string, port: number) {
    this.#listener = Deno.listen({ hostname, port, transport: "tcp" });
    crossings.add("runtime_op", 1);
    const addr = this.#listener.addr;
    this.hostname = addr.hostname;
    this.port = addr.port;
  }

  /** The next connection, or null once the listener is closed. */
  async accept(): Promise<TcpConnection | null> {
    try {
      const conn = await this.#listener.accept();
      crossings.add("runtime_op", 1);
      return new TcpConnection(conn);
    } catch (error) {
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        return null;
      }
      throw error;
    }
  }

  close(): void {
    try {
      this.#listener.close();
    } catch {
      // Closed already.
    }
  }
}
