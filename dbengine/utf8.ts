/**
 * UTF-8 for short strings without a runtime op: Deno's TextEncoder/TextDecoder cross into Rust
 * on every call, which costs more than the work for the short ASCII strings rows are full of.
 * Longer or non-ASCII strings still go to the built-ins.
 */
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();
const shortBytesMax = 256;

/** Decodes UTF-8 (strict: invalid bytes throw). */
export function decodeUtf8(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n <= shortBytesMax) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return decoder.decode(bytes);
}

/** Encodes a string as UTF-8. */
export function encodeUtf8(text: string): Uint8Array {
  const n = text.length;
  if (n <= shortBytesMax) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) return encoder.encode(text);
      out[i] = c;
    }
    return out;
  }
  return encoder.encode(text);
}
