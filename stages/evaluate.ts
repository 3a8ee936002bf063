/**
 * Stage `evaluate`: step records in, the same records out, with train and test accuracy
 * attached every `every` iterations and at the last one.
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import { type Dataset, inTargetUnits, scaledTargets } from "../data/dataset.ts";
import { crossEntropyError, meanSquaredError } from "../nn/losses.ts";
import { Matrix } from "../nn/matrix.ts";
import {
  balancedAccuracy,
  type ClassScores,
  classScores,
  confusionMatrix,
  macroF1,
  perClassAccuracy,
  type RegressionScores,
  regressionScores,
} from "../nn/metrics.ts";
import { countCorrect, type MultiLayerNet } from "../nn/network.ts";
import type { Predictor } from "../engine/engine.ts";
import { predictorOf } from "../engine/network_engine.ts";
import type { Splits } from "./load.ts";
import type { StepResult } from "./update.ts";

/**
 * Scores on the splits at one point of training. Classification fills the accuracies;
 * regression the RMSEs (in the target's own units); validation entries need a validation split.
 * Losses are the data loss the network minimises (without weight decay or class weights).
 */
export interface Evaluation {
  iteration: number;
  epoch: number;
  trainAccuracy?: number;
  testAccuracy?: number;
  testLoss: number;
  validationAccuracy?: number;
  validationLoss?: number;
  validationMacroF1?: number;
  trainRmse?: number;
  validationRmse?: number;
  testRmse?: number;
}

/** The final evaluation: per-class scores and the confusion matrix, or regression scores. */
export interface FinalEvaluation extends Evaluation {
  perClassAccuracy: number[];
  /** confusion[true][predicted] on the test split. */
  confusion: number[][];
  /** Classification: per class of the test split. */
  perClass?: ClassScores[];
  /** Classification with a validation split: accuracy per class of the validation rows. */
  validationPerClassAccuracy?: number[];
  testMacroF1?: number;
  testBalancedAccuracy?: number;
  validationBalancedAccuracy?: number;
  testMae?: number;
  testR2?: number;
  validationMae?: number;
  validationR2?: number;
  /** Regression: each test row's prediction in the target's units. */
  testPredictions?: Float64Array;
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
  model: Predictor | MultiLayerNet,
  splits: Splits,
  options: { every: number; lastIteration: number },
): OperatorFunction<StepResult, EvaluatedStep> {
  const net = predictorOf(model);
  return map((step) => {
    const due = (step.iteration + 1) % options.every === 0 ||
      step.iteration === options.lastIteration;
    return due ? { ...step, evaluation: evaluateModel(net, splits, step) } : step;
  });
}

/** Scores on every split at one point of training. */
export function evaluateModel(
  model: Predictor | MultiLayerNet,
  splits: Splits,
  at: { iteration: number; epoch: number },
): Evaluation {
  const { evaluation } = scoreSplits(predictorOf(model), splits, at);
  return evaluation;
}

/** The evaluation plus per-class scores and the confusion matrix (or regression scores). */
export function finalEvaluation(
  model: Predictor | MultiLayerNet,
  splits: Splits,
  at: { iteration: number; epoch: number },
): FinalEvaluation {
  const { evaluation, test, validation } = scoreSplits(predictorOf(model), splits, at);
  if (splits.test.targets) {
    const testPredictions = unscaled(test, splits.test);
    const t = regressionScores(testPredictions, splits.test.targets);
    const v = validation && splits.validation ? regressionOf(validation, splits.validation) : null;
    return {
      ...evaluation,
      perClassAccuracy: [],
      confusion: [],
      testMae: t.mae,
      testR2: t.r2,
      testPredictions,
      ...(v ? { validationMae: v.mae, validationR2: v.r2 } : {}),
    };
  }
  const confusion = confusionMatrix(test, splits.test.labels, splits.test.classes);
  const validationConfusion = validation && splits.validation
    ? confusionMatrix(validation, splits.validation.labels, splits.validation.classes)
    : null;
  return {
    ...evaluation,
    perClassAccuracy: perClassAccuracy(confusion),
    confusion,
    perClass: classScores(confusion),
    testMacroF1: macroF1(confusion),
    testBalancedAccuracy: balancedAccuracy(confusion),
    ...(validationConfusion
      ? {
        validationBalancedAccuracy: balancedAccuracy(validationConfusion),
        validationPerClassAccuracy: perClassAccuracy(validationConfusion),
      }
      : {}),
  };
}

/** Every split's outputs computed once, and the evaluation from them. */
function scoreSplits(
  net: Predictor,
  splits: Splits,
  at: { iteration: number; epoch: number },
): { evaluation: Evaluation; test: Matrix; validation: Matrix | null } {
  const test = predictAll(net, splits.test);
  const validation = splits.validation ? predictAll(net, splits.validation) : null;
  const evaluation: Evaluation = {
    iteration: at.iteration,
    epoch: at.epoch,
    testLoss: lossOf(net, splits.test, test),
  };
  if (splits.train.targets) {
    evaluation.trainRmse = regressionOf(predictAll(net, splits.train), splits.train).rmse;
    evaluation.testRmse = regressionOf(test, splits.test).rmse;
    if (validation && splits.validation) {
      evaluation.validationRmse = regressionOf(validation, splits.validation).rmse;
      evaluation.validationLoss = lossOf(net, splits.validation, validation);
    }
    return { evaluation, test, validation };
  }
  evaluation.trainAccuracy = accuracyInChunks(net, splits.train);
  evaluation.testAccuracy = accuracyOf(test, splits.test);
  if (validation && splits.validation) {
    const v = splits.validation;
    evaluation.validationAccuracy = accuracyOf(validation, v);
    evaluation.validationLoss = lossOf(net, v, validation);
    evaluation.validationMacroF1 = macroF1(confusionMatrix(validation, v.labels, v.classes));
  }
  return { evaluation, test, validation };
}

/**
 * Rows predicted at a time where only a count is kept: Fashion-MNIST's 60,000 training rows at
 * once made a 4.8 MB output every epoch, freed into pieces the allocator kept (about 5 MB more
 * resident an epoch, measured); 2,000 rows make 160 KB.
 */
const COUNT_CHUNK = 2000;

/** The fraction of rows whose largest output is their label, predicted COUNT_CHUNK at a time. */
function accuracyInChunks(net: Predictor, ds: Dataset): number {
  if (ds.count === 0) return 0;
  let correct = 0;
  for (let start = 0; start < ds.count; start += COUNT_CHUNK) {
    const end = Math.min(ds.count, start + COUNT_CHUNK);
    const y = net.predict({
      rows: end - start,
      cols: ds.features,
      data: ds.x.subarray(start * ds.features, end * ds.features),
    });
    correct += countCorrect(y, ds.labels.subarray(start, end));
  }
  return correct / ds.count;
}

/** The network's outputs for a whole split (from its float32 rows, no float64 copy). */
export function predictAll(model: Predictor | MultiLayerNet, ds: Dataset): Matrix {
  return predictorOf(model).predict({ rows: ds.count, cols: ds.features, data: ds.x });
}

/** Regression predictions in the target's own units: y · std + mean. */
export function unscaled(y: Matrix, ds: Dataset): Float64Array {
  return inTargetUnits(y, ds.target);
}

function regressionOf(y: Matrix, ds: Dataset): RegressionScores {
  return regressionScores(unscaled(y, ds), ds.targets!);
}

function accuracyOf(y: Matrix, ds: Dataset): number {
  return ds.count === 0 ? 0 : countCorrect(y, ds.labels) / ds.count;
}

function lossOf(model: Predictor, ds: Dataset, y: Matrix): number {
  if (ds.count === 0) return NaN;
  if (ds.targets) {
    // Regression: the squared error in the scaled units training minimises.
    return meanSquaredError(y, scaledTargets(ds));
  }
  // The data loss (without weight decay), from outputs already computed.
  return model.net.lossName === "cross-entropy"
    ? crossEntropyError(y, ds.labels)
    : meanSquaredError(y, ds.labels);
}
