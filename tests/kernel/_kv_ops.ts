/** A seeded operation sequence's outcomes on one handle (shared by the ring test and its app). */
import { type AnyKv, listAll, outcome, Stamps } from "../kv/_diff.ts";
import { OpGenerator } from "../kv/_random_ops.ts";

/** One line per operation (label and outcome), then the final contents. */
export async function runOps(kv: AnyKv, seed: number, ops: number): Promise<string[]> {
  const stamps = new Stamps();
  const generator = new OpGenerator(seed);
  const lines: string[] = [];
  for (let i = 0; i < ops; i++) {
    const op = generator.next();
    lines.push(`${op.label}: ${await outcome(() => op.run(kv, stamps), stamps)}`);
  }
  lines.push(`final: ${await listAll(kv, { prefix: [] }, {}, stamps)}`);
  return lines;
}

/** Outcomes of calls on a handle after close() (each must fail as Deno's do). */
export async function afterClose(kv: AnyKv): Promise<string[]> {
  const stamps = new Stamps();
  const steps: ((kv: AnyKv) => unknown)[] = [
    (kv) => kv.close(),
    (kv) => kv.get(["a"]),
    (kv) => kv.get(["a"], { consistency: "bogus" }),
    (kv) => kv.getMany([["a"], ["b"]]),
    (kv) => kv.set(["a"], 1),
    (kv) => kv.delete(["a"]),
    (kv) => kv.atomic().set(["a"], 1).commit(),
    (kv) => kv.list({ prefix: [] }).next(),
    (kv) => kv.close(),
  ];
  const lines: string[] = [];
  for (const step of steps) lines.push(await outcome(() => step(kv), stamps));
  return lines;
}
