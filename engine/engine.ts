/**
 * The engine: what trains and runs a network. One interface, two implementations chosen once
 * per run: {@linkcode NetworkEngine} (the network's own float64 math, with js or WebAssembly
 * kernels) and the WebAssembly trainer (engine/trainer, float32, parameters resident in
 * WebAssembly memory). The stages call only this interface: `gradient` asks for a loss and
 * gradient, `update` clips, applies the optimizer and checks for non-finite values, `evaluate`
 * predicts. The network stays a plain value: an engine that keeps parameters elsewhere writes
 * them back into it on {@linkcode Engine.readParams}.
 * @module
 */
import type { Matrix } from "../nn/matrix.ts";
import type { Float32Rows, MultiLayerNet, Params, Targets } from "../nn/network.ts";
import type { Optimizer, OptimizerState } from "../nn/optimizers.ts";

/** Inference only: a network and a way to compute its outputs. */
export interface Predictor {
  readonly net: MultiLayerNet;
  /** The network's output for x, one sample per row (inference: no dropout). */
  predict(x: Matrix | Float32Rows): Matrix;
}

/** A network and its optimizer, trained step by step. */
export interface Engine extends Predictor {
  /** `js`, `wasm` (kernels) or `wasm-trainer` (resident): recorded with the run. */
  readonly name: string;
  /** What runs, as summary.json names it (the name when absent). */
  readonly description?: string;
  /** The update rule; its learning rate may change between steps (decay). */
  readonly optimizer: Optimizer;
  /**
   * Forward and backward pass on a batch (dropout on when `train`): returns the loss as
   * `net.loss` defines it; the gradient stays in the engine for {@linkcode clipGradient} and
   * {@linkcode update}.
   */
  gradientAndLoss(x: Matrix | Float32Rows, t: Targets, options?: { train?: boolean }): number;
  /**
   * Keep a data set's rows in the engine's own memory, so that steps can name their rows
   * ({@linkcode gradientAndLossOfRows}) instead of passing copies; true when they are kept.
   * Engines without it, or that decline (too many rows), take rows with every step.
   */
  holdRows?(rows: Float32Rows): boolean;
  /** {@linkcode gradientAndLoss} on the held rows that `indices` numbers. */
  gradientAndLossOfRows?(indices: Int32Array, t: Targets, options?: { train?: boolean }): number;
  /** Hold a gradient computed elsewhere (the numerical method) in place of the last one. */
  setGradients(grads: Params): void;
  /** The held gradient as float64 matrices shaped like the parameters (copies). */
  gradients(): Params;
  /** Scale the held gradient to norm maxNorm when its L2 norm is larger; returns the norm. */
  clipGradient(maxNorm: number): number;
  /** Apply the optimizer, at its current learning rate, to the held gradient. */
  update(): void;
  /** The first parameter (W1, b1, …) holding NaN or ±Infinity, if any. */
  firstNonFinite(): string | undefined;
  /** The current parameters, written into `net.params` (which it returns). */
  readParams(): Params;
  /** Make these the parameters (they are copied into `net.params` too). */
  writeParams(params: Params): void;
  /**
   * The optimizer's current state (buffers and step count), in new arrays, or in `into`'s
   * buffers where their names and lengths fit (a caller that saves the state again and again
   * keeps one set: 3.8 MB a checkpoint of Fashion-MNIST's Adam state).
   */
  optimizerState(into?: OptimizerState): OptimizerState;
  /** Continue from a saved optimizer state. */
  setOptimizerState(state: OptimizerState): void;
  /** Release what the engine holds beyond the network (Workers); it still predicts. */
  dispose(): void;
}

/** Copy each parameter's values into the same-named matrix of `into` (unless it is `from`). */
export function copyInto(into: Params, from: Params): void {
  if (into === from) return;
  for (const [name, m] of Object.entries(from)) {
    const target = into[name];
    if (!target || target.data.length !== m.data.length) {
      throw new RangeError(`Expected parameter ${name} shaped like the network's`);
    }
    target.data.set(m.data);
  }
}
