import assert from "node:assert/strict";
import { join } from "node:path";
import { alive, hostname } from "../pipeline/lock.ts";
import { root, withTempDir } from "./helpers.ts";

/** Processes that call acquireLock in the same instant. */
const CONTENDERS = 6;

/**
 * Start CONTENDERS processes that each wait for the same instant and call acquireLock(lock). A
 * process that gets the lock holds it until every other one has been refused (each leaves a
 * file saying so), so no one can take it later, after a release: the count is of one contest.
 */
async function race(lock: string): Promise<string[]> {
  const at = Date.now() + 2_000; // every process has started and loaded its modules by then
  const marks = `${lock}.refused`;
  await Deno.mkdir(marks);
  const script = `
import { acquireLock } from "./pipeline/lock.ts";
while (Date.now() < ${at}) {}
try {
  const lock = await acquireLock(${JSON.stringify(lock)});
  console.log("got");
  const until = Date.now() + 30_000;
  while ([...Deno.readDirSync(${JSON.stringify(marks)})].length < ${
    CONTENDERS - 1
  } && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await lock.release();
} catch (error) {
  console.log("refused: " + error.message);
  Deno.writeTextFileSync(${JSON.stringify(marks)} + "/" + Deno.pid, "");
}`;
  const outputs = await Promise.all(
    Array.from(
      { length: CONTENDERS },
      () =>
        new Deno.Command(Deno.execPath(), { args: ["eval", "--ext=ts", script], cwd: root })
          .output(),
    ),
  );
  return outputs.map((o) =>
    new TextDecoder().decode(o.stdout).trim() || new TextDecoder().decode(o.stderr)
  );
}

Deno.test("six processes taking the lock in the same instant: exactly one gets it", async () => {
  await withTempDir(async (dir) => {
    const said = await race(join(dir, "retrain.lock"));
    assert.equal(said.filter((s) => s === "got").length, 1, said.join("\n"));
    assert.ok(said.every((s) => s === "got" || s.startsWith("refused: ")), said.join("\n"));
  });
});

Deno.test("six processes finding the same stale lock: exactly one takes it over", async () => {
  await withTempDir(async (dir) => {
    const lock = join(dir, "retrain.lock");
    const dead = 999_999_999;
    assert.equal(await alive(dead), false);
    await Deno.writeTextFile(
      lock,
      JSON.stringify({ pid: dead, host: hostname(), startedAt: "then" }),
    );
    const minuteAgo = new Date(Date.now() - 60_000);
    await Deno.utime(lock, minuteAgo, minuteAgo);
    const said = await race(lock);
    assert.equal(said.filter((s) => s === "got").length, 1, said.join("\n"));
  });
});
