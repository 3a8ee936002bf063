/**
 * Stage `gradient`: a batch in, the loss and its gradient out, by backprop or by the book's
 * numerical method, with an optional periodic check of one against the other.
 * @module
 */
import { concatMap, defer, finalize, map, type OperatorFunction } from "rxjs";
import { fastNumericalGradient } from "../engine/numerical/fast_numerical_gradient.ts";
import { NumericalGradientPool } from "../engine/numerical/parallel_numerical_gradient.ts";
import { withKernelsSync } from "../engine/kernels/backends.ts";
import { jsKernels } from "../nn/kernels.ts";
import { Matrix } from "../nn/matrix.ts";
import type { MultiLayerNet, Params } from "../nn/network.ts";
import type { WasmTrainer } from "../engine/trainer/wasm_trainer.ts";
import type { Config } from "../config/config.ts";
import { GradientCheckError } from "./errors.ts";
import type { Batch } from "./sample_batch.ts";

/** The largest |numerical - backprop| over all parameters, and where it was. */
export interface GradientCheck {
  maxDifference: number;
  parameter: string;
}

/** A batch with its loss (before the update) and gradient. */
export interface GradientResult extends Batch {
  loss: number;
  /** The gradient; when `trainer` is set, float64 copies made when first read. */
  grads: Params;
  /** Set when the gradient stays in the WebAssembly trainer: the update happens there. */
  trainer?: WasmTrainer;
  check?: GradientCheck;
}

/**
 * Compute each batch's gradient with the method the config names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of } from "rxjs";
 * import { Matrix, TwoLayerNet } from "../mod.ts";
 * import { gradient } from "./gradient.ts";
 * const net = new TwoLayerNet(3, 4, 2, { seed: 1 });
 * const batch = { iteration: 0, epoch: 0, x: Matrix.from([[1, 0, 1]]), t: Int32Array.of(1),
 *   labels: Int32Array.of(1) };
 * const out = await lastValueFrom(of(batch).pipe(gradient(net, { method: "backprop" })));
 * assert.ok(out.grads.W1!.rows === 3 && out.loss > 0);
 * ```
 */
export function gradient(
  net: MultiLayerNet,
  options: Config["gradient"],
  resident: { trainer?: WasmTrainer } = {},
): OperatorFunction<Batch, GradientResult> {
  /** The periodic comparison with the numerical gradient, when this batch is due for one. */
  const checkAt = (batch: Batch): GradientCheck | undefined =>
    options.check && (batch.iteration + 1) % options.check.every === 0
      ? checkGradient(net, batch, options.check, options.method === "numerical" ? options.h : 1e-4)
      : undefined;
  const finish = (batch: Batch, result: { loss: number; grads: Params }): GradientResult => {
    const check = checkAt(batch);
    return { ...batch, ...result, ...(check ? { check } : {}) };
  };
  const { trainer } = resident;
  if (options.method === "backprop" && trainer) {
    // Forward and backward in WebAssembly memory; the gradient is only copied out if read.
    return map((batch) => {
      const loss = trainer.gradientAndLoss(batch.rows ?? batch.x, batch.t, { train: true });
      let grads: Params | null = null;
      // Not a spread of the batch: that would read (and so make) its float64 rows.
      const result: GradientResult = {
        iteration: batch.iteration,
        epoch: batch.epoch,
        get x() {
          return batch.x;
        },
        ...(batch.rows ? { rows: batch.rows } : {}),
        t: batch.t,
        labels: batch.labels,
        loss,
        trainer,
        get grads() {
          return grads ??= trainer.gradients();
        },
      };
      const check = checkAt(batch);
      if (check) result.check = check;
      return result;
    });
  }
  if (options.method === "backprop") {
    return map((batch) => finish(batch, net.gradientAndLoss(batch.x, batch.t, { train: true })));
  }
  // The book's central differences, re-evaluating only what each perturbation changes
  // (fastNumericalGradient, equal to the naive net.numericalGradient within ~1e-11), split
  // over Workers that live as long as the subscription.
  const { h, workers } = options;
  return (source) =>
    defer(() => {
      const pool = new NumericalGradientPool(workers);
      return source.pipe(
        concatMap(async (batch) => {
          const grads = await pool.gradient(net, batch.x, batch.t, { h, train: true });
          return finish(batch, { grads, loss: net.loss(batch.x, batch.t) });
        }),
        finalize(() => pool.terminate()),
      );
    });
}

function checkGradient(
  net: MultiLayerNet,
  batch: Batch,
  options: { tolerance: number; samples: number },
  h: number,
): GradientCheck {
  // The numerical side costs two forward passes per parameter: use a few samples only.
  const rows = Math.min(options.samples, batch.x.rows);
  const x = new Matrix(rows, batch.x.cols, batch.x.data.slice(0, rows * batch.x.cols));
  const t = batch.t instanceof Matrix
    ? new Matrix(rows, batch.t.cols, batch.t.data.slice(0, rows * batch.t.cols))
    : batch.t.slice(0, rows);
  // Both sides in float64, whatever the training backend: the check is about the math.
  const { numerical, backprop } = withKernelsSync(jsKernels, () => ({
    // The same central differences as net.numericalGradient (within ~1e-11), without a full
    // forward pass per parameter: a check on a 784-100-10 net takes milliseconds, not seconds.
    numerical: fastNumericalGradient(net, x, t, { h }),
    backprop: net.gradient(x, t),
  }));
  let worst: GradientCheck = { maxDifference: 0, parameter: "" };
  for (const [name, g] of Object.entries(backprop)) {
    const n = numerical[name]!.data;
    for (let i = 0; i < g.data.length; i++) {
      const d = Math.abs(g.data[i]! - n[i]!);
      if (d > worst.maxDifference) worst = { maxDifference: d, parameter: name };
    }
  }
  if (worst.maxDifference > options.tolerance) {
    throw new GradientCheckError(
      `gradient check failed at iteration ${batch.iteration + 1}: max |numerical - backprop| = ${
        worst.maxDifference.toExponential(3)
      } in ${worst.parameter}, above the tolerance ${options.tolerance}`,
    );
  }
  return worst;
}
