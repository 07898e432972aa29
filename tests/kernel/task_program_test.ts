import assert from "node:assert/strict";
import type { Appliance } from "../../kernel/boot.ts";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";
import { createTaskRingMemory } from "../../kernel/task_ring/layout.ts";
import { TaskRingServer } from "../../kernel/task_ring/server.ts";
import { TaskRingClient, TaskRingError } from "../../kernel/task_ring/client.ts";
import { ProgramBuilder, StepProgram } from "../../kernel/task_ring/program_builder.ts";
import {
  encodeProgram,
  Op,
  programLimits,
  type ProgramParts,
  RegType,
} from "../../kernel/task_ring/program_format.ts";
import { transferProgram } from "../../apps/transfer_app.ts";

/** An in-process ring (client and server in this isolate, the client's async path). */
async function withRing(
  body: (
    client: TaskRingClient,
    server: TaskRingServer,
    run: ReturnType<typeof sqlRunner>["run"],
    appliance: Appliance,
  ) => Promise<void>,
): Promise<void> {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run(
      "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL, owner varchar(8));" +
        "INSERT INTO accounts SELECT g, 1000, 'o' || g FROM generate_series(1, 10) g;" +
        "CREATE TABLE twins (id int PRIMARY KEY, balance int NOT NULL, owner varchar(8));" +
        "INSERT INTO twins SELECT g, 1000, 'o' || g FROM generate_series(1, 10) g;" +
        "CREATE TABLE history (id bigint PRIMARY KEY, account int, amount int);" +
        "CREATE TABLE checked (id int PRIMARY KEY, n int CHECK (n > 0))",
    );
    const shared = createTaskRingMemory(4, 8192, []);
    const server = new TaskRingServer(appliance, shared, []);
    const serving = server.serve();
    try {
      await body(new TaskRingClient(shared), server, run, appliance);
    } finally {
      await server.stop();
      await serving;
    }
  });
}

async function tableText(run: ReturnType<typeof sqlRunner>["run"], table: string) {
  const [result] = await run(`SELECT * FROM ${table} ORDER BY 1`);
  return JSON.stringify(result!.rows);
}

async function rejects(promise: Promise<unknown>, sqlState: string, pattern?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TaskRingError, String(error));
    assert.equal(error.sqlState, sqlState, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

/** A raw program from parts (constants given), for programs the builder would not make. */
function raw(parts: Partial<ProgramParts> & Pick<ProgramParts, "steps">): StepProgram {
  const full: ProgramParts = {
    readWrite: false,
    registerTypes: [],
    rowSlots: 0,
    tables: [],
    columns: [],
    constants: [],
    ...parts,
  };
  const bytes = encodeProgram(full);
  const codeBytes = new DataView(bytes.buffer).getUint16(14, true);
  return new StepProgram(bytes.slice(0, codeBytes), [], full.constants);
}

const step = (op: number, a = 0, b = 0, c = 0, d = 0) => ({ op, a, b, c, d });

Deno.test("a transfer program gives what the same SQL gives, and commits", async () => {
  await withRing(async (client, server, run) => {
    const transfers: [number, number, number][] = [];
    for (let i = 0; i < 12; i++) transfers.push([1 + (i % 10), 1 + ((i * 7 + 3) % 10), 10 + i]);
    for (const [from, to, amount] of transfers) {
      const values = await client.runProgram(transferProgram, [
        BigInt(from),
        BigInt(to),
        BigInt(amount),
      ]);
      await run(
        `BEGIN; UPDATE twins SET balance = balance - ${amount} WHERE id = ${from};` +
          `UPDATE twins SET balance = balance + ${amount} WHERE id = ${to}; COMMIT`,
      );
      const [sql] = await run(
        `SELECT (SELECT balance FROM twins WHERE id = ${from}), ` +
          `(SELECT balance FROM twins WHERE id = ${to})`,
      );
      assert.deepEqual(values.map(String), sql!.rows![0]!.map(String));
    }
    assert.equal(await tableText(run, "accounts"), await tableText(run, "twins"));
    assert.equal(server.stats.tasks, 12);
    assert.equal(server.programs.stats.verified, 1, "one verification, then the cache");
    assert.equal(server.programs.stats.cacheHits, 11);
  });
});

Deno.test("programs read, branch, insert and compute like the equivalent SQL", async () => {
  await withRing(async (client, _server, run) => {
    // Read-only: the balance and owner of a row, or a marker when it is missing.
    const p = new ProgramBuilder();
    const id = p.param("int");
    const row = p.get("accounts", id);
    const missing = p.label();
    p.jumpIfMissing(row, missing);
    const balance = p.register("int");
    const owner = p.register("text");
    p.readColumn(balance, row, "balance").readColumn(owner, row, "owner");
    const doubled = p.register("int");
    p.add(doubled, balance, balance);
    const big = p.register("bool");
    const limit = p.constant("int", 1500n);
    p.lt(big, limit, doubled);
    p.emit(balance).emit(owner).emit(doubled).emit(big).end();
    p.place(missing);
    p.emit(p.constant("text", "missing"));
    const lookup = p.build();
    for (const key of [3, 42]) {
      const values = await client.runProgram(lookup, [BigInt(key)]);
      const [sql] = await run(
        `SELECT balance, owner, balance + balance, 1500 < balance + balance FROM accounts WHERE id = ${key}`,
      );
      if (sql!.rows!.length === 0) assert.deepEqual(values, ["missing"]);
      else {
        assert.deepEqual(values.map(String), sql!.rows![0]!.map((v) => String(v)));
      }
    }

    // Read-write: insert a history row, as INSERT would.
    const w = new ProgramBuilder({ readWrite: true });
    const hid = w.param("int");
    const account = w.param("int");
    const amount = w.param("int");
    const h = w.newRow("history");
    w.setColumn(h, "id", hid).setColumn(h, "account", account).setColumn(h, "amount", amount);
    w.insert(h);
    const back = w.get("history", hid);
    const got = w.register("int");
    w.readColumn(got, back, "amount").emit(got);
    const insert = w.build();
    assert.deepEqual(await client.runProgram(insert, [1n, 2n, -7n]), [-7n]);
    await run("INSERT INTO history VALUES (2, 2, -7)");
    const [rows] = await run("SELECT * FROM history ORDER BY id");
    assert.deepEqual(rows!.rows!.map((r) => r.slice(1).map(String)), [["2", "-7"], ["2", "-7"]]);
    // A duplicate key is 23505, as INSERT's is.
    await rejects(client.runProgram(insert, [1n, 3n, 5n]), "23505");
  });
});

Deno.test("program comparisons and float arithmetic follow SQL's rules", async () => {
  await withRing(async (client, _server, run) => {
    const pairs: [string, string][] = [["é", "z"], ["😀", "\uFFFF"], ["ab", "a"], ["", "a"]];
    for (const [left, right] of pairs) {
      const p = new ProgramBuilder();
      const a = p.param("text");
      const b = p.param("text");
      const lt = p.register("bool");
      const eq = p.register("bool");
      p.lt(lt, a, b).eq(eq, a, b).emit(lt).emit(eq);
      const values = await client.runProgram(p.build(), [left, right]);
      const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
      const [sql] = await run(
        `SELECT ${quote(left)} < ${quote(right)}, ${quote(left)} = ${quote(right)}`,
      );
      assert.deepEqual(values, sql!.rows![0], `${left} vs ${right}`);
    }
    const f = new ProgramBuilder();
    const x = f.param("float");
    const y = f.param("float");
    const product = f.register("float");
    const below = f.register("bool");
    f.lt(below, x, y).emit(below).mul(product, x, y).emit(product);
    const floats = f.build();
    assert.deepEqual(await client.runProgram(floats, [NaN, 1]), [false, NaN]);
    assert.deepEqual(await client.runProgram(floats, [1, NaN]), [true, NaN]);
    await rejects(client.runProgram(floats, [1e300, 1e300]), "22003", /overflow/);
    await rejects(client.runProgram(floats, [1e-300, 1e-300]), "22003", /underflow/);
    const [sql] = await run("SELECT 'NaN'::float8 < 1, 1 < 'NaN'::float8");
    assert.deepEqual(sql!.rows![0], [false, true]);
  });
});

Deno.test("the verifier rejects each class of bad program, with no effect", async () => {
  await withRing(async (client, server, run) => {
    const before = await tableText(run, "accounts");
    // Each bad program first updates a row (when it gets that far): nothing may change.
    const writeFirst = [
      step(Op.const, 0, 0),
      step(Op.get, 0, 0, 0),
      step(Op.const, 1, 1),
      step(Op.column, 2, 0, 0),
      step(Op.add, 2, 2, 1),
      step(Op.setColumn, 0, 0, 2),
      step(Op.update, 0),
    ];
    const base = {
      readWrite: true,
      registerTypes: [RegType.int, RegType.int, RegType.int, RegType.text, RegType.bool],
      rowSlots: 1,
      tables: ["accounts"],
      columns: [{ table: 0, name: "balance" }],
      constants: [1n, 5n],
    };
    const cases: [string, StepProgram, string, RegExp][] = [
      [
        "unknown operation",
        raw({ ...base, steps: [...writeFirst, step(99)] }),
        "42601",
        /unknown operation 99/,
      ],
      [
        "register out of range",
        raw({ ...base, steps: [...writeFirst, step(Op.emit, 9)] }),
        "42601",
        /r9 does not exist/,
      ],
      [
        "slot out of range",
        raw({ ...base, steps: [...writeFirst, step(Op.update, 3)] }),
        "42601",
        /s3 does not exist/,
      ],
      [
        "constant out of range",
        raw({ ...base, steps: [...writeFirst, step(Op.const, 1, 7)] }),
        "42601",
        /constant 7/,
      ],
      [
        "backward jump",
        raw({ ...base, steps: [...writeFirst, step(Op.jump, 0, 2)] }),
        "42601",
        /only forward/,
      ],
      [
        "jump past the end",
        raw({ ...base, steps: [...writeFirst, step(Op.jump, 0, 99)] }),
        "42601",
        /only forward/,
      ],
      [
        "jump to itself",
        raw({ ...base, steps: [...writeFirst, step(Op.jump, 0, 7)] }),
        "42601",
        /only forward/,
      ],
      [
        "unset register",
        raw({ ...base, steps: [...writeFirst, step(Op.emit, 3)] }),
        "42601",
        /before it is set/,
      ],
      [
        "unset row slot",
        raw({ ...base, rowSlots: 2, steps: [...writeFirst, step(Op.update, 1)] }),
        "42601",
        /before it is set/,
      ],
      [
        "unreachable step",
        raw({ ...base, steps: [...writeFirst, step(Op.end), step(Op.emit, 0)] }),
        "42601",
        /unreachable/,
      ],
      [
        "nonzero reserved operand",
        raw({ ...base, steps: [...writeFirst, step(Op.emit, 0, 0, 0, 1)] }),
        "42601",
        /reserved/,
      ],
      [
        "register type mismatch",
        raw({ ...base, steps: [...writeFirst, step(Op.column, 3, 0, 0)] }),
        "42804",
        /int into text/,
      ],
      [
        "mixed operand types",
        raw({ ...base, steps: [...writeFirst, step(Op.const, 3, 0)] }),
        "42804",
        /constant 0/,
      ],
      [
        "arithmetic on bool",
        raw({ ...base, steps: [...writeFirst, step(Op.eq, 4, 0, 1), step(Op.add, 4, 4, 4)] }),
        "42804",
        /on bool/,
      ],
      [
        "condition not bool",
        raw({ ...base, steps: [...writeFirst, step(Op.jumpIf, 0, 8), step(Op.end)] }),
        "42804",
        /not bool/,
      ],
      [
        "unknown table",
        raw({ ...base, tables: ["nope"], steps: writeFirst }),
        "42P01",
        /"nope" does not exist/,
      ],
      [
        "unknown column",
        raw({ ...base, columns: [{ table: 0, name: "nope" }], steps: writeFirst }),
        "42703",
        /"nope"/,
      ],
      [
        "write in a read-only program",
        raw({ ...base, readWrite: false, steps: writeFirst }),
        "25006",
        /read-write/,
      ],
      [
        "write to a table with CHECK",
        raw({
          ...base,
          tables: ["checked"],
          columns: [{ table: 0, name: "n" }],
          steps: writeFirst,
        }),
        "0A000",
        /CHECK/,
      ],
      [
        "too many steps",
        raw({
          ...base,
          steps: [...writeFirst, ...new Array(programLimits.stepsMax).fill(step(Op.emit, 0))],
        }),
        "54000",
        /steps/,
      ],
      [
        "too many emits",
        raw({
          ...base,
          steps: [...writeFirst, ...new Array(programLimits.emitsMax + 1).fill(step(Op.emit, 0))],
        }),
        "54000",
        /emits/,
      ],
      [
        "insert of a row read by get",
        raw({ ...base, steps: [...writeFirst, step(Op.insert, 0)] }),
        "42601",
        /newRow/,
      ],
    ];
    // A row slot that holds different tables on the two paths into a step.
    cases.push([
      "slot with different tables on two paths",
      raw({
        ...base,
        tables: ["accounts", "twins"],
        constants: [1n, true],
        steps: [
          step(Op.const, 0, 0),
          step(Op.const, 4, 1),
          step(Op.jumpIf, 4, 5),
          step(Op.get, 0, 0, 0),
          step(Op.jump, 0, 6),
          step(Op.get, 0, 1, 0),
          step(Op.column, 2, 0, 0),
        ],
      }),
      "42601",
      /different tables/,
    ]);
    // A register set on one path only.
    cases.push([
      "register set on one path only",
      raw({
        ...base,
        constants: [1n, true],
        steps: [
          step(Op.const, 4, 1),
          step(Op.jumpIf, 4, 3),
          step(Op.const, 0, 0),
          step(Op.emit, 0),
        ],
      }),
      "42601",
      /r0 before it is set/,
    ]);
    for (const [what, program, sqlState, pattern] of cases) {
      await rejects(client.runProgram(program), sqlState, pattern).catch((error) => {
        throw new Error(`${what}: ${error.message}`);
      });
    }
    // Truncated bytes, and garbage after the constants.
    const good = raw({ ...base, steps: writeFirst });
    await rejects(
      client.runProgram(new StepProgram(good.code.slice(0, 20), [], [1n, 5n])),
      "08P01",
    );
    const noMagic = good.code.slice();
    noMagic[0] = 0;
    await rejects(client.runProgram(new StepProgram(noMagic, [], [1n, 5n])), "08P01", /magic/);
    // A constant of the wrong type for this run: checked per submission.
    await rejects(
      client.runProgram(new StepProgram(good.code, [], ["x", 5n])),
      "42804",
      /constant 0/,
    );
    assert.equal(await tableText(run, "accounts"), before, "no rejected program had an effect");
    // The ring still serves: the good program runs.
    assert.deepEqual(await client.runProgram(good), []);
    const [row] = await run("SELECT balance FROM accounts WHERE id = 1");
    assert.equal(String(row!.rows![0]![0]), "1005");
    assert.ok(server.programs.stats.rejected >= cases.length);
  });
});

Deno.test("a failing program rolls back everything it wrote", async () => {
  await withRing(async (client, _server, run) => {
    const before = await tableText(run, "accounts");
    // transferProgram fails (P0001) when the debit would go below zero, after both updates.
    await rejects(client.runProgram(transferProgram, [1n, 2n, 5000n]), "P0001", /insufficient/);
    // Runtime errors after a write: overflow into an integer column, a too-long varchar.
    const p = new ProgramBuilder({ readWrite: true });
    const id = p.param("int");
    const delta = p.param("int");
    const owner = p.param("text");
    const row = p.get("accounts", id);
    const balance = p.register("int");
    p.readColumn(balance, row, "balance").add(balance, balance, delta);
    p.setColumn(row, "balance", balance).update(row);
    const other = p.get("accounts", p.constant("int", 2n));
    p.setColumn(other, "owner", owner).update(other);
    const update = p.build();
    await rejects(
      client.runProgram(update, [1n, 1n << 40n, "ok"]),
      "22003",
      /integer out of range/,
    );
    await rejects(client.runProgram(update, [1n, 1n, "much too long"]), "22001");
    await rejects(client.runProgram(update, [99n, 1n, "ok"]), "P0002", /holds no row/);
    assert.equal(await tableText(run, "accounts"), before);
    assert.deepEqual(await client.runProgram(update, [1n, 1n, "ok"]), []);
    const [rows] = await run("SELECT balance, owner FROM accounts WHERE id IN (1, 2) ORDER BY id");
    assert.deepEqual(rows!.rows!.map((r) => r.map(String)), [["1001", "o1"], ["1000", "ok"]]);
  });
});

Deno.test("a catalog change invalidates a cached verification", async () => {
  await withRing(async (client, server, run) => {
    const p = new ProgramBuilder();
    const row = p.get("accounts", p.param("int"));
    const owner = p.register("text");
    p.readColumn(owner, row, "owner").emit(owner);
    const program = p.build();
    assert.deepEqual(await client.runProgram(program, [4n]), ["o4"]);
    await run("ALTER TABLE accounts DROP COLUMN owner");
    await rejects(client.runProgram(program, [4n]), "42703", /"owner"/);
    await run("DROP TABLE accounts");
    await rejects(client.runProgram(program, [4n]), "42P01");
    assert.equal(server.programs.stats.verified, 1);
  });
});

Deno.test("a row changed since the program read it fails with 40001; delete removes a row", async () => {
  await withRing(async (client, _server, run, appliance) => {
    const p = new ProgramBuilder({ readWrite: true });
    const row = p.get("accounts", p.param("int"));
    const balance = p.register("int");
    p.readColumn(balance, row, "balance").add(balance, balance, p.constant("int", 1n));
    p.setColumn(row, "balance", balance).update(row).emit(balance);
    const increment = p.build();
    // Another session holds the row's lock with an uncommitted update; the program reads the
    // old committed row, waits for the lock at its update, and finds the row changed.
    const other = sqlRunner(appliance);
    await other.run("BEGIN; UPDATE accounts SET balance = 5 WHERE id = 1");
    const txns = appliance.engine.storage.txns;
    const waitsBefore = txns.stats.lockWaits;
    const pending = client.runProgram(increment, [1n]);
    // Until the program waits for the row lock (bounded: 5000 turns of the event loop).
    for (let turn = 0; turn < 5000 && txns.stats.lockWaits === waitsBefore; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal(txns.stats.lockWaits, waitsBefore + 1, "the program waits for the row lock");
    await other.run("COMMIT");
    await rejects(pending, "40001", /changed since the program read it/);
    const [after] = await run("SELECT balance FROM accounts WHERE id = 1");
    assert.equal(String(after!.rows![0]![0]), "5");
    assert.deepEqual(await client.runProgram(increment, [1n]), [6n]);

    const d = new ProgramBuilder({ readWrite: true });
    const victim = d.get("accounts", d.param("int"));
    const gone = d.label();
    d.jumpIfMissing(victim, gone).delete(victim).emit(d.constant("bool", true)).end();
    d.place(gone).emit(d.constant("bool", false));
    const remove = d.build();
    assert.deepEqual(await client.runProgram(remove, [3n]), [true]);
    assert.deepEqual(await client.runProgram(remove, [3n]), [false]);
    const [count] = await run("SELECT count(*) FROM accounts WHERE id = 3");
    assert.equal(String(count!.rows![0]![0]), "0");
  });
});

Deno.test("a ring's tasks run in the app's scheduler class", async () => {
  await withAppliance(async (appliance) => {
    const shared = createTaskRingMemory(4, 4096, []);
    const server = new TaskRingServer(appliance, shared, [], { taskClass: "background" });
    const serving = server.serve();
    try {
      const before = appliance.scheduler.stats();
      const p = new ProgramBuilder();
      p.emit(p.constant("int", 7n));
      assert.deepEqual(await new TaskRingClient(shared).runProgram(p.build()), [7n]);
      const after = appliance.scheduler.stats();
      // Background timers may run tasks too: the ring's task is one more, none is interactive.
      assert.ok(after.background.completed >= before.background.completed + 1);
      assert.equal(after.interactive.completed, before.interactive.completed);
    } finally {
      await server.stop();
      await serving;
    }
  });
});
