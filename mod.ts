/**
 * gradstream: train small feed-forward networks as a reproducible pipeline.
 *
 * The math core follows "Deep Learning from Scratch" ch. 4 and goes beyond it (backprop,
 * deeper nets, more optimizers); data readers, RxJS stages and the config-driven pipeline
 * build on it.
 *
 * @example
 * ```ts
 * import { crossEntropyError, meanSquaredError } from "./mod.ts";
 * const t = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
 * const y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0];
 * console.log(meanSquaredError(y, t), crossEntropyError(y, t)); // 0.0975 0.510825…
 * ```
 * @module
 */
export { argmax, Matrix } from "./nn/matrix.ts";
export { jsKernels, type Kernels, kernels, useKernels } from "./nn/kernels.ts";
export {
  type HiddenActivation,
  identity,
  relu,
  reluGrad,
  sigmoid,
  sigmoidGrad,
  softmax,
  stepFunction,
  tanh,
  tanhGrad,
} from "./nn/activations.ts";
export { crossEntropyError, meanSquaredError } from "./nn/losses.ts";
export { numericalGradient, type NumericalGradientOptions } from "./nn/numerical_gradient.ts";
export {
  gradientDescent,
  type GradientDescentOptions,
  type GradientDescentPath,
} from "./nn/gradient_descent.ts";
export { Random, type RandomState } from "./nn/random.ts";
export {
  countCorrect,
  type LossName,
  MultiLayerNet,
  type NetworkOptions,
  type OutputActivation,
  type Params,
  type Targets,
  type WeightInit,
} from "./nn/network.ts";
export { TwoLayerNet, type TwoLayerNetOptions } from "./nn/two_layer_net.ts";
export {
  AdaGrad,
  Adam,
  createOptimizer,
  Momentum,
  type Optimizer,
  type OptimizerKind,
  type OptimizerOptions,
  type OptimizerState,
  SGD,
} from "./nn/optimizers.ts";
