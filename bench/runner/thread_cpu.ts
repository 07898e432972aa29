/**
 * CPU time of this process's threads, from Linux's /proc: the kernel thread (the main thread,
 * whose id is the process id, and which runs every statement) and the whole process (the I/O
 * worker and V8's helpers besides). A benchmark that boots ExoDB in process reads both around a
 * run and divides by the transactions: CPU per transaction is a steadier figure than
 * throughput on a shared machine, and says which thread a profile's work lands on.
 *
 * Resolution is the kernel's clock tick (10 ms at USER_HZ 100): runs of a few seconds give
 * figures within about 1%. NaN where /proc is not readable (another OS, no --allow-read).
 */

/** USER_HZ: the unit of utime and stime in /proc stat files (100 on every Linux ABI). */
const clockTicksPerSecond = 100;

/** utime + stime of one /proc stat file, in milliseconds (NaN when unreadable). */
function statCpuMs(path: string): number {
  try {
    const text = Deno.readTextFileSync(path);
    // Fields after the parenthesised command name (which may hold spaces): state is field 3,
    // utime field 14 and stime field 15.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 1000 / clockTicksPerSecond;
  } catch {
    return NaN;
  }
}

/** CPU time so far, in milliseconds: the kernel (main) thread's and the whole process's. */
export interface CpuSnapshot {
  kernelThreadMs: number;
  processMs: number;
}

export function cpuSnapshot(): CpuSnapshot {
  return {
    kernelThreadMs: statCpuMs(`/proc/self/task/${Deno.pid}/stat`),
    processMs: statCpuMs("/proc/self/stat"),
  };
}

/** CPU used between two snapshots, in microseconds per transaction. */
export function cpuPerTxnUs(
  before: CpuSnapshot,
  after: CpuSnapshot,
  transactions: number,
): { kernelThreadUs: number; processUs: number } {
  const per = (ms: number) => ms * 1000 / Math.max(1, transactions);
  return {
    kernelThreadUs: per(after.kernelThreadMs - before.kernelThreadMs),
    processUs: per(after.processMs - before.processMs),
  };
}
