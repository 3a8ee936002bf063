/**
 * Stage `update`: a gradient in, parameters updated by the optimizer, a step record out.
 * A non-finite loss or parameter stops the run here, naming the iteration and the layer.
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import type { Engine } from "../engine/engine.ts";
import type { Params } from "../nn/network.ts";
import { DivergenceError } from "./errors.ts";
import type { GradientCheck, GradientResult } from "./gradient.ts";

/** What one training step did. Iterations are counted from 0. */
export interface StepResult {
  iteration: number;
  epoch: number;
  loss: number;
  learningRate: number;
  batchSize: number;
  check?: GradientCheck;
}

/**
 * Apply the optimizer to each gradient that arrives: the engine holds the gradient, the
 * parameters and the optimizer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of } from "rxjs";
 * import { Matrix, NetworkEngine, SGD, TwoLayerNet } from "../mod.ts";
 * import { update } from "./update.ts";
 * const net = new TwoLayerNet(2, 2, 2, { seed: 1 });
 * const engine = new NetworkEngine(net, new SGD(0.1));
 * const x = Matrix.from([[1, 0]]);
 * const loss = engine.gradientAndLoss(x, [1]);
 * const step = await lastValueFrom(of({ iteration: 0, epoch: 0, x, t: Int32Array.of(1),
 *   labels: Int32Array.of(1), indices: Int32Array.of(0), grads: engine.gradients(), loss })
 *   .pipe(update(engine)));
 * assert.ok(step.learningRate === 0.1 && net.loss(x, [1]) < loss);
 * ```
 */
export function update(
  engine: Engine,
  options: { gradientClip?: { maxNorm: number } } = {},
): OperatorFunction<GradientResult, StepResult> {
  return map((gradient) => {
    if (!Number.isFinite(gradient.loss)) {
      const bad = engine.firstNonFinite();
      throw divergence(
        gradient.iteration,
        `the loss is ${gradient.loss}`,
        bad ? `non-finite values in ${bad}` : largest(engine.readParams()),
      );
    }
    if (options.gradientClip) engine.clipGradient(options.gradientClip.maxNorm);
    engine.update();
    const bad = engine.firstNonFinite();
    if (bad) throw divergence(gradient.iteration, `a parameter became non-finite`, `in ${bad}`);
    const step: StepResult = {
      iteration: gradient.iteration,
      epoch: gradient.epoch,
      loss: gradient.loss,
      learningRate: engine.optimizer.learningRate,
      // From the labels: reading x or rows would make a copy of the batch's rows.
      batchSize: gradient.labels.length,
    };
    // Added only when there is one (not spread in: a runtime call every step).
    if (gradient.check) step.check = gradient.check;
    return step;
  });
}

/** Where the largest parameter magnitude is: the layer that blew up when nothing is NaN yet. */
function largest(params: Params): string {
  let where = "";
  let max = -1;
  for (const [name, p] of Object.entries(params)) {
    for (let i = 0; i < p.data.length; i++) {
      const v = Math.abs(p.data[i]!);
      if (v > max) {
        max = v;
        where = name;
      }
    }
  }
  return `largest parameter in ${where}: |${max.toExponential(2)}|`;
}

function divergence(iteration: number, what: string, where: string): DivergenceError {
  return new DivergenceError(
    `training diverged at iteration ${iteration + 1}: ${what} (${where}). ` +
      "Likely causes: a learning rate too high for this model, or unnormalised inputs " +
      "(check data.normalize)",
    iteration,
  );
}
