/**
 * Plain gradient descent on a function of a vector, with the numerical gradient.
 * @module
 */
import { numericalGradient } from "./numerical_gradient.ts";

/** Options of {@linkcode gradientDescent}. */
export interface GradientDescentOptions {
  /** Learning rate [0.01]. */
  lr?: number;
  /** Number of steps [100]. */
  stepNum?: number;
  /** The numerical gradient's step [1e-4]. */
  h?: number;
}

/** The final point and every point visited (the initial one first). */
export interface GradientDescentPath {
  x: Float64Array;
  path: Float64Array[];
}

/**
 * x ← x - lr·∇f(x), `stepNum` times, from a copy of `initX`. Returns the final x, or with
 * `{ path: true }` the final x and the path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gradientDescent } from "./gradient_descent.ts";
 * const f = (x: Float64Array) => x[0]! ** 2 + x[1]! ** 2;
 * const x = gradientDescent(f, [-3, 4], { lr: 0.1, stepNum: 100 });
 * assert.ok(Math.abs(x[0]!) < 1e-9 && Math.abs(x[1]!) < 1e-9);
 * ```
 */
export function gradientDescent(
  f: (x: Float64Array) => number,
  initX: ArrayLike<number>,
  options?: GradientDescentOptions & { path?: false },
): Float64Array;
export function gradientDescent(
  f: (x: Float64Array) => number,
  initX: ArrayLike<number>,
  options: GradientDescentOptions & { path: true },
): GradientDescentPath;
export function gradientDescent(
  f: (x: Float64Array) => number,
  initX: ArrayLike<number>,
  options: GradientDescentOptions & { path?: boolean } = {},
): Float64Array | GradientDescentPath {
  const lr = options.lr ?? 0.01;
  const stepNum = options.stepNum ?? 100;
  if (!Number.isInteger(stepNum) || stepNum < 0) {
    throw new RangeError(`Expected stepNum to be a non-negative integer but found ${stepNum}`);
  }
  const x = Float64Array.from(initX);
  const path = [x.slice()];
  for (let step = 0; step < stepNum; step++) {
    const grad = numericalGradient(f, x, { h: options.h ?? 1e-4 });
    for (let i = 0; i < x.length; i++) x[i]! -= lr * grad[i]!;
    if (options.path) path.push(x.slice());
  }
  return options.path ? { x, path } : x;
}
