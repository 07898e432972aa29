import assert from "node:assert/strict";
import { crc32c, crc32cImplementation, crc32cSoftware } from "../../io/crc32c.ts";
import { Rng } from "../../lib/rng.ts";

// RFC 3720 (iSCSI) appendix B.4 test vectors, plus the common "123456789" check value.
const vectors: [string, Uint8Array, number][] = [
  ["32 zero bytes", new Uint8Array(32), 0x8a9136aa],
  ["32 0xff bytes", new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ["0..31", Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ["31..0", Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ["123456789", new TextEncoder().encode("123456789"), 0xe3069283],
  ["empty", new Uint8Array(0), 0],
];

Deno.test("crc32c matches the RFC 3720 test vectors in every implementation", () => {
  for (const [name, bytes, expected] of vectors) {
    assert.equal(crc32c(bytes), expected, `${crc32cImplementation}: ${name}`);
    assert.equal(crc32cSoftware(bytes), expected, `software: ${name}`);
  }
});

Deno.test("crc32c implementations agree on random buffers of every awkward length", () => {
  const rng = new Rng(7);
  const buffer = new Uint8Array(70_000);
  rng.fill(buffer);
  const lengths = [1, 7, 8, 9, 63, 255, 767, 768, 769, 4095, 8192, 8188, 65536, 70_000];
  for (const length of lengths) {
    for (const offset of [0, 1, 3]) {
      const slice = buffer.subarray(offset, Math.min(buffer.length, offset + length));
      assert.equal(crc32c(slice), crc32cSoftware(slice), `length ${length} offset ${offset}`);
    }
  }
});

Deno.test("crc32c continues from a seed: crc(a‖b) = crc(b, crc(a))", () => {
  const rng = new Rng(11);
  const bytes = new Uint8Array(10_000);
  rng.fill(bytes);
  for (const cut of [0, 1, 100, 5000, 9999, 10_000]) {
    const whole = crc32c(bytes);
    const joined = crc32c(bytes.subarray(cut), crc32c(bytes.subarray(0, cut)));
    assert.equal(joined, whole, `cut at ${cut}`);
    assert.equal(
      crc32cSoftware(bytes.subarray(cut), crc32cSoftware(bytes.subarray(0, cut))),
      whole,
    );
  }
});

Deno.test("crc32c uses the native hardware path on x86-64 Linux when it was built", () => {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return;
  assert.match(crc32cImplementation, /^(native-sse4\.2|node-rs|typescript)$/);
  try {
    Deno.statSync(new URL("../../.build/libexodb_native.so", import.meta.url));
  } catch {
    return; // No C compiler on this machine: the fallbacks are tested above.
  }
  assert.equal(crc32cImplementation, "native-sse4.2");
});

Deno.test("crc32c is correct when workers on other threads checksum other block sizes at once", async () => {
  // The native library once rebuilt shared lane tables per length (a real race made parallel
  // test files see wrong checksums); its tables are now built once at load. Kept as a guard.
  const source = `
    import { crc32c, crc32cSoftware } from "${new URL("../../io/crc32c.ts", import.meta.url)}";
    self.onmessage = (event) => {
      const size = event.data;
      const bytes = new Uint8Array(size);
      let bad = 0;
      for (let round = 0; round < 3000; round++) {
        bytes[round % size] = round & 0xff;
        if (crc32c(bytes) !== crc32cSoftware(bytes)) bad++;
      }
      self.postMessage(bad);
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: "application/typescript" }));
  const sizes = [4092, 8188, 16380, 32764];
  const workers = sizes.map(() => new Worker(url, { type: "module" }));
  try {
    const bad = await Promise.all(
      workers.map((worker, i) =>
        new Promise<number>((resolve, reject) => {
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = (event) => reject(event.message);
          worker.postMessage(sizes[i]);
        })
      ),
    );
    assert.deepEqual(bad, [0, 0, 0, 0]);
  } finally {
    for (const worker of workers) worker.terminate();
    URL.revokeObjectURL(url);
  }
});
