/**
 * Deno.Kv operations as task-ring tasks (TaskKind.kv): what an app Worker's {@link RingKv}
 * (kv_ring_client.ts) sends and what the kernel's KvTaskServer (kv_task_server.ts) answers.
 * Requests and answers are V8-serialised objects (keys hold bigints, Uint8Arrays and the like);
 * stored values travel in their stored encoding (kind + bytes, value_codec.ts), so a KvU64 or a
 * Uint8Array arrives as itself. A whole atomic commit — every check, mutation and enqueue — is
 * one request, so one task.
 *
 * A failed operation completes with status failed and `{sqlState, message, errorClass}`; the
 * client throws the same error class with the same message.
 */
import type { EncodedValue } from "../../dbengine/kv/value_codec.ts";

/** A mutation as sent: a set whose key ended in commitVersionstamp() has `versionstampSuffix`. */
export interface WireMutation {
  key: unknown;
  type: "set" | "delete" | "sum" | "min" | "max";
  value?: EncodedValue;
  expireIn?: number;
  versionstampSuffix?: boolean;
}

/** An enqueue as sent (the message V8-serialised, as AtomicOperation holds it). */
export interface WireEnqueue {
  payload: Uint8Array;
  delayMs: number;
  keysIfUndelivered: unknown[];
  backoffMs: number[] | null;
}

/** The options a list iterator was made with (already checked by the client, as Kv.list does). */
export interface WireListOptions {
  cursor?: string;
  reverse: boolean;
  batchSize: number;
  consistency?: unknown;
}

/** One request. `released` names list iterators the app dropped (their kernel state goes). */
export type KvRequest =
  & { released?: number[] }
  & (
    | { op: "get"; key: unknown; consistency: unknown }
    | { op: "getMany"; keys: unknown; consistency: unknown }
    | {
      op: "commit";
      checks: { key: unknown; versionstamp: unknown }[];
      mutations: WireMutation[];
      enqueues: WireEnqueue[];
    }
    | {
      op: "pull";
      id: number;
      /** Present on the first pull: the selector and options to list with. */
      create?: { selector: unknown; options: WireListOptions };
      count: number;
    }
  );

/** An entry as answered: decoded key parts, the value's stored kind and bytes, versionstamp. */
export type WireEntry = [key: unknown[], kind: number, data: Uint8Array, versionstamp: string];

/** The answer of a pull. */
export interface WirePull {
  entries: WireEntry[];
  /** The kernel's iterator is exhausted (and forgotten). */
  done: boolean;
}
