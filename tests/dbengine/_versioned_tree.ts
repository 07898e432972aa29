/**
 * A versioned tree on the storage's catalog root (created on first use), and the test key
 * encoding: what the MVCC and vacuum tests share.
 */
import { VersionedTree } from "../../dbengine/mvcc.ts";
import type { Storage } from "../../dbengine/storage.ts";

const encoder = new TextEncoder();

/** `s` as a self-delimiting key (two NULs end it, as key_codec.ts makes keys). */
export const k = (s: string): Uint8Array => encoder.encode(s + "\0\0");

/** The tree at the catalog root of `storage` (tree id 1), created the first time. */
export function treeFor(storage: Storage): VersionedTree {
  let root = storage.store.meta("catalogRoot");
  if (root === 0) {
    storage.store.run(0, () => {
      root = storage.createTree().root;
      storage.store.setMeta("catalogRoot", root);
    });
  }
  const log = {
    commit: (t: number) => storage.commit(t),
    abort: () => {},
    run: <T>(t: number, body: () => T) => storage.store.run(t, body),
  };
  return new VersionedTree(storage.openTree(root, 1), storage.txns, log, "t_pkey");
}
