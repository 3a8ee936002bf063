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
