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
export { jsKernels, type Kernels } from "./nn/kernels.ts";
export { copyInto, type Engine, type Predictor } from "./engine/engine.ts";
export { kernelPredictor, NetworkEngine, predictorOf } from "./engine/network_engine.ts";
export { createWasmKernels, wasmSimdAvailable } from "./engine/kernels/wasm_kernels.ts";
export { WasmTrainer, type WasmTrainerOptions } from "./engine/trainer/wasm_trainer.ts";
export { backendKernels, type BackendName, defaultBackend } from "./engine/kernels/backends.ts";
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
  fastNumericalGradient,
  type FastNumericalGradientOptions,
} from "./engine/numerical/fast_numerical_gradient.ts";
export { NumericalGradientPool } from "./engine/numerical/parallel_numerical_gradient.ts";
export {
  gradientDescent,
  type GradientDescentOptions,
  type GradientDescentPath,
} from "./nn/gradient_descent.ts";
export { Random, type RandomState } from "./nn/random.ts";
export {
  countCorrect,
  type Float32Rows,
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
export { confusionMatrix, perClassAccuracy } from "./nn/metrics.ts";

// Data: one dataset type, its sources and normalisation.
export { type Dataset, oneHot, stratifiedSplit, subset, takeBatch } from "./data/dataset.ts";
export { loadMnistDigits } from "./data/mnist_digits.ts";
export {
  encodeIdx,
  type IdxOptions,
  loadIdx,
  parseIdx,
  readIdx,
  readIdxImages,
} from "./data/idx.ts";
export { type CsvOptions, loadCsv } from "./data/csv.ts";
export {
  applyNormalization,
  fitNormalization,
  type Normalization,
  type NormalizeKind,
  normalizeValues,
} from "./data/normalize.ts";
export { BatchSampler, type SamplerState, type Sampling } from "./data/sampler.ts";

// Stages: each an RxJS OperatorFunction.
export { load, loadSplits, type SourceConfig, type Splits } from "./stages/load.ts";
export { defaultNormalize, normalize, type NormalizedSplits } from "./stages/normalize.ts";
export { type Batch, sampleBatch } from "./stages/sample_batch.ts";
export { gradient, type GradientCheck, type GradientResult } from "./stages/gradient.ts";
export { type StepResult, update } from "./stages/update.ts";
export {
  evaluate,
  type EvaluatedStep,
  evaluateModel,
  type Evaluation,
  type FinalEvaluation,
  finalEvaluation,
  predictAll,
} from "./stages/evaluate.ts";

// The pipeline: config, training runs and saved models.
export { type Config, type ConfigInput, ConfigSchema } from "./config/config.ts";
export { ConfigError } from "./config/errors.ts";
export {
  applyOverride,
  loadConfig,
  type LoadedConfig,
  validateConfig,
} from "./pipeline/load_config.ts";
export { type Summary, train, type TrainOptions, type TrainResult } from "./pipeline/train.ts";
export { createNetwork } from "./pipeline/setup.ts";
export { loadModel, type ModelFile, modelToJson } from "./pipeline/model_file.ts";
export { DivergenceError, GradientCheckError } from "./stages/errors.ts";
export { UsageError } from "./pipeline/errors.ts";
