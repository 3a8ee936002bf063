import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../pipeline/load_config.ts";
import { loadModel } from "../../pipeline/model_file.ts";
import { train } from "../../pipeline/train.ts";
import { writeReport } from "../../report/report.ts";

const fixtures = join(import.meta.dirname!, "..", "..", "fixtures", "configs");

async function withTempDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "gradstream-test-" });
  try {
    return await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function tiny(dir: string, overrides: string[] = []) {
  return await loadConfig(join(fixtures, "tiny.yaml"), [`output.dir=${dir}`, ...overrides]);
}

Deno.test("train() leaves a complete run directory, and its caller the report", async () => {
  await withTempDir(async (dir) => {
    const { runDir, summary, model, test } = await train(await tiny(dir));
    const files = () => [...Deno.readDirSync(runDir)].map((e) => e.name).sort();
    // The checkpoint of a finished run is removed (training.checkpoint.keep: false).
    assert.deepEqual(files(), [
      "config.json",
      "events.jsonl",
      "metrics.csv",
      "model.json",
      "summary.json",
    ]);
    await writeReport(runDir, { model, test });
    assert.deepEqual(files(), [
      "accuracy.svg",
      "config.json",
      "confusion.svg",
      "events.jsonl",
      "loss.svg",
      "metrics.csv",
      "model.json",
      "report.html",
      "summary.json",
    ]);
    assert.ok(summary.testAccuracy! >= 0.8, `test accuracy ${summary.testAccuracy}`);
    assert.equal(summary.seed, 7);
    assert.equal(summary.iterations, 15 * 9);
    assert.equal(summary.epochs, 15);
    assert.ok(summary.samplesPerSecond > 0);
    const metrics = (await Deno.readTextFile(join(runDir, "metrics.csv"))).trim().split("\n");
    assert.equal(
      metrics[0],
      "iteration,epoch,loss,trainAccuracy,testAccuracy,learningRate,elapsedSeconds",
    );
    assert.equal(metrics.length, 1 + 135);
    const evaluationRows = metrics.slice(1).filter((row) => row.split(",")[4] !== "");
    assert.equal(evaluationRows.length, 15);
    const events = (await Deno.readTextFile(join(runDir, "events.jsonl"))).trim().split("\n").map((
      l,
    ) => JSON.parse(l));
    assert.equal(events[0].event, "started");
    assert.equal(events.at(-1).event, "finished");
    assert.equal(events.filter((e) => e.event === "evaluation").length, 15);
    const config = JSON.parse(await Deno.readTextFile(join(runDir, "config.json")));
    assert.equal(config.data.normalize, "scale");
    assert.equal(config.seed, 7);
    const saved = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    for (
      const key of [
        "testAccuracy",
        "trainAccuracy",
        "finalLoss",
        "iterations",
        "epochs",
        "seed",
        "durationSeconds",
        "samplesPerSecond",
      ]
    ) {
      assert.ok(key in saved, `summary.json lacks ${key}`);
    }
    assert.equal(await Deno.realPath(join(dir, "tiny", "latest")), await Deno.realPath(runDir));
  });
});

Deno.test("train() saves a model that predicts as the trained network did", async () => {
  await withTempDir(async (dir) => {
    const { runDir, summary } = await train(await tiny(dir));
    const { net, file } = await loadModel(join(runDir, "model.json"));
    assert.deepEqual(file.data.classNames, ["horizontal", "vertical", "diagonal"]);
    assert.deepEqual(file.data.normalization, { kind: "scale", divisor: 255 });
    assert.deepEqual(file.data.featureShape, [8, 8]);
    assert.equal(file.seed, 7, "the run's seed");
    assert.equal(file.initSeed, net.seed, "the network's own seed, derived from it");
    const { evaluateRun } = await import("../../pipeline/evaluate_run.ts");
    const report = await evaluateRun(runDir);
    assert.equal(report.testAccuracy, summary.testAccuracy);
    assert.deepEqual(report.confusion, summary.confusion);
  });
});

Deno.test("train() with the same config and seed is bit-identical", async () => {
  await withTempDir(async (dir) => {
    const a = await train(await tiny(dir, ["model.dropout=0.2"]));
    const b = await train(await tiny(dir, ["model.dropout=0.2"]));
    const c = await train(await tiny(dir, ["model.dropout=0.2", "seed=8"]));
    const withoutTime = async (runDir: string) =>
      (await Deno.readTextFile(join(runDir, "metrics.csv"))).split("\n").map((r) =>
        r.split(",").slice(0, 6).join(",")
      );
    assert.deepEqual(await withoutTime(a.runDir), await withoutTime(b.runDir));
    assert.notDeepEqual(await withoutTime(a.runDir), await withoutTime(c.runDir));
    const model = (runDir: string) => Deno.readTextFile(join(runDir, "model.json"));
    assert.equal(await model(a.runDir), await model(b.runDir));
    assert.notEqual(a.runDir, b.runDir);
  });
});

Deno.test("train() trains a single-layer net on string-labelled CSV with zscore", async () => {
  await withTempDir(async (dir) => {
    const loaded = await loadConfig(join(fixtures, "tiny_csv.yaml"), [`output.dir=${dir}`]);
    const { runDir, summary } = await train(loaded);
    assert.ok(summary.testAccuracy! >= 0.8, `test accuracy ${summary.testAccuracy}`);
    const { file } = await loadModel(join(runDir, "model.json"));
    assert.deepEqual(file.data.classNames, ["diagonal", "horizontal", "vertical"]);
    assert.equal(file.data.normalization.kind, "zscore");
    assert.deepEqual(Object.keys(file.params), ["W1", "b1"]);
  });
});

Deno.test("train() stops early and restores the best parameters", async () => {
  await withTempDir(async (dir) => {
    const { runDir, summary } = await train(
      await tiny(dir, [
        "training.epochs=60",
        "data.split={ validation: 0.2 }",
        "evaluation.earlyStopping={ patience: 2, metric: validationAccuracy, restoreBest: true }",
      ]),
    );
    assert.equal(summary.stoppedEarly, true);
    assert.ok(summary.iterations < 60 * 8);
    assert.equal(summary.selectedBy, "validationAccuracy");
    assert.deepEqual([summary.rows.train, summary.rows.validation], [72, 18]);
    assert.ok(summary.modelIteration < summary.iterations);
    const events = (await Deno.readTextFile(join(runDir, "events.jsonl"))).trim().split("\n").map((
      l,
    ) => JSON.parse(l));
    const evaluations = events.filter((e) => e.event === "evaluation");
    const best = evaluations.reduce((a, b) => b.validationAccuracy > a.validationAccuracy ? b : a);
    assert.equal(best.iteration, summary.modelIteration);
  });
});

/** An MSE regression head at lr 10: the weights really overflow. */
const DIVERGING = [
  "loss=mse",
  "model.output=identity",
  "model.activation=sigmoid",
  "optimizer={ kind: sgd, learningRate: 10 }",
];

Deno.test("train() stops with a clear error when training diverges", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      train(
        await tiny(dir, [...DIVERGING, "backend=js"]),
      ),
      {
        name: "DivergenceError",
        message:
          /^training diverged at iteration \d+: the loss is Infinity \(largest parameter in W2: \|.*\|\)\. Likely causes: a learning rate too high/,
      },
    );
    const runs = [...Deno.readDirSync(join(dir, "tiny"))].filter((e) => e.isDirectory);
    const events = await Deno.readTextFile(join(dir, "tiny", runs[0]!.name, "events.jsonl"));
    assert.match(events, /"event":"error","name":"DivergenceError"/);
    assert.equal(
      [...Deno.readDirSync(join(dir, "tiny", runs[0]!.name))].some((e) =>
        e.name === "summary.json"
      ),
      false,
    );
  });
});

Deno.test("train() names the layer whose parameters overflow in float32 (wasm)", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      train(
        await tiny(dir, [...DIVERGING, "backend=wasm"]),
      ),
      {
        name: "DivergenceError",
        message:
          /^training diverged at iteration \d+: (a parameter became non-finite \(in W\d\)|the loss is (Infinity|NaN) \(.*\))\. Likely causes/,
      },
    );
  });
});

Deno.test("train() refuses an unwritable output directory before training", async () => {
  const loaded = await loadConfig(join(fixtures, "tiny.yaml"), ["output.dir=/proc/gradstream"]);
  await assert.rejects(train(loaded), {
    message: /^the output directory \/proc\/gradstream\/tiny is not writable/,
  });
});

Deno.test("train() decays the learning rate by epoch and records it", async () => {
  await withTempDir(async (dir) => {
    const { runDir } = await train(
      await tiny(dir, [
        "training.epochs=5",
        "optimizer.learningRateDecay={ factor: 0.5, every: 2 }",
      ]),
    );
    const rows = (await Deno.readTextFile(join(runDir, "metrics.csv"))).trim().split("\n").slice(1)
      .map((r) => r.split(","));
    const rateOfEpoch = (epoch: number) =>
      new Set(rows.filter((r) => r[1] === String(epoch)).map((r) => r[5]));
    assert.deepEqual([1, 2, 3, 4, 5].map(rateOfEpoch), [
      new Set(["0.01"]),
      new Set(["0.01"]),
      new Set(["0.005"]),
      new Set(["0.005"]),
      new Set(["0.0025"]),
    ]);
  });
});
