/**
 * Activation functions as the book names them, element-wise on vectors or matrices,
 * with the derivatives backprop needs.
 * @module
 */
import { Matrix } from "./matrix.ts";

/** A vector (`number[]` or `Float64Array`) or a matrix. */
export type Values = ArrayLike<number> | Matrix;

function map<T extends Values>(
  x: T,
  f: (v: number) => number,
): T extends Matrix ? Matrix : Float64Array;
function map(x: Values, f: (v: number) => number): Matrix | Float64Array {
  if (x instanceof Matrix) return new Matrix(x.rows, x.cols, x.data.map(f));
  return Float64Array.from(x, f);
}

/**
 * 1 / (1 + e^-x). The two branches keep `exp` from overflowing for large |x|.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sigmoid } from "./activations.ts";
 * assert.ok(sigmoid([0])[0] === 0.5);
 * ```
 */
export function sigmoid<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array {
  return map(x, sigmoidScalar);
}

/** The sigmoid's derivative s(x)(1 - s(x)). */
export function sigmoidGrad<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array {
  return map(x, (v) => {
    const s = sigmoidScalar(v);
    return s * (1 - s);
  });
}

/** 1 where x > 0, else 0: the perceptron's activation (its derivative is 0 everywhere it exists). */
export function stepFunction<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array {
  return map(x, (v) => (v > 0 ? 1 : 0));
}

/** max(0, x). */
export function relu<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array {
  return map(x, (v) => (v > 0 ? v : 0));
}

/** 1 where x > 0, else 0 (the subgradient at 0 is taken as 0). */
export function reluGrad<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array {
  return map(x, (v) => (v > 0 ? 1 : 0));
}

/** The hyperbolic tangent. */
export function tanh<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array {
  return map(x, Math.tanh);
}

/** 1 - tanh(x)². */
export function tanhGrad<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array {
  return map(x, (v) => 1 - Math.tanh(v) ** 2);
}

/** x, unchanged (a copy): the regression output. */
export function identity<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array {
  return map(x, (v) => v);
}

/**
 * e^x / Σ e^x, per row for a matrix (a batch). Subtracting the row's maximum first leaves the
 * result unchanged but keeps `exp` from overflowing: softmax([1000, 1010]) is finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softmax } from "./activations.ts";
 * const y = softmax([0.3, 2.9, 4.0]);
 * assert.ok(Math.abs(y[0]! + y[1]! + y[2]! - 1) < 1e-12);
 * ```
 */
export function softmax<T extends Values>(x: T): T extends Matrix ? Matrix : Float64Array;
export function softmax(x: Values): Matrix | Float64Array {
  if (x instanceof Matrix) {
    const out = new Matrix(x.rows, x.cols);
    softmaxRows(x.data, out.data, x.rows, x.cols);
    return out;
  }
  const values = Float64Array.from(x);
  softmaxRows(values, values, 1, values.length);
  return values;
}

/** Row-wise softmax of x[m×n] into out (which may be x). */
export function softmaxRows(x: Float64Array, out: Float64Array, m: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const o = i * n;
    const sum = shiftedExpRow(x, out, o, n);
    for (let j = 0; j < n; j++) out[o + j]! /= sum;
  }
}

/**
 * The numerators of softmax for the row of n values at offset o: out = exp(x - max(x)), the
 * book's overflow guard. Returns their sum, the denominator.
 */
export function shiftedExpRow(x: Float64Array, out: Float64Array, o: number, n: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (x[o + j]! > max) max = x[o + j]!;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(x[o + j]! - max);
    out[o + j] = e;
    sum += e;
  }
  return sum;
}

function sigmoidScalar(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** The names a network's hidden layers may use. */
export type HiddenActivation = "sigmoid" | "relu" | "tanh" | "step";

/**
 * In-place forward and backward passes of a hidden activation, for the network.
 * `backward` gets the pre-activation `a`, the output `z` and dL/dz, and writes dL/da.
 */
export interface ActivationKernel {
  forward(a: Float64Array, z: Float64Array): void;
  backward(a: Float64Array, z: Float64Array, dz: Float64Array, da: Float64Array): void;
}

/** The hidden activations by name. */
export const activationKernels: Record<HiddenActivation, ActivationKernel> = {
  sigmoid: {
    forward(a, z) {
      for (let i = 0; i < a.length; i++) z[i] = sigmoidScalar(a[i]!);
    },
    backward(_a, z, dz, da) {
      for (let i = 0; i < z.length; i++) da[i] = dz[i]! * z[i]! * (1 - z[i]!);
    },
  },
  relu: {
    forward(a, z) {
      for (let i = 0; i < a.length; i++) z[i] = a[i]! > 0 ? a[i]! : 0;
    },
    backward(a, _z, dz, da) {
      for (let i = 0; i < a.length; i++) da[i] = a[i]! > 0 ? dz[i]! : 0;
    },
  },
  tanh: {
    forward(a, z) {
      for (let i = 0; i < a.length; i++) z[i] = Math.tanh(a[i]!);
    },
    backward(_a, z, dz, da) {
      for (let i = 0; i < z.length; i++) da[i] = dz[i]! * (1 - z[i]! * z[i]!);
    },
  },
  step: {
    forward(a, z) {
      for (let i = 0; i < a.length; i++) z[i] = a[i]! > 0 ? 1 : 0;
    },
    backward(_a, _z, _dz, da) {
      da.fill(0);
    },
  },
};

/** The hidden activations as scalar functions (for per-unit recomputation). */
export const scalarActivations: Record<HiddenActivation, (v: number) => number> = {
  sigmoid: sigmoidScalar,
  relu: (v) => (v > 0 ? v : 0),
  tanh: Math.tanh,
  step: (v) => (v > 0 ? 1 : 0),
};

/** Apply the sigmoid element-wise in place (used by the sigmoid output layer). */
export function sigmoidInPlace(a: Float64Array, z: Float64Array): void {
  for (let i = 0; i < a.length; i++) z[i] = sigmoidScalar(a[i]!);
}
