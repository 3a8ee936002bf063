/**
 * Stage `gradient`: a batch in, the loss and its gradient out, by backprop or by the book's
 * numerical method, with an optional periodic check of one against the other.
 * @module
 */
import { concatMap, defer, finalize, map, type OperatorFunction } from "rxjs";
import type { Engine } from "../engine/engine.ts";
import { fastNumericalGradient } from "../engine/numerical/fast_numerical_gradient.ts";
import { NumericalGradientPool } from "../engine/numerical/parallel_numerical_gradient.ts";
import { jsKernels } from "../nn/kernels.ts";
import { Matrix } from "../nn/matrix.ts";
import type { Float32Rows, MultiLayerNet, Params } from "../nn/network.ts";
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
  /** The gradient, float64 copies of the engine's, made when first read. */
  readonly grads: Params;
  check?: GradientCheck;
}

/**
 * Compute each batch's gradient with the method the config names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of } from "rxjs";
 * import { Matrix, NetworkEngine, SGD, TwoLayerNet } from "../mod.ts";
 * import { gradient } from "./gradient.ts";
 * const engine = new NetworkEngine(new TwoLayerNet(3, 4, 2, { seed: 1 }), new SGD(0.1));
 * const batch = { iteration: 0, epoch: 0, x: Matrix.from([[1, 0, 1]]), t: Int32Array.of(1),
 *   labels: Int32Array.of(1), indices: Int32Array.of(0) };
 * const out = await lastValueFrom(of(batch).pipe(gradient(engine, { method: "backprop" })));
 * assert.ok(out.grads.W1!.rows === 3 && out.loss > 0);
 * ```
 */
export function gradient(
  engine: Engine,
  options: Config["gradient"],
  { rowsHeld = false }: {
    /**
     * The engine holds the dataset the batches come from (Engine.holdRows): backprop names
     * each batch's rows instead of passing them.
     */
    rowsHeld?: boolean;
  } = {},
): OperatorFunction<Batch, GradientResult> {
  const net = engine.net;
  /** The batch with its loss, the gradient read from the engine, and the check when due. */
  const result = (batch: Batch, loss: number): GradientResult => {
    const check = options.check && (batch.iteration + 1) % options.check.every === 0
      ? checkGradient(
        engine,
        batch,
        options.check,
        options.method === "numerical" ? options.h : DEFAULT_CHECK_H,
      )
      : undefined;
    return new BatchGradient(batch, loss, engine, check);
  };
  if (options.method === "backprop") {
    const ofRows = rowsHeld ? engine.gradientAndLossOfRows?.bind(engine) : undefined;
    if (rowsHeld && !ofRows) throw new TypeError(`The ${engine.name} engine holds no rows`);
    return map((batch) =>
      result(
        batch,
        ofRows
          ? ofRows(batch.indices, batch.t, TRAINING)
          : engine.gradientAndLoss(batch.rows ?? batch.x, batch.t, TRAINING),
      )
    );
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
          engine.readParams();
          const { grads, loss } = await pool.gradientAndLoss(net, batch.x, batch.t, {
            h,
            train: true,
          });
          engine.setGradients(grads);
          return result(batch, loss);
        }),
        finalize(() => pool.terminate()),
      );
    });
}

/** The step of the backprop check's central differences (the book's h). */
const DEFAULT_CHECK_H = 1e-4;

/** The options of a training pass, one object for every step. */
const TRAINING = { train: true } as const;

/**
 * A batch with its loss and gradient. Not a spread of the batch: that would read (and so
 * make) its float64 and float32 rows; and a class, not an object of getters made each step,
 * which was 0.9 KB a step for the garbage collector, a third of it outliving the young
 * generation (a sampling heap profile of 20,000 steps of 784-50-10 through the CLI).
 */
class BatchGradient implements GradientResult {
  readonly iteration: number;
  readonly epoch: number;
  readonly t: Matrix | Int32Array;
  readonly labels: Int32Array;
  readonly indices: Int32Array;
  readonly loss: number;
  declare readonly check?: GradientCheck;
  readonly #batch: Batch;
  readonly #engine: Engine;
  #grads: Params | null = null;

  constructor(batch: Batch, loss: number, engine: Engine, check: GradientCheck | undefined) {
    this.#batch = batch;
    this.#engine = engine;
    this.iteration = batch.iteration;
    this.epoch = batch.epoch;
    this.t = batch.t;
    this.labels = batch.labels;
    this.indices = batch.indices;
    this.loss = loss;
    if (check) this.check = check;
  }

  get x(): Matrix {
    return this.#batch.x;
  }

  get rows(): Float32Rows | undefined {
    return this.#batch.rows;
  }

  get grads(): Params {
    return this.#grads ??= this.#engine.gradients();
  }
}

function checkGradient(
  engine: Engine,
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
  // Both sides in float64 on the engine's current parameters, whatever the training backend:
  // the check is about the math. The same central differences as net.numericalGradient
  // (within ~1e-11), without a full forward pass per parameter: a check on a 784-100-10 net
  // takes milliseconds, not seconds.
  engine.readParams();
  const net: MultiLayerNet = engine.net;
  const numerical = fastNumericalGradient(net, x, t, { h });
  const backprop = net.gradient(x, t, { kernels: jsKernels });
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
