/**
 * The shared memory of one task ring: a submission ring (app → kernel), a completion ring
 * (kernel → app) and an arena of fixed slots for parameters and results. An app (a Worker, its
 * own isolate) fills a request, rings once, and the kernel runs the whole registered procedure
 * (one or more SQL statements) and posts one completion: one thread hop each way per task,
 * whatever the number of statements in it.
 *
 * Submission entry (4 int32 words):
 *
 * | word | field        | meaning                                              |
 * | ---: | ------------ | ---------------------------------------------------- |
 * |    0 | taskId       | chosen by the app; the slot is `taskId & (slots-1)`  |
 * |    1 | procedureId  | procedure tasks: index into the registered ones      |
 * |    2 | requestBytes | bytes of the request in the slot's request half      |
 * |    3 | kind         | {@link TaskKind}                                     |
 *
 * Completion entry (4 int32 words):
 *
 * | word | field       | meaning                                               |
 * | ---: | ----------- | ----------------------------------------------------- |
 * |    0 | taskId      | as submitted                                          |
 * |    1 | status      | 0 done, 1 failed (the result holds sqlState, message) |
 * |    2 | resultBytes | bytes of the result in the slot's result half         |
 * |    3 | rowCount    | rows in the result                                    |
 *
 * Arena: `slots` × `slotBytes`; slot s is bytes [s·slotBytes, (s+1)·slotBytes): the first half
 * holds the request, the second half the result. Procedure: a UTF-8 JSON array of parameters in
 * PostgreSQL text format (null for NULL) → UTF-8 JSON `{tag, columns, rows}` with text values.
 * Program: its code and constants (program_format.ts) → its emitted values in the same format.
 * Kv: the operation (kv_task.ts) → its outcome. A failed task of any kind has the UTF-8 JSON
 * `{sqlState, message, errorClass}` as its result (errorClass: the class the kernel caught).
 *
 * Invariants:
 * 1. At most `slots` tasks are in flight (the client enforces it); both rings hold `slots`
 *    entries, so the kernel never finds the completion ring full.
 * 2. A slot's request half is written only by the app before it submits; its result half only by
 *    the kernel before it completes; the app reads the result only after the completion.
 */
import { createRing } from "../../io/ring/spsc_ring.ts";

/** Words per submission and completion entry. */
export const taskEntryWords = 4;

/** What an app receives (by one postMessage at attach) to use a task ring. */
export interface TaskRingShared {
  submissions: SharedArrayBuffer;
  completions: SharedArrayBuffer;
  arena: SharedArrayBuffer;
  slots: number;
  slotBytes: number;
  /** The registered procedures' names, by procedureId. */
  procedures: string[];
}

/** Kind word of a submission. */
export const TaskKind = { procedure: 0, program: 1, kv: 2 } as const;

/** Status word of a completion. */
export const TaskStatus = { done: 0, failed: 1 } as const;

/** Allocates the shared memory of a task ring. */
export function createTaskRingMemory(
  slots: number,
  slotBytes: number,
  procedures: string[],
): TaskRingShared {
  if (slotBytes < 256 || slotBytes % 8 !== 0) {
    throw new RangeError(
      `Task ring slot must be at least 256 bytes, a multiple of 8: ${slotBytes}`,
    );
  }
  return {
    submissions: createRing({ capacity: slots, entryWords: taskEntryWords }),
    completions: createRing({ capacity: slots, entryWords: taskEntryWords }),
    arena: new SharedArrayBuffer(slots * slotBytes),
    slots,
    slotBytes,
    procedures,
  };
}
