/**
 * The NIC stand-in: a TCP listener bound once at boot, and its connections. Every accept, read
 * and write is a runtime op into Deno and is counted here (socket_read / socket_write carry the
 * bytes moved).
 */
import { crossings } from "./crossings.ts";
import type { NetConnection, NetListener, NetStats } from "./net.ts";

/** Counters shared by a listener and its connections. */
interface TcpCounters {
  accepted: number;
  receives: number;
  sends: number;
  bytesReceived: number;
  bytesSent: number;
}

/** One accepted connection. */
export class TcpConnection implements NetConnection {
  readonly #conn: Deno.TcpConn;
  /** `host:port` of the peer, for logs. */
  readonly peer: string;
  /** The server end's address and port (inet_server_addr / inet_server_port). */
  readonly localHost: string;
  readonly localPort: number;
  #closed = false;
  readonly socketCallsPerRead = 1;
  readonly copiesOnWrite = false;

  readonly #counters: TcpCounters | undefined;

  constructor(conn: Deno.TcpConn, counters?: TcpCounters) {
    this.#conn = conn;
    this.#counters = counters;
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
    if (this.#counters !== undefined && n !== null) {
      this.#counters.receives++;
      this.#counters.bytesReceived += n;
    }
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
      if (this.#counters !== undefined) {
        this.#counters.sends++;
        this.#counters.bytesSent += n;
      }
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
export class TcpListener implements NetListener {
  readonly #listener: Deno.TcpListener;
  readonly hostname: string;
  readonly port: number;
  readonly #counters: TcpCounters = {
    accepted: 0,
    receives: 0,
    sends: 0,
    bytesReceived: 0,
    bytesSent: 0,
  };

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
      this.#counters.accepted++;
      return new TcpConnection(conn, this.#counters);
    } catch (error) {
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        return null;
      }
      throw error;
    }
  }

  stats(): NetStats {
    const c = this.#counters;
    return {
      path: "deno_tcp",
      ...c,
      socketCalls: c.accepted + c.receives + c.sends,
      submitted: 0,
      reaped: 0,
      idleWaits: 0,
    };
  }

  close(): void {
    try {
      this.#listener.close();
    } catch {
      // Closed already.
    }
  }
}
