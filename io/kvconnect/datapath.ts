/**
 * KV Connect's data path messages (protobuf package `com.deno.kv.datapath`, see DENOKV.md §8):
 * decoders for what a client sends, encoders for what a server answers. Field numbers:
 *
 * | message            | fields                                                                |
 * |--------------------|-----------------------------------------------------------------------|
 * | SnapshotRead       | 1 ranges (ReadRange: 1 start, 2 end, 3 limit, 4 reverse)              |
 * | SnapshotReadOutput | 1 ranges (ReadRangeOutput: 1 values), 2 read_disabled, 4 read_is_strongly_consistent, 8 status |
 * | KvEntry            | 1 key, 2 value, 3 encoding, 4 versionstamp (10 bytes)                 |
 * | AtomicWrite        | 1 checks (1 key, 2 versionstamp), 2 mutations, 3 enqueues             |
 * | Mutation           | 1 key, 2 value (KvValue: 1 data, 2 encoding), 3 mutation_type, 4 expire_at_ms |
 * | Enqueue            | 1 payload, 2 deadline_ms, 3 keys_if_undelivered, 4 backoff_schedule   |
 * | AtomicWriteOutput  | 1 status, 2 versionstamp, 4 failed_checks                             |
 * | Watch              | 1 keys (WatchKey: 1 key)                                              |
 * | WatchOutput        | 1 status, 2 keys (WatchKeyOutput: 1 changed, 2 entry_if_changed)      |
 */
import { ProtoWriter, readFields } from "./protobuf.ts";

/** Mutation types on the wire. */
export const MutationType = { set: 1, delete: 2, sum: 3, max: 4, min: 5, setSuffix: 9 } as const;
/** AtomicWriteOutput statuses. */
export const WriteStatus = { success: 1, checkFailure: 2 } as const;

export interface ReadRange {
  start: Uint8Array;
  end: Uint8Array;
  limit: number;
  reverse: boolean;
}

export interface WireEntry {
  key: Uint8Array;
  value: Uint8Array;
  encoding: number;
  versionstamp: Uint8Array;
}

export interface WireCheck {
  key: Uint8Array;
  versionstamp: Uint8Array;
}

export interface WireMutation {
  key: Uint8Array;
  data: Uint8Array;
  encoding: number;
  type: number;
  expireAtMs: number;
}

export interface WireEnqueue {
  payload: Uint8Array;
  deadlineMs: number;
  keysIfUndelivered: Uint8Array[];
  backoffSchedule: number[];
}

const empty = new Uint8Array(0);

export function decodeSnapshotRead(body: Uint8Array): ReadRange[] {
  return readFields(body).filter((f) => f.field === 1 && f.bytes).map((f) => {
    const range: ReadRange = { start: empty, end: empty, limit: 0, reverse: false };
    for (const g of readFields(f.bytes!)) {
      if (g.field === 1 && g.bytes) range.start = g.bytes;
      else if (g.field === 2 && g.bytes) range.end = g.bytes;
      else if (g.field === 3 && g.varint !== undefined) {
        range.limit = Number(BigInt.asIntN(32, g.varint));
      } else if (g.field === 4 && g.varint !== undefined) range.reverse = g.varint !== 0n;
    }
    return range;
  });
}

function encodeEntry(entry: WireEntry): Uint8Array {
  return new ProtoWriter().bytes(1, entry.key).bytes(2, entry.value).uint(3, entry.encoding)
    .bytes(4, entry.versionstamp).finish();
}

export function encodeSnapshotReadOutput(ranges: WireEntry[][]): Uint8Array {
  const out = new ProtoWriter();
  for (const entries of ranges) {
    const range = new ProtoWriter();
    for (const entry of entries) range.bytes(1, encodeEntry(entry));
    out.bytes(1, range.finish());
  }
  return out.uint(4, true).uint(8, 1).finish();
}

export function decodeAtomicWrite(
  body: Uint8Array,
): { checks: WireCheck[]; mutations: WireMutation[]; enqueues: WireEnqueue[] } {
  const checks: WireCheck[] = [];
  const mutations: WireMutation[] = [];
  const enqueues: WireEnqueue[] = [];
  for (const f of readFields(body)) {
    if (!f.bytes) continue;
    if (f.field === 1) {
      const check: WireCheck = { key: empty, versionstamp: empty };
      for (const g of readFields(f.bytes)) {
        if (g.field === 1 && g.bytes) check.key = g.bytes;
        else if (g.field === 2 && g.bytes) check.versionstamp = g.bytes;
      }
      checks.push(check);
    } else if (f.field === 2) {
      const m: WireMutation = { key: empty, data: empty, encoding: 0, type: 0, expireAtMs: 0 };
      for (const g of readFields(f.bytes)) {
        if (g.field === 1 && g.bytes) m.key = g.bytes;
        else if (g.field === 2 && g.bytes) {
          for (const h of readFields(g.bytes)) {
            if (h.field === 1 && h.bytes) m.data = h.bytes;
            else if (h.field === 2 && h.varint !== undefined) m.encoding = Number(h.varint);
          }
        } else if (g.field === 3 && g.varint !== undefined) m.type = Number(g.varint);
        else if (g.field === 4 && g.varint !== undefined) {
          m.expireAtMs = Number(BigInt.asIntN(64, g.varint));
        }
      }
      mutations.push(m);
    } else if (f.field === 3) {
      const e: WireEnqueue = {
        payload: empty,
        deadlineMs: 0,
        keysIfUndelivered: [],
        backoffSchedule: [],
      };
      for (const g of readFields(f.bytes)) {
        if (g.field === 1 && g.bytes) e.payload = g.bytes;
        else if (g.field === 2 && g.varint !== undefined) e.deadlineMs = Number(g.varint);
        else if (g.field === 3 && g.bytes) e.keysIfUndelivered.push(g.bytes);
        else if (g.field === 4 && g.varint !== undefined) e.backoffSchedule.push(Number(g.varint));
      }
      enqueues.push(e);
    }
  }
  return { checks, mutations, enqueues };
}

export function encodeAtomicWriteOutput(
  status: number,
  versionstamp: Uint8Array | undefined,
  failedChecks: number[] = [],
): Uint8Array {
  const out = new ProtoWriter().uint(1, status);
  if (versionstamp !== undefined) out.bytes(2, versionstamp);
  for (const index of failedChecks) out.uint(4, index); // non-packed repeated uint32
  return out.finish();
}

export function decodeWatch(body: Uint8Array): Uint8Array[] {
  return readFields(body).filter((f) => f.field === 1 && f.bytes).map((f) => {
    for (const g of readFields(f.bytes!)) if (g.field === 1 && g.bytes) return g.bytes;
    return empty;
  });
}

/** One watch frame: 4-byte little-endian length, then WatchOutput. */
export function encodeWatchFrame(
  keys: { changed: boolean; entry?: WireEntry }[],
): Uint8Array<ArrayBuffer> {
  const out = new ProtoWriter().uint(1, 1);
  for (const key of keys) {
    const k = new ProtoWriter().uint(1, key.changed);
    if (key.entry !== undefined) k.bytes(2, encodeEntry(key.entry));
    out.bytes(2, k.finish());
  }
  const message = out.finish();
  const frame = new Uint8Array(4 + message.length);
  new DataView(frame.buffer).setUint32(0, message.length, true);
  frame.set(message, 4);
  return frame;
}
