import assert from "node:assert/strict";
import { boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";

Deno.test("after a failure inside the engine the kernel restarts it in place and recovers committed work", async () => {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-restart-" });
  const lines: string[] = [];
  const result = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "4MiB" }, {});
  assert.ok(result.ok);
  const appliance = await boot(result.config, new Logger("info", (line) => lines.push(line)), {
    watchdogMs: 20,
  });
  try {
    const { storage } = appliance.engine;
    const tree = storage.store.run(0, () => {
      const created = storage.createTree();
      storage.store.setMeta("catalogRoot", created.root);
      return created;
    });
    storage.store.run(1, () => tree.put(new Uint8Array([7]), new Uint8Array([42])));
    await storage.commit(1);
    storage.store.poison(new Error("simulated failure inside a page group"));
    for (let i = 0; i < 100 && appliance.restarts === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(appliance.restarts, 1);
    assert.notEqual(appliance.engine.storage, storage, "a new engine");
    const recovered = appliance.engine.storage.openTree(
      appliance.engine.storage.store.meta("catalogRoot"),
      tree.treeId,
    );
    assert.deepEqual(
      recovered.get(new Uint8Array([7])),
      new Uint8Array([42]),
      "the committed change survived",
    );
    assert.ok(
      lines.some((l) => /engine restart: a change failed part-way/.test(l)),
      lines.join("\n"),
    );
  } finally {
    await appliance.shutdown();
    Deno.removeSync(dataDir, { recursive: true });
  }
});
