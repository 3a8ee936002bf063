/**
 * Finishing a run: the final evaluation of the chosen parameters, `model.json` and
 * `summary.json`. From here on the network answers for itself, by the same path
 * `deno task evaluate` and `deno task predict` take.
 * @module
 */
import type { Config } from "../config/config.ts";
import type { Dataset } from "../data/dataset.ts";
import type { Predictor } from "../engine/engine.ts";
import type { ClassScores } from "../nn/metrics.ts";
import { finalEvaluation } from "../stages/evaluate.ts";
import type { RowCounts } from "../stages/load.ts";
import type { NormalizedSplits } from "../stages/normalize.ts";
import type { EarlyStopping } from "./early_stopping.ts";
import { featureRanges } from "../data/normalize.ts";
import { modelToJson } from "./model_file.ts";
import type { Progress } from "./progress.ts";
import { present, round, type RunCounters } from "./recorder.ts";
import type { RunDirectory } from "./run_dir.ts";

/** Per-class scores on the test split, by class name. */
export type PerClass = Record<string, ClassScores>;

/**
 * `summary.json`. Classification fills the accuracies and per-class scores, regression the
 * RMSE, MAE and R² (in the target's units); validation entries need a validation split.
 */
export interface Summary {
  name: string;
  seed: number;
  task: "classification" | "regression";
  testAccuracy?: number;
  trainAccuracy?: number;
  testLoss: number;
  validationAccuracy?: number;
  validationLoss?: number;
  validationMacroF1?: number;
  validationBalancedAccuracy?: number;
  testMacroF1?: number;
  testBalancedAccuracy?: number;
  perClass?: PerClass;
  /** Accuracy per class of the validation rows (the promotion gate's per-class check). */
  validationPerClassAccuracy?: number[];
  testRmse?: number;
  testMae?: number;
  testR2?: number;
  validationRmse?: number;
  validationMae?: number;
  validationR2?: number;
  trainRmse?: number;
  /** The metric that chose the saved parameters (early stopping), or null. */
  selectedBy: string | null;
  rows: RowCounts;
  /** Mean training loss over the last epoch's iterations (or all of them, if fewer). */
  finalLoss: number;
  iterations: number;
  epochs: number;
  durationSeconds: number;
  samplesPerSecond: number;
  stoppedEarly: boolean;
  /** Iteration (1-based) of the parameters that were saved. */
  modelIteration: number;
  resumed: boolean;
  /** What trained the network: the engine, and for the WebAssembly trainer its products. */
  engine: string;
  perClassAccuracy: number[];
  confusion: number[][];
}

/** The final scores summary.json can hold, those that apply to the task. */
const FINAL_SCORES = [
  "testAccuracy",
  "trainAccuracy",
  "validationAccuracy",
  "validationLoss",
  "validationMacroF1",
  "validationBalancedAccuracy",
  "validationPerClassAccuracy",
  "testMacroF1",
  "testBalancedAccuracy",
  "testRmse",
  "testMae",
  "testR2",
  "validationRmse",
  "validationMae",
  "validationR2",
  "trainRmse",
] as const;

/** Test rows sent to the dashboard's regression scatter: enough to see the shape, bounded. */
const MAX_SCATTER_POINTS = 2000;

/** What the finish needs of the run. */
export interface Finishing {
  name: string;
  config: Config;
  splits: NormalizedSplits;
  /** Predicts with the trained parameters (already in `net.params`). */
  model: Predictor;
  counters: RunCounters;
  stopping: EarlyStopping | null;
  stoppedEarly: boolean;
  iterationsDone: number;
  perEpoch: number;
  resumed: boolean;
  /** What trained the network (Summary.engine). */
  engine: string;
  /** Seconds since the command started, and spent in the loop. */
  durationSeconds: number;
  trainSeconds: number;
  emit: (event: Record<string, unknown>) => void;
  progress?: Progress;
}

/**
 * Put back the best parameters when early stopping chose them, evaluate, write `model.json`
 * and `summary.json`, and announce the end (`finished`, and a regression's test predictions).
 */
export async function finish(run: RunDirectory, f: Finishing): Promise<Summary> {
  const { config, splits, model, stopping } = f;
  let modelIteration = f.iterationsDone;
  if (f.stoppedEarly && stopping?.best) {
    f.progress?.line(
      `early stopping: no better ${stopping.options.metric} for ${stopping.options.patience} evaluations; best at iteration ${
        stopping.best.iteration + 1
      }`,
    );
    if (stopping.bestParams) {
      for (const [k, m] of Object.entries(stopping.bestParams)) {
        model.net.params[k]!.data.set(m.data);
      }
      modelIteration = stopping.best.iteration + 1;
    }
  }
  const at = {
    iteration: f.iterationsDone - 1,
    epoch: Math.floor((f.iterationsDone - 1) / f.perEpoch),
  };
  const final = finalEvaluation(model, splits, at);
  const summary: Summary = {
    name: f.name,
    seed: config.seed,
    task: config.task,
    testLoss: final.testLoss,
    ...present(final, FINAL_SCORES),
    finalLoss: f.counters.finalLoss(),
    iterations: f.iterationsDone,
    epochs: round(f.iterationsDone / f.perEpoch),
    durationSeconds: round(f.durationSeconds),
    samplesPerSecond: Math.round(f.counters.samples / Math.max(f.trainSeconds, 1e-9)),
    stoppedEarly: f.stoppedEarly,
    modelIteration,
    resumed: f.resumed,
    engine: f.engine,
    selectedBy: stopping && stopping.options.restoreBest && stopping.best
      ? stopping.options.metric
      : null,
    rows: splits.rows ?? {
      train: splits.train.count,
      validation: splits.validation?.count ?? 0,
      test: splits.test.count,
      droppedMissingLabel: 0,
      droppedMissingValues: 0,
    },
    perClassAccuracy: final.perClassAccuracy,
    confusion: final.confusion,
    ...(final.perClass ? { perClass: perClassByName(final.perClass, splits.test) } : {}),
  };
  await run.writeJson("model.json", modelFor(f, splits));
  await run.writeJson("summary.json", summary);
  if (final.testPredictions) {
    // Regression: the dashboard's predicted-against-true scatter (the first rows, bounded).
    const shown = Math.min(splits.test.count, MAX_SCATTER_POINTS);
    f.emit({
      event: "testPredictions",
      predicted: Array.from(final.testPredictions.subarray(0, shown)),
      actual: Array.from(splits.test.targets!.subarray(0, shown)),
    });
  }
  f.emit({ event: "finished", ...summaryForEvent(summary) });
  return summary;
}

function perClassByName(scores: ClassScores[], test: Dataset): PerClass {
  const names = test.classNames ?? scores.map((_, i) => String(i));
  return Object.fromEntries(scores.map((s, k) => [names[k]!, s]));
}

function modelFor(f: Finishing, splits: NormalizedSplits) {
  return modelToJson(f.model.net, {
    name: f.name,
    seed: f.config.seed,
    task: f.config.task,
    featureShape: splits.train.shape,
    classes: splits.train.classes,
    ...(splits.train.classNames ? { classNames: splits.train.classNames } : {}),
    normalization: splits.normalization,
    ...(splits.encoding ? { table: splits.encoding } : {}),
    ...(splits.train.target ? { target: splits.train.target } : {}),
    inputRange: featureRanges(splits.train.x, splits.train.count, splits.train.features),
  });
}

/** The summary as the `finished` event carries it (without the per-class arrays). */
function summaryForEvent(s: Summary): Record<string, unknown> {
  const { confusion: _c, perClassAccuracy: _p, ...rest } = s;
  return rest;
}
