/** A PageStore for B+tree tests: a buffer pool over a memory device, no WAL, free list in memory. */
import { BlockDevice } from "../../hw/block_device.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import type { BlockTypeValue } from "../../io/block.ts";
import { BufferPool, type PageGuard } from "../../io/buffer_pool.ts";
import type { PageChange, PageStore } from "../../dbengine/btree/page_store.ts";

export class MemoryPageStore implements PageStore {
  readonly blockSizeBytes: number;
  readonly pool: BufferPool;
  readonly device: BlockDevice;
  readonly #free: number[] = [];
  #highWater = 1; // block 0 is never a page
  changes = 0;

  constructor(blockSizeBytes: number, frameCount: number) {
    this.blockSizeBytes = blockSizeBytes;
    this.device = new BlockDevice(new MemoryDevice("btree", blockSizeBytes * 64), blockSizeBytes);
    this.pool = new BufferPool(this.device, { frameCount, imageTag: 7 });
  }

  pin(block: number): PageGuard {
    return this.pool.pin(block);
  }

  allocate(type: BlockTypeValue): PageGuard {
    const block = this.#free.pop() ?? this.#highWater++;
    if (block >= this.device.blockCount()) {
      this.device.grow(Math.max(block + 1, this.device.blockCount() * 2));
    }
    return this.pool.pinNew(block, type);
  }

  free(guard: PageGuard): void {
    this.#free.push(guard.blockNumber);
    guard.release();
  }

  changed(guard: PageGuard, _change: PageChange): void {
    this.changes++;
    guard.markDirty();
  }

  splitGroup(): void {}

  /** Pages in use (allocated and not freed). */
  pagesInUse(): number {
    return this.#highWater - 1 - this.#free.length;
  }
}
