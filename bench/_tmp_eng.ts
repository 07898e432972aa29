import { bootInProcess, loadPgbenchTables } from "./runner/in_process.ts";
import { runEngineTpcb } from "./runner/engine_tpcb.ts";
const profile = (Deno.args[0] ?? "exo") as "exo" | "conventional";
const seconds = Number(Deno.args[1] ?? 5);
const dir = await Deno.makeTempDir();
const db = await bootInProcess({ dataDir: `${dir}/data`, profile });
await loadPgbenchTables(db, 8);
await runEngineTpcb(db, 8, 8, 1);
for (let i = 0; i < Number(Deno.env.get("ROUNDS") ?? 3); i++) {
  const r = await runEngineTpcb(db, 8, 8, seconds);
  console.log(profile, r.tps.toFixed(0), "tps", (r.kernelThreadUs).toFixed(1), "kt us/txn", r.processUs.toFixed(1), "proc");
}
await db.stop();
await Deno.remove(dir, { recursive: true });
