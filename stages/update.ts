/**
 * Stage `update`: a gradient in, parameters updated by the optimizer, a step record out.
 * A non-finite loss or parameter stops the run here, naming the iteration and the layer.
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import type { MultiLayerNet, Params } from "../nn/network.ts";
import type { Optimizer } from "../nn/optimizers.ts";
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
 * Apply the optimizer to each gradient that arrives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of } from "rxjs";
 * import { Matrix, SGD, TwoLayerNet } from "../mod.ts";
 * import { update } from "./update.ts";
 * const net = new TwoLayerNet(2, 2, 2, { seed: 1 });
 * const x = Matrix.from([[1, 0]]);
 * const { grads, loss } = net.gradientAndLoss(x, [1]);
 * const step = await lastValueFrom(of({ iteration: 0, epoch: 0, x, t: Int32Array.of(1),
 *   labels: Int32Array.of(1), grads, loss }).pipe(update(net, new SGD(0.1))));
 * assert.ok(step.learningRate === 0.1 && net.loss(x, [1]) < loss);
 * ```
 */
export function update(
  net: MultiLayerNet,
  optimizer: Optimizer,
  options: { gradientClip?: { maxNorm: number } } = {},
): OperatorFunction<GradientResult, StepResult> {
  return map((g) => {
    if (!Number.isFinite(g.loss)) {
      const bad = firstNonFinite(net);
      throw divergence(
        g.iteration,
        `the loss is ${g.loss}`,
        bad ? `non-finite values in ${bad}` : largest(net),
      );
    }
    let bad: string | undefined;
    if (g.trainer) {
      // The WebAssembly trainer holds the gradient, the parameters and the optimizer state.
      if (options.gradientClip) g.trainer.clipGradient(options.gradientClip.maxNorm);
      g.trainer.update();
      bad = g.trainer.firstNonFinite();
    } else {
      if (options.gradientClip) clipGradient(g.grads, options.gradientClip.maxNorm);
      optimizer.update(net.params, g.grads);
      bad = firstNonFinite(net);
    }
    if (bad) throw divergence(g.iteration, `a parameter became non-finite`, `in ${bad}`);
    return {
      iteration: g.iteration,
      epoch: g.epoch,
      loss: g.loss,
      learningRate: optimizer.learningRate,
      batchSize: g.rows?.rows ?? g.x.rows,
      ...(g.check ? { check: g.check } : {}),
    };
  });
}

/** Scale every gradient by maxNorm / ‖g‖ when the global L2 norm ‖g‖ exceeds maxNorm. */
export function clipGradient(grads: Params, maxNorm: number): number {
  let squares = 0;
  for (const g of Object.values(grads)) {
    for (let i = 0; i < g.data.length; i++) squares += g.data[i]! * g.data[i]!;
  }
  const norm = Math.sqrt(squares);
  if (norm > maxNorm) {
    const scale = maxNorm / norm;
    for (const g of Object.values(grads)) {
      for (let i = 0; i < g.data.length; i++) g.data[i]! *= scale;
    }
  }
  return norm;
}

/** The first parameter (W1, b1, …) holding NaN or ±Infinity, if any. */
export function firstNonFinite(net: MultiLayerNet): string | undefined {
  for (const [name, p] of Object.entries(net.params)) {
    const d = p.data;
    // A sum is non-finite iff some element is (or it overflowed, which is as bad): one pass
    // without a branch per element.
    let sum = 0;
    for (let i = 0; i < d.length; i++) sum += d[i]! * 0;
    if (sum !== 0) return name;
  }
  return undefined;
}

/** Where the largest parameter magnitude is: the layer that blew up when nothing is NaN yet. */
function largest(net: MultiLayerNet): string {
  let where = "";
  let max = -1;
  for (const [name, p] of Object.entries(net.params)) {
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
