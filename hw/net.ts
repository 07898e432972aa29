/**
 * What the kernel needs from a NIC: a listener that accepts connections and connections that
 * read and write bytes. Two implementations: net_tcp.ts (Deno's TCP, a runtime op per call, the
 * conventional path) and net_uring.ts (io_uring rings shared with the OS, batched).
 */

/** One accepted connection. */
export interface NetConnection {
  /** `host:port` of the peer, for logs. */
  readonly peer: string;
  /** The server end's address and port (inet_server_addr / inet_server_port). */
  readonly localHost: string;
  readonly localPort: number;
  /** Socket calls (crossings) each completed read took: 1 for a runtime op, 0 off a ring. */
  readonly socketCallsPerRead: number;
  /**
   * `write` has copied `source` by the time it returns its promise, so the caller may reuse
   * the buffer at once (the ring NIC stages bytes itself); false where the runtime reads the
   * caller's buffer until the promise settles (Deno's TCP).
   */
  readonly copiesOnWrite: boolean;
  /** Reads into `target`; null at end of stream (or once closed locally). */
  read(target: Uint8Array): Promise<number | null>;
  /**
   * Writes all of `source`, in order after earlier writes; returns the socket calls it took on
   * the calling thread (0 when a ring carries it). A failure may surface on a later call.
   */
  write(source: Uint8Array): Promise<number>;
  /** Closes after the bytes already written are sent; reads then return null. */
  close(): void;
}

/** What a NIC has done since boot (exodb_stat_nic). */
export interface NetStats {
  /** "io_uring" or "deno_tcp". */
  path: string;
  accepted: number;
  receives: number;
  sends: number;
  bytesReceived: number;
  bytesSent: number;
  /** Crossings the kernel thread made for socket I/O: runtime ops, or io_uring_enter calls. */
  socketCalls: number;
  /** Ring entries submitted and completions reaped (0 off a ring). */
  submitted: number;
  reaped: number;
  /** Waits for a completion on the blocking pool while the kernel was idle (0 off a ring). */
  idleWaits: number;
}

/** The listening socket. */
export interface NetListener {
  readonly hostname: string;
  readonly port: number;
  stats(): NetStats;
  /** The next connection, or null once the listener is closed. */
  accept(): Promise<NetConnection | null>;
  close(): void;
}
