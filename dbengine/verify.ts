/**
 * The offline verifier behind `exodb check`: reads every block of the image and checks its
 * checksum, block number and image tag; walks every B+tree (catalog, sequences, each table and
 * index) checking all tree invariants; and accounts for every block below the high-water mark
 * (superblocks, meta, tree pages, free list). Problems are errors (exit non-zero); blocks that
 * nothing references are reported as leaks (space lost to a crash mid-operation, not damage).
 */
import { AssertionError } from "../lib/assert.ts";
import { blockProblem, BlockType, CorruptBlockError } from "../io/block.ts";
import { limits } from "../lib/limits.ts";
import { type Catalog, catalogTreeId, sequenceTreeId } from "./catalog.ts";
import { metaBlock } from "./page_store.ts";
import type { Storage } from "./storage.ts";

/** What the verifier found. */
export interface VerifyReport {
  blocksChecked: number;
  trees: number;
  entries: number;
  errors: string[];
  leakedBlocks: number[];
}

/** Verifies a recovered, idle engine. */
export function verifyStorage(storage: Storage, catalog: Catalog): VerifyReport {
  const report: VerifyReport = {
    blocksChecked: 0,
    trees: 0,
    entries: 0,
    errors: [],
    leakedBlocks: [],
  };
  const image = storage.image;
  const highWater = storage.store.meta("highWater");
  const device = image.device;
  const block = new Uint8Array(device.blockSizeBytes);
  const owner = new Map<number, string>();
  for (let b = 0; b < limits.superblockCopiesCount; b++) owner.set(b, "superblock");
  owner.set(metaBlock, "meta");
  // 1. Every block: checksum, own number, image tag (read straight from the device).
  for (let b = limits.superblockCopiesCount; b < highWater; b++) {
    device.read(b, block);
    report.blocksChecked++;
    const problem = blockProblem(block, device.name, b, image.imageTag);
    if (problem !== undefined) report.errors.push(problem);
  }
  // 2. Every tree, with its invariants; 3. who owns each block.
  const claim = (blocks: Iterable<number>, who: string) => {
    for (const b of blocks) {
      const previous = owner.get(b);
      if (previous !== undefined) {
        report.errors.push(`block ${b} is used by both ${previous} and ${who}`);
      }
      owner.set(b, who);
    }
  };
  const checkTree = (name: string, tree: { check(): { entries: number; blocks: Set<number> } }) => {
    try {
      const shape = tree.check();
      report.trees++;
      report.entries += shape.entries;
      claim(shape.blocks, name);
    } catch (error) {
      if (error instanceof AssertionError || error instanceof CorruptBlockError) {
        report.errors.push(`${name}: ${error.message}`);
      } else throw error;
    }
  };
  checkTree("catalog", storage.openTree(storage.store.meta("catalogRoot"), catalogTreeId));
  checkTree("sequences", storage.openTree(storage.store.meta("sequenceRoot"), sequenceTreeId));
  const snapshot = storage.txns.snapshot();
  try {
    for (const def of catalog.tables(undefined, snapshot)) {
      const table = catalog.handle(def);
      const [primary, ...indexes] = table.trees();
      checkTree(`table ${def.name}`, primary!);
      indexes.forEach((tree, i) => checkTree(`index ${def.indexes[i]!.name}`, tree));
    }
  } finally {
    storage.txns.release(snapshot);
  }
  // The free list: a chain of free pages.
  let free = storage.store.meta("freeHead");
  const freeSeen = new Set<number>();
  while (free !== 0) {
    if (freeSeen.has(free) || free >= highWater) {
      report.errors.push(`free list is broken at block ${free}`);
      break;
    }
    freeSeen.add(free);
    device.read(free, block);
    if (block[4] !== BlockType.free) {
      report.errors.push(`free list block ${free} is not a free page`);
    }
    free = new DataView(block.buffer).getUint32(32, true);
  }
  claim(freeSeen, "free list");
  for (let b = 0; b < highWater; b++) if (!owner.has(b)) report.leakedBlocks.push(b);
  return report;
}
