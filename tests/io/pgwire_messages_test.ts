/** The protocol codec alone: strict framing of every frontend message, and backend frames. */
import assert from "node:assert/strict";
import {
  BackendWriter,
  decodeSaslInitialResponse,
  FrontendDecoder,
  ProtocolViolation,
} from "../../io/pgwire/messages.ts";
import { cstr, frame, int16, int32, startupPacket } from "../kernel/_wire.ts";

function typed(bytes: Uint8Array, max?: number) {
  const decoder = new FrontendDecoder(max);
  decoder.startupDone();
  decoder.push(bytes);
  return decoder.next();
}

function violation(run: () => unknown, fatal: boolean, pattern: RegExp) {
  assert.throws(
    run,
    (e: unknown) =>
      e instanceof ProtocolViolation && e.fatal === fatal && pattern.test(e.message) &&
      e.sqlState === "08P01",
  );
}

Deno.test("every frontend message type decodes from its exact layout", () => {
  assert.deepEqual(typed(frame("Q", cstr("select 1"))), { kind: "query", sql: "select 1" });
  assert.deepEqual(typed(frame("P", cstr("s"), cstr("select $1"), int16(1), int32(23))), {
    kind: "parse",
    name: "s",
    sql: "select $1",
    paramTypes: [23],
  });
  assert.deepEqual(
    typed(
      frame(
        "B",
        cstr("p"),
        cstr("s"),
        int16(1),
        int16(1),
        int16(2),
        int32(-1),
        int32(1),
        "x",
        int16(0),
      ),
    ),
    {
      kind: "bind",
      portal: "p",
      statement: "s",
      paramFormats: [1],
      params: [null, new TextEncoder().encode("x")],
      resultFormats: [],
    },
  );
  assert.deepEqual(typed(frame("D", "P", cstr("p"))), { kind: "describe", target: "P", name: "p" });
  assert.deepEqual(typed(frame("E", cstr(""), int32(5))), {
    kind: "execute",
    portal: "",
    maxRows: 5,
  });
  assert.deepEqual(typed(frame("S")), { kind: "sync" });
  assert.deepEqual(typed(frame("H")), { kind: "flush" });
  assert.deepEqual(typed(frame("C", "S", cstr("s"))), { kind: "close", target: "S", name: "s" });
  assert.deepEqual(typed(frame("X")), { kind: "terminate" });
  assert.deepEqual(typed(frame("d", "a\tb\n")), {
    kind: "copyData",
    data: new TextEncoder().encode("a\tb\n"),
  });
  assert.deepEqual(typed(frame("c")), { kind: "copyDone" });
  assert.deepEqual(typed(frame("f", cstr("why"))), { kind: "copyFail", message: "why" });
  assert.equal(typed(frame("p", cstr("pw")))?.kind, "password");
  assert.deepEqual(typed(frame("F", int32(1598), int16(0), int16(1), int32(1), "7", int16(0))), {
    kind: "functionCall",
    functionOid: 1598,
    argFormats: [],
    args: [new TextEncoder().encode("7")],
    resultFormat: 0,
  });
  const sasl = decodeSaslInitialResponse(
    new Uint8Array([...new TextEncoder().encode("SCRAM-SHA-256\0"), ...int32(3), 110, 44, 44]),
  );
  assert.equal(sasl.mechanism, "SCRAM-SHA-256");
  assert.deepEqual([...sasl.response!], [110, 44, 44]);
});

Deno.test("malformed bodies are 08P01 errors; framing losses are fatal", () => {
  violation(() => typed(frame("Q", "no terminator")), false, /invalid string/);
  // Read in place, a body must not borrow the next message's bytes: the terminator after the
  // end of this Query (inside the Parse behind it in the same read) does not count, and the
  // next message still decodes.
  const inPlace = new FrontendDecoder();
  inPlace.startupDone();
  inPlace.push(
    new Uint8Array([...frame("Q", "abc"), ...frame("P", cstr("s"), cstr("x"), int16(0))]),
  );
  violation(() => inPlace.next(), false, /invalid string/);
  assert.deepEqual(inPlace.next(), { kind: "parse", name: "s", sql: "x", paramTypes: [] });
  const shortInt = new FrontendDecoder();
  shortInt.startupDone();
  shortInt.push(new Uint8Array([...frame("E", cstr("")), ...frame("S")]));
  violation(() => shortInt.next(), false, /format/); // maxRows would run into the Sync
  assert.deepEqual(shortInt.next(), { kind: "sync" });
  violation(() => typed(frame("S", [0])), false, /invalid message format/); // trailing byte
  violation(() => typed(frame("P", cstr(""), cstr("x"), int16(-1))), false, /format/);
  violation(() => typed(frame("P", cstr(""), cstr("x"), int16(3), int32(0))), false, /format/);
  violation(
    () => typed(frame("B", cstr(""), cstr(""), int16(0), int16(1), int32(9), "ab", int16(0))),
    false,
    /format/,
  );
  violation(() => typed(frame("D", "Q", cstr(""))), false, /DESCRIBE/);
  violation(() => typed(frame("E", cstr(""))), false, /format/);
  violation(
    () => decodeSaslInitialResponse(new Uint8Array([65, 0, 0, 0, 0, 9, 1])),
    false,
    /format/,
  );
  violation(() => typed(frame("Y")), true, /invalid frontend message type 89/);
  // A length below 4, or above the maximum: refused from the 5-byte header alone.
  violation(() => typed(new Uint8Array([0x51, 0, 0, 0, 3])), true, /invalid message length/);
  violation(() => typed(new Uint8Array([0x51, 0x7f, 0xff, 0xff, 0xff])), true, /length/);
  violation(() => typed(new Uint8Array([0x51, 0, 0, 4, 1]), 1024), true, /length/);
  const startup = new FrontendDecoder();
  startup.push(new Uint8Array([0, 0, 0x27, 0x11])); // 10,001 bytes
  violation(() => startup.nextStartup(), true, /invalid length of startup packet/);
  const tiny = new FrontendDecoder();
  tiny.push(new Uint8Array([0, 0, 0, 7, 0, 3, 0, 0]));
  violation(() => tiny.nextStartup(), true, /startup packet/);
  const old = new FrontendDecoder();
  old.push(frame(undefined, int32(2 << 16), "user\0x\0\0"));
  assert.throws(
    () => old.nextStartup(),
    (e: unknown) => (e as ProtocolViolation).sqlState === "0A000",
  );
  const unterminated = new FrontendDecoder();
  unterminated.push(frame(undefined, int32(196608), "user\0x"));
  violation(() => unterminated.nextStartup(), false, /invalid string/);
});

Deno.test("messages split across reads are reassembled; several in one read all come out", () => {
  const bytes = new Uint8Array([
    ...startupPacket(),
    ...frame("Q", cstr("select 1")),
    ...frame("S"),
  ]);
  const decoder = new FrontendDecoder();
  for (const b of bytes) decoder.push(new Uint8Array([b])); // one byte per read
  assert.equal(decoder.nextStartup()?.kind, "startup");
  decoder.startupDone();
  assert.deepEqual(decoder.next(), { kind: "query", sql: "select 1" });
  assert.deepEqual(decoder.next(), { kind: "sync" });
  assert.equal(decoder.next(), undefined);
  assert.equal(decoder.buffered, 0);
  const partial = new FrontendDecoder();
  partial.startupDone();
  partial.push(frame("Q", cstr("select 2")).subarray(0, 7));
  assert.equal(partial.next(), undefined, "waits for the rest");
  assert.equal(partial.peekType(), "Q");
});

Deno.test("every backend message is framed with a length that counts itself", () => {
  const out = new BackendWriter();
  out.refuseEncryption();
  assert.deepEqual([...out.take()], [0x4e]);
  const writers: [string, (w: BackendWriter) => void][] = [
    ["R", (w) => w.authenticationOk()],
    ["R", (w) => w.authenticationCleartextPassword()],
    ["R", (w) => w.authenticationMd5Password(new Uint8Array([1, 2, 3, 4]))],
    ["R", (w) => w.authenticationSasl(["SCRAM-SHA-256"])],
    ["R", (w) => w.authenticationSaslContinue(new Uint8Array(5))],
    ["R", (w) => w.authenticationSaslFinal(new Uint8Array(5))],
    ["v", (w) => w.negotiateProtocolVersion(196608, ["_pq_.x"])],
    ["S", (w) => w.parameterStatus("a", "b")],
    ["K", (w) => w.backendKeyData(1, 2)],
    ["Z", (w) => w.readyForQuery("T")],
    [
      "T",
      (w) =>
        w.rowDescription([{
          name: "x",
          tableOid: 0,
          columnNumber: 0,
          typeOid: 23,
          typeLength: 4,
          typeModifier: -1,
          format: 0,
        }]),
    ],
    ["D", (w) => w.dataRow(["é", null, new Uint8Array([1])])],
    ["C", (w) => w.commandComplete("SELECT 1")],
    ["I", (w) => w.emptyQueryResponse()],
    ["E", (w) => w.errorResponse({ severity: "ERROR", code: "42601", message: "m", position: 3 })],
    ["N", (w) => w.noticeResponse({ severity: "NOTICE", code: "00000", message: "n" })],
    ["1", (w) => w.parseComplete()],
    ["2", (w) => w.bindComplete()],
    ["3", (w) => w.closeComplete()],
    ["n", (w) => w.noData()],
    ["s", (w) => w.portalSuspended()],
    ["t", (w) => w.parameterDescription([23, 25])],
    ["G", (w) => w.copyInResponse(0, [0, 0])],
    ["H", (w) => w.copyOutResponse(0, [0])],
    ["W", (w) => w.copyBothResponse(0, [])],
    ["d", (w) => w.copyData("row\n")],
    ["c", (w) => w.copyDone()],
    ["A", (w) => w.notificationResponse(7, "chan", "payload")],
    ["V", (w) => w.functionCallResponse(null)],
  ];
  for (const [type, write] of writers) {
    write(out);
    const bytes = out.take();
    assert.equal(String.fromCharCode(bytes[0]!), type);
    assert.equal(new DataView(bytes.buffer).getInt32(1), bytes.length - 1, type);
  }
  // A DataRow's value length is the UTF-8 byte count.
  out.dataRow(["é"]);
  const row = out.take();
  assert.equal(new DataView(row.buffer).getInt32(7), 2);
});

Deno.test("strings decode and encode alike on the ASCII fast path and the UTF-8 one", () => {
  const long = "x".repeat(100) + "é"; // past the fast path's length, and not ASCII
  for (const sql of ["select 1", "", "select 'é'", "x".repeat(64), "x".repeat(65), long]) {
    assert.deepEqual(typed(frame("Q", cstr(sql))), { kind: "query", sql });
  }
  // Invalid UTF-8 is refused whichever path reads it.
  for (const bad of [[0x61, 0xff], [...new Array(80).fill(0x61), 0xc3]]) {
    const body = new Uint8Array([...bad, 0]);
    assert.throws(
      () => typed(frame("Q", body)),
      (e: unknown) => e instanceof ProtocolViolation && e.sqlState === "22021",
    );
  }
  const out = new BackendWriter();
  for (const tag of ["SELECT 1", "héllo", "y".repeat(64), "ü".repeat(70)]) {
    out.commandComplete(tag);
    const bytes = out.take();
    assert.equal(new TextDecoder().decode(bytes.subarray(5, bytes.length - 1)), tag);
    assert.equal(new DataView(bytes.buffer).getInt32(1), bytes.length - 1);
    out.dataRow([tag]);
    const row = out.take();
    const length = new DataView(row.buffer).getInt32(7);
    assert.equal(new TextDecoder().decode(row.subarray(11, 11 + length)), tag);
  }
});
