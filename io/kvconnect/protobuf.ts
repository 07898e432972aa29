/**
 * The little of the protobuf wire format KV Connect needs: varints (wire type 0) and
 * length-delimited fields (wire type 2), written and read field by field.
 */

/** Builds one message. */
export class ProtoWriter {
  #bytes = new Uint8Array(256);
  #length = 0;

  #ensure(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return;
    const next = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + extra));
    next.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = next;
  }

  #varint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.#ensure(10);
    while (v >= 0x80n) {
      this.#bytes[this.#length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#bytes[this.#length++] = Number(v);
  }

  /** A varint field (int32, int64, uint32, bool, enum); zero is omitted as proto3 does. */
  uint(field: number, value: bigint | number | boolean): this {
    const v = typeof value === "boolean" ? (value ? 1 : 0) : value;
    if (v === 0 || v === 0n) return this;
    this.#varint(field << 3);
    this.#varint(v);
    return this;
  }

  /** A length-delimited field (bytes, string, nested message); written even when empty. */
  bytes(field: number, value: Uint8Array): this {
    this.#varint((field << 3) | 2);
    this.#varint(value.length);
    this.#ensure(value.length);
    this.#bytes.set(value, this.#length);
    this.#length += value.length;
    return this;
  }

  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }
}

/** One decoded field. */
export interface ProtoField {
  field: number;
  /** Set for varint fields. */
  varint?: bigint;
  /** Set for length-delimited fields. */
  bytes?: Uint8Array;
}

/** Thrown for a malformed message (the server answers 400). */
export class ProtoError extends Error {
  override name = "ProtoError";
}

/** Decodes every field of a message, in order. */
export function readFields(message: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = message[at++];
      if (b === undefined) throw new ProtoError("truncated varint");
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtoError("varint too long");
    }
  };
  while (at < message.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) fields.push({ field, varint: varint() });
    else if (wire === 2) {
      const length = Number(varint());
      if (at + length > message.length) throw new ProtoError("truncated field");
      fields.push({ field, bytes: message.subarray(at, at + length) });
      at += length;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new ProtoError(`unsupported wire type ${wire}`);
  }
  return fields;
}
