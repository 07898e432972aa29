/**
 * Key encoding's string fast path (ASCII without a TextEncoder call, one shared scratch buffer)
 * against the general rule: UTF-8 of the string (U+FFFD for a lone surrogate), every 00 written
 * 00 FF, then 00.
 */
import assert from "node:assert/strict";
import { decodeKey, encodeKey } from "../../dbengine/kv/key_codec.ts";

function expectedString(text: string): number[] {
  const out = [0x02];
  for (const b of new TextEncoder().encode(text)) {
    out.push(b);
    if (b === 0) out.push(0xff);
  }
  out.push(0);
  return out;
}

Deno.test("string key parts: ASCII, NUL escapes, non-ASCII and lone surrogates", () => {
  const texts = ["", "user", "a\0b\0", "\0", "caf\u00e9", "ab\u20acc", "x\ud800y", "x".repeat(300)];
  for (const text of texts) {
    assert.deepEqual([...encodeKey([text])], expectedString(text), JSON.stringify(text));
  }
  // Several parts in one key, non-ASCII after ASCII ones: each part starts where the last ended.
  const key = ["a\0", "\u00e9t\u00e9", "zz", 7, true];
  assert.deepEqual(
    [...encodeKey(key)].slice(0, 16),
    [...expectedString("a\0"), ...expectedString("\u00e9t\u00e9"), ...expectedString("zz")],
  );
  assert.deepEqual(decodeKey(encodeKey(key)), key);
});

Deno.test("results do not share the scratch buffer", () => {
  const first = encodeKey(["first", 1]);
  const copy = [...first];
  encodeKey(["second key, longer than the first", 2]);
  assert.deepEqual([...first], copy);
});

Deno.test("a key encoded from inside another key's encoding (a Proxy) is its own", () => {
  let inner: Uint8Array | undefined;
  const outer = new Proxy(["a", "b"], {
    get(target, property, receiver) {
      if (property === "1") inner = encodeKey(["inner"]);
      return Reflect.get(target, property, receiver);
    },
  });
  const encoded = encodeKey(outer);
  assert.deepEqual([...encoded], [...expectedString("a"), ...expectedString("b")]);
  assert.deepEqual([...inner!], expectedString("inner"));
});
