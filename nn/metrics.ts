/**
 * Classification metrics from predictions: confusion matrix and per-class accuracy.
 * @module
 */
import { argmax, type Matrix } from "./matrix.ts";

/**
 * counts[true][predicted] for outputs `y` (one row per sample) and their labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionMatrix, Matrix } from "../mod.ts";
 * const m = confusionMatrix(Matrix.from([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), [0, 1, 1], 2);
 * assert.ok(m[1]![0] === 1 && m[1]![1] === 1);
 * ```
 */
export function confusionMatrix(y: Matrix, labels: ArrayLike<number>, classes: number): number[][] {
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < y.rows; i++) {
    counts[labels[i]!]![argmax(y.data, i * y.cols, y.cols)]!++;
  }
  return counts;
}

/** Correct / total for each true class (NaN for a class with no samples). */
export function perClassAccuracy(confusion: number[][]): number[] {
  return confusion.map((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? NaN : row[k]! / total;
  });
}

/** Precision, recall, F1 and support of one class. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * Per-class precision (correct / predicted as the class), recall (correct / truly the class),
 * F1 (their harmonic mean) and support, from confusion[true][predicted]. A ratio with nothing
 * to divide is 0, as scikit-learn reports it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classScores } from "./metrics.ts";
 * const [a] = classScores([[3, 1], [2, 4]]);
 * assert.ok(a!.precision === 0.6 && a!.recall === 0.75 && a!.support === 4);
 * ```
 */
export function classScores(confusion: number[][]): ClassScores[] {
  return confusion.map((row, k) => {
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, r) => a + r[k]!, 0);
    const correct = row[k]!;
    const precision = predicted === 0 ? 0 : correct / predicted;
    const recall = support === 0 ? 0 : correct / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { precision, recall, f1, support };
  });
}

/** The mean F1 over the classes that have samples. */
export function macroF1(confusion: number[][]): number {
  const present = classScores(confusion).filter((s) => s.support > 0);
  return present.length === 0 ? 0 : present.reduce((a, s) => a + s.f1, 0) / present.length;
}

/** The mean recall over the classes that have samples (balanced accuracy). */
export function balancedAccuracy(confusion: number[][]): number {
  const present = classScores(confusion).filter((s) => s.support > 0);
  return present.length === 0 ? 0 : present.reduce((a, s) => a + s.recall, 0) / present.length;
}

/** Root mean squared error, mean absolute error and R² of predictions against true values. */
export interface RegressionScores {
  rmse: number;
  mae: number;
  r2: number;
}

/**
 * RMSE, MAE and R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² (NaN when the true values are constant).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { regressionScores } from "./metrics.ts";
 * const s = regressionScores([2, 4], [1, 5]);
 * assert.ok(s.rmse === 1 && s.mae === 1 && s.r2 === 0.75);
 * ```
 */
export function regressionScores(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
): RegressionScores {
  const n = actual.length;
  if (n === 0) return { rmse: NaN, mae: NaN, r2: NaN };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i]!;
  mean /= n;
  let squares = 0;
  let absolute = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const e = actual[i]! - predicted[i]!;
    squares += e * e;
    absolute += Math.abs(e);
    total += (actual[i]! - mean) ** 2;
  }
  return {
    rmse: Math.sqrt(squares / n),
    mae: absolute / n,
    r2: total === 0 ? NaN : 1 - squares / total,
  };
}
