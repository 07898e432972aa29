/**
 * A fault-injecting wrapper around any raw device, for tests (SQLite's crash VFS, TigerBeetle's
 * simulated storage). Two mechanisms:
 *
 * 1. Power loss. Writes since the last successful `flush()` are held in a pending list (reads see
 *    them). `crash()` applies each pending write to the medium as kept (3/8), dropped (3/8) or
 *    garbled (1/4, random bytes in its 512-byte sectors), then the device refuses all calls.
 * 2. Scheduled faults. A rule fires on the Nth call of an operation (or every call from the Nth
 *    on when `persistent`): fail with EIO or ENOSPC, or, for writes, report success but drop,
 *    tear (only the first k×512 bytes land), garble, or misdirect the write.
 *
 * Everything draws from a seeded {@link Rng}, so a failing run replays from its seed.
 */
import { assert } from "../lib/assert.ts";
import { DeviceError } from "../lib/errors.ts";
import { Rng } from "../lib/rng.ts";
import { eachBuffer, type RawDevice } from "./raw_device.ts";

/** The sector size of the simulated medium: the unit of tearing and garbling. */
export const sectorSizeBytes = 512;

/** Which device call a fault rule watches. */
export type FaultOperation = "read" | "write" | "flush" | "allocate";

/** What a fault rule does when it fires. */
export type FaultAction = "eio" | "enospc" | "drop" | "tear" | "garble" | "misdirect";

/** One scheduled fault. */
export interface FaultRule {
  operation: FaultOperation;
  /** 1-based number of the call, counted from when the rule is injected, that fires it. */
  nth: number;
  action: FaultAction;
  /** Keep firing on every later call too. */
  persistent?: boolean;
  /** For `misdirect`: how far from the intended offset the write lands (default: its length). */
  misdirectBytes?: number;
  /** For `tear`: how many sectors land (default: drawn from 1..sectors-1). */
  tearSectors?: number;
}

/** What happened to each pending write at a crash. */
export interface CrashReport {
  kept: number;
  dropped: number;
  garbled: number;
}

interface PendingWrite {
  offsetBytes: number;
  bytes: Uint8Array;
}

export class FaultyDevice implements RawDevice {
  readonly name: string;
  readonly #inner: RawDevice;
  readonly #rng: Rng;
  readonly #rules: FaultRule[] = [];
  readonly #calls: Record<FaultOperation, number> = { read: 0, write: 0, flush: 0, allocate: 0 };
  #pending: PendingWrite[] = [];
  #crashed = false;
  /** How many faults fired, by action. */
  readonly fired: Record<FaultAction, number> = {
    eio: 0,
    enospc: 0,
    drop: 0,
    tear: 0,
    garble: 0,
    misdirect: 0,
  };

  /** How long `flushAsync` takes, in milliseconds (a real disk's sync latency). */
  syncDelayMs = 0;

  constructor(inner: RawDevice, seed: number) {
    this.#inner = inner;
    this.#rng = new Rng(seed);
    this.name = inner.name;
  }

  /** Schedules a fault on the `nth` call of its operation from now on. */
  inject(rule: FaultRule): void {
    assert(rule.nth >= 1, "fault rules count calls from 1");
    this.#rules.push({ ...rule, nth: rule.nth + this.#calls[rule.operation] });
  }

  /** Removes every scheduled fault (pending writes stay pending). */
  clearFaults(): void {
    this.#rules.length = 0;
  }

  /** Writes not yet made durable by a flush. */
  pendingWriteCount(): number {
    return this.#pending.length;
  }

  /** Simulates power loss: each pending write is kept, dropped or garbled; the device dies. */
  crash(): CrashReport {
    assert(!this.#crashed, "crash twice");
    const report: CrashReport = { kept: 0, dropped: 0, garbled: 0 };
    for (const pending of this.#pending) {
      const draw = this.#rng.nextInt(8);
      if (draw < 3) {
        this.#inner.write(pending.bytes, pending.offsetBytes);
        report.kept++;
      } else if (draw < 6) {
        report.dropped++;
      } else {
        this.#inner.write(this.#garbled(pending.bytes), pending.offsetBytes);
        report.garbled++;
      }
    }
    this.#pending = [];
    this.#crashed = true;
    return report;
  }

  sizeBytes(): number {
    this.#checkAlive();
    return this.#inner.sizeBytes();
  }

  read(target: Uint8Array, offsetBytes: number): void {
    this.#checkAlive();
    this.#fire("read");
    this.#inner.read(target, offsetBytes);
    this.#overlayPending(target, offsetBytes);
  }

  write(source: Uint8Array, offsetBytes: number): void {
    this.#checkAlive();
    const rule = this.#fire("write");
    if (offsetBytes < 0 || offsetBytes + source.length > this.#inner.sizeBytes()) {
      throw new DeviceError("EIO", `Cannot write past the end of ${this.name}`);
    }
    let bytes: Uint8Array = source.slice();
    let offset = offsetBytes;
    switch (rule?.action) {
      case "drop":
        return;
      case "tear": {
        const sectors = Math.ceil(source.length / sectorSizeBytes);
        const landed = rule.tearSectors ?? 1 + this.#rng.nextInt(Math.max(1, sectors - 1));
        bytes = bytes.subarray(0, Math.min(landed * sectorSizeBytes, bytes.length));
        break;
      }
      case "garble":
        bytes = this.#garbled(bytes);
        break;
      case "misdirect": {
        const shifted = offsetBytes + (rule.misdirectBytes ?? source.length);
        offset = shifted + bytes.length <= this.#inner.sizeBytes() ? shifted : 0;
        break;
      }
      case undefined:
        break;
      default:
        assert(false, `write fault ${rule?.action} handled in #fire`);
    }
    this.#pending.push({ offsetBytes: offset, bytes });
  }

  readBatch(targets: readonly Uint8Array[], offsetBytes: number): void {
    eachBuffer(targets, offsetBytes, (target, offset) => this.read(target, offset));
  }

  writeBatch(sources: readonly Uint8Array[], offsetBytes: number): void {
    eachBuffer(sources, offsetBytes, (source, offset) => this.write(source, offset));
  }

  flush(): void {
    this.#checkAlive();
    this.#fire("flush");
    for (const pending of this.#pending) this.#inner.write(pending.bytes, pending.offsetBytes);
    this.#pending = [];
    this.#inner.flush();
  }

  /**
   * Like `flush`, but settles later, as a real background sync does: the writes issued before
   * the call become durable when it resolves, after `syncDelayMs`.
   */
  async flushAsync(): Promise<void> {
    const covered = this.#pending.length;
    if (this.syncDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.syncDelayMs));
    else await Promise.resolve();
    this.#checkAlive();
    this.#fire("flush");
    // Only what was written before the sync began is made durable by it.
    for (const pending of this.#pending.splice(0, covered)) {
      this.#inner.write(pending.bytes, pending.offsetBytes);
    }
    this.#inner.flush();
  }

  allocate(sizeBytes: number): void {
    this.#checkAlive();
    this.#fire("allocate");
    this.#inner.allocate(sizeBytes);
  }

  close(): void {
    // Closing is not a flush: pending writes stay pending until a crash or a later flush.
    if (this.#crashed) return;
  }

  /** Counts the call and returns the write rule that fires, throwing for error rules. */
  #fire(operation: FaultOperation): FaultRule | undefined {
    const call = ++this.#calls[operation];
    const rule = this.#rules.find((r) =>
      r.operation === operation && (r.persistent ? call >= r.nth : call === r.nth)
    );
    if (rule === undefined) return undefined;
    this.fired[rule.action]++;
    if (rule.action === "eio" || rule.action === "enospc") {
      const code = rule.action === "eio" ? "EIO" : "ENOSPC";
      // A failed flush loses the pending writes' fate: like Linux after fsyncgate, the device
      // may drop them and still report later flushes clean, so callers must not trust a retry.
      if (operation === "flush") this.#pending = [];
      throw new DeviceError(code, `Injected ${code} on ${operation} #${call} of ${this.name}`);
    }
    assert(operation === "write", `write-only fault ${rule.action} on ${operation}`);
    return rule;
  }

  #overlayPending(target: Uint8Array, offsetBytes: number): void {
    const end = offsetBytes + target.length;
    for (const pending of this.#pending) {
      const from = Math.max(offsetBytes, pending.offsetBytes);
      const to = Math.min(end, pending.offsetBytes + pending.bytes.length);
      if (from >= to) continue;
      target.set(
        pending.bytes.subarray(from - pending.offsetBytes, to - pending.offsetBytes),
        from - offsetBytes,
      );
    }
  }

  #garbled(bytes: Uint8Array): Uint8Array {
    const out = bytes.slice();
    this.#rng.fill(out);
    return out;
  }

  #checkAlive(): void {
    if (this.#crashed) throw new DeviceError("EIO", `Device ${this.name} is down after a crash`);
  }
}
