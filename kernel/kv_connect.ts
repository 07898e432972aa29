/**
 * A KV Connect server (DENOKV.md §8) on ExoDB's KV store: real Deno clients open it with
 * `Deno.openKv("http://host:port")` (DENO_KV_ACCESS_TOKEN set) and read, write and watch the
 * same data `openKv(path)` sees. HTTP/2 (Deno.serve speaks h2c with prior knowledge on plain
 * TCP, which is what the client uses).
 *
 * Endpoints: POST / (metadata exchange: bearer access token, JSON), and under the data path
 * endpoint `/kv`: snapshot_read, atomic_write, watch (protobuf bodies). The server checks
 * Deno KV's limits itself (the client does too); a refused request is a 4xx with the reason
 * as its body, which the client reports as the error message.
 */
import {
  decodeAtomicWrite,
  decodeSnapshotRead,
  decodeWatch,
  encodeAtomicWriteOutput,
  encodeSnapshotReadOutput,
  encodeWatchFrame,
  MutationType,
  type WireEntry,
  WriteStatus,
} from "../io/kvconnect/datapath.ts";
import { ProtoError } from "../io/kvconnect/protobuf.ts";
import { encodeKey } from "../dbengine/kv/key_codec.ts";
import { kvLimits } from "../dbengine/kv/limits.ts";
import type { KvMutation, KvStore, StoredEntry } from "../dbengine/kv/kv_store.ts";
import { keyString } from "../dbengine/kv/kv_store.ts";
import { openKvStore } from "../dbengine/kv/open_kv.ts";
import type { ValueKindCode } from "../dbengine/kv/value_codec.ts";

/** Options for {@link serveKvConnect}. */
export interface KvConnectOptions {
  /** Data directory; memory when omitted. */
  path?: string;
  hostname?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The token clients send (DENO_KV_ACCESS_TOKEN). */
  accessToken: string;
  /** Milliseconds between watch pings (zero-length frames). */
  watchPingMs?: number;
}

/** A running server. */
export interface KvConnectServer {
  url: string;
  port: number;
  shutdown(): Promise<void>;
}

const endpointPath = "/kv";
const protobufHeaders = { "content-type": "application/x-protobuf" };

class RequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytesOfHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function wireEntry(entry: StoredEntry): WireEntry {
  return {
    key: entry.key,
    value: entry.data,
    encoding: entry.kind,
    versionstamp: bytesOfHex(entry.versionstamp),
  };
}

function checkKey(key: Uint8Array, max: number, what: "read" | "write"): void {
  if (key.length > max) {
    throw new RequestError(400, `Key too large for ${what} (max ${max} bytes)`);
  }
}

function snapshotRead(store: KvStore, body: Uint8Array): Uint8Array {
  const ranges = decodeSnapshotRead(body);
  if (ranges.length > kvLimits.readRangesCountMax) {
    throw new RequestError(400, `Too many ranges (max ${kvLimits.readRangesCountMax})`);
  }
  let total = 0;
  for (const range of ranges) {
    total += Math.max(0, range.limit);
    checkKey(range.start, kvLimits.readKeyBytesMax, "read");
    checkKey(range.end, kvLimits.readKeyBytesMax, "read");
  }
  if (total > kvLimits.readEntriesCountMax) {
    throw new RequestError(400, `Too many entries (max ${kvLimits.readEntriesCountMax})`);
  }
  return encodeSnapshotReadOutput(
    ranges.map((r) => store.range(r.start, r.end, r.limit, r.reverse).map(wireEntry)),
  );
}

function atomicWrite(store: KvStore, body: Uint8Array): Uint8Array {
  const write = decodeAtomicWrite(body);
  if (write.checks.length > kvLimits.checksCountMax) {
    throw new RequestError(400, `Too many checks (max ${kvLimits.checksCountMax})`);
  }
  if (write.mutations.length + write.enqueues.length > kvLimits.mutationsCountMax) {
    throw new RequestError(400, `Too many mutations (max ${kvLimits.mutationsCountMax})`);
  }
  let totalBytes = 0;
  let totalKeyBytes = 0;
  const checks = write.checks.map((c) => {
    if (c.key.length === 0) throw new RequestError(400, "key cannot be empty");
    checkKey(c.key, kvLimits.writeKeyBytesMax, "write");
    totalBytes += c.key.length;
    if (c.versionstamp.length !== 0 && c.versionstamp.length !== 10) {
      throw new RequestError(400, "Invalid check");
    }
    return { key: c.key, versionstamp: c.versionstamp.length === 0 ? null : hexOf(c.versionstamp) };
  });
  const types: Record<number, KvMutation["type"]> = {
    [MutationType.set]: "set",
    [MutationType.setSuffix]: "set",
    [MutationType.delete]: "delete",
    [MutationType.sum]: "sum",
    [MutationType.max]: "max",
    [MutationType.min]: "min",
  };
  const mutations = write.mutations.map((m) => {
    const type = types[m.type];
    if (type === undefined) throw new RequestError(400, "Invalid mutation type");
    if (m.key.length === 0) throw new RequestError(400, "key cannot be empty");
    checkKey(m.key, kvLimits.writeKeyBytesMax, "write");
    const mutation: KvMutation = { key: m.key, type, expireAtMs: m.expireAtMs };
    totalBytes += m.key.length;
    if (type !== "delete") {
      if (m.encoding < 1 || m.encoding > 3) throw new RequestError(400, "Invalid value encoding");
      if (m.encoding === 2 && m.data.length !== 8) throw new RequestError(400, "Invalid u64 value");
      if (m.data.length > kvLimits.valueBytesMax) {
        throw new RequestError(400, `Value too large (max ${kvLimits.valueBytesMax} bytes)`);
      }
      mutation.value = { kind: m.encoding as ValueKindCode, data: m.data.slice() };
      totalBytes += m.key.length + m.data.length;
      totalKeyBytes += m.key.length;
    }
    if (m.type === MutationType.setSuffix) {
      const prefix = m.key.slice();
      mutation.versionstampSuffix = (vs) => {
        const part = encodeKey([vs]);
        const out = new Uint8Array(prefix.length + part.length);
        out.set(prefix);
        out.set(part, prefix.length);
        return out;
      };
    }
    return mutation;
  });
  const enqueues = write.enqueues.map((e) => {
    if (e.payload.length > kvLimits.enqueuePayloadBytesMax) {
      throw new RequestError(
        400,
        `enqueue payload too large (max ${kvLimits.enqueuePayloadBytesMax} bytes)`,
      );
    }
    totalBytes += e.payload.length + 4 * e.backoffSchedule.length;
    return {
      payload: e.payload.slice(),
      readyAtMs: e.deadlineMs,
      keysIfUndelivered: e.keysIfUndelivered.map((k) => k.slice()),
      backoffMs: e.backoffSchedule,
    };
  });
  if (totalBytes > kvLimits.totalMutationBytesMax) {
    throw new RequestError(
      400,
      `Total mutation size too large (max ${kvLimits.totalMutationBytesMax} bytes)`,
    );
  }
  if (totalKeyBytes > kvLimits.totalKeyBytesMax) {
    throw new RequestError(
      400,
      `Total key size too large (max ${kvLimits.totalKeyBytesMax} bytes)`,
    );
  }
  let versionstamp: string | null;
  try {
    versionstamp = store.commit(checks, mutations, enqueues);
  } catch (error) {
    throw new RequestError(400, error instanceof Error ? error.message : String(error));
  }
  if (versionstamp === null) return encodeAtomicWriteOutput(WriteStatus.checkFailure, undefined);
  return encodeAtomicWriteOutput(WriteStatus.success, bytesOfHex(versionstamp));
}

/** Starts a KV Connect server; resolves once it listens. */
export async function serveKvConnect(options: KvConnectOptions): Promise<KvConnectServer> {
  const { store, release } = await openKvStore(options.path);
  const dataToken = crypto.randomUUID();
  const databaseId = crypto.randomUUID();
  const watches = new Set<() => void>();
  const pingMs = options.watchPingMs ?? 5000;

  const watch = (body: Uint8Array): Response => {
    const keys = decodeWatch(body);
    if (keys.length > kvLimits.watchKeysCountMax) {
      throw new RequestError(400, `Too many keys (max ${kvLimits.watchKeysCountMax})`);
    }
    for (const key of keys) checkKey(key, kvLimits.readKeyBytesMax, "read");
    const names = new Set(keys.map(keyString));
    let stop = () => {};
    const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
      start(controller) {
        const send = async () => {
          const entries = keys.map((key) => store.get(key));
          await store.settled();
          // A frame for every commit that touched a watched key (the client filters by
          // versionstamp unless the watch is raw, as Deno's local watch does).
          try {
            // Every frame carries every key's state: the 2.9.6 client shows an unchanged key
            // as missing when its entry is left out.
            controller.enqueue(encodeWatchFrame(entries.map((entry) => ({
              changed: true,
              ...(entry !== undefined ? { entry: wireEntry(entry) } : {}),
            }))));
          } catch {
            stop(); // the client went away
          }
        };
        const unsubscribe = store.onCommit((written) => {
          for (const name of written) {
            if (names.has(name)) {
              void send();
              return;
            }
          }
        });
        const ping = setInterval(() => {
          try {
            controller.enqueue(new Uint8Array(4)); // a zero-length frame
          } catch {
            stop();
          }
        }, pingMs);
        stop = () => {
          unsubscribe();
          clearInterval(ping);
          watches.delete(stop);
          try {
            controller.close();
          } catch { /* already closed */ }
        };
        watches.add(stop);
        void send();
      },
      cancel() {
        stop();
      },
    });
    return new Response(stream, { headers: { "content-type": "application/octet-stream" } });
  };

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const auth = request.headers.get("authorization");
    if (request.method !== "POST") return new Response("Method not allowed", { status: 405 });
    if (url.pathname === "/") {
      if (auth !== `Bearer ${options.accessToken}`) {
        return new Response("Unauthorized: invalid access token", { status: 401 });
      }
      const offered = await request.json().catch(() => ({})) as { supportedVersions?: number[] };
      const version = [3, 2, 1].find((v) => offered.supportedVersions?.includes(v));
      if (version === undefined) {
        return new Response("No supported protocol version", { status: 400 });
      }
      return Response.json({
        version,
        databaseId,
        endpoints: [{ url: endpointPath, consistency: "strong" }],
        token: dataToken,
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      });
    }
    if (auth !== `Bearer ${dataToken}`) {
      return new Response("Unauthorized: invalid data path token", { status: 401 });
    }
    const body = new Uint8Array(await request.arrayBuffer());
    try {
      switch (url.pathname) {
        case `${endpointPath}/snapshot_read`: {
          const output = snapshotRead(store, body);
          await store.settled();
          return new Response(output as Uint8Array<ArrayBuffer>, { headers: protobufHeaders });
        }
        case `${endpointPath}/atomic_write`: {
          const output = atomicWrite(store, body);
          await store.settled();
          return new Response(output as Uint8Array<ArrayBuffer>, { headers: protobufHeaders });
        }
        case `${endpointPath}/watch`:
          return watch(body);
        default:
          return new Response("Not found", { status: 404 });
      }
    } catch (error) {
      if (error instanceof RequestError) {
        return new Response(error.message, { status: error.status });
      }
      if (error instanceof ProtoError) {
        return new Response(`Malformed request: ${error.message}`, { status: 400 });
      }
      return new Response(`Internal error: ${error}`, { status: 500 });
    }
  };

  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen() {},
  }, handle);
  const { hostname, port } = server.addr;
  return {
    url: `http://${hostname}:${port}`,
    port,
    async shutdown() {
      for (const stop of [...watches]) stop();
      await server.shutdown();
      await release();
    },
  };
}
