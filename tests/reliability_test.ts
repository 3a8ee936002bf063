/**
 * Unattended runs: kill -9 at random points and resume, signals, corrupted checkpoints,
 * resume refusals, retraining with promotion and its lock. All through the CLI.
 */
import assert from "node:assert/strict";
import { isAbsolute, join } from "node:path";
import { Random } from "../nn/random.ts";
import { hostname } from "../pipeline/lock.ts";
import {
  cli,
  command,
  retrainTinyArgs,
  root,
  runDirOf,
  tiny,
  trainTiny,
  withTempDir,
} from "./helpers.ts";

const decoder = new TextDecoder();

/**
 * Start a JSON-logging training, call `onEvent` for each event until it returns true, and
 * then send `signal`. Returns the exit code, the events seen and stderr.
 */
async function runUntil(
  args: string[],
  onEvent: (event: Record<string, unknown>) => boolean,
  signal: Deno.Signal,
): Promise<{ code: number; events: Record<string, unknown>[]; stderr: string }> {
  const child = command([...args, "--log", "json"]).spawn();
  const events: Record<string, unknown>[] = [];
  const stderr = new Response(child.stderr).text();
  let buffer = "";
  let sent = false;
  for await (const chunk of child.stdout) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const event = JSON.parse(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      events.push(event);
      if (!sent && onEvent(event)) {
        child.kill(signal);
        sent = true;
      }
    }
  }
  return { code: (await child.status).code, events, stderr: await stderr };
}

/** Start a run, SIGTERM it at its first checkpoint: its run directory and what it said. */
async function stopAfterFirstCheckpoint(args: string[]) {
  let runDir = "";
  const result = await runUntil(args, (e) => {
    if (e.event === "started") runDir = String(e.runDir);
    return e.event === "checkpoint";
  }, "SIGTERM");
  return { runDir, result };
}

const LONG = [
  "--set",
  "training.epochs=400",
  "--set",
  "model.dropout=0.2",
  "--set",
  "training.checkpoint.every=50",
];

async function metricsWithoutTime(runDir: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(runDir, "metrics.csv"));
  return text.trim().split("\n").map((r) => r.split(",").slice(0, 6).join(","));
}

Deno.test("a run killed with SIGKILL at random points resumes to the uninterrupted result", async () => {
  await withTempDir(async (dir) => {
    const base = await cli(["train", tiny, "--set", `output.dir=${dir}/base`, ...LONG]);
    assert.equal(base.code, 0, base.stderr);
    const baseDir = runDirOf(base.stdout);
    const baseModel = await Deno.readTextFile(join(baseDir, "model.json"));
    const rng = new Random(2026);
    for (let trial = 0; trial < 3; trial++) {
      // Kill after a random number of checkpoints, at a random point of the following steps.
      const checkpoints = 1 + rng.int(40);
      let seen = 0;
      let runDir = "";
      const killed = await runUntil(
        ["train", tiny, "--set", `output.dir=${dir}/t${trial}`, ...LONG],
        (e) => {
          if (e.event === "started") runDir = String(e.runDir);
          if (e.event === "checkpoint") seen++;
          return seen >= checkpoints && (e.event !== "checkpoint" || rng.random() < 0.5);
        },
        "SIGKILL",
      );
      assert.equal(killed.code, 137, `trial ${trial}: ${killed.stderr}`);
      assert.equal(killed.events.some((e) => e.event === "finished"), false);
      const resumed = await cli([
        "train",
        tiny,
        "--set",
        `output.dir=${dir}/t${trial}`,
        ...LONG,
        "--resume",
        runDir,
      ]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(
        await Deno.readTextFile(join(runDir, "model.json")),
        baseModel,
        `trial ${trial}`,
      );
      assert.deepEqual(await metricsWithoutTime(runDir), await metricsWithoutTime(baseDir));
      const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
      assert.equal(summary.resumed, true);
    }
  });
});

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`${signal} writes a checkpoint, exits ${code} and says how to resume`, async () => {
    await withTempDir(async (dir) => {
      let runDir = "";
      const result = await runUntil(
        ["train", tiny, "--set", `output.dir=${dir}`, ...LONG],
        (e) => {
          if (e.event === "started") runDir = String(e.runDir);
          return e.event === "evaluation" && Number(e.iteration) >= 90;
        },
        signal,
      );
      assert.equal(result.code, code, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`received ${signal}: finishing the current step and writing a checkpoint`),
      );
      const interrupted = result.events.find((e) => e.event === "interrupted")!;
      assert.equal(interrupted.reason, signal);
      const messages = result.events.filter((e) => e.event === "message").map((e) => e.message);
      assert.ok(
        messages.some((m) => String(m).startsWith(`interrupted by ${signal} after iteration`)),
      );
      // The printed command has the overrides the checkpoint needs, and it works as printed.
      const sets = [`output.dir=${dir}`, ...LONG.filter((a) => a !== "--set")];
      const printed = `deno task train ${tiny}${
        sets.map((s) => ` --set ${s}`).join("")
      } --resume ${runDir}`;
      assert.ok(messages.includes(`resume with: ${printed}`), messages.join("\n"));
      const last = result.events.filter((e) => e.event === "checkpoint").at(-1)!;
      assert.equal(last.iteration, interrupted.iteration);
      const resumed = await cli(printed.split(" ").slice(2));
      assert.equal(resumed.code, 0, resumed.stderr);
    });
  });
}

Deno.test("a retraining stopped by SIGTERM resumes with retrain --resume, under the gate", async () => {
  await withTempDir(async (dir) => {
    const split = ["--set", "data.split={ validation: 0.2 }"];
    const { runDir, result } = await stopAfterFirstCheckpoint(
      ["retrain", tiny, "--set", `output.dir=${dir}`, ...split, ...LONG],
    );
    assert.equal(result.code, 143, result.stderr);
    const messages = result.events.filter((e) => e.event === "message").map((e) =>
      String(e.message)
    );
    const printed = messages.find((m) => m.startsWith("resume with: "))!;
    assert.match(
      printed,
      /^resume with: deno task retrain .* --set 'data\.split=\{ validation: 0\.2 \}' .*--resume /,
    );
    // Run it as a shell would.
    const words = [
      "sh",
      "-c",
      `exec deno run -A main.ts ${printed.slice("resume with: deno task ".length)}`,
    ];
    const resumed = await new Deno.Command(words[0]!, { args: words.slice(1), cwd: root }).output();
    const out = decoder.decode(resumed.stdout);
    assert.equal(resumed.code, 0, out + decoder.decode(resumed.stderr));
    assert.match(out, /^promoted: no current model: promoted the first one$/m);
    assert.equal(await Deno.realPath(join(dir, "tiny", "current")), runDir);
    const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    assert.equal(summary.resumed, true);
    assert.equal(summary.promotion.promoted, true);
  });
});

Deno.test("two resumes of the same run: the second is refused while the first runs", async () => {
  await withTempDir(async (dir) => {
    const { runDir } = await stopAfterFirstCheckpoint(
      ["train", tiny, "--set", `output.dir=${dir}`, ...LONG],
    );
    const resume = () =>
      cli(["train", tiny, "--set", `output.dir=${dir}`, ...LONG, "--resume", runDir]);
    const [a, b] = await Promise.all([resume(), resume()]);
    const codes = [a.code, b.code].sort();
    assert.deepEqual(codes, [0, 1], a.stderr + b.stderr);
    const refused = a.code === 1 ? a : b;
    assert.match(
      refused.stderr,
      /run\.lock: another process training this run directory is in progress \(pid \d+/,
    );
    const finished = (await Deno.readTextFile(join(runDir, "events.jsonl")))
      .split("\n").filter((l) => l.includes('"event":"finished"'));
    assert.equal(finished.length, 1, "one resume finished the run");
  });
});

Deno.test("resume refuses a config whose model, data or seed differ", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir, "training.checkpoint.keep=true");
    const seed = await cli(["train", tiny, "--set", "seed=8", "--resume", runDir]);
    assert.equal(seed.code, 2);
    assert.match(
      seed.stderr,
      /^error: cannot resume .*: the config's seed differ from the checkpoint's \(seed: checkpoint 7\)/,
    );
    const model = await cli([
      "train",
      tiny,
      "--set",
      "model.layers=[64, 8, 3]",
      "--resume",
      runDir,
    ]);
    assert.equal(model.code, 2);
    assert.match(model.stderr, /the config's model differ/);
  });
});

Deno.test("a corrupted or truncated checkpoint is refused, never loaded", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir, "training.checkpoint.keep=true");
    const path = join(runDir, "checkpoint.json");
    const good = await Deno.readTextFile(path);
    // One flipped character inside the parameters' base64.
    const at = good.indexOf('"data":"') + 20;
    const flipped = good.slice(0, at) + (good[at] === "A" ? "B" : "A") + good.slice(at + 1);
    await Deno.writeTextFile(path, flipped);
    const corrupted = await cli(["train", tiny, "--resume", runDir]);
    assert.equal(corrupted.code, 1);
    assert.match(
      corrupted.stderr,
      /checkpoint\.json: the checkpoint is corrupted \(its checksum does not match\)/,
    );
    await Deno.writeTextFile(path, good.slice(0, good.length / 2));
    const truncated = await cli(["train", tiny, "--resume", runDir]);
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /checkpoint\.json: the checkpoint is truncated or corrupted/);
  });
});

Deno.test("retrain promotes a better model, refuses a worse one and keeps previous", async () => {
  await withTempDir(async (dir) => {
    const out = ["--set", `output.dir=${dir}`, "--set", "data.split={ validation: 0.2 }"];
    const weak = ["--set", "training.epochs=1", "--set", "optimizer.learningRate=0.0005"];
    const first = await cli(["retrain", tiny, ...out, ...weak]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^promoted: no current model: promoted the first one$/m);
    const firstDir = runDirOf(first.stdout);
    assert.equal(await Deno.realPath(join(dir, "tiny", "current")), firstDir);

    const better = await cli(["retrain", tiny, ...out]);
    assert.equal(better.code, 0, better.stdout + better.stderr);
    assert.match(better.stdout, /^promoted: validationAccuracy .* passes the gate/m);
    const betterDir = runDirOf(better.stdout);
    assert.equal(await Deno.realPath(join(dir, "tiny", "current")), betterDir);
    assert.equal(await Deno.realPath(join(dir, "tiny", "previous")), firstDir);
    // The command names the product, and the links are relative like latest's.
    assert.match(better.stdout, new RegExp(`^current model: .*tiny/current/model\\.json$`, "m"));
    for (const link of ["current", "previous", "latest"]) {
      const target = await Deno.readLink(join(dir, "tiny", link));
      assert.ok(!isAbsolute(target), `${link} -> ${target}`);
    }

    const worse = await cli(["retrain", tiny, ...out, ...weak]);
    assert.equal(worse.code, 3, worse.stdout + worse.stderr);
    assert.match(
      worse.stdout,
      /^not promoted: validationAccuracy 0\.\d{4} vs current 1\.0000: gain -0\.\d{4} is below minDelta 0$/m,
    );
    assert.equal(await Deno.realPath(join(dir, "tiny", "current")), betterDir);
    assert.doesNotMatch(worse.stdout, /^current model:/m);
    const worseDir = runDirOf(worse.stdout);
    const summary = JSON.parse(await Deno.readTextFile(join(worseDir, "summary.json")));
    assert.equal(summary.promotion.promoted, false);
    assert.equal(summary.promotion.current, 1);
  });
});

Deno.test("retrain refuses to run while another retraining of the name holds the lock", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "tiny"), { recursive: true });
    const lock = join(dir, "tiny", "retrain.lock");
    // A live holder: this test process.
    await Deno.writeTextFile(
      lock,
      JSON.stringify({
        pid: Deno.pid,
        host: hostname(),
        startedAt: "then",
      }),
    );
    const split = ["--set", "data.split={ validation: 0.2 }"];
    const held = await cli(["retrain", tiny, "--set", `output.dir=${dir}`, ...split]);
    assert.equal(held.code, 1);
    assert.match(
      held.stderr,
      new RegExp(
        `retrain\\.lock: another run of this name is in progress \\(pid ${Deno.pid} since then\\)`,
      ),
    );
    // A dead holder (its lock a minute old): taken over with a warning.
    await Deno.writeTextFile(
      lock,
      JSON.stringify({
        pid: 999_999_999,
        host: hostname(),
        startedAt: "then",
      }),
    );
    const minuteAgo = new Date(Date.now() - 60_000);
    await Deno.utime(lock, minuteAgo, minuteAgo);
    const stale = await cli(["retrain", tiny, "--set", `output.dir=${dir}`, ...split]);
    assert.equal(stale.code, 0, stale.stderr);
    assert.match(stale.stderr, /warning: taking over a stale lock .* left by pid 999999999/);
    await assert.rejects(Deno.stat(lock), Deno.errors.NotFound);
  });
});

Deno.test("retrain refuses a config without a validation split before training", async () => {
  await withTempDir(async (dir) => {
    const result = await cli(["retrain", tiny, "--set", `output.dir=${dir}`]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /✖ retrain compares the new and the current model on validation data, and there is none: add data\.split\.validation/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("schedule refuses a config without a schedule", async () => {
  const result = await cli(["schedule", tiny]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /no schedule; add e\.g\. schedule: \{ cron: "0 3 \* \* \*" \}/);
});

Deno.test("runIsolated() runs each scheduled retraining in its own process and reports its exit", async () => {
  const { runIsolated } = await import("../main.ts");
  await withTempDir(async (dir) => {
    const bad = join(root, "fixtures", "configs", "invalid", "unknown_key.yaml");
    assert.equal(await runIsolated([bad, "--set", `output.dir=${dir}`]), 2);
    assert.equal(
      await runIsolated([
        tiny,
        "--set",
        `output.dir=${dir}`,
        "--set",
        "training.epochs=2",
        "--set",
        "data.split={ validation: 0.2 }",
      ]),
      0,
    );
    assert.ok((await Deno.realPath(join(dir, "tiny", "current"))).startsWith(join(dir, "tiny")));
  });
});

Deno.test("retrain refuses a broken current link before training, never promoting past it", async () => {
  await withTempDir(async (dir) => {
    const args = retrainTinyArgs(dir);
    await Deno.mkdir(join(dir, "tiny"), { recursive: true });
    const current = join(dir, "tiny", "current");
    const cases: [string, () => Promise<void>, RegExp][] = [
      [
        "dangling",
        () => Deno.symlink("gone-run", current),
        /points at gone-run, which does not exist/,
      ],
      ["to a file", async () => {
        await Deno.writeTextFile(join(dir, "tiny", "notes.txt"), "");
        await Deno.symlink("notes.txt", current);
      }, /points at notes\.txt, which is not a run directory/],
      ["not a link", () => Deno.mkdir(current), /is not a link to a run directory/],
    ];
    for (const [what, make, message] of cases) {
      await Deno.remove(current, { recursive: true }).catch(() => {});
      await make();
      const result = await cli(args);
      assert.equal(result.code, 1, `${what}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message, what);
      assert.match(result.stderr, /remove it to promote the next model without a comparison/);
      const runs = [...Deno.readDirSync(join(dir, "tiny"))].filter((e) => /^\d{4}-/.test(e.name));
      assert.deepEqual(runs, [], `${what}: nothing was trained`);
    }
  });
});

Deno.test("run names and links: no hidden names, resume through latest, a latest in the way", async () => {
  await withTempDir(async (dir) => {
    // A hidden name (the default from a dot-file's name) is refused like a bad `name`.
    const hidden = join(dir, ".secret.yaml");
    await Deno.copyFile(tiny, hidden);
    const named = await cli(["train", hidden, "--set", `output.dir=${dir}`, "--set", "name=null"]);
    assert.equal(named.code, 2, named.stderr);
    assert.match(
      named.stderr,
      /The run name ".secret" \(from the file's name\) is not a usable folder name/,
    );

    // --resume through the latest link continues the run it points at; the link stays a link.
    const { runDir } = await stopAfterFirstCheckpoint(
      ["train", tiny, "--set", `output.dir=${dir}`, ...LONG],
    );
    const latest = join(dir, "tiny", "latest");
    await Deno.symlink(runDir.slice(join(dir, "tiny").length + 1), latest);
    const resumed = await cli([
      "train",
      tiny,
      "--set",
      `output.dir=${dir}`,
      ...LONG,
      "--resume",
      latest,
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(runDirOf(resumed.stdout), runDir);
    assert.equal(await Deno.realPath(latest), runDir);

    // A real directory named latest: refused before anything is trained.
    await Deno.remove(latest);
    await Deno.mkdir(latest);
    const before = [...Deno.readDirSync(join(dir, "tiny"))].length;
    const blocked = await cli(["train", tiny, "--set", `output.dir=${dir}`]);
    assert.equal(blocked.code, 1);
    assert.match(
      blocked.stderr,
      /latest is a directory, not the link to the newest run .* move it away first/,
    );
    assert.equal([...Deno.readDirSync(join(dir, "tiny"))].length, before, "no run directory made");
  });
});
