/**
 * The NIC over io_uring (uring.ts): the listening socket is made once at boot with libc calls,
 * then every accept, receive and send is an SQE in the ring shared with the OS. Submissions of
 * all connections made in one turn of the kernel cross together in one `io_uring_enter`;
 * completions are read from shared memory at every scheduler tick (`poll`), so while clients
 * keep the kernel busy a statement's receive and send cost no crossing of their own. When the
 * kernel has nothing to do it waits for the next completion on Deno's blocking pool.
 *
 * Connections are numbered by slot; a CQE's user data is `slot * 4 + kind`. Invariants:
 * 1. A slot's descriptor is closed, and the slot reused, only once none of its operations is in
 *    flight, so no CQE can name a reused slot.
 * 2. At most one receive and one send per connection are in flight; sends go out in write
 *    order (a short send resubmits its remainder before anything written later).
 * 3. Bytes given to `write` are copied once into the connection's staging buffer, whose
 *    address is fixed while a send from it is in flight (the caller's buffer is free at once).
 * 4. A receive's target buffer is referenced by the connection until its CQE is reaped.
 */
import { setImmediate } from "node:timers";
import { crossings } from "./crossings.ts";
import { bufferAddress, lastErrno, libcWith } from "./libc.ts";
import type { NetConnection, NetListener, NetStats } from "./net.ts";
import { Uring, UringOp } from "./uring.ts";

const socketSymbols = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type SocketSymbols = Deno.DynamicLibrary<typeof socketSymbols>["symbols"];

const afInet = 2;
const sockStream = 1;
const sockCloexec = 0o2000000;
const solSocket = 1;
const soReuseAddr = 2;
const ipprotoTcp = 6;
const tcpNoDelay = 1;
const shutRdWr = 2;
const msgNoSignal = 0x4000;
const acceptMultishot = 1;
const cqeFlagMore = 2;
const errnoCanceled = 125;
const errnoConnReset = 104;
const errnoPipe = 32;
const errnoInvalid = 22;

const kindRecv = 0;
const kindSend = 1;
const kindAccept = 2;
const kindWake = 3;
/** User data of the listener's accept (no connection slot; kind 2). */
const acceptUserData = 0xfffffffe;

/** A write waits for the peer once this much is staged and not yet sent. */
const stagedHighWaterBytes = 1 << 20;

/** The int 1, for setsockopt's boolean options. */
const optionOn = new Uint8Array(new Int32Array([1]).buffer);

/** One libc socket call, counted. */
function counted(result: number): number {
  crossings.add("ffi_call", 1);
  crossings.add("syscall", 1);
  return result;
}

/** An IPv4 sockaddr_in for a dotted quad, or undefined for anything else. */
function sockaddrIn(hostname: string, port: number): Uint8Array | undefined {
  const parts = hostname.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return undefined;
  }
  const address = new Uint8Array(16);
  const view = new DataView(address.buffer);
  view.setUint16(0, afInet, true);
  view.setUint16(2, port, false); // network order
  parts.forEach((p, i) => (address[4 + i] = Number(p)));
  return address;
}

function readSockaddr(address: Uint8Array): { hostname: string; port: number } {
  const view = new DataView(address.buffer);
  return {
    hostname: `${address[4]}.${address[5]}.${address[6]}.${address[7]}`,
    port: view.getUint16(2, false),
  };
}

/** What the NIC asks of the kernel that drives it (kernel/scheduler.ts). */
export interface NicHost {
  /** Work is running or queued: the host will call `tick` or `idle` soon. */
  busy(): boolean;
  /** A monotonic clock in milliseconds. */
  nowMs(): number;
}

/** A listener and its connections on one io_uring. */
export class UringNic implements NetListener {
  readonly hostname: string;
  readonly port: number;
  readonly #ring: Uring;
  readonly #sockets: SocketSymbols;
  readonly #listenFd: number;
  /** Live connections by slot (invariant 1). */
  readonly #slots: (UringConnection | undefined)[] = [];
  readonly #freeSlots: number[] = [];
  /** Accepted connections nobody has taken yet, and accept() callers waiting for one. */
  readonly #backlog: UringConnection[] = [];
  readonly #acceptWaiters: ((connection: UringConnection | null) => void)[] = [];
  #acceptArmed = false;
  #closed = false;
  #submitScheduled = false;
  #idleArmed = false;
  readonly #counters = { accepted: 0, receives: 0, sends: 0, bytesReceived: 0, bytesSent: 0 };
  /**
   * The kernel's scheduler, when it drives the NIC: while it is busy, submissions wait for its
   * next tick (at most `corkMs`) or for its idle point, so one enter carries several turns'
   * SQEs; without a host the NIC submits at the end of each turn and waits on its own.
   */
  host: NicHost | undefined;
  /** Longest a written SQE waits for company while the host is busy, in milliseconds. */
  corkMs = 0.1;
  /** When the oldest unsubmitted SQE was written while the host was busy. */
  #pendingSinceMs: number | undefined;
  readonly #submitNow = () => {
    this.#submitScheduled = false;
    this.submit();
  };

  private constructor(ring: Uring, sockets: SocketSymbols, listenFd: number, address: Uint8Array) {
    this.#ring = ring;
    ring.handlers.net = this.#complete;
    this.#sockets = sockets;
    this.#listenFd = listenFd;
    const bound = readSockaddr(address);
    this.hostname = bound.hostname;
    this.port = bound.port;
  }

  /**
   * Listens on `hostname:port` (an IPv4 address; port 0 picks one). Undefined where io_uring or
   * FFI is unavailable or the host is not an IPv4 literal: the caller uses net_tcp.ts. Throws
   * (AddrInUse and the like) when the address cannot be bound. With `shared`, the NIC becomes
   * one more owner of that ring (the log device's, see {@link ringEntries}) instead of opening
   * its own.
   */
  static listen(
    hostname: string,
    port: number,
    maxConnections: number,
    shared?: Uring,
  ): UringNic | undefined {
    const sockets = libcWith(socketSymbols);
    const address = sockaddrIn(hostname, port);
    if (sockets === undefined || address === undefined) return undefined;
    const ring = shared?.retain() ?? Uring.open(UringNic.ringEntries(maxConnections));
    if (ring === undefined) return undefined;
    const fd = counted(sockets.socket(afInet, sockStream | sockCloexec, 0));
    if (fd < 0) {
      ring.close();
      return undefined;
    }
    counted(sockets.setsockopt(fd, solSocket, soReuseAddr, optionOn, 4));
    if (counted(sockets.bind(fd, address, 16)) < 0) {
      const code = lastErrno(sockets);
      counted(sockets.close(fd));
      ring.close();
      if (code === 98) throw new Deno.errors.AddrInUse(`address ${hostname}:${port} in use`);
      if (code === 99) throw new Deno.errors.AddrNotAvailable(`cannot bind ${hostname}`);
      throw new Error(`bind ${hostname}:${port}: errno ${code}`);
    }
    if (counted(sockets.listen(fd, 511)) < 0) {
      const code = lastErrno(sockets);
      counted(sockets.close(fd));
      ring.close();
      throw new Error(`listen ${hostname}:${port}: errno ${code}`);
    }
    const length = new Uint8Array(new Uint32Array([16]).buffer);
    counted(sockets.getsockname(fd, address, length));
    return new UringNic(ring, sockets, fd, address);
  }

  /**
   * SQ slots a NIC for `maxConnections` needs: every connection's receive and send, the accept,
   * a wake NOP, and room for a shared log device's write → sync pairs (disk_uring.ts).
   */
  static ringEntries(maxConnections: number): number {
    let entries = 64;
    while (entries < 2 * maxConnections + 16) entries *= 2;
    return entries;
  }

  /** The next connection, or null once the listener is closed. */
  accept(): Promise<UringConnection | null> {
    const ready = this.#backlog.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.resolve(null);
    this.#armAccept();
    return new Promise((resolve) => this.#acceptWaiters.push(resolve));
  }

  #armAccept(): void {
    if (this.#acceptArmed || this.#closed) return;
    if (
      !this.#ring.push(
        UringOp.accept,
        this.#listenFd,
        0,
        0,
        sockCloexec,
        acceptUserData,
        acceptMultishot,
      )
    ) {
      throw new Error("io_uring submission queue full");
    }
    this.#acceptArmed = true;
    this.requestSubmit();
  }

  /** Asks for the written SQEs to be submitted: at the host's next tick or idle point, or
   * (no host, or an idle one) at the end of this turn. */
  requestSubmit(): void {
    if (this.#closed) return;
    const host = this.host;
    if (host !== undefined && host.busy()) {
      this.#pendingSinceMs ??= host.nowMs();
      return;
    }
    if (this.#submitScheduled) return;
    this.#submitScheduled = true;
    setImmediate(this.#submitNow);
  }

  /**
   * The host's tick: reaps completions, and submits what waited `corkMs` or more. Returns the
   * completions reaped.
   */
  tick(): number {
    const reaped = this.poll();
    const since = this.#pendingSinceMs;
    if (since !== undefined && this.host!.nowMs() - since >= this.corkMs) this.submit();
    return reaped;
  }

  /**
   * The host's idle point: submits everything, then looks for completions once per event-loop
   * turn for up to `idleSpinMs` (a client's next message often lands within microseconds of
   * the answer to another) before it waits for one on the blocking pool.
   */
  idle(): void {
    this.submit();
  }

  #startSpin(): void {
    this.#spinUntilMs = this.host!.nowMs() + this.idleSpinMs;
    if (!this.#spinning) {
      this.#spinning = true;
      setImmediate(this.#spin);
    }
  }

  /** How long the idle NIC looks for completions before it waits on the pool, in ms. */
  idleSpinMs = 0.05;
  #spinUntilMs = 0;
  #spinning = false;
  readonly #spin = (): void => {
    if (this.#closed || this.host!.busy()) {
      this.#spinning = false; // the host is at work again: its tick and idle take over
      return;
    }
    // What the reap settles runs before the next turn; that turn sees whether it made work.
    if (this.poll() > 0 || this.host!.nowMs() < this.#spinUntilMs) {
      setImmediate(this.#spin);
      return;
    }
    this.#spinning = false;
    this.#armIdle();
  };

  /**
   * Submits every written SQE in one enter; then, unless a busy host will come back, makes sure
   * a wait for the next completion is armed (the completions themselves are read by `poll`).
   */
  submit(): void {
    if (this.#closed) return;
    this.#pendingSinceMs = undefined;
    this.#ring.submit();
    if (this.#ring.unsubmitted() > 0) {
      this.poll(); // a full completion queue refused some: reap, then try once more
      this.#ring.submit();
    }
    if (this.host === undefined) this.#armIdle();
    else if (!this.host.busy()) this.#startSpin();
  }

  /**
   * Arms the blocking-pool wait once per idle period: it settles at the next completion, which
   * is then reaped. (Busy, completions are reaped at each poll before the wait even returns.)
   */
  #armIdle(): void {
    if (this.#idleArmed || this.#closed) return;
    this.#idleArmed = true;
    void this.#ring.waitIdle().then(() => {
      this.#idleArmed = false;
      if (this.#closed) return;
      this.poll();
      if (this.#ring.unsubmitted() > 0) this.requestSubmit();
      else if (this.#inFlight() > 0 && (this.host === undefined || !this.host.busy())) {
        this.#armIdle();
      }
    });
  }

  #inFlight(): number {
    let count = this.#acceptArmed ? 1 : 0;
    for (const connection of this.#slots) {
      if (connection !== undefined) count += connection.inFlight;
    }
    return count;
  }

  /** Reaps every posted completion and settles what it finishes; returns how many. */
  poll(): number {
    return this.#ring.reap();
  }

  readonly #complete = (userData: number, result: number, flags: number): void => {
    const kind = userData & 3;
    if (kind === kindAccept) {
      if (userData === acceptUserData) this.#accepted(result, flags);
      return;
    }
    if (kind === kindWake) return; // the NOP that ends an idle wait at close
    const connection = this.#slots[userData >>> 2];
    if (connection === undefined) return;
    if (kind === kindRecv) {
      if (result > 0) {
        this.#counters.receives++;
        this.#counters.bytesReceived += result;
      }
      connection.received(result);
    } else {
      if (result > 0) this.#counters.bytesSent += result;
      connection.sent(result);
    }
  };

  #accepted(result: number, flags: number): void {
    if ((flags & cqeFlagMore) === 0) this.#acceptArmed = false;
    if (result < 0) {
      if (this.#closed || result === -errnoCanceled || result === -errnoInvalid) return;
      // EMFILE and the like: re-arm a little later (the descriptor table may have room then).
      if (!this.#acceptArmed) setTimeout(() => this.#armAccept(), 10);
      return;
    }
    const fd = result;
    if (this.#closed) {
      counted(this.#sockets.close(fd));
      return;
    }
    counted(this.#sockets.setsockopt(fd, ipprotoTcp, tcpNoDelay, optionOn, 4));
    const address = new Uint8Array(16);
    const length = new Uint8Array(new Uint32Array([16]).buffer);
    counted(this.#sockets.getpeername(fd, address, length));
    const peer = readSockaddr(address);
    const slot = this.#freeSlots.pop() ?? this.#slots.length;
    const connection = new UringConnection(this, fd, slot, `${peer.hostname}:${peer.port}`);
    this.#slots[slot] = connection;
    this.#counters.accepted++;
    const waiter = this.#acceptWaiters.shift();
    if (waiter !== undefined) waiter(connection);
    else this.#backlog.push(connection);
    if (!this.#acceptArmed) this.#armAccept();
  }

  /** Called by a connection: queues one SQE and asks for a submission this turn. */
  queue(
    op: number,
    fd: number,
    address: number,
    length: number,
    opFlags: number,
    userData: number,
  ): void {
    if (!this.#ring.push(op, fd, address, length, opFlags, userData)) {
      // Full: the queue holds at most one receive and one send per connection plus the accept,
      // so this means submissions are waiting; submit them now and retry once.
      this.submit();
      if (!this.#ring.push(op, fd, address, length, opFlags, userData)) {
        throw new Error("io_uring submission queue full");
      }
    }
    if (op === UringOp.send) this.#counters.sends++; // counted when issued
    this.requestSubmit();
  }

  /** Called by a connection with nothing in flight: closes its descriptor, frees its slot. */
  release(connection: UringConnection, slot: number, fd: number): void {
    counted(this.#sockets.close(fd));
    if (this.#slots[slot] === connection) {
      this.#slots[slot] = undefined;
      this.#freeSlots.push(slot);
    }
  }

  /** Shuts a connection's socket down (a pending receive then completes with 0). */
  shutdownSocket(fd: number): void {
    counted(this.#sockets.shutdown(fd, shutRdWr));
  }

  stats(): NetStats {
    const ring = this.#ring.stats;
    return {
      path: "io_uring",
      ...this.#counters,
      socketCalls: ring.enters,
      submitted: ring.submitted,
      reaped: ring.reaped,
      idleWaits: ring.idleWaits,
    };
  }

  /**
   * Stops accepting and closes every connection, dropping unsent bytes; pending accept() calls
   * return null and pending reads null. Shut-down sockets complete their receives at once; what
   * is still in flight after one last reap is cancelled when the ring's descriptor closes.
   */
  close(): void {
    if (this.#closed) return;
    const connections = [...this.#slots, ...this.#backlog];
    for (const connection of connections) connection?.abort();
    this.#backlog.length = 0;
    counted(this.#sockets.shutdown(this.#listenFd, shutRdWr));
    this.poll();
    this.#closed = true;
    counted(this.#sockets.close(this.#listenFd));
    for (const connection of this.#slots) {
      if (connection !== undefined) {
        connection.dropPending();
        counted(this.#sockets.close(connection.fd));
      }
    }
    this.#slots.length = 0;
    // A shared ring outlives the NIC (the log device still flushes): later CQEs are dropped.
    if (this.#ring.handlers.net === this.#complete) delete this.#ring.handlers.net;
    this.#ring.close();
    for (const waiter of this.#acceptWaiters.splice(0)) waiter(null);
  }

  /** Whether {@link close} ran. */
  get closed(): boolean {
    return this.#closed;
  }
}

/** One accepted connection on the ring. */
export class UringConnection implements NetConnection {
  readonly peer: string;
  readonly localHost: string;
  readonly localPort: number;
  readonly socketCallsPerRead = 0;
  /** Invariant 3: bytes are copied into the staging buffer before `write` first awaits. */
  readonly copiesOnWrite = true;
  readonly fd: number;
  readonly #nic: UringNic;
  readonly #slot: number;
  /** The receive in flight; `answered` once its reader got null from a local close. */
  #reading:
    | {
      target: Uint8Array;
      resolve: (n: number | null) => void;
      reject: (e: Error) => void;
      answered: boolean;
    }
    | undefined;
  /** The buffer a send is in flight from, and how much of it is sent (invariant 3). */
  #sending = new Uint8Array(16 * 1024);
  #sendingLength = 0;
  #sendingDone = 0;
  /** Bytes written while a send was in flight: they go next. */
  #staged = new Uint8Array(16 * 1024);
  #stagedLength = 0;
  #sendInFlight = false;
  #drainWaiters: (() => void)[] = [];
  /** The first send failure (the peer is gone): later writes throw it. */
  #failure: Error | undefined;
  /** Closed locally: no new reads or writes; the descriptor goes once nothing is in flight. */
  #closing = false;
  #shut = false;
  #released = false;

  constructor(nic: UringNic, fd: number, slot: number, peer: string) {
    this.#nic = nic;
    this.fd = fd;
    this.#slot = slot;
    this.peer = peer;
    this.localHost = nic.hostname;
    this.localPort = nic.port;
  }

  /** Operations of this connection in flight in the ring (0, 1 or 2). */
  get inFlight(): number {
    return (this.#reading !== undefined ? 1 : 0) + (this.#sendInFlight ? 1 : 0);
  }

  read(target: Uint8Array): Promise<number | null> {
    if (this.#closing || this.#nic.closed) return Promise.resolve(null);
    if (this.#reading !== undefined) {
      return Promise.reject(new Error("a read is already in flight on this connection"));
    }
    return new Promise((resolve, reject) => {
      this.#reading = { target, resolve, reject, answered: false };
      this.#nic.queue(
        UringOp.recv,
        this.fd,
        bufferAddress(target),
        target.length,
        0,
        this.#slot * 4 + kindRecv,
      );
    });
  }

  /** The receive's CQE: bytes, 0 at end of stream, or -errno. */
  received(result: number): void {
    const reading = this.#reading;
    this.#reading = undefined;
    if (reading !== undefined && !reading.answered) {
      crossings.add("socket_read", 0, result > 0 ? result : 0);
      if (result > 0) reading.resolve(result);
      else if (
        result === 0 || result === -errnoConnReset || result === -errnoCanceled || this.#closing
      ) {
        reading.resolve(null);
      } else reading.reject(new Error(`recv from ${this.peer}: errno ${-result}`));
    }
    this.#settle();
  }

  async write(source: Uint8Array): Promise<number> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closing || this.#nic.closed) throw new Deno.errors.BadResource("connection closed");
    if (source.length === 0) return 0;
    if (!this.#sendInFlight) {
      if (this.#sending.length < source.length) {
        this.#sending = new Uint8Array(Math.max(source.length, this.#sending.length * 2));
      }
      this.#sending.set(source);
      crossings.add("socket_write", 0, source.length, 1);
      this.#sendingLength = source.length;
      this.#sendingDone = 0;
      this.#sendFromSending();
    } else {
      this.#growStaged(this.#stagedLength + source.length);
      this.#staged.set(source, this.#stagedLength);
      crossings.add("socket_write", 0, source.length, 1);
      this.#stagedLength += source.length;
      if (this.#stagedLength >= stagedHighWaterBytes) {
        await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
        if (this.#failure !== undefined) throw this.#failure;
      }
    }
    return 0;
  }

  /** The staging buffer grown to hold `bytes` (nothing is in flight from it). */
  #growStaged(bytes: number): void {
    if (this.#staged.length >= bytes) return;
    const grown = new Uint8Array(Math.max(bytes, this.#staged.length * 2));
    grown.set(this.#staged.subarray(0, this.#stagedLength));
    this.#staged = grown;
  }

  #sendFromSending(): void {
    this.#sendInFlight = true;
    this.#nic.queue(
      UringOp.send,
      this.fd,
      bufferAddress(this.#sending) + this.#sendingDone,
      this.#sendingLength - this.#sendingDone,
      msgNoSignal,
      this.#slot * 4 + kindSend,
    );
  }

  /** The send's CQE: bytes sent or -errno. */
  sent(result: number): void {
    this.#sendInFlight = false;
    if (result < 0) {
      this.#failure ??= result === -errnoPipe || result === -errnoConnReset
        ? new Deno.errors.BrokenPipe(`send to ${this.peer}: the peer closed`)
        : new Error(`send to ${this.peer}: errno ${-result}`);
      this.#stagedLength = 0;
    } else {
      this.#sendingDone += result;
      if (this.#sendingDone < this.#sendingLength) {
        this.#sendFromSending(); // a short send: its remainder before anything later (rule 2)
        return;
      }
      if (this.#stagedLength > 0) {
        // Swap: the staged bytes become the sending buffer (its address cached, not re-taken).
        [this.#sending, this.#staged] = [this.#staged, this.#sending];
        this.#sendingLength = this.#stagedLength;
        this.#sendingDone = 0;
        this.#stagedLength = 0;
        this.#sendFromSending();
      }
    }
    if (!this.#sendInFlight || this.#stagedLength < stagedHighWaterBytes) {
      for (const wake of this.#drainWaiters.splice(0)) wake();
    }
    this.#settle();
  }

  /** Closes once what was written is sent (or the peer is gone). */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    // The reader hears of the close at once; the target stays referenced until the CQE.
    const reading = this.#reading;
    if (reading !== undefined && !reading.answered) {
      reading.answered = true;
      reading.resolve(null);
    }
    this.#settle();
  }

  /** The NIC closed under this connection: a pending read ends, writers wake to fail. */
  dropPending(): void {
    this.#released = true;
    const reading = this.#reading;
    this.#reading = undefined;
    if (reading !== undefined && !reading.answered) reading.resolve(null);
    for (const wake of this.#drainWaiters.splice(0)) wake();
  }

  /** Closes now, dropping unsent bytes (the NIC is shutting down). */
  abort(): void {
    if (this.#released) return;
    this.#closing = true;
    this.#failure ??= new Deno.errors.BadResource("connection closed");
    this.#stagedLength = 0;
    this.#sendingDone = this.#sendingLength;
    if (!this.#shut) {
      this.#shut = true;
      this.#nic.shutdownSocket(this.fd);
    }
  }

  /** Moves a closing connection on: shut down once sends are done, release once idle. */
  #settle(): void {
    if (!this.#closing || this.#released || this.#nic.closed) return;
    const sendsDone = !this.#sendInFlight && this.#stagedLength === 0;
    if (sendsDone && !this.#shut) {
      this.#shut = true;
      this.#nic.shutdownSocket(this.fd); // wakes a pending receive with 0
    }
    if (this.inFlight === 0) {
      this.#released = true;
      this.#nic.release(this, this.#slot, this.fd);
    }
  }
}
