/**
 * The book's two loss functions, for a single output vector or a batch (a matrix, one sample
 * per row). Targets are one-hot (same shape as `y`) or class indices.
 * @module
 */
import { Matrix } from "./matrix.ts";

/** Network output: a vector (one sample) or a batch. */
export type Output = ArrayLike<number> | Matrix;
/** Targets: one-hot values shaped like the output, or one class index per sample. */
export type Target = ArrayLike<number> | Matrix | number;

/**
 * 0.5 * Σ (y - t)², divided by the batch size for a batch (so a batch of one equals the
 * book's single-vector value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanSquaredError } from "./losses.ts";
 * const t = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
 * const y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0];
 * assert.ok(Math.abs(meanSquaredError(y, t) - 0.0975) < 1e-12);
 * ```
 */
export function meanSquaredError(y: Output, t: Target): number {
  const { values, rows, cols } = shapeOf(y);
  const oneHot = targetsAsOneHot(t, rows, cols);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i]! - oneHot[i]!) ** 2;
  return (0.5 * sum) / rows;
}

/**
 * -Σ t·log(y + 1e-7) / batchSize. The 1e-7 keeps log(0) = -∞ out of the sum when the
 * network gives the true class a probability of exactly 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossEntropyError } from "./losses.ts";
 * const y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0];
 * assert.ok(Math.abs(crossEntropyError(y, 2) - 0.510825) < 1e-6);
 * ```
 */
export function crossEntropyError(y: Output, t: Target): number {
  const { values, rows, cols } = shapeOf(y);
  let sum = 0;
  if (isLabels(t, rows, cols)) {
    const labels = typeof t === "number" ? [t] : (t as ArrayLike<number>);
    for (let i = 0; i < rows; i++) {
      sum += Math.log(values[i * cols + checkLabel(labels[i]!, cols, i)]! + 1e-7);
    }
  } else {
    const oneHot = targetsAsOneHot(t, rows, cols);
    for (let i = 0; i < values.length; i++) {
      if (oneHot[i] !== 0) sum += oneHot[i]! * Math.log(values[i]! + 1e-7);
    }
  }
  return -sum / rows;
}

function shapeOf(y: Output): { values: ArrayLike<number>; rows: number; cols: number } {
  if (y instanceof Matrix) return { values: y.data, rows: y.rows, cols: y.cols };
  return { values: y, rows: 1, cols: y.length };
}

function isLabels(t: Target, rows: number, cols: number): boolean {
  if (typeof t === "number") return true;
  if (t instanceof Matrix) return false;
  if (t.length === rows * cols) return false;
  if (t.length === rows) return true;
  throw new RangeError(
    `Expected targets to be ${rows * cols} one-hot values or ${rows} labels but found ${t.length}`,
  );
}

function checkLabel(label: number, classes: number, sample: number): number {
  if (!Number.isInteger(label) || label < 0 || label >= classes) {
    throw new RangeError(
      `Expected label of sample ${sample} to be an integer in [0, ${classes}) but found ${label}`,
    );
  }
  return label;
}

/** One-hot values for `t`, shaped rows×cols (a copy only when `t` holds labels). */
export function targetsAsOneHot(t: Target, rows: number, cols: number): ArrayLike<number> {
  if (!isLabels(t, rows, cols)) {
    const values = t instanceof Matrix ? t.data : (t as ArrayLike<number>);
    if (values.length !== rows * cols) {
      throw new RangeError(
        `Expected targets shaped ${rows}×${cols} but found ${values.length} values`,
      );
    }
    return values;
  }
  const labels = typeof t === "number" ? [t] : (t as ArrayLike<number>);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) out[i * cols + checkLabel(labels[i]!, cols, i)] = 1;
  return out;
}

/**
 * Balanced class weights, n / (classes · count_k) as scikit-learn defines them: each class
 * then carries the same total weight, and the weights average 1 over the samples. A class
 * with no samples gets 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { balancedClassWeights } from "./losses.ts";
 * assert.deepEqual(Array.from(balancedClassWeights([0, 0, 0, 1], 2)), [4 / 6, 2]);
 * ```
 */
export function balancedClassWeights(labels: ArrayLike<number>, classes: number): Float64Array {
  const counts = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts.map((c) => (c === 0 ? 0 : labels.length / (classes * c)));
}
