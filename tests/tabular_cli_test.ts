/** End to end on real tables: a raw CSV in, honest scores and raw-row predictions out. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { cli, root, runDirOf, withTempDir } from "./helpers.ts";

const examples = join(root, "examples");

/** Every fifth data row of an example to test.csv, the rest to train.csv (raw, as written). */
async function splitFile(dir: string, file: string): Promise<{ train: string; test: string }> {
  const [header, ...lines] = (await Deno.readTextFile(join(examples, file))).trim().split("\n");
  const train = join(dir, "train.csv");
  const test = join(dir, "test.csv");
  await Deno.writeTextFile(train, [header, ...lines.filter((_, i) => i % 5 !== 0)].join("\n"));
  await Deno.writeTextFile(test, [header, ...lines.filter((_, i) => i % 5 === 0)].join("\n"));
  return { train, test };
}

async function config(dir: string, text: string): Promise<string> {
  const path = join(dir, "config.yaml");
  await Deno.writeTextFile(
    path,
    text + `\noutput: { dir: ${JSON.stringify(join(dir, "runs"))} }\n`,
  );
  return path;
}

Deno.test("a penguins run: auto layers, validation scores, and predict on raw rows agrees with evaluation", async () => {
  await withTempDir(async (dir) => {
    const { train, test } = await splitFile(dir, "penguins.csv");
    const file = await config(
      dir,
      `seed: 2
data:
  source: { kind: csv, train: ${JSON.stringify(train)}, test: ${
        JSON.stringify(test)
      }, labelColumn: Species }
  normalize: zscore
  split: { validation: 0.2 }
model: { layers: [auto, 8, auto], activation: relu, weightInit: { kind: he } }
optimizer: { kind: adam, learningRate: 0.01 }
training: { epochs: 20, batchSize: 16 }`,
    );
    const run = await cli(["train", file]);
    assert.equal(run.code, 0, run.stderr);
    const runDir = runDirOf(run.stdout);
    const resolved = JSON.parse(await Deno.readTextFile(join(runDir, "config.json")));
    // 4 numeric columns + Island (3 categories) + Sex (FEMALE, MALE and the file's ".") = 10.
    assert.deepEqual(resolved.model.layers, [10, 8, 3]);
    const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    assert.equal(summary.rows.train + summary.rows.validation, 275);
    assert.equal(summary.rows.test, 69);
    for (
      const key of ["validationAccuracy", "validationLoss", "validationMacroF1", "testMacroF1"]
    ) {
      assert.equal(typeof summary[key], "number", key);
    }
    assert.deepEqual(Object.keys(summary.perClass), ["Adelie", "Chinstrap", "Gentoo"]);
    assert.ok(summary.testAccuracy >= 0.9, `test accuracy ${summary.testAccuracy}`);
    const header = (await Deno.readTextFile(join(runDir, "metrics.csv"))).split("\n")[0];
    assert.equal(
      header,
      "iteration,epoch,loss,trainAccuracy,testAccuracy,validationAccuracy,validationLoss,learningRate,elapsedSeconds",
    );

    const predicted = await cli(["predict", runDir, test]);
    assert.equal(predicted.code, 0, predicted.stderr);
    const rows: Record<string, string>[] = parse(predicted.stdout, { columns: true });
    assert.deepEqual(Object.keys(rows[0]!), [
      "row",
      "class",
      "probability",
      "p_Adelie",
      "p_Chinstrap",
      "p_Gentoo",
      "label",
    ]);
    const correct = rows.filter((r) => r.class === r.label).length;
    assert.equal(correct / rows.length, summary.testAccuracy);
    const evaluated = await cli(["evaluate", runDir, "--json"]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const report = JSON.parse(evaluated.stdout);
    assert.equal(report.testAccuracy, summary.testAccuracy);
    assert.equal(report.validationAccuracy, summary.validationAccuracy);
  });
});

Deno.test("a cars regression: RMSE in miles per gallon, and predict's values give the same RMSE", async () => {
  await withTempDir(async (dir) => {
    const { train, test } = await splitFile(dir, "cars.csv");
    const file = await config(
      dir,
      `task: regression
seed: 1
data:
  source: { kind: csv, train: ${JSON.stringify(train)}, test: ${
        JSON.stringify(test)
      }, labelColumn: Miles_per_Gallon }
  normalize: zscore
  columns: { ignore: [Name, Year] }
model: { layers: [auto, 16, auto], activation: relu, weightInit: { kind: he } }
optimizer: { kind: adam, learningRate: 0.01 }
training: { epochs: 40, batchSize: 16 }`,
    );
    const run = await cli(["train", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /blank label dropped/);
    const runDir = runDirOf(run.stdout);
    const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    assert.equal(summary.testAccuracy, undefined);
    assert.ok(summary.testRmse > 1 && summary.testRmse < 6, `test RMSE ${summary.testRmse}`);
    assert.ok(summary.testR2 > 0.6, `R² ${summary.testR2}`);
    const header = (await Deno.readTextFile(join(runDir, "metrics.csv"))).split("\n")[0];
    assert.equal(header, "iteration,epoch,loss,trainRmse,testRmse,learningRate,elapsedSeconds");

    const predicted = await cli(["predict", join(runDir, "model.json"), test]);
    assert.equal(predicted.code, 0, predicted.stderr);
    const rows: Record<string, string>[] = parse(predicted.stdout, { columns: true });
    assert.deepEqual(Object.keys(rows[0]!), ["row", "value", "label"]);
    const labelled = rows.filter((r) => r.label !== "");
    const squares = labelled.reduce((s, r) => s + (Number(r.value) - Number(r.label)) ** 2, 0);
    assert.ok(Math.abs(Math.sqrt(squares / labelled.length) - summary.testRmse) < 1e-4);
  });
});
