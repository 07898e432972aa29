/**
 * The io_uring NIC (hw/net_uring.ts) against Deno's own TCP clients: many connections at once,
 * writes larger than every buffer on the way (short sends, staging, back-pressure), close after
 * write, the peer going away, shutting the NIC down under pending reads and accepts, and the
 * host-driven cork (submissions wait for the host's tick or idle point).
 */
import assert from "node:assert/strict";
import { type NicHost, UringNic } from "../../hw/net_uring.ts";
import { Uring } from "../../hw/uring.ts";

const probe = Deno.build.os === "linux" ? Uring.open(8) : undefined;
probe?.close();
const ignore = probe === undefined;
if (ignore) console.log("net_uring tests skipped: io_uring is unavailable here (Linux with FFI)");

async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = await conn.read(out.subarray(at));
    if (n === null) throw new Error(`EOF after ${at} of ${length} bytes`);
    at += n;
  }
  return out;
}

/** Serves every accepted connection with `serve` until the NIC closes. */
function serveAll(
  nic: UringNic,
  serve: (connection: Awaited<ReturnType<UringNic["accept"]>> & object) => Promise<void>,
): Promise<void> {
  return (async () => {
    const sessions: Promise<void>[] = [];
    for (;;) {
      const connection = await nic.accept();
      if (connection === null) break;
      sessions.push(serve(connection).finally(() => connection.close()));
    }
    await Promise.allSettled(sessions);
  })();
}

Deno.test({
  name: "net_uring: 24 clients echo 50 messages each, in order, byte for byte",
  ignore,
  async fn() {
    const nic = UringNic.listen("127.0.0.1", 0, 64)!;
    const served = serveAll(nic, async (connection) => {
      const buffer = new Uint8Array(4096);
      for (;;) {
        const n = await connection.read(buffer);
        if (n === null) return;
        await connection.write(buffer.subarray(0, n));
      }
    });
    await Promise.all(Array.from({ length: 24 }, async (_, client) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: nic.port });
      for (let i = 0; i < 50; i++) {
        const message = new TextEncoder().encode(
          `client ${client} message ${i} `.repeat(1 + i % 7),
        );
        await conn.write(message);
        assert.deepEqual(await readExactly(conn, message.length), message);
      }
      conn.close();
    }));
    // The last sends' completions may be reaped after the clients already read their bytes.
    for (let i = 0; i < 100 && nic.stats().bytesSent < nic.stats().bytesReceived; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const stats = nic.stats();
    assert.equal(stats.path, "io_uring");
    assert.equal(stats.accepted, 24);
    assert.ok(stats.sends >= 24 * 50 && stats.receives >= 24 * 50);
    assert.equal(stats.bytesSent, stats.bytesReceived, "every byte received was echoed");
    assert.ok(stats.socketCalls < stats.submitted, "enters carry more than one entry each");
    nic.close();
    await served;
  },
});

Deno.test({
  name:
    "net_uring: a 6 MiB answer arrives whole and in order (short sends, staging, back-pressure)",
  ignore,
  async fn() {
    const nic = UringNic.listen("127.0.0.1", 0, 4)!;
    const total = 6 << 20;
    const chunk = 100_003; // not a divisor of anything on the way
    const byteAt = (i: number) => (i * 7 + (i >>> 11)) & 0xff;
    const served = serveAll(nic, async (connection) => {
      for (let at = 0; at < total; at += chunk) {
        const piece = new Uint8Array(Math.min(chunk, total - at));
        for (let i = 0; i < piece.length; i++) piece[i] = byteAt(at + i);
        await connection.write(piece); // the caller's buffer is free at once (invariant 3)
        piece.fill(0);
      }
    });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: nic.port });
    // Let the server run far ahead of the reader first: its writes must wait, not grow forever.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const received = await readExactly(conn, total);
    for (let i = 0; i < total; i += 4099) assert.equal(received[i], byteAt(i), `byte ${i}`);
    assert.equal(await conn.read(new Uint8Array(1)), null, "closed after the last byte");
    conn.close();
    nic.close();
    await served;
  },
});

Deno.test({
  name:
    "net_uring: close after write delivers the bytes; a peer that left ends reads and fails writes",
  ignore,
  async fn() {
    const nic = UringNic.listen("127.0.0.1", 0, 4)!;
    const outcomes: string[] = [];
    let phase = 0;
    const served = serveAll(nic, async (connection) => {
      if (phase++ === 0) {
        await connection.write(new TextEncoder().encode("goodbye"));
        return; // serveAll closes at once, with the send possibly still in flight
      }
      const buffer = new Uint8Array(64);
      outcomes.push(`read ${await connection.read(buffer)}`);
      // The peer is gone: some write soon reports it (the first may still be accepted).
      for (let i = 0; i < 50; i++) {
        try {
          await connection.write(new Uint8Array(1024));
          await new Promise((resolve) => setTimeout(resolve, 5));
        } catch (error) {
          outcomes.push(`write failed: ${(error as Error).name}`);
          return;
        }
      }
      outcomes.push("writes never failed");
    });
    const first = await Deno.connect({ hostname: "127.0.0.1", port: nic.port });
    assert.equal(new TextDecoder().decode(await readExactly(first, 7)), "goodbye");
    assert.equal(await first.read(new Uint8Array(8)), null);
    first.close();
    const second = await Deno.connect({ hostname: "127.0.0.1", port: nic.port });
    second.close();
    for (let i = 0; i < 100 && outcomes.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(outcomes[0], "read null");
    assert.match(outcomes[1] ?? "", /^write failed: (BrokenPipe|Error)$/);
    nic.close();
    await served;
  },
});

Deno.test({
  name: "net_uring: closing the NIC ends pending accepts and reads and frees the port",
  ignore,
  async fn() {
    const nic = UringNic.listen("127.0.0.1", 0, 4)!;
    const port = nic.port;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const connection = (await nic.accept())!;
    const pendingRead = connection.read(new Uint8Array(16));
    const pendingAccept = nic.accept();
    await new Promise((resolve) => setTimeout(resolve, 20));
    nic.close();
    assert.equal(await pendingRead, null);
    assert.equal(await pendingAccept, null);
    assert.equal(await nic.accept(), null);
    assert.equal(await conn.read(new Uint8Array(1)), null, "the client sees the close");
    conn.close();
    const again = UringNic.listen("127.0.0.1", port, 4)!;
    assert.equal(again.port, port);
    assert.throws(() => UringNic.listen("127.0.0.1", port, 4), Deno.errors.AddrInUse);
    again.close();
    assert.equal(UringNic.listen("localhost", 0, 4), undefined, "names go to Deno's TCP");
    assert.equal(UringNic.listen("::1", 0, 4), undefined, "so does IPv6");
  },
});

Deno.test({
  name:
    "net_uring: with a busy host, SQEs wait for its tick (cork) or idle point, then go together",
  ignore,
  async fn() {
    const nic = UringNic.listen("127.0.0.1", 0, 8)!;
    let busy = false;
    let now = 0;
    const host: NicHost = { busy: () => busy, nowMs: () => now };
    nic.host = host;
    nic.corkMs = 0.1;
    const clients = await Promise.all(
      Array.from({ length: 3 }, () => Deno.connect({ hostname: "127.0.0.1", port: nic.port })),
    );
    const connections = await Promise.all(clients.map(() => nic.accept()));
    busy = true;
    const before = nic.stats().socketCalls;
    for (const connection of connections) {
      void connection!.write(new TextEncoder().encode("hi"));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(nic.stats().socketCalls, before, "nothing submitted while the host is busy");
    nic.tick(); // younger than corkMs: still waiting
    assert.equal(nic.stats().socketCalls, before);
    now += 0.2;
    nic.tick();
    assert.equal(nic.stats().socketCalls, before + 1, "three sends, one enter");
    for (const client of clients) {
      assert.equal(new TextDecoder().decode(await readExactly(client, 2)), "hi");
    }
    nic.tick(); // the host's next tick reaps the sends' completions
    const afterTick = nic.stats().socketCalls;
    void connections[0]!.write(new TextEncoder().encode("idle"));
    assert.equal(nic.stats().socketCalls, afterTick, "still busy: the send waits");
    busy = false;
    nic.idle();
    assert.equal(nic.stats().socketCalls, afterTick + 1, "the idle point submits at once");
    assert.equal(new TextDecoder().decode(await readExactly(clients[0]!, 4)), "idle");
    for (const client of clients) client.close();
    nic.close();
  },
});
