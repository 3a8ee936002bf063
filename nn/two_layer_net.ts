/**
 * The book's `TwoLayerNet`: input → sigmoid hidden layer → softmax output, cross-entropy loss.
 * @module
 */
import { MultiLayerNet, type NetworkOptions } from "./network.ts";

/** Options of {@linkcode TwoLayerNet}: the network's, plus the book's `weightInitStd`. */
export interface TwoLayerNetOptions extends Omit<NetworkOptions, "weightInit"> {
  /** Standard deviation of the normal weight init [0.01]. */
  weightInitStd?: number;
}

/**
 * The two-layer net of "Deep Learning from Scratch" ch. 4, parameters W1, b1, W2, b2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Matrix, TwoLayerNet } from "../mod.ts";
 * const net = new TwoLayerNet(784, 50, 10, { seed: 42 });
 * assert.ok(net.params.W1!.rows === 784 && net.params.W1!.cols === 50);
 * // Untrained, every class gets about 1/10, so the loss starts near ln 10 ≈ 2.303.
 * const x = new Matrix(2, 784);
 * assert.ok(Math.abs(net.loss(x, [3, 7]) - Math.log(10)) < 0.05);
 * ```
 */
export class TwoLayerNet extends MultiLayerNet {
  constructor(
    inputSize: number,
    hiddenSize: number,
    outputSize: number,
    options: TwoLayerNetOptions = {},
  ) {
    const { weightInitStd = 0.01, ...rest } = options;
    super([inputSize, hiddenSize, outputSize], {
      ...rest,
      weightInit: { kind: "normal", std: weightInitStd },
    });
  }
}
