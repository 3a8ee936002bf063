/**
 * The reference engine: the network's own float64 math (nn/network.ts) with the kernels it is
 * given, `jsKernels` or the WebAssembly kernels; the optimizer updates `net.params` in place.
 * @module
 */
import { jsKernels, type Kernels } from "../nn/kernels.ts";
import { Matrix } from "../nn/matrix.ts";
import type { Float32Rows, MultiLayerNet, Params, Targets } from "../nn/network.ts";
import type { Optimizer, OptimizerState } from "../nn/optimizers.ts";
import { copyInto, type Engine, type Predictor } from "./engine.ts";

/** Predictions of `net` computed with `kernels`. */
export function kernelPredictor(net: MultiLayerNet, kernels: Kernels = jsKernels): Predictor {
  return { net, predict: (x) => predictWith(net, kernels, x) };
}

/** A predictor as given, or a bare network's own float64 predictions. */
export function predictorOf(model: Predictor | MultiLayerNet): Predictor {
  return "predict" in model && "net" in model ? model : kernelPredictor(model as MultiLayerNet);
}

function predictWith(net: MultiLayerNet, kernels: Kernels, x: Matrix | Float32Rows): Matrix {
  return x instanceof Matrix ? net.predict(x, { kernels }) : net.predictRows(x, { kernels });
}

/**
 * A network trained on the host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Matrix, NetworkEngine, SGD, TwoLayerNet } from "../mod.ts";
 * const net = new TwoLayerNet(2, 3, 2, { seed: 1 });
 * const engine = new NetworkEngine(net, new SGD(0.5));
 * const x = Matrix.from([[1, 0], [0, 1]]);
 * const before = engine.gradientAndLoss(x, [1, 0]);
 * engine.update();
 * assert.ok(engine.gradientAndLoss(x, [1, 0]) < before);
 * ```
 */
export class NetworkEngine implements Engine {
  readonly net: MultiLayerNet;
  readonly optimizer: Optimizer;
  readonly kernels: Kernels;
  readonly name: string;
  #grads: Params | null = null;

  constructor(net: MultiLayerNet, optimizer: Optimizer, kernels: Kernels = jsKernels) {
    this.net = net;
    this.optimizer = optimizer;
    this.kernels = kernels;
    this.name = kernels.name;
  }

  predict(x: Matrix | Float32Rows): Matrix {
    return predictWith(this.net, this.kernels, x);
  }

  gradientAndLoss(x: Matrix | Float32Rows, t: Targets, options: { train?: boolean } = {}): number {
    const input = x instanceof Matrix
      ? x
      : new Matrix(x.rows, x.cols, Float64Array.from(x.data.subarray(0, x.rows * x.cols)));
    const { grads, loss } = this.net.gradientAndLoss(input, t, {
      train: options.train === true,
      kernels: this.kernels,
    });
    this.#grads = grads;
    return loss;
  }

  setGradients(grads: Params): void {
    this.#grads = grads;
  }

  gradients(): Params {
    const grads = this.#held();
    return Object.fromEntries(
      Object.entries(grads).map(([name, g]) => [name, new Matrix(g.rows, g.cols, g.data.slice())]),
    );
  }

  clipGradient(maxNorm: number): number {
    const grads = Object.values(this.#held());
    let squares = 0;
    for (const g of grads) {
      for (let i = 0; i < g.data.length; i++) squares += g.data[i]! * g.data[i]!;
    }
    const norm = Math.sqrt(squares);
    if (norm > maxNorm) {
      const scale = maxNorm / norm;
      for (const g of grads) {
        for (let i = 0; i < g.data.length; i++) g.data[i]! *= scale;
      }
    }
    return norm;
  }

  update(): void {
    this.optimizer.update(this.net.params, this.#held());
  }

  firstNonFinite(): string | undefined {
    for (const [name, p] of Object.entries(this.net.params)) {
      const d = p.data;
      // A sum is non-finite iff some element is (or it overflowed, which is as bad): one pass
      // without a branch per element.
      let sum = 0;
      for (let i = 0; i < d.length; i++) sum += d[i]! * 0;
      if (sum !== 0) return name;
    }
    return undefined;
  }

  readParams(): Params {
    return this.net.params;
  }

  writeParams(params: Params): void {
    copyInto(this.net.params, params);
  }

  optimizerState(into?: OptimizerState): OptimizerState {
    return this.optimizer.state(into);
  }

  setOptimizerState(state: OptimizerState): void {
    this.optimizer.setState(state);
  }

  dispose(): void {}

  #held(): Params {
    if (!this.#grads) throw new Error("no gradient yet: call gradientAndLoss first");
    return this.#grads;
  }
}
