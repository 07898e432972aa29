/** Deno KV's limits (Deno 2.9, DENOKV.md §5), with the error texts they raise. */
export const kvLimits = {
  writeKeyBytesMax: 2048,
  readKeyBytesMax: 2049,
  valueBytesMax: 65536,
  enqueuePayloadBytesMax: 65536,
  mutationsCountMax: 1000,
  checksCountMax: 100,
  totalMutationBytesMax: 819200,
  totalKeyBytesMax: 81920,
  readRangesCountMax: 10,
  readEntriesCountMax: 1000,
  watchKeysCountMax: 10,
  queueDelayMsMax: 30 * 24 * 60 * 60 * 1000,
  backoffIntervalsCountMax: 5,
  backoffIntervalMsMax: 60 * 60 * 1000,
  /** chrono's largest timestamp (year 262142), in ms since the epoch: expiries past it fail. */
  expireAtMsMax: 8210266876799999,
} as const;
