/**
 * Kill-and-recover rounds: start the crash child, let it commit for a random while (or until an
 * armed crash point kills it), SIGKILL it, recover in a verify child, and check that every
 * acknowledged transaction is present, transactions are all-or-nothing (balances match the
 * history exactly) and the B+trees are valid.
 */
import { Rng } from "../../lib/rng.ts";

const child = new URL("./crash_child.ts", import.meta.url).pathname;
const crashPoints = ["wal-write", "wal-sync", "btree-split", "checkpoint"];

/** Figures of a series of rounds. */
export interface CrashFigures {
  rounds: number;
  killsAtRandom: number;
  killsAtCrashPoints: number;
  acknowledged: number;
  lost: number;
  recoveryMsMax: number;
  recoveryMs: number[];
}

function runChild(
  dataDir: string,
  mode: string,
  seed: number,
  extra: string[] = [],
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", child, dataDir, mode, String(seed), ...extra],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs `rounds` kill/recover rounds on one data directory; throws on the first violation. */
export async function crashRounds(
  rounds: number,
  seed: number,
  log: (line: string) => void = () => {},
): Promise<CrashFigures> {
  const rng = new Rng(seed);
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-crash-" });
  const figures: CrashFigures = {
    rounds: 0,
    killsAtRandom: 0,
    killsAtCrashPoints: 0,
    acknowledged: 0,
    lost: 0,
    recoveryMsMax: 0,
    recoveryMs: [],
  };
  const acked = new Set<number>();
  try {
    for (let round = 0; round < rounds; round++) {
      const atPoint = round % 3 === 2;
      const point = crashPoints[rng.nextInt(crashPoints.length)]!;
      const extra = atPoint ? [`${point}:${1 + rng.nextInt(40)}`] : [];
      const process = runChild(dataDir, "run", seed * 1000 + round, extra);
      const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      const deadline = Date.now() + (atPoint ? 3000 : 60 + rng.nextInt(400));
      let ready = false;
      const pump = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffered += value;
          const lines = buffered.split("\n");
          buffered = lines.pop()!;
          for (const line of lines) {
            if (line === "READY") ready = true;
            const match = /^ACK (\d+)$/.exec(line);
            if (match) acked.add(Number(match[1]));
          }
        }
      })();
      while (Date.now() < deadline) {
        const status = await Promise.race([
          process.status,
          new Promise((r) => setTimeout(() => r(null), 10)),
        ]);
        if (status !== null) break;
        if (!ready) continue;
      }
      try {
        process.kill("SIGKILL");
      } catch {
        // Already dead: killed by its own crash point.
      }
      const status = await process.status;
      await pump;
      const stderr = new TextDecoder().decode(await new Response(process.stderr).arrayBuffer());
      if (status.signal !== "SIGKILL") {
        throw new Error(`crash child ended with ${status.code}: ${stderr}`);
      }
      if (atPoint) figures.killsAtCrashPoints++;
      else figures.killsAtRandom++;
      const verify = runChild(dataDir, "verify", 0);
      const output = await verify.output();
      const text = new TextDecoder().decode(output.stdout).trim();
      if (!output.success) {
        throw new Error(
          `recovery failed after round ${round}: ${new TextDecoder().decode(output.stderr)}`,
        );
      }
      const state = JSON.parse(text) as {
        hist: number[];
        consistent: boolean;
        recovery: { elapsedMs: number };
      };
      const present = new Set(state.hist);
      const missing = [...acked].filter((k) => !present.has(k));
      figures.lost += missing.length;
      if (missing.length > 0) {
        throw new Error(
          `round ${round}: ${missing.length} acknowledged commits lost, e.g. ${
            missing.slice(0, 5)
          }`,
        );
      }
      if (!state.consistent) {
        throw new Error(
          `round ${round}: balances do not match the history (a partial transaction)`,
        );
      }
      figures.rounds++;
      figures.acknowledged = acked.size;
      figures.recoveryMs.push(state.recovery.elapsedMs);
      figures.recoveryMsMax = Math.max(figures.recoveryMsMax, state.recovery.elapsedMs);
      log(
        `round ${round}: ${
          atPoint ? `crash point ${extra[0]}` : "random kill"
        }, ${acked.size} acked so far, recovery ${state.recovery.elapsedMs.toFixed(1)} ms`,
      );
    }
    return figures;
  } finally {
    Deno.removeSync(dataDir, { recursive: true });
  }
}
