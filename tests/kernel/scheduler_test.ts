import assert from "node:assert/strict";
import { Scheduler, type SchedulerOptions } from "../../kernel/scheduler.ts";
import { ExoError } from "../../lib/errors.ts";
import type { TaskContext } from "../../lib/task_context.ts";

/** A clock the test moves by hand: "doing 1 ms of work" is advancing it by 1. */
class FakeClock {
  t = 0;
  nowMs(): number {
    return this.t;
  }
}

function scheduler(options: SchedulerOptions = {}) {
  const clock = new FakeClock();
  // Grants run as microtasks: a whole run is deterministic and needs no timers.
  const s = new Scheduler({ clock, defer: (grant) => queueMicrotask(grant), ...options });
  return { clock, s };
}

/** A CPU-bound task: works in 1 ms steps, yields whenever asked, until the clock reaches `untilMs`. */
function spinner(clock: FakeClock, untilMs: number, trace?: string[], label?: string) {
  return async (context: TaskContext) => {
    while (clock.t < untilMs) {
      clock.t += 1;
      trace?.push(label!);
      if (context.shouldYield()) await context.yield();
    }
  };
}

/** Spawns a task that holds the thread until the returned release is called. */
function holder(s: Scheduler) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const task = s.spawn("background", "holder", async (context) => {
    await gate; // holds the thread: microtasks only, so no later macrotask detaches it
    await context.yield();
  });
  return { release, task };
}

Deno.test("a task spawned while the thread is free starts at once", () => {
  const { s } = scheduler();
  let ran = false;
  const task = s.spawn("background", "b", () => {
    ran = true;
  });
  assert.equal(ran, true, "started inside spawn, no deferral");
  return task;
});

Deno.test("the more urgent class is granted first when tasks queue together", async () => {
  const { s } = scheduler();
  const order: string[] = [];
  const record = (name: string) => () => void order.push(name);
  const hold = holder(s);
  const all = [
    s.spawn("background", "b", record("background")),
    s.spawn("maintenance", "m", record("maintenance")),
    s.spawn("interactive", "i", record("interactive")),
  ];
  hold.release();
  await Promise.all([hold.task, ...all]);
  assert.deepEqual(order, ["interactive", "maintenance", "background"]);
  const stats = s.stats();
  assert.equal(stats.interactive.completed, 1);
  assert.equal(stats.background.completed, 2, "b and the holder");
});

Deno.test("busy classes share the thread by shares (1000:100)", async () => {
  const { clock, s } = scheduler({ maxDelayMs: { background: 10_000 } });
  await Promise.all([
    s.spawn("interactive", "i", spinner(clock, 2_000)),
    s.spawn("background", "b", spinner(clock, 2_000)),
  ]);
  const stats = s.stats();
  const share = stats.background.cpuMs / (stats.background.cpuMs + stats.interactive.cpuMs);
  assert.ok(share > 0.08 && share < 0.1, `background got ${(share * 100).toFixed(1)}% (want ~9%)`);
  assert.equal(stats.background.cpuMs + stats.interactive.cpuMs, 2_000);
});

Deno.test("aging bounds a starved class's wait even with a tiny share", async () => {
  const { clock, s } = scheduler({ shares: { background: 1 }, maxDelayMs: { background: 50 } });
  const background = s.spawn("background", "b", spinner(clock, 3_000));
  const interactive = s.spawn("interactive", "i", spinner(clock, 3_000));
  await Promise.all([background, interactive]);
  const stats = s.stats().background;
  assert.ok(stats.waitMsMax <= 50 + s.sliceMs, `background waited ${stats.waitMsMax} ms`);
  assert.ok(stats.slices >= 3_000 / 51 - 1, `background ran ${stats.slices} slices`);
  // Without aging, 1 share against 1000 would give it about 3 ms of 3 s.
  assert.ok(stats.cpuMs >= 50, `background got ${stats.cpuMs} ms`);
});

Deno.test("a class that was idle cannot bank its idle time", async () => {
  const { clock, s } = scheduler({ maxDelayMs: { interactive: 10_000, background: 10_000 } });
  const trace: string[] = [];
  const interactive = s.spawn("interactive", "i", spinner(clock, 400, trace, "i"));
  // Background arrives after interactive has run alone for 200 ms.
  while (clock.t < 200) await new Promise<void>((resolve) => queueMicrotask(resolve));
  const background = s.spawn("background", "b", spinner(clock, 400, trace, "b"));
  await Promise.all([interactive, background]);
  const afterWake = trace.slice(trace.indexOf("b"), trace.indexOf("b") + 110);
  const backgroundSteps = afterWake.filter((t) => t === "b").length;
  assert.ok(
    backgroundSteps <= 20,
    `background ran ${backgroundSteps} of the 110 steps after waking (banked idle time)`,
  );
  assert.ok(backgroundSteps >= 5, `background ran ${backgroundSteps} steps: its share is ~9%`);
});

Deno.test("counters: queue length, CPU, wait time and stalls per class", async () => {
  const { clock, s } = scheduler();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const blocker = s.spawn("interactive", "blocker", async (context) => {
    await Promise.resolve(); // granted at once; the others queue before its work
    clock.t += 3; // a 3 ms slice without yielding: a stall
    await context.suspend(gate);
  });
  const queued = [1, 2, 3].map((n) =>
    s.spawn("background", `b${n}`, () => {
      clock.t += 1;
    })
  );
  assert.equal(s.stats().background.queued, 3);
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  const during = s.stats();
  assert.equal(during.interactive.stalls, 1);
  assert.equal(during.background.completed, 3, "the suspended task did not hold the thread");
  assert.equal(during.background.queued, 0);
  release();
  await Promise.all([blocker, ...queued]);
  const stats = s.stats();
  assert.equal(stats.interactive.cpuMs, 3);
  assert.equal(stats.background.cpuMs, 3);
  assert.equal(
    stats.background.waitMs,
    3 + 4 + 5,
    "each waited for the stall and the earlier ones",
  );
  assert.equal(stats.interactive.completed, 1);
  await s.idle();
});

Deno.test("shouldYield turns true after one slice of work", async () => {
  const { clock, s } = scheduler({ sliceMs: 2 });
  const seen = await s.spawn("interactive", "i", (context) => {
    const answers = [context.shouldYield()];
    clock.t += 1;
    answers.push(context.shouldYield());
    clock.t += 1;
    answers.push(context.shouldYield());
    return answers;
  });
  assert.deepEqual(seen, [false, false, true]);
  // Maintenance and background slices are half as long by default (0.5 ms).
  const background = await s.spawn("background", "b", (context) => {
    const answers = [context.shouldYield()];
    clock.t += 0.25;
    answers.push(context.shouldYield());
    clock.t += 0.25;
    answers.push(context.shouldYield());
    return answers;
  });
  assert.deepEqual(background, [false, false, true]);
});

Deno.test("fair mode: statements that queue together all run before the next background slice", async () => {
  // Statements from several clients arrive between two background slices. The interactive class
  // counts as waking for the first of them; the credit a waking class keeps (wakeCreditMs)
  // lets the rest run too, instead of alternating statement, background slice, statement …
  const { clock, s } = scheduler({ maxDelayMs: { background: 10_000 } });
  const trace: string[] = [];
  const statements: Promise<void>[] = [];
  await s.spawn("background", "b", async (context) => {
    for (let round = 0; round < 5; round++) {
      clock.t += 1;
      trace.push("b");
      const turn = context.yield(); // charged and queued; the next grant is deferred
      for (let n = 0; n < 4; n++) { // meanwhile the event loop delivers four statements
        statements.push(s.spawn("interactive", `statement ${round}.${n}`, () => {
          clock.t += 0.1;
          trace.push("i");
        }));
      }
      await turn;
    }
  });
  await Promise.all(statements);
  assert.equal(trace.join(""), "biiiibiiiibiiiibiiiibiiii");
});

Deno.test("a cancelled task stops at its next yield and is counted as failed", async () => {
  const { clock, s } = scheduler();
  const controller = new AbortController();
  let steps = 0;
  const task = s.spawn("background", "scrub", async (context) => {
    for (;;) {
      clock.t += 1;
      if (++steps === 5) controller.abort(new Error("cancelled by test"));
      await context.yield();
    }
  }, { signal: controller.signal });
  await assert.rejects(task, /cancelled by test/);
  assert.equal(steps, 5);
  assert.equal(s.stats().background.failed, 1);
});

Deno.test("a full queue refuses new tasks with 53400", async () => {
  const { s } = scheduler({ queueLengthMax: 2 });
  const hold = holder(s); // holds the thread, so the next two queue
  const a = s.spawn("background", "a", () => 1);
  const b = s.spawn("background", "b", () => 2);
  await assert.rejects(
    s.spawn("background", "c", () => 3),
    (error) => error instanceof ExoError && error.sqlState === "53400",
  );
  hold.release();
  assert.deepEqual(await Promise.all([a, b]), [1, 2]);
  await hold.task;
});

Deno.test("fifo mode grants in arrival order, with no class preference", async () => {
  const { s } = scheduler({ mode: "fifo" });
  const order: string[] = [];
  const record = (name: string) => () => void order.push(name);
  const hold = holder(s);
  const all = [
    s.spawn("background", "b", record("background")),
    s.spawn("maintenance", "m", record("maintenance")),
    s.spawn("interactive", "i", record("interactive")),
    s.spawn("background", "b2", record("background 2")),
  ];
  hold.release();
  await Promise.all([hold.task, ...all]);
  assert.deepEqual(order, ["background", "maintenance", "interactive", "background 2"]);
});

Deno.test("fifo mode: busy classes take turns slice by slice (no shares)", async () => {
  const { clock, s } = scheduler({ mode: "fifo" });
  const trace: string[] = [];
  await Promise.all([
    s.spawn("interactive", "i", spinner(clock, 200, trace, "i")),
    s.spawn("background", "b", spinner(clock, 200, trace, "b")),
  ]);
  const stats = s.stats();
  assert.equal(stats.interactive.cpuMs + stats.background.cpuMs, 200);
  assert.ok(Math.abs(stats.interactive.cpuMs - stats.background.cpuMs) <= 2, JSON.stringify(stats));
  // Strict alternation after the first slice: i b i b …
  // i's first slice ran inside its spawn, before b queued; then strict alternation: i b i b …
  assert.deepEqual(trace.slice(1, 7), ["i", "b", "i", "b", "i", "b"]);
});

Deno.test("fair mode: a queued interactive task goes before a background one that queued first", async () => {
  const { clock, s } = scheduler();
  const trace: string[] = [];
  const background = s.spawn("background", "b", spinner(clock, 50, trace, "b"));
  // Interactive arrives while background holds the thread; background's next yield hands over.
  const interactive = s.spawn("interactive", "i", spinner(clock, 20, trace, "i"));
  await Promise.all([background, interactive]);
  const firstI = trace.indexOf("i");
  assert.equal(firstI, 1, `interactive ran after one background slice: ${trace.join("")}`);
  // Then background gets about one slice in ten (shares 1000:100) until interactive is done.
  const whileBoth = trace.slice(1, trace.lastIndexOf("i") + 1);
  const backgroundSlices = whileBoth.filter((t) => t === "b").length;
  assert.ok(backgroundSlices >= 1 && backgroundSlices <= 3, whileBoth.join(""));
});

Deno.test("fair mode: background still runs within its bounded delay while interactive is busy", async () => {
  const { clock, s } = scheduler({ maxDelayMs: { background: 10 } });
  const trace: string[] = [];
  const interactive = s.spawn("interactive", "i", spinner(clock, 300, trace, "i"));
  const background = s.spawn("background", "b", spinner(clock, 300, trace, "b"));
  await Promise.all([interactive, background]);
  let run = 0;
  let longestIRun = 0;
  for (const t of trace) {
    run = t === "i" ? run + 1 : 0;
    longestIRun = Math.max(longestIRun, run);
  }
  assert.ok(longestIRun <= 10 + s.sliceMs, `background waited ${longestIRun} slices`);
  assert.ok(s.stats().background.waitMsMax <= 10 + s.sliceMs);
});

Deno.test("a holder that awaits something outside the thread is released (detached)", async () => {
  const { clock, s } = scheduler();
  let resumedWithoutGrant = false;
  const waiting = s.spawn("interactive", "waits on a timer", async (context) => {
    clock.t += 1;
    // Not through suspend: a row lock or a log flush resolves in a later macrotask.
    await new Promise((resolve) => setTimeout(resolve, 5));
    resumedWithoutGrant = context.shouldYield(); // no grant: asks to queue at once
    await context.yield();
    clock.t += 1;
  });
  let otherRan = false;
  const other = s.spawn("background", "other", () => {
    otherRan = true;
  });
  await other;
  assert.equal(otherRan, true, "the other task ran while the first waited");
  await waiting;
  assert.equal(resumedWithoutGrant, true);
  const stats = s.stats();
  assert.equal(stats.interactive.detached, 1);
  assert.equal(stats.interactive.completed, 1);
  assert.equal(stats.interactive.cpuMs, 2, "charged until the detach, then its own slice");
});

Deno.test("fair mode: back-to-back statements leave background its share, not just aging", async () => {
  // Each statement arrives as the last one ends, while background waits: starting at once is
  // allowed only while the interactive class is not ahead of its share.
  // Before a background slice while clients are active the grant waits for a macrotask (as
  // production's setTimeout does), so the next statement arrives first.
  const { clock, s } = scheduler({
    maxDelayMs: { background: 1_000_000 },
    idleDefer: (grant) => setTimeout(grant, 0),
  });
  let stop = false;
  const background = s.spawn("background", "b", async (context) => {
    while (!stop) {
      clock.t += 0.5;
      await context.yield();
    }
  });
  for (let n = 0; n < 4_000; n++) {
    await s.spawn("interactive", `statement ${n}`, () => {
      clock.t += 0.1;
    });
  }
  stop = true;
  await background;
  const stats = s.stats();
  const share = stats.background.cpuMs / (stats.background.cpuMs + stats.interactive.cpuMs);
  assert.ok(share > 0.05 && share < 0.2, `background got ${(share * 100).toFixed(1)}%`);
});

Deno.test("scheduler: onTick runs at every grant, before the task it grants", async () => {
  const events: string[] = [];
  const scheduler = new Scheduler({ onTick: () => events.push("tick") });
  await scheduler.spawn("interactive", "a", () => {
    events.push("a");
  });
  await scheduler.spawn("background", "b", () => {
    events.push("b");
  });
  assert.deepEqual(events, ["tick", "a", "tick", "b"]);
});
