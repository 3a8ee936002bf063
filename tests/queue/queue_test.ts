import assert from "node:assert/strict";
import { join } from "node:path";
import { Queue } from "bullmq";
import { connectionOf, QUEUE_NAME } from "../../queue/queue.ts";
import { RedisLockedError, takeRedisLock } from "../../queue/redis_lock.ts";
import {
  haveRedis,
  root,
  startRedis,
  task,
  taskCommand,
  trialsWithoutTime,
  withTempDir,
} from "../helpers.ts";

const tinyValidation = join(root, "fixtures", "configs", "tiny_validation.yaml");

Deno.test("connectionOf() reads redis:// URLs and refuses anything else clearly", () => {
  assert.deepEqual(connectionOf("redis://127.0.0.1:6390"), {
    host: "127.0.0.1",
    port: 6390,
    maxRetriesPerRequest: null,
  });
  assert.deepEqual(connectionOf("redis://user:p%40ss@cache.local/2"), {
    host: "cache.local",
    port: 6379,
    username: "user",
    password: "p@ss",
    db: 2,
    maxRetriesPerRequest: null,
  });
  assert.equal(connectionOf("rediss://h:1").tls !== undefined, true);
  assert.throws(() => connectionOf("http://127.0.0.1:6379"), /expects a redis:\/\//);
  assert.throws(() => connectionOf("127.0.0.1:6379"), /--queue expects a URL such as redis:/);
  assert.throws(() => connectionOf("redis://h/x"), /database number/);
});

Deno.test("an unreachable Redis is a clear error, not a hang", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close(); // nothing listens there now
  const result = await task("worker", ["--queue", `redis://127.0.0.1:${port}`]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`cannot reach Redis at 127.0.0.1:${port}`));
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
});

/** A worker process whose output is collected in `log`. */
function startWorkerProcess(url: string) {
  const child = taskCommand("worker", ["--queue", url, "--lock-seconds", "5"]).spawn();
  const state = { log: "", child };
  const reading = (async () => {
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) state.log += text;
  })();
  const errors = new Response(child.stderr).text();
  return {
    state,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* ended */ }
      await child.status;
      await reading;
      await errors;
    },
  };
}

/** A Redis server with three workers taking jobs from it. */
async function redisWithWorkers() {
  const redis = await startRedis();
  const workers = [0, 1, 2].map(() => startWorkerProcess(redis.url));
  await waitFor("the workers", () => workers.every((w) => w.state.log.includes("taking jobs")));
  return { redis, workers };
}

async function waitFor(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  for (let waited = 0; !check(); waited += 50) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "a Redis lock is held by one taker at a time",
  ignore: !haveRedis(),
  fn: async () => {
    const redis = await startRedis();
    const queue = new Queue(QUEUE_NAME, { connection: connectionOf(redis.url) });
    try {
      const client = await queue.client;
      const first = await takeRedisLock(client, "gradstream:test-lock");
      await assert.rejects(takeRedisLock(client, "gradstream:test-lock"), RedisLockedError);
      await first.release();
      const second = await takeRedisLock(client, "gradstream:test-lock");
      await first.release(); // an old holder's release leaves the new holder's lock alone
      await assert.rejects(takeRedisLock(client, "gradstream:test-lock"), RedisLockedError);
      await second.release();
    } finally {
      await queue.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "a sweep on the queue with three workers, one killed mid-trial, gives the local sweep's trials.csv",
  ignore: !haveRedis(),
  fn: async () => {
    await withTempDir(async (dir) => {
      const sweep = {
        name: "queued",
        base: tinyValidation,
        method: "random",
        trials: 4,
        seed: 11,
        metric: "validationAccuracy",
        parallel: 2,
        output: { dir: "out" },
        space: {
          "optimizer.learningRate": { logUniform: [1e-3, 1] },
          "training.iterations": { values: [12000] },
          "evaluation.every": { values: [2000] },
        },
      };
      const file = join(dir, "queued.json");
      await Deno.writeTextFile(file, JSON.stringify(sweep));
      const local = await task("sweep", [file, "--quiet"]);
      assert.equal(local.code, 0, local.stderr);
      const localDir = local.stdout.match(/^sweep folder: (.*)$/m)![1]!;
      const expected = trialsWithoutTime(await Deno.readTextFile(join(localDir, "trials.csv")));

      const { redis, workers } = await redisWithWorkers();
      try {
        const queued = taskCommand("sweep", [file, "--queue", redis.url]).output();
        // Kill a worker a second into its first trial.
        await waitFor(
          "a trial to start",
          () => workers.some((w) => / trial \S+ started/.test(w.state.log)),
        );
        await new Promise((r) => setTimeout(r, 1000));
        const victim = workers.find((w) => / trial \S+ started/.test(w.state.log))!;
        const killed = victim.state.log.match(/ trial (\S+) started/)![1]!;
        assert.doesNotMatch(victim.state.log, new RegExp(`${killed} ended`), "killed mid-trial");
        await victim.stop("SIGKILL");
        const result = await queued;
        const stdout = new TextDecoder().decode(result.stdout);
        assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
        const queueDir = stdout.match(/^sweep folder: (.*)$/m)![1]!;
        const rows = trialsWithoutTime(await Deno.readTextFile(join(queueDir, "trials.csv")));
        assert.deepEqual(rows, expected);
        // The killed trial ran again, to its end, on a worker still alive.
        const others = workers.filter((w) => w !== victim).map((w) => w.state.log).join("");
        assert.match(others, new RegExp(`${killed} started[\\s\\S]*${killed} ended`));
      } finally {
        for (const w of workers) await w.stop("SIGKILL");
        await redis.stop();
      }
    });
  },
});

Deno.test({
  name: "schedule --queue: with three workers each tick retrains once, and --remove ends it",
  ignore: !haveRedis(),
  fn: async () => {
    await withTempDir(async (dir) => {
      const base = await Deno.readTextFile(tinyValidation);
      await Deno.writeTextFile(
        join(dir, "tick.yaml"),
        base.replaceAll("../tiny/", `${join(root, "fixtures", "tiny")}/`)
          .replace("name: tiny-validation", "name: tick")
          .replace("output: { dir: ../../runs }", `output: { dir: ${join(dir, "out")} }`) +
          'schedule: { cron: "*/3 * * * * *" }\n',
      );
      const { redis, workers } = await redisWithWorkers();
      try {
        const registered = await task("schedule", [join(dir, "tick.yaml"), "--queue", redis.url]);
        assert.equal(registered.code, 0, registered.stderr);
        assert.match(registered.stdout, /scheduled "retrain-tick"/);
        // Registering twice replaces the schedule; it never runs a tick twice.
        assert.equal(
          (await task("schedule", [join(dir, "tick.yaml"), "--queue", redis.url])).code,
          0,
        );
        const started = () =>
          workers.flatMap((w) =>
            [...w.state.log.matchAll(/ retrain (\S+) started/g)].map((m) => m[1]!)
          );
        await waitFor("three ticks", () => started().length >= 3, 30_000);
        const removed = await task("schedule", [
          join(dir, "tick.yaml"),
          "--queue",
          redis.url,
          "--remove",
        ]);
        assert.equal(removed.code, 0, removed.stderr);
        const ids = started();
        const endOf = (id: string) =>
          workers.map((w) => w.state.log.match(new RegExp(`${id} (ended|failed: .*)`))?.[1])
            .find(Boolean);
        await waitFor("the last retraining", () => ids.every(endOf));
        await new Promise((r) => setTimeout(r, 2500)); // a tick after --remove would show here
        const all = started();
        await waitFor("the retraining of a last tick", () => all.every(endOf));
        assert.equal(new Set(all).size, all.length, `a tick ran twice: ${all}`);
        assert.ok(all.length <= ids.length + 1, "the schedule stopped");
        // A tick that finds the previous retraining still running (a slow machine) is skipped
        // under the Redis lock; every other tick retrained once into the shared folder.
        const ends = all.map((id) => endOf(id) ?? "");
        for (const end of ends) assert.match(end, /^ended$|held by another worker/);
        const done = ends.filter((e) => e === "ended").length;
        assert.ok(done >= 1, `retrained ${done} times`);
        const runs = [...Deno.readDirSync(join(dir, "out", "tick"))].filter((e) =>
          /^\d{4}-/.test(e.name)
        );
        assert.equal(runs.length, done);
        await Deno.stat(join(dir, "out", "tick", "current", "model.json"));
      } finally {
        for (const w of workers) await w.stop("SIGKILL");
        await redis.stop();
      }
    });
  },
});
