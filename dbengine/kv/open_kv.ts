/**
 * openKv(path?): ExoDB's counterpart of Deno.openKv. `path` names an ExoDB data directory
 * (created and formatted on first open; its parent must exist, as Deno requires of a file's
 * directory); no path or ":memory:" opens a new memory database. Handles on one directory in one
 * process share its engine, so they see each other's writes and watches at once.
 */
import { dirname, resolve } from "node:path";
import { openKvEngine } from "./engine.ts";
import { Kv } from "./kv.ts";
import { KvStore } from "./kv_store.ts";

interface Opened {
  store: Promise<KvStore>;
}

/** Open stores by absolute directory path; closing ones until their engine is released. */
const open = new Map<string, Opened>();
const closing = new Map<string, Promise<void>>();

function checkPath(path: string): void {
  if (path === "") throw new TypeError("Filename cannot be empty");
  if (/^https?:\/\//i.test(path)) {
    throw new TypeError(
      `openKv cannot open a remote (KV Connect) database: ${path}; use Deno.openKv for it`,
    );
  }
  if (path.startsWith(":")) {
    throw new TypeError("Filename cannot start with ':' unless prefixed with './'");
  }
}

function parentExists(path: string): boolean {
  try {
    return Deno.statSync(dirname(path)).isDirectory;
  } catch {
    return false;
  }
}

/** A store with the function that releases this holder's share of it. */
export interface OpenedStore {
  store: KvStore;
  release(): Promise<void>;
}

/**
 * Opens the store under a path (shared with every other holder in this process), or a new memory
 * store for no path or ":memory:". Used by openKv and by the KV Connect server.
 */
export async function openKvStore(path?: string): Promise<OpenedStore> {
  if (path === undefined || path === ":memory:") {
    const store = new KvStore(await openKvEngine(undefined));
    store.handles++;
    return { store, release: () => store.close() };
  }
  checkPath(path);
  const absolute = resolve(path);
  await closing.get(absolute);
  let opened = open.get(absolute);
  if (opened === undefined) {
    if (!parentExists(absolute)) {
      throw new Error(`unable to open database file: ${path}`);
    }
    opened = { store: openKvEngine(absolute).then((engine) => new KvStore(engine)) };
    open.set(absolute, opened);
    opened.store.catch(() => open.delete(absolute));
  }
  const store = await opened.store;
  store.handles++;
  return {
    store,
    release: () => {
      store.handles--;
      if (store.handles > 0) return Promise.resolve();
      open.delete(absolute);
      const done = store.close().finally(() => closing.delete(absolute));
      closing.set(absolute, done);
      return done;
    },
  };
}

/** Opens a Deno.Kv-compatible database on ExoDB. */
export async function openKv(path?: string): Promise<Kv> {
  const { store, release } = await openKvStore(path);
  return new Kv({ store }, release);
}
