/**
 * What a B+tree needs from the pages below it: pin, allocate, free, and a hook that is told of
 * every change so the store can log it (WAL) before the page may be written. Implemented over
 * the buffer pool by the storage engine (with WAL) and, for tests, without logging.
 */
import type { BlockTypeValue } from "../../io/block.ts";
import type { PageGuard } from "../../io/buffer_pool.ts";

/** A change to one page, as the WAL records it. */
export type PageChange =
  | { kind: "image" }
  | { kind: "leafPut"; key: Uint8Array; value: Uint8Array; overflow: boolean }
  | { kind: "leafDelete"; key: Uint8Array };

/** Pages for B+trees. */
export interface PageStore {
  readonly blockSizeBytes: number;
  /** Pins an existing page. */
  pin(block: number): PageGuard;
  /** Allocates and pins a fresh zeroed page of `type` (already dirty). */
  allocate(type: BlockTypeValue): PageGuard;
  /** Returns a page to the free space; the caller has released every other pin on it. */
  free(guard: PageGuard): void;
  /** Records that `guard`'s page changed as `change` (after the change was made). */
  changed(guard: PageGuard, change: PageChange): void;
  /**
   * Closes the current atomic group of page changes and opens another (long operations such as
   * writing an overflow chain, whose pages must not all stay pinned at once).
   */
  splitGroup(): void;
}
