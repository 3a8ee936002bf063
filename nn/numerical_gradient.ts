/**
 * The book's central-difference gradient: slow (two evaluations of `f` per element) but
 * obviously right, so it is the reference every faster gradient is checked against.
 * @module
 */
import { Matrix } from "./matrix.ts";

/** Options of {@linkcode numericalGradient}. */
export interface NumericalGradientOptions {
  /** The step; 1e-4 balances truncation error (h²) against rounding error (ε/h). */
  h?: number;
}

/**
 * (f(x + h·eᵢ) - f(x - h·eᵢ)) / 2h for every element i of `x`. `x` is perturbed in place
 * and each element is restored to its exact original value before the next one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numericalGradient } from "./numerical_gradient.ts";
 * const g = numericalGradient((x) => x[0]! ** 2 + x[1]! ** 2, new Float64Array([3, 4]));
 * assert.ok(Math.abs(g[0]! - 6) < 1e-6 && Math.abs(g[1]! - 8) < 1e-6);
 * ```
 */
export function numericalGradient<T extends Float64Array | Matrix>(
  f: (x: T) => number,
  x: T,
  options: NumericalGradientOptions = {},
): T {
  const h = options.h ?? 1e-4;
  if (!(h > 0) || !Number.isFinite(h)) {
    throw new RangeError(`Expected h to be a finite number greater than 0 but found ${h}`);
  }
  const values: Float64Array = x instanceof Matrix ? x.data : (x as Float64Array);
  const grad = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const original = values[i]!;
    values[i] = original + h;
    const fxh1 = f(x);
    values[i] = original - h;
    const fxh2 = f(x);
    grad[i] = (fxh1 - fxh2) / (2 * h);
    values[i] = original;
  }
  return (x instanceof Matrix ? new Matrix(x.rows, x.cols, grad) : grad) as T;
}
