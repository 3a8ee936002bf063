import assert from "node:assert/strict";
import { map } from "rxjs";
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

Deno.test("evaluateModel() measures accuracy on both splits", () => {
  const net = new MultiLayerNet([3, 3], { seed: 1, output: "identity", loss: "mse" });
  const e = evaluateModel(net, splits, { iteration: 4, epoch: 1 });
  assert.equal(e.iteration, 4);
  assert.ok(e.trainAccuracy! >= 0 && e.trainAccuracy! <= 1);
  const correct = Math.round(e.testAccuracy! * 6);
  assert.ok(Math.abs(correct - e.testAccuracy! * 6) < 1e-12);
  assert.ok(Number.isFinite(e.testLoss));
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
