/**
 * The session side of the wire protocol, message by message: startup answers, SCRAM, cancel,
 * timeouts, ParameterStatus, extended-query row limits and lifetimes, COPY out, vanished and
 * stalled clients.
 */
import assert from "node:assert/strict";
import pg from "pg";
import postgres from "postgres";
import {
  cstr,
  errorFields,
  frame,
  hasBinary,
  int16,
  int32,
  RawClient,
  startupPacket,
  strings,
  withServer,
} from "./_wire.ts";

const types = (messages: { type: string }[]) => messages.map((m) => m.type).join("");
const text = (body: Uint8Array) => new TextDecoder().decode(body);

Deno.test("startup: SSLRequest and GSSENCRequest get 'N', reported parameters, key data, bad versions", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    await client.send(frame(undefined, int32(80877103)));
    assert.equal(await client.byte(), 0x4e);
    await client.send(frame(undefined, int32(80877104)));
    assert.equal(await client.byte(), 0x4e);
    const messages = await client.startup({ user: "alice", application_name: "probe" });
    assert.equal(types(messages.slice(0, 1)), "R");
    const reported = new Map(
      messages.filter((m) => m.type === "S").map((m) => strings(m.body) as [string, string]),
    );
    assert.match(reported.get("server_version")!, /^15\./);
    assert.equal(reported.get("server_encoding"), "UTF8");
    assert.equal(reported.get("client_encoding"), "UTF8");
    assert.match(reported.get("DateStyle")!, /^ISO/);
    assert.equal(reported.get("IntervalStyle"), "postgres");
    assert.equal(reported.get("integer_datetimes"), "on");
    assert.equal(reported.get("standard_conforming_strings"), "on");
    assert.equal(reported.get("application_name"), "probe");
    assert.equal(reported.get("session_authorization"), "alice");
    assert.ok(reported.has("TimeZone") && reported.has("is_superuser"));
    assert.equal(messages.filter((m) => m.type === "K").length, 1);
    assert.equal(messages.at(-1)!.type, "Z");
    client.close();

    const old = await RawClient.connect(port);
    await old.send(frame(undefined, int32(2 << 16), cstr("user"), cstr("x"), "\0"));
    const refused = await old.untilReady();
    assert.equal(types(refused), "E");
    assert.equal(errorFields(refused[0]!.body).C, "0A000");
    assert.equal(await old.message(), null, "closed after the FATAL");
    old.close();

    // Protocol 3.2 with an unknown option: NegotiateProtocolVersion (3.0, the option), then on.
    const newer = await RawClient.connect(port);
    await newer.send(
      frame(undefined, int32(196610), cstr("user"), cstr("x"), cstr("_pq_.fancy"), cstr("1"), "\0"),
    );
    const negotiated = await newer.untilReady();
    assert.equal(types(negotiated.slice(0, 2)), "vR");
    const v = new DataView(negotiated[0]!.body.buffer, negotiated[0]!.body.byteOffset);
    assert.deepEqual([v.getInt32(0), v.getInt32(4)], [196608, 1]);
    assert.deepEqual(strings(negotiated[0]!.body.subarray(8)), ["_pq_.fancy"]);
    assert.equal(negotiated.at(-1)!.type, "Z");
    await newer.send(frame("F", int32(1598), int16(0), int16(0), int16(0)));
    const fastpath = await newer.untilReady();
    assert.equal(types(fastpath), "EZ");
    assert.equal(errorFields(fastpath[0]!.body).C, "0A000");
    newer.close();

    const anonymous = await RawClient.connect(port);
    const noUser = await anonymous.startup({ database: "exodb" });
    assert.equal(errorFields(noUser[0]!.body).C, "28000");
    assert.equal(errorFields(noUser[0]!.body).S, "FATAL");
    anonymous.close();
  });
});

Deno.test("SCRAM-SHA-256: the right password is accepted, a wrong one gets FATAL 28P01", async () => {
  await withServer(async (port) => {
    const options = { host: "127.0.0.1", port, user: "exodb", database: "exodb" };
    const good = new pg.Client({ ...options, password: "s3cret pass" });
    await good.connect();
    assert.equal((await good.query("select 1 + 1 as two")).rows[0].two, 2);
    await good.end();
    const bad = new pg.Client({ ...options, password: "wrong" });
    await assert.rejects(
      bad.connect(),
      (e: { code?: string; message?: string }) =>
        e.code === "28P01" && /password authentication failed for user "exodb"/.test(e.message!),
    );
    const js = postgres({ ...options, password: "s3cret pass", fetch_types: false, max: 1 });
    assert.equal((await js`select 3 as three`)[0]!.three, 3);
    await js.end({ timeout: 1 });
    if (hasBinary("psql")) {
      const args = ["-X", "-A", "-t", "-h", "127.0.0.1", "-p", String(port), "-U", "exodb", "-c"];
      const run = (password: string) =>
        new Deno.Command("psql", {
          args: [...args, "select 'libpq in'"],
          env: { PGPASSWORD: password },
          stdout: "piped",
          stderr: "piped",
        }).output();
      const ok = await run("s3cret pass");
      assert.equal(new TextDecoder().decode(ok.stdout), "libpq in\n");
      const refused = await run("nope");
      assert.ok(!refused.success);
      assert.match(new TextDecoder().decode(refused.stderr), /password authentication failed/);
    }
    // A client that does not speak SASL gets the request and can only give up.
    const raw = await RawClient.connect(port);
    await raw.send(startupPacket());
    const request = await raw.message();
    assert.equal(request?.type, "R");
    assert.equal(new DataView(request!.body.buffer).getInt32(0), 10);
    assert.deepEqual(strings(request!.body.subarray(4)), ["SCRAM-SHA-256", ""]);
    // A garbled SASLInitialResponse: 08P01, closed.
    await raw.send(frame("p", cstr("SCRAM-SHA-256"), int32(5), "junk!"));
    const reply = await raw.untilReady();
    assert.equal(errorFields(reply[0]!.body).C, "08P01");
    raw.close();
  }, { password: "s3cret pass" });
});

Deno.test("CancelRequest and statement_timeout stop a running statement with 57014", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    const startup = await client.startup();
    const key = startup.find((m) => m.type === "K")!.body;
    const view = new DataView(key.buffer, key.byteOffset);
    await client.send(frame("Q", cstr("select count(*) from generate_series(1, 2000000000)")));
    // Cancel with a wrong key first: nothing happens.
    const wrong = await RawClient.connect(port);
    await wrong.send(frame(undefined, int32(80877102), int32(view.getInt32(0)), int32(1)));
    assert.equal(await wrong.message(), null, "no reply, closed");
    const cancel = await RawClient.connect(port);
    await cancel.send(
      frame(undefined, int32(80877102), int32(view.getInt32(0)), int32(view.getInt32(4))),
    );
    assert.equal(await cancel.message(), null, "no reply, closed");
    const reply = await client.untilReady();
    assert.equal(types(reply), "EZ");
    assert.equal(errorFields(reply[0]!.body).C, "57014");
    assert.equal(errorFields(reply[0]!.body).M, "canceling statement due to user request");
    await client.send(frame("Q", cstr("set statement_timeout = 100")));
    await client.untilReady();
    await client.send(frame("Q", cstr("select count(*) from generate_series(1, 2000000000)")));
    const timedOut = await client.untilReady();
    assert.equal(errorFields(timedOut[0]!.body).C, "57014");
    assert.equal(
      errorFields(timedOut[0]!.body).M,
      "canceling statement due to statement timeout",
    );
    await client.send(frame("Q", cstr("select 7")));
    assert.equal(types(await client.untilReady()), "TDCZ", "the session goes on");
    client.close();
  });
});

Deno.test("idle_in_transaction_session_timeout ends the connection with FATAL 25P03 and rolls back", async () => {
  await withServer(async (port) => {
    const setup = new pg.Client({ host: "127.0.0.1", port, user: "exodb" });
    await setup.connect();
    await setup.query("create table t (id int primary key, v int)");
    await setup.query("insert into t values (1, 0)");
    const client = await RawClient.connect(port);
    await client.startup();
    await client.send(
      frame(
        "Q",
        cstr(
          "set idle_in_transaction_session_timeout = 150; begin; update t set v = 9 where id = 1",
        ),
      ),
    );
    const began = await client.untilReady();
    assert.equal(text(began.at(-1)!.body), "T");
    const fatal = await client.message();
    assert.equal(fatal?.type, "E");
    assert.equal(errorFields(fatal!.body).S, "FATAL");
    assert.equal(errorFields(fatal!.body).C, "25P03");
    assert.equal(await client.message(), null);
    client.close();
    // The row lock is released and the update rolled back: this update does not wait.
    await setup.query("set statement_timeout = 5000");
    assert.equal((await setup.query("update t set v = v + 1 where id = 1")).rowCount, 1);
    assert.equal((await setup.query("select v from t")).rows[0].v, 1);
    await setup.end();
  });
});

Deno.test("a connection that vanishes mid-transaction has its transaction rolled back", async () => {
  await withServer(async (port) => {
    const setup = new pg.Client({ host: "127.0.0.1", port, user: "exodb" });
    await setup.connect();
    await setup.query("create table t (id int primary key, v int)");
    await setup.query("insert into t values (1, 0)");
    const client = await RawClient.connect(port);
    await client.startup();
    await client.send(
      frame("Q", cstr("begin; update t set v = 5 where id = 1; insert into t values (2, 2)")),
    );
    assert.equal(text((await client.untilReady()).at(-1)!.body), "T");
    client.close(); // no Terminate: the socket just goes away
    await setup.query("set statement_timeout = 5000");
    // Waits for the row lock until the server sees the close and rolls back.
    assert.equal((await setup.query("update t set v = v + 1 where id = 1")).rowCount, 1);
    assert.deepEqual((await setup.query("select id, v from t order by id")).rows, [{
      id: 1,
      v: 1,
    }]);
    await setup.end();
  });
});

Deno.test("ParameterStatus follows SET of a reported parameter, only when the value changed", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    await client.startup();
    await client.send(frame("Q", cstr("set application_name = 'reporter'")));
    const first = await client.untilReady();
    assert.equal(types(first), "CSZ");
    assert.deepEqual(strings(first[1]!.body), ["application_name", "reporter"]);
    await client.send(frame("Q", cstr("set application_name = 'reporter'")));
    assert.equal(types(await client.untilReady()), "CZ");
    await client.send(frame("Q", cstr("set timezone = 'Europe/Paris'")));
    const zone = await client.untilReady();
    assert.deepEqual(strings(zone.find((m) => m.type === "S")!.body), [
      "TimeZone",
      "Europe/Paris",
    ]);
    client.close();
  });
});

Deno.test("simple query: several statements, empty queries, exact tags, errors stop the string", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    await client.startup();
    await client.send(frame("Q", cstr("")));
    assert.equal(types(await client.untilReady()), "IZ");
    await client.send(frame("Q", cstr(";;")));
    assert.equal(types(await client.untilReady()), "IZ");
    await client.send(
      frame(
        "Q",
        cstr(
          "create table t (id int primary key, s text); insert into t values (1, 'a'), (2, 'b'); " +
            "update t set s = 'c' where id = 2; select * from t order by id; delete from t where id = 1; " +
            "select 1/0; select 3",
        ),
      ),
    );
    const replies = await client.untilReady();
    assert.equal(types(replies), "CCCTDDCCEZ");
    const tags = replies.filter((m) => m.type === "C").map((m) => strings(m.body)[0]);
    assert.deepEqual(tags, ["CREATE TABLE", "INSERT 0 2", "UPDATE 1", "SELECT 2", "DELETE 1"]);
    assert.equal(errorFields(replies.at(-2)!.body).C, "22012");
    assert.equal(text(replies.at(-1)!.body), "I");
    // The string was one implicit transaction: the error undid the table too.
    await client.send(frame("Q", cstr("select * from t")));
    assert.equal(errorFields((await client.untilReady())[0]!.body).C, "42P01");
    await client.send(frame("Q", cstr("create table t (id int primary key)")));
    await client.untilReady();
    await client.send(frame("Q", cstr("insert into t values (10); insert into t values (10)")));
    const duplicate = await client.untilReady();
    assert.equal(types(duplicate), "CEZ");
    assert.equal(errorFields(duplicate[1]!.body).C, "23505");
    await client.send(frame("Q", cstr("select count(*) from t; select 2")));
    const counted = await client.untilReady();
    assert.equal(types(counted), "TDCTDCZ");
    assert.equal(text(counted[1]!.body.subarray(6)), "0", "the first insert was rolled back");
    // Inside an explicit block the block's rules apply instead.
    await client.send(frame("Q", cstr("begin; insert into t values (11); select 1/0")));
    assert.equal(text((await client.untilReady()).at(-1)!.body), "E");
    await client.send(frame("Q", cstr("rollback")));
    assert.equal(text((await client.untilReady()).at(-1)!.body), "I");
    client.close();
  });
});

Deno.test("extended query: row limits with PortalSuspended, Describe, NoData, lifetimes, skip to Sync", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    await client.startup();
    await client.send(frame("Q", cstr("create table t (id int primary key, name varchar(10))")));
    await client.untilReady();
    // Named statement with an untyped parameter; Describe S gives its types.
    await client.send(
      frame("P", cstr("ins"), cstr("insert into t values ($1, $2)"), int16(0)),
      frame("D", "S", cstr("ins")),
      frame("S"),
    );
    const described = await client.untilReady();
    assert.equal(types(described), "1tnZ");
    const oids = new DataView(described[1]!.body.buffer, described[1]!.body.byteOffset);
    assert.equal(oids.getInt16(0), 2);
    assert.deepEqual([oids.getInt32(2), oids.getInt32(6)], [23, 1043]);
    // Five Bind/Execute pairs pipelined before one Sync.
    const batch: Uint8Array[] = [];
    for (let i = 1; i <= 5; i++) {
      batch.push(
        frame(
          "B",
          cstr(""),
          cstr("ins"),
          int16(0),
          int16(2),
          int32(1),
          String(i),
          int32(1),
          "n",
          int16(0),
        ),
        frame("E", cstr(""), int32(0)),
      );
    }
    await client.send(...batch, frame("S"));
    assert.equal(types(await client.untilReady()), "2C2C2C2C2CZ");
    // Executes up to a Sync are one implicit transaction: the failing third undoes the first two.
    const bindInsert = (id: string) =>
      frame(
        "B",
        cstr(""),
        cstr("ins"),
        int16(0),
        int16(2),
        int32(id.length),
        id,
        int32(1),
        "z",
        int16(0),
      );
    await client.send(
      bindInsert("6"),
      frame("E", cstr(""), int32(0)),
      bindInsert("7"),
      frame("E", cstr(""), int32(0)),
      bindInsert("1"), // duplicate key
      frame("E", cstr(""), int32(0)),
      bindInsert("8"), // skipped: after the error everything waits for Sync
      frame("E", cstr(""), int32(0)),
      frame("S"),
    );
    const undone = await client.untilReady();
    assert.equal(types(undone), "2C2C2EZ");
    assert.equal(errorFields(undone[5]!.body).C, "23505");
    assert.equal(text(undone.at(-1)!.body), "I");
    await client.send(frame("Q", cstr("select count(*) from t where id > 5")));
    assert.equal(text((await client.untilReady())[1]!.body.subarray(6)), "0");
    // Re-parsing a named statement is 42P05, and the rest is skipped until Sync.
    await client.send(
      frame("P", cstr("ins"), cstr("select 1"), int16(0)),
      frame("B", cstr(""), cstr("ins"), int16(0), int16(0), int16(0)),
      frame("S"),
      frame("P", cstr(""), cstr("select id, name from t order by id"), int16(0)),
      frame("B", cstr("p1"), cstr(""), int16(0), int16(0), int16(0)),
      frame("D", "P", cstr("p1")),
      frame("E", cstr("p1"), int32(2)),
      frame("E", cstr("p1"), int32(2)),
      frame("E", cstr("p1"), int32(2)),
      frame("S"),
    );
    const duplicate = await client.untilReady();
    assert.equal(types(duplicate), "EZ");
    assert.equal(errorFields(duplicate[0]!.body).C, "42P05");
    const limited = await client.untilReady();
    assert.equal(types(limited), "12TDDsDDsDCZ");
    const fields = limited[2]!.body;
    const view = new DataView(fields.buffer, fields.byteOffset);
    // name: table oid, attnum, type 1043 varchar, typlen -1, typmod 10 + 4.
    const second = 2 + 3 + 18; // count, "id\0", id's fixed part
    assert.equal(view.getInt32(second + 5 + 6), 1043);
    assert.equal(view.getInt16(second + 5 + 10), -1);
    assert.equal(view.getInt32(second + 5 + 12), 14);
    assert.equal(strings(limited.at(-2)!.body)[0], "SELECT 1");
    // The portal died with its (implicit) transaction.
    await client.send(frame("E", cstr("p1"), int32(0)), frame("S"));
    const gone = await client.untilReady();
    assert.equal(errorFields(gone[0]!.body).C, "34000");
    // A Bind cut short: 08P01, skipped to Sync, the connection goes on.
    await client.send(frame("B", cstr(""), cstr("ins"), int16(0)), frame("S"));
    const cut = await client.untilReady();
    assert.equal(types(cut), "EZ");
    assert.equal(errorFields(cut[0]!.body).C, "08P01");
    // Close of an unknown name still completes; Flush sends what is pending without Sync.
    await client.send(frame("C", "S", cstr("nosuch")), frame("H"));
    assert.equal((await client.message())?.type, "3");
    client.close();
  });
});

Deno.test("COPY TO STDOUT in text and CSV, and COPY FROM STDIN CSV round trip", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    await client.startup();
    await client.send(
      frame(
        "Q",
        cstr(
          "create table t (id int primary key, s text, n numeric); " +
            "insert into t values (1, 'tab\there', 1.5), (2, null, null), (3, 'a,\"b\"', 0)",
        ),
      ),
    );
    await client.untilReady();
    await client.send(frame("Q", cstr("copy t to stdout")));
    const out = await client.untilReady();
    assert.equal(types(out), "HdddcCZ");
    assert.deepEqual(out.filter((m) => m.type === "d").map((m) => text(m.body)), [
      "1\ttab\\there\t1.5\n",
      "2\t\\N\t\\N\n",
      '3\ta,"b"\t0\n',
    ]);
    assert.equal(strings(out.at(-2)!.body)[0], "COPY 3");
    await client.send(
      frame(
        "Q",
        cstr("copy (select id, s from t where id > 1) to stdout with (format csv, header)"),
      ),
    );
    const csv = await client.untilReady();
    assert.deepEqual(csv.filter((m) => m.type === "d").map((m) => text(m.body)), [
      "id,s\n",
      "2,\n",
      '3,"a,""b"""\n',
    ]);
    await client.send(frame("Q", cstr("copy t (id, s) from stdin with (format csv)")));
    assert.equal((await client.message())?.type, "G");
    await client.send(frame("d", '10,"x,y"\n11,\n'), frame("c"));
    const done = await client.untilReady();
    assert.equal(strings(done[0]!.body)[0], "COPY 2");
    // Through the extended protocol: Execute answers G/H; ReadyForQuery waits for Sync.
    await client.send(
      frame("P", cstr(""), cstr("copy t (id) from stdin"), int16(0)),
      frame("B", cstr(""), cstr(""), int16(0), int16(0), int16(0)),
      frame("E", cstr(""), int32(0)),
      frame("H"),
    );
    const started = [await client.message(), await client.message(), await client.message()];
    assert.equal(types(started as { type: string }[]), "12G");
    await client.send(frame("d", "20\n21\n"), frame("S"), frame("c"), frame("S"));
    const copied = await client.untilReady();
    assert.equal(types(copied), "CZ");
    assert.equal(strings(copied[0]!.body)[0], "COPY 2");
    await client.send(
      frame("P", cstr(""), cstr("copy (select id from t where id >= 20) to stdout"), int16(0)),
      frame("B", cstr(""), cstr(""), int16(0), int16(0), int16(0)),
      frame("E", cstr(""), int32(0)),
      frame("S"),
    );
    const exported = await client.untilReady();
    assert.equal(types(exported), "12HddcCZ");
    assert.deepEqual(exported.filter((m) => m.type === "d").map((m) => text(m.body)), [
      "20\n",
      "21\n",
    ]);
    await client.send(frame("Q", cstr("select s is null from t where id = 11")));
    const row = (await client.untilReady()).find((m) => m.type === "D")!;
    assert.equal(text(row.body.subarray(6)), "t");
    client.close();
  });
});

Deno.test("a client that stops reading a big result does not stall the others", async () => {
  await withServer(async (port) => {
    const setup = new pg.Client({ host: "127.0.0.1", port, user: "exodb" });
    await setup.connect();
    await setup.query("create table big (id int primary key, s text)");
    await setup.query(
      "insert into big select g, repeat('x', 2000) from generate_series(1, 6000) g",
    );
    const stalled = await RawClient.connect(port);
    await stalled.startup();
    // About 12 MB of rows, more than the socket buffers hold; this client reads none of them yet.
    await stalled.send(frame("Q", cstr("select * from big")));
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 1; i <= 50; i++) {
      const { rows } = await setup.query("select id, length(s) as n from big where id = $1", [i]);
      assert.deepEqual(rows, [{ id: i, n: 2000 }]);
    }
    const other = new pg.Client({ host: "127.0.0.1", port, user: "exodb" });
    await other.connect();
    assert.equal((await other.query("select 1 as one")).rows[0].one, 1);
    await other.end();
    // The stalled client's result was held for it all along and arrives whole.
    const result = await stalled.untilReady();
    assert.equal(result.filter((m) => m.type === "D").length, 6000);
    assert.equal(strings(result.at(-2)!.body)[0], "SELECT 6000");
    stalled.close();
    await setup.end();
  }, { "pool-size": "32MiB", "log-size": "256MiB" });
});

Deno.test("messages over the configured maximum size get 08P01 before they are buffered", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    await client.startup();
    await client.send(frame("Q", cstr("select '" + "y".repeat(2000) + "'")));
    const reply = await client.untilReady();
    assert.equal(types(reply), "E");
    assert.equal(errorFields(reply[0]!.body).C, "08P01");
    assert.equal(errorFields(reply[0]!.body).M, "invalid message length");
    client.close();
  }, { "max-message-size": "1KiB" });
});

Deno.test("binary formats: binary parameters in, binary results out for the common types", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    await client.startup();
    const sql = "select $1::int4 as i, $2::int8 as b, 1.5::float8 as f, true as t, " +
      "'hé'::text as s, '\\x01ff'::bytea as raw, 12.5::numeric as n, " +
      "'2000-01-02 00:00:01'::timestamp as ts";
    await client.send(
      frame("P", cstr(""), cstr(sql), int16(2), int32(23), int32(20)),
      frame(
        "B",
        cstr(""),
        cstr(""),
        int16(1),
        int16(1), // all parameters binary
        int16(2),
        int32(4),
        int32(-7),
        int32(8),
        int32(0),
        int32(5),
        int16(1),
        int16(1), // all results binary
      ),
      frame("D", "P", cstr("")),
      frame("E", cstr(""), int32(0)),
      frame("S"),
    );
    const replies = await client.untilReady();
    assert.equal(types(replies), "12TDCZ");
    const row = replies[3]!.body;
    const view = new DataView(row.buffer, row.byteOffset);
    assert.equal(view.getInt16(0), 8);
    const values: Uint8Array[] = [];
    let at = 2;
    for (let i = 0; i < 8; i++) {
      const length = view.getInt32(at);
      values.push(row.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    const dv = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    assert.equal(dv(values[0]!).getInt32(0), -7);
    assert.equal(dv(values[1]!).getBigInt64(0), 5n);
    assert.equal(dv(values[2]!).getFloat64(0), 1.5);
    assert.deepEqual([...values[3]!], [1]);
    assert.equal(new TextDecoder().decode(values[4]!), "hé");
    assert.deepEqual([...values[5]!], [1, 255]);
    // numeric 12.5: ndigits 2, weight 0, sign +, dscale 1, digits 12 and 5000.
    assert.deepEqual([0, 2, 4, 6, 8, 10].map((o) => dv(values[6]!).getInt16(o)), [
      2,
      0,
      0,
      1,
      12,
      5000,
    ]);
    // One day and one second after 2000-01-01, in microseconds.
    assert.equal(dv(values[7]!).getBigInt64(0), 86_401_000_000n);
    client.close();
  });
});
