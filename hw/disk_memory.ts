/**
 * A memory-backed raw device for tests and simulation: plain JS calls, no crossings. Its bytes
 * survive `close()` so a test can "reboot" on the same memory through {@link MemoryDevice.reopen}.
 */
import { assert } from "../lib/assert.ts";
import { DeviceError } from "../lib/errors.ts";
import { eachBuffer, type RawDevice } from "./raw_device.ts";

export class MemoryDevice implements RawDevice {
  readonly name: string;
  #bytes: Uint8Array;
  #sizeBytes: number;
  #closed = false;

  constructor(label: string, sizeBytes = 0, bytes?: Uint8Array) {
    this.name = `memory:${label}`;
    this.#bytes = bytes ?? new Uint8Array(Math.max(sizeBytes, 4096));
    this.#sizeBytes = sizeBytes;
  }

  /** A new device over the same bytes, as after a reboot (every write so far kept). */
  reopen(): MemoryDevice {
    return new MemoryDevice(this.name.slice("memory:".length), this.#sizeBytes, this.#bytes);
  }

  /** The live bytes, for tests that damage the medium directly. */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#sizeBytes);
  }

  /** Cuts the device to `sizeBytes` (a truncated image). */
  truncate(sizeBytes: number): void {
    assert(sizeBytes <= this.#sizeBytes, "truncate only shrinks");
    this.#bytes.fill(0, sizeBytes, this.#sizeBytes);
    this.#sizeBytes = sizeBytes;
  }

  sizeBytes(): number {
    return this.#sizeBytes;
  }

  read(target: Uint8Array, offsetBytes: number): void {
    this.#check(offsetBytes, target.length, "read");
    target.set(this.#bytes.subarray(offsetBytes, offsetBytes + target.length));
  }

  write(source: Uint8Array, offsetBytes: number): void {
    this.#check(offsetBytes, source.length, "write");
    this.#bytes.set(source, offsetBytes);
  }

  readBatch(targets: readonly Uint8Array[], offsetBytes: number): void {
    eachBuffer(targets, offsetBytes, (target, offset) => this.read(target, offset));
  }

  writeBatch(sources: readonly Uint8Array[], offsetBytes: number): void {
    eachBuffer(sources, offsetBytes, (source, offset) => this.write(source, offset));
  }

  flush(): void {
    assert(!this.#closed, "flush after close");
  }

  flushAsync(): Promise<void> {
    this.flush();
    return Promise.resolve();
  }

  allocate(sizeBytes: number): void {
    assert(!this.#closed, "allocate after close");
    if (sizeBytes <= this.#sizeBytes) return;
    if (sizeBytes > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(sizeBytes, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, this.#sizeBytes));
      this.#bytes = grown;
    }
    this.#sizeBytes = sizeBytes;
  }

  close(): void {
    this.#closed = true;
  }

  #check(offsetBytes: number, lengthBytes: number, what: string): void {
    assert(!this.#closed, `${what} after close`);
    if (offsetBytes < 0 || offsetBytes + lengthBytes > this.#sizeBytes) {
      throw new DeviceError(
        "EIO",
        `Cannot ${what} ${lengthBytes} bytes at offset ${offsetBytes} of ${this.name}: past its end (${this.#sizeBytes} bytes)`,
      );
    }
  }
}
