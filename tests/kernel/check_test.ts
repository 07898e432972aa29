/** `exodb check`: the offline verifier passes a crashed-and-recovered image and catches damage. */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;
const child = new URL("../crash/crash_child.ts", import.meta.url).pathname;

async function check(dataDir: string): Promise<{ code: number; text: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "exodb", "check", "--data-dir", dataDir, "--block-size", "4KiB"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: result.code, text: decoder.decode(result.stdout) + decoder.decode(result.stderr) };
}

function imageExists(dataDir: string): boolean {
  try {
    return Deno.statSync(`${dataDir}/exodb.img`).size > 0;
  } catch {
    return false;
  }
}

Deno.test("exodb check passes a recovered image and exits 1 naming a damaged block", async () => {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-check-" });
  try {
    const workload = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", child, dataDir, "run", "1"],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // The workload formats the image first; on a loaded machine its start can take seconds.
    for (let waited = 0; waited < 30_000 && !imageExists(dataDir); waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 800));
    workload.kill("SIGKILL");
    await workload.status;
    const clean = await check(dataDir);
    assert.equal(clean.code, 0, clean.text);
    assert.match(clean.text, /checked \d+ blocks and \d+ B\+trees .*: 0 errors/);
    // Flip one bit in the payload of a leaf block of the image.
    const image = Deno.readFileSync(`${dataDir}/exodb.img`);
    let damaged = -1;
    for (let block = 3; block * 4096 < image.length; block++) {
      if (image[block * 4096 + 4] === 4 /* B+tree leaf */) {
        damaged = block;
        break;
      }
    }
    assert.ok(damaged > 0, "found a leaf block");
    image[damaged * 4096 + 2000]! ^= 0x10;
    Deno.writeFileSync(`${dataDir}/exodb.img`, image);
    const broken = await check(dataDir);
    assert.equal(broken.code, 1, broken.text);
    assert.match(
      broken.text,
      new RegExp(`error: invalid page in block ${damaged} of .*exodb\\.img: calculated checksum`),
    );
  } finally {
    Deno.removeSync(dataDir, { recursive: true });
  }
});
