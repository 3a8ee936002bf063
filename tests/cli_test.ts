/** End-to-end tests: the CLI as a user runs it, in a subprocess. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cli,
  command,
  root,
  runDirOf,
  taskPermissions,
  trainTiny,
  withTempDir,
} from "./helpers.ts";
import { RUN_V8_FLAGS } from "../main.ts";
import { HELP } from "../commands/cli.ts";

const fixtures = join(root, "fixtures", "configs");

Deno.test("train trains the tiny fixture and evaluate/predict use its model", async () => {
  await withTempDir(async (dir) => {
    const run = await cli(["train", join(fixtures, "tiny.yaml"), "--set", `output.dir=${dir}`]);
    assert.equal(run.code, 0, run.stderr);
    // Not a terminal: plain lines, one per evaluation, no control characters.
    const controls = [...run.stdout].filter((c) => c.charCodeAt(0) < 32 && c !== "\n");
    assert.deepEqual(controls, []);
    assert.equal(run.stdout.split("\n").filter((l) => l.startsWith("iter ")).length, 15);
    const runDir = runDirOf(run.stdout);
    assert.match(run.stdout, /^done: test accuracy [01]\.\d{4}, .* seed 7$/m);

    const evaluation = await cli(["evaluate", runDir]);
    assert.equal(evaluation.code, 0, evaluation.stderr);
    assert.match(evaluation.stdout, /test accuracy [01]\.\d{4}/);
    assert.match(evaluation.stdout, /horizontal +\d+ +\d+ +\d+ +[01]\.\d{4}/);
    const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    const json = JSON.parse(
      (await cli(["evaluate", join(runDir, "model.json"), join(runDir, "config.json"), "--json"]))
        .stdout,
    );
    assert.equal(json.testAccuracy, summary.testAccuracy);

    const tiny = join(root, "fixtures", "tiny");
    const out = join(dir, "predictions.csv");
    const predict = await cli([
      "predict",
      join(runDir, "model.json"),
      join(tiny, "test.csv"),
      "--out",
      out,
    ]);
    assert.equal(predict.code, 0, predict.stderr);
    const rows = (await Deno.readTextFile(out)).trim().split("\n");
    assert.equal(rows[0], "row,class,probability,p_horizontal,p_vertical,p_diagonal,label");
    assert.equal(rows.length, 31);
    const correct = rows.slice(1).filter((r) => r.split(",")[1] === r.split(",")[6]).length;
    assert.equal(correct / 30, summary.testAccuracy);
    for (const r of rows.slice(1)) {
      const p = Number(r.split(",")[2]);
      assert.ok(p > 1 / 3 && p <= 1, r);
    }
    const fromIdx = await cli([
      "predict",
      join(runDir, "model.json"),
      join(tiny, "test-images-idx3-ubyte.gz"),
    ]);
    assert.equal(fromIdx.code, 0, fromIdx.stderr);
    const idxRows = fromIdx.stdout.trim().split("\n");
    assert.equal(idxRows[0], "row,class,probability,p_horizontal,p_vertical,p_diagonal");
    assert.deepEqual(
      idxRows.slice(1).map((r) => r.split(",")[1]),
      rows.slice(1).map((r) => r.split(",")[1]),
    );
  });
});

for (const entry of Deno.readDirSync(join(fixtures, "invalid"))) {
  Deno.test(`train rejects invalid/${entry.name} with its message`, async () => {
    const file = join(fixtures, "invalid", entry.name);
    const text = await Deno.readTextFile(file);
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]!);
    const exit = Number(text.match(/^# exit: (\d+)$/m)?.[1] ?? 2);
    assert.ok(expected.length > 0, "the fixture names what it expects");
    const result = await cli(["train", file]);
    assert.equal(result.code, exit, result.stderr);
    for (const line of expected) {
      assert.ok(result.stderr.includes(line), `missing "${line}" in:\n${result.stderr}`);
    }
    assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
  });
}

Deno.test("configs/ch04-numerical.yaml runs (shortened) and its loss decreases", async () => {
  await withTempDir(async (dir) => {
    const result = await cli([
      "train",
      join(root, "configs", "ch04-numerical.yaml"),
      "--set",
      `output.dir=${dir}`,
      "--set",
      "data.source={ kind: mnist-digits, trainSize: 2, testSize: 10 }",
      "--set",
      "training.batchSize=2",
      "--set",
      "training.sampling=shuffle",
      "--set",
      "training.iterations=3",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const runDir = runDirOf(result.stdout);
    const config = JSON.parse(await Deno.readTextFile(join(runDir, "config.json")));
    assert.deepEqual(config.gradient, { method: "numerical", h: 1e-4, workers: 1 });
    assert.deepEqual(config.model.layers, [784, 50, 10]);
    const losses = (await Deno.readTextFile(join(runDir, "metrics.csv"))).trim().split("\n").slice(
      1,
    )
      .map((r) => Number(r.split(",")[2]));
    assert.equal(losses.length, 3);
    assert.ok(losses[2]! < losses[1]! && losses[1]! < losses[0]!, `losses ${losses}`);
  });
});

Deno.test("the CLI exits 2 with usage on bad arguments", async () => {
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /^usage:/);
  const unknown = await cli(["fly"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: unknown command "fly"/);
  const flag = await cli(["train", "--nope"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--nope'/);
  const missing = await cli(["evaluate", "/nonexistent/run"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\/nonexistent\/run: no such run directory or model file/);
  // Integer options: one check for every command, before anything starts.
  const sweepFile = join(root, "fixtures", "sweeps", "tiny.yaml");
  for (
    const [args, message] of [
      [
        ["sweep", sweepFile, "--parallel", "0"],
        '--parallel takes an integer of at least 1 but found "0"',
      ],
      [
        ["serve", "/nonexistent/run", "--port", "1.5"],
        '--port takes an integer of at least 0 but found "1.5"',
      ],
      [
        ["worker", "--queue", "redis://127.0.0.1:1", "--concurrency", "two"],
        '--concurrency takes an integer of at least 1 but found "two"',
      ],
    ] as const
  ) {
    const bad = await cli([...args]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.ok(bad.stderr.includes(message), bad.stderr);
  }
});

Deno.test("schema prints the config's JSON Schema", async () => {
  const result = await cli(["schema"]);
  assert.equal(result.code, 0);
  const schema = JSON.parse(result.stdout);
  assert.ok("optimizer" in schema.properties);
  assert.equal(schema.additionalProperties, false);
});

Deno.test("evaluate and report still read a run recorded with test-set selection settings", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    // Runs made before validation splits recorded these; a new config refuses them.
    const path = join(runDir, "config.json");
    const recorded = JSON.parse(await Deno.readTextFile(path));
    recorded.promotion = { metric: "testAccuracy", minDelta: 0 };
    recorded.evaluation = {
      every: "epoch",
      earlyStopping: { patience: 2, metric: "testAccuracy" },
    };
    await Deno.writeTextFile(path, JSON.stringify(recorded));
    const evaluated = await cli(["evaluate", runDir, "--json"]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    assert.equal(JSON.parse(evaluated.stdout).testAccuracy, summary.testAccuracy);
    const report = await cli(["report", runDir]);
    assert.equal(report.code, 0, report.stderr);
    // As a config for new training, the same file is refused.
    const train = await cli(["train", path]);
    assert.equal(train.code, 2);
    assert.match(train.stderr, /testAccuracy cannot select a model/);
  });
});

Deno.test("a config over 1 MiB is refused with its size (exit 2), before parsing", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "huge.yaml");
    const entries = Array.from({ length: 60_000 }, (_, i) => `  - item number ${i}`).join("\n");
    await Deno.writeTextFile(file, `model: { layers: [784, 50, 10] }\nnotes:\n${entries}\n`);
    const size = (await Deno.stat(file)).size;
    assert.ok(size > 1024 * 1024);
    const result = await cli(["train", file]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `✖ the config is ${size} bytes; a config may be at most 1048576 bytes \\(1 MiB\\)`,
      ),
    );
  });
});

Deno.test("a config of 90,000 keys is read in seconds, and its problems listed up to 20", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "keys.yaml");
    const keys = Array.from({ length: 90_000 }, (_, i) => `k${i}: 1`).join("\n");
    await Deno.writeTextFile(file, `model: { layers: [784, 50, 10] }\n${keys}\n`);
    // The duplicate check used to compare every key with every other: minutes for this file.
    const child = command(["train", file]).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const { code, stderr } = await child.output().finally(() => clearTimeout(timer));
    const text = new TextDecoder().decode(stderr);
    assert.equal(code, 2, text.slice(0, 500));
    assert.equal((text.match(/✖ Unknown key/g) ?? []).length, 20);
    assert.match(text, /… and 89980 more problems of the same file/);
  });
});

Deno.test("the README's --set example runs: iterations replace the default config's epochs", async () => {
  await withTempDir(async (dir) => {
    const result = await cli([
      "train",
      "--set",
      "training.iterations=100",
      "--set",
      "model.layers=[784, 50, 10]",
      "--set",
      `output.dir=${dir}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^note: --set training\.iterations replaces the config's training\.epochs$/m,
    );
    const summary = JSON.parse(
      await Deno.readTextFile(join(runDirOf(result.stdout), "summary.json")),
    );
    assert.equal(summary.iterations, 100);
  });
});

Deno.test("every command answers --help and -h with its usage, options and an example", async () => {
  for (const command of Object.keys(HELP)) {
    for (const flag of ["--help", "-h"]) {
      const result = await cli([command, flag]);
      assert.equal(result.code, 0, `${command} ${flag}: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^deno task ${command}\\b`), command);
      assert.match(result.stdout, /Examples?:|main\.ts schema/, command);
    }
  }
  const tasks = JSON.parse(await Deno.readTextFile(join(root, "deno.json"))).tasks;
  for (const [name, task] of Object.entries(tasks)) {
    assert.ok(
      (task as { description?: string }).description,
      `deno task ${name} has a description`,
    );
  }
});

Deno.test("every task that trains runs with the V8 flags that trials and scheduled retrains get", () => {
  for (const task of ["train", "retrain", "schedule", "sweep", "worker"]) {
    const flags = taskPermissions(task);
    for (const flag of RUN_V8_FLAGS) assert.ok(flags.includes(flag), `deno task ${task}: ${flag}`);
  }
});

Deno.test("evaluate on a labelled CSV scores its rows, and --json has no made-up iteration", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    // The fixture's test.csv holds the same 30 test images as its IDX files (label first).
    const csv = join(root, "fixtures", "tiny", "test.csv");
    const result = await cli(["evaluate", runDir, csv, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.testAccuracy, summary.testAccuracy);
    assert.equal(report.config, csv);
    assert.equal(report.confusion.flat().reduce((a: number, b: number) => a + b, 0), 30);
    for (const key of ["iteration", "epoch", "trainAccuracy"]) assert.ok(!(key in report), key);
    const text = await cli(["evaluate", runDir, csv]);
    assert.match(text.stdout, new RegExp(`^data:  ${csv.replaceAll(".", "\\.")}$`, "m"));
  });
});

Deno.test("model.json keeps the run's seed and each input's training range; predict warns off range", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    const model = JSON.parse(await Deno.readTextFile(join(runDir, "model.json")));
    assert.equal(model.seed, 7, "the config's seed");
    assert.ok(Number.isInteger(model.initSeed) && model.initSeed !== 7, "the derived init seed");
    assert.equal(model.data.inputRange.min.length, 64);
    assert.ok(model.data.inputRange.max.every((v: number) => v <= 1), "pixels ÷255");
    const header = Array.from({ length: 64 }, (_, i) => `p${i}`).join(",");
    const rows = (value: number) => [header, new Array(64).fill(value).join(",")].join("\n") + "\n";
    await Deno.writeTextFile(join(dir, "pixels.csv"), rows(128));
    const plain = await cli(["predict", runDir, join(dir, "pixels.csv")]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stderr, /warning/);
    // Pixels scaled twice over (65025 = 255², ÷255 is still 255): far beyond the 0–1 seen.
    await Deno.writeTextFile(join(dir, "squared.csv"), rows(65025));
    const off = await cli(["predict", runDir, join(dir, "squared.csv")]);
    assert.equal(off.code, 0, off.stderr);
    assert.match(
      off.stderr,
      /^warning: .*squared\.csv: 64 of 64 input values lie far outside the training range/m,
    );
  });
});
