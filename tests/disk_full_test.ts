/**
 * A full disk: a failed write leaves no temporary file, names the file it could not write, and
 * a resume cleans what an earlier process left. The simulated case writes through /dev/full;
 * the real one mounts a 2 MiB tmpfs (root only; skipped with a message where it cannot).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { removeStaleTemps, writeFileAtomic } from "../pipeline/run_dir.ts";
import { cli, command, runDirOf, tiny, withTempDir } from "./helpers.ts";

const hasDevFull = (() => {
  try {
    return Deno.statSync("/dev/full").isCharDevice === true;
  } catch {
    return false;
  }
})();

const temps = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /\.tmp-\d+$/.test(n));

Deno.test({
  name: "writeFileAtomic() on a full disk (ENOSPC) names the file and leaves no temporary file",
  ignore: !hasDevFull,
  fn: async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, "checkpoint.json");
      await Deno.writeTextFile(target, "the last good checkpoint");
      // The temporary file this process would write is /dev/full: every write fails, ENOSPC.
      await Deno.symlink("/dev/full", `${target}.tmp-${Deno.pid}`);
      await assert.rejects(writeFileAtomic(target, "x".repeat(100_000)), {
        message: new RegExp(`^cannot write ${target}: No space left on device`),
      });
      assert.deepEqual(temps(dir), [], "the temporary file is removed");
      assert.equal(await Deno.readTextFile(target), "the last good checkpoint");
    });
  },
});
if (!hasDevFull) console.warn("skipped the ENOSPC simulation: this system has no /dev/full");

Deno.test("removeStaleTemps() removes what dead writers left, and nothing else", async () => {
  await withTempDir(async (dir) => {
    // 999999999 and 999999998 are no process; the parent process is alive and may be writing.
    const live = `summary.json.tmp-${Deno.ppid}`;
    const names = ["checkpoint.json.tmp-999999999", "metrics.csv.tmp-999999998", live];
    for (const name of [...names, "model.json", "a.tmp-x"]) {
      await Deno.writeTextFile(join(dir, name), "");
    }
    assert.deepEqual((await removeStaleTemps(dir)).sort(), [
      "checkpoint.json.tmp-999999999",
      "metrics.csv.tmp-999999998",
    ]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "a.tmp-x",
      "model.json",
      live,
    ]);
  });
});

/** Mount a tmpfs of `size` at a new directory, or say why not. */
async function smallFilesystem(size: string): Promise<{ dir: string } | { why: string }> {
  const dir = await Deno.makeTempDir({ prefix: "gradstream-small-" });
  try {
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
      stderr: "piped",
    }).output();
    if (mount.success) return { dir };
    return { why: new TextDecoder().decode(mount.stderr).trim() || `mount exited ${mount.code}` };
  } catch (error) {
    return { why: (error as Error).message };
  }
}

/** Write zeros to `path` until the filesystem is full. */
async function fill(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true });
  const block = new Uint8Array(64 * 1024);
  try {
    for (;;) await file.write(block);
  } catch {
    // full
  } finally {
    file.close();
  }
}

Deno.test("a resume on a full disk fails cleanly, again and again, and succeeds once there is room", async () => {
  const small = await smallFilesystem("2m");
  if ("why" in small) {
    console.warn(`skipped the full-disk resume test: cannot mount a small tmpfs (${small.why})`);
    return;
  }
  const { dir } = small;
  try {
    // An interrupted run on the small filesystem: SIGTERM after its first checkpoint.
    const child = command([
      "train",
      tiny,
      "--set",
      `output.dir=${dir}`,
      "--set",
      "training.epochs=2000",
      // A checkpoint each epoch, so that SIGTERM lands within the first few: the run's files
      // must leave room on the 2 MB filesystem (with auto's 2 s spacing, the tiny run had
      // trained 1,800 epochs, 1.1 MB of metrics and events, before it saw the signal).
      "--set",
      "training.checkpoint.every=epoch",
      "--log",
      "json",
    ]).spawn();
    let runDir = "";
    let buffer = "";
    let killed = false;
    const stderr = new Response(child.stderr).text();
    for await (const chunk of child.stdout) {
      buffer += new TextDecoder().decode(chunk);
      const started = /"event":"started".*?"runDir":"([^"]+)"/.exec(buffer);
      if (started) runDir = started[1]!;
      if (!killed && buffer.includes('"event":"checkpoint"')) {
        child.kill("SIGTERM");
        killed = true;
      }
    }
    assert.equal((await child.status).code, 143, await stderr);
    const checkpoint = await Deno.readTextFile(join(runDir, "checkpoint.json"));

    // Fill the disk, then resume twice: each fails with the file named, and leaves nothing.
    await fill(join(dir, "filler"));
    for (let attempt = 0; attempt < 2; attempt++) {
      const resumed = await cli(["train", tiny, "--set", `output.dir=${dir}`, "--resume", runDir]);
      assert.equal(resumed.code, 1, resumed.stdout + resumed.stderr);
      assert.match(resumed.stderr, /cannot write .*: No space left on device/);
      assert.deepEqual(temps(runDir), [], `attempt ${attempt}: temporary files left`);
      assert.equal(await Deno.readTextFile(join(runDir, "checkpoint.json")), checkpoint);
    }

    // A temporary file a killed writer left behind is what fills the disk: the resume removes
    // it, and then has room to finish.
    await Deno.rename(join(dir, "filler"), join(runDir, "checkpoint.json.tmp-99999"));
    const resumed = await cli(["train", tiny, "--set", `output.dir=${dir}`, "--resume", runDir]);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.equal(runDirOf(resumed.stdout), runDir);
    assert.deepEqual(temps(runDir), []);
  } finally {
    await new Deno.Command("umount", { args: [dir] }).output();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
