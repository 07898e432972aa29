/**
 * WAL records. The log is a byte stream addressed by LSN (a byte position that only grows);
 * records lie back to back and may wrap around the end of the log device's region. Each flush
 * ends the stream on a 512-byte sector boundary with a padding record (never bare zeros, so a
 * reader never has to guess whether zeros are padding or damage), and a sector holding durable
 * records is never written again.
 *
 * Header (32 bytes, little-endian):
 *
 * | offset | bytes | field                                                       |
 * |-------:|------:|-------------------------------------------------------------|
 * |      0 |     4 | total length, header included (≥ 32)                        |
 * |      4 |     4 | CRC32C of bytes 8..length                                   |
 * |      8 |     8 | LSN of this record: must equal where it was read from       |
 * |     16 |     8 | LSN of the previous record (the back-link)                  |
 * |     24 |     1 | type ({@link RecordType})                                   |
 * |     25 |     1 | flags: bit 0 = last record of a page group                  |
 * |     26 |     2 | transaction id, high 16 bits                                |
 * |     28 |     4 | transaction id, low 32 bits (0 = none; 48 bits in all)      |
 *
 * A record is valid only if its length is sane, its CRC matches, its LSN is its position and
 * its back-link names the record before it (PostgreSQL's end-of-WAL checks); the LSN check
 * also rejects stale records left from an earlier lap around the region.
 */
import { crc32c } from "../../io/crc32c.ts";
import { nativeSealRecords } from "../../hw/native.ts";

export const recordHeaderBytes = 32;
/** Flushes end on this boundary; the log is written in whole sectors. */
export const logSectorBytes = 512;
/** The largest record accepted when reading (a page image of the largest block, with room). */
export const recordBytesMax = 128 * 1024;

/** Record types. On disk: never renumber. */
export const RecordType = {
  /** A whole page (with its longest zero run elided). */
  pageImage: 1,
  /** A leaf cell put (insert or replace) on one page. */
  leafPut: 2,
  /** A leaf cell delete on one page. */
  leafDelete: 3,
  /** A transaction committed. */
  commit: 10,
  /** A transaction rolled back (its changes are already undone). */
  abort: 11,
  /** A checkpoint: redo may start at the LSN it names. */
  checkpoint: 20,
  /** Filler up to a sector boundary at the end of a flush; carries nothing. */
  padding: 30,
} as const;

/** A record type value. */
export type RecordTypeValue = (typeof RecordType)[keyof typeof RecordType];

/** True for records that belong to page groups (everything else stands alone). */
export function isPageRecord(type: number): boolean {
  return type === RecordType.pageImage || type === RecordType.leafPut ||
    type === RecordType.leafDelete;
}

export const groupEndFlag = 1;

/** A decoded record; `payload` is a view valid until the next read. */
export interface WalRecord {
  lsn: number;
  prevLsn: number;
  type: number;
  flags: number;
  txn: number;
  length: number;
  payload: Uint8Array;
}

function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x1_0000_0000;
}

function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}

/**
 * Writes a record (header + payload) into `target`, which is exactly its length. With `seal`
 * false its CRC field is left for {@link sealRecords} (the WAL seals a whole flush at once).
 */
export function encodeRecord(
  target: Uint8Array,
  fields: RecordFields,
  payload: Uint8Array,
  seal = true,
): void {
  encodeRecordHeader(target, fields);
  target.set(payload, recordHeaderBytes);
  if (seal) {
    const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
    view.setUint32(4, crc32c(target.subarray(8)), true);
  }
}

/** A record's header fields (its length is the target's). */
export interface RecordFields {
  lsn: number;
  prevLsn: number;
  type: number;
  flags: number;
  txn: number;
}

/**
 * Writes the header of a record that fills `target` (length, LSNs, type, flags, txn) and leaves
 * its CRC32C and payload to the caller: the log builds large payloads (page images) in place.
 */
export function encodeRecordHeader(target: Uint8Array, fields: RecordFields): void {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  view.setUint32(0, target.length, true);
  setU64(view, 8, fields.lsn);
  setU64(view, 16, fields.prevLsn);
  target[24] = fields.type;
  target[25] = fields.flags;
  view.setUint16(26, Math.floor(fields.txn / 0x1_0000_0000), true);
  view.setUint32(28, fields.txn >>> 0, true);
}

const nativeSeal = nativeSealRecords();

/**
 * Stores every record's CRC32C in `records`, a run of encoded records back to back that ends
 * exactly at the end of the last one: one native call for the whole run where the native library
 * is loaded (one crossing per flush, not per record), else a loop over {@link crc32c}. Returns
 * how many records it sealed.
 */
export function sealRecords(records: Uint8Array): number {
  if (nativeSeal === undefined) return sealRecordsPortable(records);
  const sealed = nativeSeal(records);
  if (sealed < 0) throw new RangeError("WAL records to seal have a bad length");
  return sealed;
}

/** {@link sealRecords} in TypeScript, one {@link crc32c} call per record (the fallback). */
export function sealRecordsPortable(records: Uint8Array): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let sealed = 0;
  for (let at = 0; at < records.length; sealed++) {
    const length = view.getUint32(at, true);
    if (length < recordHeaderBytes || length > records.length - at) {
      throw new RangeError("WAL records to seal have a bad length");
    }
    view.setUint32(at + 4, crc32c(records.subarray(at + 8, at + length)), true);
    at += length;
  }
  return sealed;
}

/** The length field of a record header at `bytes[0..4)`. */
export function recordLength(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}

/**
 * Decodes the record in `bytes` (exactly `recordLength` long) read at `lsn`, or explains why it
 * is not a valid record there.
 */
export function decodeRecord(
  bytes: Uint8Array,
  lsn: number,
  expectedPrevLsn: number | undefined,
): WalRecord | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0, true);
  if (length !== bytes.length) return "length mismatch";
  if (view.getUint32(4, true) !== crc32c(bytes.subarray(8))) return "bad CRC";
  const recordLsn = getU64(view, 8);
  if (recordLsn !== lsn) return `LSN ${recordLsn} read at ${lsn}`;
  const prevLsn = getU64(view, 16);
  if (expectedPrevLsn !== undefined && prevLsn !== expectedPrevLsn) {
    return `back-link ${prevLsn}, expected ${expectedPrevLsn}`;
  }
  return {
    lsn,
    prevLsn,
    type: bytes[24]!,
    flags: bytes[25]!,
    txn: view.getUint32(28, true) + view.getUint16(26, true) * 0x1_0000_0000,
    length,
    payload: bytes.subarray(recordHeaderBytes),
  };
}

export { getU64 as readU64, setU64 as writeU64 };
