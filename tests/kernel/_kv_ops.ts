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
