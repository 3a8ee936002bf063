import assert from "node:assert/strict";
import { map } from "rxjs";
import type { Dataset } from "../../data/dataset.ts";
import { MultiLayerNet } from "../../nn/network.ts";
import { evaluate, evaluateModel, finalEvaluation } from "../../stages/evaluate.ts";
import type { StepResult } from "../../stages/update.ts";
import { smallDataset, testScheduler } from "./helpers.ts";

const splits = { train: smallDataset(12, 3, 3), test: smallDataset(6, 3, 3) };
const step = (iteration: number): StepResult => ({
  iteration,
  epoch: 0,
  loss: 1,
  learningRate: 0.1,
  batchSize: 4,
});

Deno.test("evaluate() attaches an evaluation every N iterations and at the last", () => {
  const net = new MultiLayerNet([3, 4, 3], { seed: 1 });
  testScheduler().run(({ cold, expectObservable }) => {
    const out = cold("a-b-c-d-e|", { a: step(0), b: step(1), c: step(2), d: step(3), e: step(4) })
      .pipe(
        evaluate(net, splits, { every: 2, lastIteration: 4 }),
        map((s) => s.evaluation !== undefined),
      );
    expectObservable(out).toBe("a-b-c-d-e|", { a: false, b: true, c: false, d: true, e: true });
  });
});

Deno.test("evaluate() completes on empty input, passes errors and stops on unsubscribe", () => {
  const net = new MultiLayerNet([3, 4, 3], { seed: 1 });
  testScheduler().run(({ cold, hot, expectObservable }) => {
    const stage = evaluate(net, splits, { every: 1, lastIteration: 9 });
    expectObservable(cold<StepResult>("|").pipe(stage)).toBe("|");
    expectObservable(cold<StepResult>("-#").pipe(stage)).toBe("-#");
    const out = hot("-a-b-c|", { a: step(0), b: step(1), c: step(2) }).pipe(
      stage,
      map((s) => s.iteration),
    );
    expectObservable(out, "^--!").toBe("-a-", { a: 0 });
  });
});

/** A dataset of the given rows and labels. */
function rowsOf(rows: number[][], labels: number[]): Dataset {
  return {
    x: Float32Array.from(rows.flat()),
    labels: Int32Array.from(labels),
    count: rows.length,
    features: rows[0]!.length,
    shape: [rows[0]!.length],
    classes: 3,
    origin: "test",
  };
}

Deno.test("evaluateModel() measures accuracy and loss on both splits (worked by hand)", () => {
  // y = x: an identity layer (W = I, b = 0) with identity output, so the answers are the rows.
  const net = new MultiLayerNet([3, 3], { seed: 1, output: "identity", loss: "mse" });
  net.params.W1!.data.set([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  net.params.b1!.data.fill(0);
  const known = {
    // Largest entry at 0, 1, 2, 0 against labels 0, 1, 2, 2: three of four right.
    train: rowsOf([[0.9, 0.1, 0], [0, 1, 0], [0.2, 0.3, 0.5], [1, 0, 0]], [0, 1, 2, 2]),
    // At 1 and 2 against labels 1 and 0: one of two right. The mse loss, ½Σ(y - t)² / 2 rows:
    // row 1: y = t, 0; row 2: (0 - 1)² + 0 + (1 - 0)² = 2, so (½·2) / 2 = 0.5.
    test: rowsOf([[0, 1, 0], [0, 0, 1]], [1, 0]),
  };
  const e = evaluateModel(net, known, { iteration: 4, epoch: 1 });
  assert.deepEqual(
    { iteration: e.iteration, epoch: e.epoch, train: e.trainAccuracy, test: e.testAccuracy },
    { iteration: 4, epoch: 1, train: 0.75, test: 0.5 },
  );
  assert.ok(Math.abs(e.testLoss - 0.5) < 1e-12, `test loss ${e.testLoss}`);
});

Deno.test("finalEvaluation() gives a confusion matrix consistent with the accuracy", () => {
  const net = new MultiLayerNet([3, 5, 3], { seed: 4 });
  const f = finalEvaluation(net, splits, { iteration: 0, epoch: 0 });
  assert.equal(f.confusion.flat().reduce((a, b) => a + b, 0), 6);
  const diagonal = f.confusion.reduce((s, row, k) => s + row[k]!, 0);
  assert.equal(diagonal / 6, f.testAccuracy);
  assert.deepEqual(f.confusion.map((row) => row.reduce((a, b) => a + b, 0)), [2, 2, 2]);
  f.perClassAccuracy.forEach((a, k) => assert.equal(a, f.confusion[k]![k]! / 2));
});

Deno.test("evaluateModel() counts training accuracy over more rows than one prediction chunk", () => {
  // 4,500 rows: the training split is predicted 2,000 rows at a time, the last chunk partial.
  const net = new MultiLayerNet([5, 4, 3], { seed: 9 });
  const train: Dataset = smallDataset(4500, 5, 3);
  for (let i = 0; i < train.x.length; i++) train.x[i] = Math.sin(i * 0.37);
  const evaluation = evaluateModel(net, { train, test: smallDataset(6, 5, 3) }, step(0));
  const y = net.predictRows({ rows: train.count, cols: 5, data: train.x });
  let correct = 0;
  for (let i = 0; i < train.count; i++) {
    const row = Array.from(y.data.subarray(i * 3, i * 3 + 3));
    if (row.indexOf(Math.max(...row)) === train.labels[i]) correct++;
  }
  assert.ok(correct > 0 && correct < train.count);
  assert.equal(evaluation.trainAccuracy, correct / train.count);
});
