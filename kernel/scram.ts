/**
 * SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL runs it, server side, over node:crypto
 * (PBKDF2-HMAC-SHA-256, HMAC-SHA-256, SHA-256): no hash is computed here by hand.
 *
 * Rules:
 * 1. Only the verifier is kept (salt, iteration count, StoredKey, ServerKey), as PostgreSQL's
 *    `SCRAM-SHA-256$i:salt$StoredKey:ServerKey`; the password itself is dropped after derivation.
 * 2. No channel binding (there is no TLS): a client asking for it ("p=") is refused; "y" and
 *    "n" are accepted, and the final message's `c=` must be exactly base64 of that header.
 * 3. The user name inside the SCRAM message is ignored (libpq sends "", node-pg "*"): the
 *    startup packet's user is the one authenticated.
 * 4. The proof is compared in constant time.
 * 5. Passwords are used as UTF-8 bytes without SASLprep: identical for ASCII passwords, which
 *    is what PostgreSQL's SASLprep leaves unchanged too.
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { ExoError } from "../lib/errors.ts";

/** What the server keeps instead of the password. */
export interface ScramVerifier {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** PostgreSQL's default iteration count (scram_iterations). */
export const scramIterations = 4096;

const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();

/** Derives the verifier for `password` (a fresh 16-byte salt unless one is given). */
export function scramVerifier(
  password: string,
  iterations = scramIterations,
  salt: Buffer = randomBytes(16),
): ScramVerifier {
  const salted = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
  const clientKey = hmac(salted, "Client Key");
  return {
    salt,
    iterations,
    storedKey: createHash("sha256").update(clientKey).digest(),
    serverKey: hmac(salted, "Server Key"),
  };
}

const malformed = (what: string) => new ExoError("08P01", `malformed SCRAM message (${what})`);

/** One client's exchange: client-first → server-first, client-final → server-final. */
export class ScramExchange {
  readonly #verifier: ScramVerifier;
  #gs2Header = "";
  #clientFirstBare = "";
  #serverFirst = "";
  #nonce = "";

  constructor(verifier: ScramVerifier) {
    this.#verifier = verifier;
  }

  /** Takes the client-first message, returns server-first (`r=…,s=…,i=…`). */
  serverFirst(clientFirst: string): string {
    // gs2-header: cbind-flag "," [authzid] ","
    const first = clientFirst.indexOf(",");
    const second = first < 0 ? -1 : clientFirst.indexOf(",", first + 1);
    if (second < 0) throw malformed("no GS2 header");
    const flag = clientFirst.slice(0, first);
    if (flag.startsWith("p=")) {
      throw new ExoError("08P01", "channel binding is not supported without SSL");
    }
    if (flag !== "n" && flag !== "y") throw malformed(`unexpected channel-binding flag "${flag}"`);
    const authzid = clientFirst.slice(first + 1, second);
    if (authzid !== "") throw new ExoError("0A000", "client uses authorization identity");
    this.#gs2Header = clientFirst.slice(0, second + 1);
    this.#clientFirstBare = clientFirst.slice(second + 1);
    const attributes = this.#clientFirstBare.split(",");
    if (!attributes[0]?.startsWith("n=")) throw malformed("no user name attribute");
    const clientNonce = attributes[1]?.startsWith("r=") ? attributes[1].slice(2) : "";
    if (clientNonce === "" || !/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) {
      throw malformed("missing or unprintable client nonce");
    }
    this.#nonce = clientNonce + randomBytes(18).toString("base64");
    this.#serverFirst = `r=${this.#nonce},s=${
      this.#verifier.salt.toString("base64")
    },i=${this.#verifier.iterations}`;
    return this.#serverFirst;
  }

  /**
   * Checks the client-final message. Returns server-final (`v=…`) when the proof is right,
   * undefined when it is wrong (the caller answers 28P01); malformed input throws 08P01.
   */
  serverFinal(clientFinal: string): string | undefined {
    if (this.#serverFirst === "") throw malformed("final message before the first");
    const match = /^c=([^,]*),r=([^,]*)(?:,[^p][^,]*)*,p=([A-Za-z0-9+/=]+)$/.exec(clientFinal);
    if (match === null) throw malformed("client-final-message");
    const [, binding, nonce, proofText] = match as unknown as [string, string, string, string];
    if (binding !== Buffer.from(this.#gs2Header).toString("base64")) {
      throw malformed("unexpected channel binding");
    }
    if (nonce !== this.#nonce) throw malformed("nonce does not match");
    const proof = Buffer.from(proofText, "base64");
    if (proof.length !== 32) throw malformed("proof is not 32 bytes");
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(",p="));
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const signature = hmac(this.#verifier.storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    const stored = createHash("sha256").update(clientKey).digest();
    if (!timingSafeEqual(stored, this.#verifier.storedKey)) return undefined;
    return `v=${hmac(this.#verifier.serverKey, authMessage).toString("base64")}`;
  }
}
