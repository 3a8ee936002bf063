/**
 * Stage `evaluate`: step records in, the same records out, with train and test accuracy
 * attached every `every` iterations and at the last one.
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import type { Dataset } from "../data/dataset.ts";
import { crossEntropyError, meanSquaredError } from "../nn/losses.ts";
import { Matrix } from "../nn/matrix.ts";
import { confusionMatrix, perClassAccuracy } from "../nn/metrics.ts";
import { countCorrect, type MultiLayerNet } from "../nn/network.ts";
import type { Splits } from "./load.ts";
import type { StepResult } from "./update.ts";

/** Accuracy and loss on the splits at one point of training. */
export interface Evaluation {
  iteration: number;
  epoch: number;
  trainAccuracy: number;
  testAccuracy: number;
  testLoss: number;
}

/** The final evaluation: adds per-class accuracy and the test confusion matrix. */
export interface FinalEvaluation extends Evaluation {
  perClassAccuracy: number[];
  /** confusion[true][predicted] on the test split. */
  confusion: number[][];
}

/** A step, with an evaluation when one was due. */
export interface EvaluatedStep extends StepResult {
  evaluation?: Evaluation;
}

/**
 * Evaluate after every `every`-th iteration and after `lastIteration`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of, toArray } from "rxjs";
 * import { TwoLayerNet } from "../mod.ts";
 * import { evaluate } from "./evaluate.ts";
 * const ds = { x: new Float32Array(8), labels: new Int32Array(4), count: 4, features: 2,
 *   shape: [2], classes: 2, origin: "example" };
 * const step = (iteration: number) => ({ iteration, epoch: 0, loss: 1, learningRate: 0.1, batchSize: 2 });
 * const out = await lastValueFrom(of(step(0), step(1), step(2)).pipe(
 *   evaluate(new TwoLayerNet(2, 3, 2), { train: ds, test: ds }, { every: 2, lastIteration: 2 }),
 *   toArray(),
 * ));
 * assert.ok(!out[0]!.evaluation && !!out[1]!.evaluation && !!out[2]!.evaluation);
 * ```
 */
export function evaluate(
  net: MultiLayerNet,
  splits: Splits,
  options: { every: number; lastIteration: number },
): OperatorFunction<StepResult, EvaluatedStep> {
  return map((step) => {
    const due = (step.iteration + 1) % options.every === 0 ||
      step.iteration === options.lastIteration;
    return due ? { ...step, evaluation: evaluateModel(net, splits, step) } : step;
  });
}

/** Accuracy on both splits and the loss on the test split. */
export function evaluateModel(
  net: MultiLayerNet,
  splits: Splits,
  at: { iteration: number; epoch: number },
): Evaluation {
  return evaluationFrom(net, splits, at, predictAll(net, splits.test));
}

/** The evaluation plus per-class accuracy and the confusion matrix of the test split. */
export function finalEvaluation(
  net: MultiLayerNet,
  splits: Splits,
  at: { iteration: number; epoch: number },
): FinalEvaluation {
  const test = predictAll(net, splits.test);
  const confusion = confusionMatrix(test, splits.test.labels, splits.test.classes);
  return {
    ...evaluationFrom(net, splits, at, test),
    perClassAccuracy: perClassAccuracy(confusion),
    confusion,
  };
}

/** The evaluation, given the test split's outputs (computed once by the caller). */
function evaluationFrom(
  net: MultiLayerNet,
  splits: Splits,
  at: { iteration: number; epoch: number },
  test: Matrix,
): Evaluation {
  return {
    iteration: at.iteration,
    epoch: at.epoch,
    trainAccuracy: accuracyOf(net, splits.train),
    testAccuracy: splits.test.count === 0
      ? 0
      : countCorrect(test, splits.test.labels) / splits.test.count,
    testLoss: lossOf(net, splits.test, test),
  };
}

/** The network's outputs for a whole split (widened to float64 a chunk at a time). */
export function predictAll(net: MultiLayerNet, ds: Dataset): Matrix {
  return net.predictRows({ rows: ds.count, cols: ds.features, data: ds.x });
}

function accuracyOf(net: MultiLayerNet, ds: Dataset): number {
  return ds.count === 0 ? 0 : countCorrect(predictAll(net, ds), ds.labels) / ds.count;
}

function lossOf(net: MultiLayerNet, ds: Dataset, y: Matrix): number {
  if (ds.count === 0) return NaN;
  // The data loss (without weight decay), from outputs already computed.
  return net.lossName === "cross-entropy"
    ? crossEntropyError(y, ds.labels)
    : meanSquaredError(y, ds.labels);
}
