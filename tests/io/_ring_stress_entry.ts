/**
 * The submission entry of the ring stress test (8 int32 words):
 *
 * | word | field    | meaning                                   |
 * | ---: | -------- | ----------------------------------------- |
 * |    0 | seq      | sequence number, from 0                   |
 * |    1 | length   | payload words used, 0 … 5                 |
 * |  2–6 | payload  | random words (unused ones zero)           |
 * |    7 | checksum | {@link entryChecksum} of words 0–6        |
 */
export const sqEntryWords = 8;

/** FNV-1a over words 0–6 of the entry at `at`, as int32. */
export function entryChecksum(words: Int32Array, at: number): number {
  let hash = 0x811c9dc5 | 0;
  for (let w = 0; w < sqEntryWords - 1; w++) {
    hash = Math.imul(hash ^ words[at + w]!, 0x01000193);
  }
  return hash;
}
