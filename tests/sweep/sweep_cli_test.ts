import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { loadConfig } from "../../pipeline/load_config.ts";
import { root, task, taskCommand, trialsWithoutTime, withTempDir } from "../helpers.ts";

const invalid = join(root, "fixtures", "sweeps", "invalid");
const tinyValidation = join(root, "fixtures", "configs", "tiny_validation.yaml");

for (const entry of Deno.readDirSync(invalid)) {
  Deno.test(`sweep rejects invalid/${entry.name} with its message, before any trial`, async () => {
    const file = join(invalid, entry.name);
    const text = await Deno.readTextFile(file);
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]!);
    assert.ok(expected.length > 0, "the fixture names what it expects");
    const result = await task("sweep", [file]);
    assert.equal(result.code, 2, result.stderr);
    for (const line of expected) {
      assert.ok(result.stderr.includes(line), `missing "${line}" in:\n${result.stderr}`);
    }
    assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
    await assert.rejects(Deno.stat(join(invalid, "sweeps")), "no sweep folder was made");
  });
}

/** Write a sweep file (JSON) into `dir`; returns its path. */
async function sweepFile(dir: string, sweep: Record<string, unknown>): Promise<string> {
  const path = join(dir, `${sweep.name}.json`);
  await Deno.writeTextFile(path, JSON.stringify({ output: { dir: "out" }, ...sweep }));
  return path;
}

/** The sweep folder a sweep printed. */
function sweepDirOf(stdout: string): string {
  const match = stdout.match(/^sweep folder: (.*)$/m);
  if (!match) throw new Error(`no sweep folder in:\n${stdout}`);
  return match[1]!;
}

/** A random sweep over the learning rate, where batch size 500 (of 72 rows) fails. */
const MIXED = {
  name: "mixed",
  base: tinyValidation,
  method: "random",
  trials: 8,
  seed: 4,
  metric: "validationAccuracy",
  space: {
    "optimizer.learningRate": { logUniform: [1e-4, 1] },
    "training.batchSize": { values: [10, 10, 10, 500] },
  },
  pruning: { kind: "median", after: 1, minTrials: 2 },
};

Deno.test("a sweep records done, pruned and failed trials, goes on past a failure, and its best.json retrains to the same metric", async () => {
  await withTempDir(async (dir) => {
    const file = await sweepFile(dir, { ...MIXED, parallel: 2 });
    const result = await task("sweep", [file]);
    assert.equal(result.code, 0, result.stderr);
    const out = sweepDirOf(result.stdout);
    const rows = parse(await Deno.readTextFile(join(out, "trials.csv")), {
      columns: true,
    }) as Record<string, string>[];
    assert.deepEqual(rows.map((r) => r.trial), ["0", "1", "2", "3", "4", "5", "6", "7"]);
    const statuses = new Set(rows.map((r) => r.status));
    assert.deepEqual([...statuses].sort(), ["done", "failed", "pruned"], JSON.stringify(rows));
    // Every trial with batch size 500 failed (more than the 72 training rows); none other did.
    for (const r of rows) {
      assert.equal(r.status === "failed", r["training.batchSize"] === "500", JSON.stringify(r));
    }
    const state = JSON.parse(await Deno.readTextFile(join(out, "sweep.json")));
    const failed = state.trials.find((t: { status: string }) => t.status === "failed");
    assert.match(failed.error, /batch/i, "the failure's reason is kept");
    // The winner: the highest validation accuracy among the finished trials.
    const done = rows.filter((r) => r.status === "done");
    const top = Math.max(...done.map((r) => Number(r.validationAccuracy)));
    const winner = done.find((r) => Number(r.validationAccuracy) === top)!;
    assert.match(result.stdout, new RegExp(`^best: trial ${winner.trial},`, "m"));
    // best.json is a full config: training it again gives the winner's validation accuracy.
    const best = await loadConfig(join(out, "best.json"));
    assert.equal(best.config.optimizer.learningRate, Number(winner["optimizer.learningRate"]));
    const again = await task("train", [
      join(out, "best.json"),
      "--set",
      `output.dir=${join(dir, "again")}`,
      "--log",
      "json",
    ]);
    assert.equal(again.code, 0, again.stderr);
    const finished = again.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((
      e,
    ) => e.event === "finished");
    assert.equal(finished.validationAccuracy, top);
    // The charts and the report.
    const chart = await Deno.readTextFile(join(out, "sweep.svg"));
    assert.match(chart, /^<svg/);
    assert.match(chart, /optimizer\.learningRate/);
    const curves = await Deno.readTextFile(join(out, "curves.svg"));
    assert.match(curves, /Best-1 \(trial \d+/);
    const report = await Deno.readTextFile(join(out, "report.html"));
    assert.match(report, new RegExp(`Best: trial ${winner.trial} `));
    assert.match(report, /never on the test set/);
  });
});

Deno.test("the same sweep file gives the same trials.csv with 1 or 2 trials at once", async () => {
  await withTempDir(async (dir) => {
    const csv = async (parallel: number) => {
      const file = await sweepFile(dir, { ...MIXED, name: `p${parallel}`, parallel });
      const result = await task("sweep", [file, "--quiet"]);
      assert.equal(result.code, 0, result.stderr);
      return trialsWithoutTime(
        await Deno.readTextFile(
          join(sweepDirOf(result.stdout + "\n" + result.stderr), "trials.csv"),
        ),
      );
    };
    const one = await csv(1);
    assert.equal(one.length, 9);
    assert.deepEqual(await csv(2), one);
  });
});

Deno.test("a grid sweep runs every combination once", async () => {
  await withTempDir(async (dir) => {
    const file = await sweepFile(dir, {
      name: "grid",
      base: tinyValidation,
      method: "grid",
      metric: "validationLoss",
      space: {
        "optimizer.learningRate": { values: [0.3, 0.03] },
        "model.layers": { values: [["auto", 8, "auto"], ["auto", 16, "auto"]] },
      },
    });
    const result = await task("sweep", [file, "--quiet"]);
    assert.equal(result.code, 0, result.stderr);
    const rows = parse(await Deno.readTextFile(join(sweepDirOf(result.stdout), "trials.csv")), {
      columns: true,
    }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((r) => [r["optimizer.learningRate"], r["model.layers"], r.status]),
      [
        ["0.3", '["auto",8,"auto"]', "done"],
        ["0.3", '["auto",16,"auto"]', "done"],
        ["0.03", '["auto",8,"auto"]', "done"],
        ["0.03", '["auto",16,"auto"]', "done"],
      ],
    );
    // Judged on loss: the winner has the lowest.
    const losses = rows.map((r) => Number(r.validationLoss));
    const best = rows[losses.indexOf(Math.min(...losses))]!;
    assert.match(result.stdout, new RegExp(`^best: trial ${best.trial},`, "m"));
  });
});

/** Three trials long enough to stop midway: 12,000 iterations, a checkpoint every 1,500. */
const LONG = {
  name: "long",
  base: tinyValidation,
  method: "random",
  trials: 3,
  seed: 9,
  metric: "validationLoss",
  parallel: 2,
  space: { "optimizer.learningRate": { logUniform: [1e-3, 1e-1] } },
};
const LONG_SETTINGS = {
  "training.iterations": { values: [12000] },
  "evaluation.every": { values: [1500] },
  "training.checkpoint.every": { values: [1500] },
};

Deno.test("SIGTERM checkpoints the running trials and exits 143; --resume continues them to the same trials.csv", async () => {
  await withTempDir(async (dir) => {
    const sweep = { ...LONG, space: { ...LONG.space, ...LONG_SETTINGS } };
    const reference = await task("sweep", [await sweepFile(dir, sweep), "--quiet"]);
    assert.equal(reference.code, 0, reference.stderr);
    const expected = trialsWithoutTime(
      await Deno.readTextFile(join(sweepDirOf(reference.stdout), "trials.csv")),
    );

    const file = await sweepFile(dir, { ...sweep, name: "stopped" });
    const child = taskCommand("sweep", [file]).spawn();
    let printed = "";
    const reading = (async () => {
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) printed += text;
    })();
    while (!/^sweep folder: .*\n/m.test(printed)) await new Promise((r) => setTimeout(r, 20));
    const out = sweepDirOf(printed);
    // Stop once a trial has written a checkpoint.
    let running: { trial: number; runDir: string } | undefined;
    for (let waited = 0; !running; waited += 50) {
      assert.ok(waited < 60_000, "a trial checkpoints within a minute");
      await new Promise((r) => setTimeout(r, 50));
      const state = JSON.parse(await Deno.readTextFile(join(out, "sweep.json")));
      for (const t of state.trials) {
        if (t.status !== "running" || !t.runDir) continue;
        try {
          await Deno.stat(join(t.runDir, "checkpoint.json"));
          running = t;
        } catch { /* not yet */ }
      }
    }
    child.kill("SIGTERM");
    const status = await child.status;
    await reading;
    const stderr = new TextDecoder().decode(
      (await new Response(child.stderr).arrayBuffer()) as ArrayBuffer,
    );
    assert.equal(status.code, 143, stderr);
    assert.match(stderr, /deno task sweep --resume /);
    const stopped = JSON.parse(await Deno.readTextFile(join(out, "sweep.json")));
    assert.equal(stopped.trials[running!.trial].status, "running", "left to resume");

    const resumed = await task("sweep", ["--resume", out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`trial ${running!.trial} resumes`));
    const csv = await Deno.readTextFile(join(out, "trials.csv"));
    assert.deepEqual(trialsWithoutTime(csv), expected);
    // The trial continued in its own run folder, from its checkpoint.
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    assert.equal(join(out, rows[running!.trial]!.runDir!), running!.runDir);
  });
});
