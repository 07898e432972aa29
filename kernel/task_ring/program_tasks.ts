/**
 * The kernel's handling of a step-program task: decode, verify (or reuse the verification of
 * the same code while the catalog is unchanged), check the constants, run in one transaction.
 *
 * Invariant: a cached verification is used only while `catalog.stableVersion` equals the one it
 * was made at (the version changes with every catalog change, and is undefined — no caching —
 * while any catalog change is uncommitted), so a program never runs against tables other than
 * those it was verified against.
 */
import type { Table } from "../../dbengine/table.ts";
import type { EngineAccess } from "../../query/sql_session.ts";
import { decodeConstants, type ProgramValue } from "./program_format.ts";
import { checkConstants, runProgram } from "./program_runner.ts";
import { type VerifiedProgram, verifyProgram } from "./program_verifier.ts";
import { ExoError } from "../../lib/errors.ts";
import { ProgramFormatError } from "./program_format.ts";

interface Verified {
  program: VerifiedProgram;
  tables: Table[];
  catalogVersion: number;
}

/** Most distinct programs whose verification is kept. */
const cachedProgramsMax = 64;

/** Counters of program tasks. */
export interface ProgramTaskStats {
  verified: number;
  cacheHits: number;
  rejected: number;
}

/** Runs program tasks for one ring. */
export class ProgramTasks {
  readonly stats: ProgramTaskStats = { verified: 0, cacheHits: 0, rejected: 0 };
  readonly #engine: () => EngineAccess;
  readonly #cache = new Map<string, Verified>();

  constructor(engine: () => EngineAccess) {
    this.#engine = engine;
  }

  /** Runs the program in `request` (code ‖ constants) and returns what it emitted. */
  async run(request: Uint8Array): Promise<ProgramValue[]> {
    const engine = this.#engine();
    const { program, tables } = this.#verified(engine, request);
    let constants: ProgramValue[];
    try {
      constants = decodeConstants(request, program.codeBytes, program.constantCount);
    } catch (error) {
      this.stats.rejected++;
      if (error instanceof ProgramFormatError) throw new ExoError("08P01", error.message);
      throw error;
    }
    try {
      checkConstants(program, constants);
    } catch (error) {
      this.stats.rejected++;
      throw error;
    }
    return await runProgram(engine, program, tables, constants);
  }

  #verified(engine: EngineAccess, request: Uint8Array): Verified {
    const { catalog, storage } = engine;
    const version = catalog.stableVersion;
    // The code part's length is at bytes 14-15 (program_format.ts); a bad one fails verification.
    const codeBytes = request.length >= 16 ? request[14]! | (request[15]! << 8) : request.length;
    const code = request.subarray(0, Math.min(codeBytes, request.length));
    const key = String.fromCharCode.apply(null, code as unknown as number[]);
    const known = this.#cache.get(key);
    if (known !== undefined && known.catalogVersion === version) {
      this.stats.cacheHits++;
      return known;
    }
    const snapshot = storage.txns.snapshot();
    let verified: Verified;
    try {
      const program = verifyProgram(code, (name) => catalog.tableDef(name, undefined, snapshot));
      verified = {
        program,
        tables: program.tables.map((def) => catalog.handle(def)),
        catalogVersion: version ?? -1,
      };
    } catch (error) {
      this.stats.rejected++;
      throw error;
    } finally {
      storage.txns.release(snapshot);
    }
    this.stats.verified++;
    if (version !== undefined) {
      if (this.#cache.size >= cachedProgramsMax) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
      this.#cache.set(key, verified);
    }
    return verified;
  }
}
