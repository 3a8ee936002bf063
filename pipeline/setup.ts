/**
 * What a run is built from: its data (loaded, normalised, checked against the model), its
 * class weights, its network and the engine that trains it, all chosen once from the config.
 * @module
 */
import { join } from "node:path";
import { lastValueFrom, of } from "rxjs";
import type { Config } from "../config/config.ts";
import { ConfigError } from "../config/errors.ts";
import type { Dataset } from "../data/dataset.ts";
import type { Engine } from "../engine/engine.ts";
import { backendKernels, type BackendName, defaultBackend } from "../engine/kernels/backends.ts";
import { NetworkEngine } from "../engine/network_engine.ts";
import { type Products, WasmTrainer } from "../engine/trainer/wasm_trainer.ts";
import { openBlas } from "../engine/trainer/openblas.ts";
import { balancedClassWeights } from "../nn/losses.ts";
import { MultiLayerNet } from "../nn/network.ts";
import type { Optimizer } from "../nn/optimizers.ts";
import { deriveSeed } from "../nn/random.ts";
import { DEFAULT_TEST_FRACTION, load, loadOptions } from "../stages/load.ts";
import { defaultNormalize, normalize, type NormalizedSplits } from "../stages/normalize.ts";
import { UsageError } from "./errors.ts";
import { checkLatest } from "./run_dir.ts";
import { checkSizes, layerSizes, type LoadedConfig, resolveLayers } from "./load_config.ts";

/**
 * Load and normalise the config's data, then check the model against it; `auto` layer sizes
 * become the data's feature and output counts.
 */
export async function loadData(
  loaded: LoadedConfig,
): Promise<{ splits: NormalizedSplits; config: Config }> {
  const { config } = loaded;
  const setting = config.data.normalize ?? defaultNormalize(config.data.source);
  const splits = await lastValueFrom(
    of(config.data.source).pipe(load(loadOptions(config)), normalize(setting)),
  );
  const facts = {
    features: splits.train.features,
    classes: config.task === "regression" ? 1 : splits.train.classes,
    trainCount: splits.train.count,
  };
  const problems: string[] = [];
  checkSizes(config, facts, problems);
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);
  const warning = config.data.normalize === undefined ? defaultScaleWarning(splits) : null;
  const warned = warning ? { ...splits, warnings: [...splits.warnings ?? [], warning] } : splits;
  return { splits: warned, config: resolveLayers(config, facts) };
}

/** Pixels: what the default normalisation (÷255) is for. */
const PIXEL_MAX = 255;
/** Raw values whose largest magnitude is below this share of 255, or above 10×, are not pixels. */
const NOT_PIXELS = { below: 0.1, above: 10 };

/**
 * A warning when the default ÷255 scaling met training values nowhere near 0–255 (a table of
 * measurements, not pixels): everything then sits near 0 (or far beyond 1), and a net with the
 * default init learns nothing.
 */
export function defaultScaleWarning(splits: NormalizedSplits): string | null {
  const n = splits.normalization;
  if (n.kind !== "scale" || n.divisor !== PIXEL_MAX) return null;
  const x = splits.train.x;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i]! < min) min = x[i]!;
    if (x[i]! > max) max = x[i]!;
  }
  const [low, high] = [min * PIXEL_MAX, max * PIXEL_MAX];
  const largest = Math.max(Math.abs(low), Math.abs(high));
  if (largest >= NOT_PIXELS.below * PIXEL_MAX && largest <= NOT_PIXELS.above * PIXEL_MAX) {
    return null;
  }
  const range = `[${+low.toPrecision(4)}, ${+high.toPrecision(4)}]`;
  return `the default normalisation divides by 255 (for 0–255 pixels), but the training values range over ${range}; set data.normalize: zscore (or minmax) for data that are not pixels`;
}

/** The config as the run used it: defaults filled in, the normalisation made explicit. */
export function resolvedConfig(config: Config, name: string): Config {
  const normalize = config.data.normalize ?? defaultNormalize(config.data.source);
  const source = config.data.source;
  const split = source.kind === "csv" && source.file !== undefined
    ? { test: DEFAULT_TEST_FRACTION, ...config.data.split }
    : config.data.split;
  return { ...config, name, data: { ...config.data, normalize, ...(split ? { split } : {}) } };
}

/** Per-sample loss weights of each class, or null when the config weights none. */
export function classWeightsFor(config: Config, train: Dataset): Float64Array | null {
  const setting = config.training.classWeights;
  if (setting === "none" || config.task === "regression") return null;
  if (setting === "balanced") return balancedClassWeights(train.labels, train.classes);
  const names = train.classNames ?? Array.from({ length: train.classes }, (_, i) => String(i));
  const unknown = Object.keys(setting).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `training.classWeights names ${
        unknown.map((n) => `"${n}"`).join(", ")
      }, not among the classes ${names.map((n) => `"${n}"`).join(", ")}`,
    );
  }
  return Float64Array.from(names, (name) => setting[name] ?? 1);
}

/** The backend a config trains with: the numerical method always computes in float64 (js). */
export function effectiveBackend(config: Config): BackendName {
  return config.gradient.method === "numerical" ? "js" : config.backend ?? defaultBackend();
}

/** The network a config describes, seeded from the run's seed. */
export function createNetwork(config: Config): MultiLayerNet {
  return new MultiLayerNet(layerSizes(config), {
    activation: config.model.activation,
    output: config.model.output,
    loss: config.loss,
    weightInit: config.model.weightInit,
    dropout: config.model.dropout,
    weightDecay: config.optimizer.weightDecay,
    seed: deriveSeed(config.seed, "init"),
  });
}

/**
 * Whether `net` trains in WebAssembly memory (the resident trainer): backprop on the wasm
 * backend, when the trainer handles the network; class weights travel as scaled one-hot
 * targets, which the trainer (labels only) lacks.
 */
export function residentTrainer(
  config: Config,
  net: MultiLayerNet,
  classWeights: Float64Array | null,
): boolean {
  return effectiveBackend(config) === "wasm" && config.gradient.method === "backprop" &&
    !classWeights && WasmTrainer.supports(net) === null;
}

/**
 * Where the resident trainer's dense products run, from the config's `blas` and, when
 * resuming, what the checkpoint's run used (`recorded`, TrainingState.products; absent:
 * WebAssembly): a resumed run continues bit-identically or not at all.
 */
export function resolveProducts(
  config: Config,
  resuming: { runDir: string; recorded?: Products } | null = null,
): Products {
  const why = config.blas === "off" ? null : openBlas();
  const available = why !== null && typeof why !== "string";
  if (resuming) {
    const recorded = resuming.recorded ?? "wasm";
    const wanted = config.blas === "auto" ? recorded : config.blas === "off" ? "wasm" : "openblas";
    const cannot =
      `cannot resume ${resuming.runDir}: its checkpoint computed the dense products in`;
    if (wanted !== recorded) {
      throw new UsageError(
        `${cannot} ${
          recorded === "openblas" ? "OpenBLAS" : "WebAssembly"
        }, and the config's blas is ${config.blas}` +
          ` (the numbers would differ; use blas: auto)`,
      );
    }
    if (recorded === "openblas" && !available) {
      throw new UsageError(`${cannot} OpenBLAS, which does not load here: ${why}`);
    }
    return recorded;
  }
  if (config.blas === "openblas" && !available) {
    throw new UsageError(`blas is openblas, but OpenBLAS does not load here: ${why}`);
  }
  return available ? "openblas" : "wasm";
}

/**
 * The engine that trains `net`, chosen once: the resident trainer when `resident`
 * ({@linkcode residentTrainer}), with its dense products where `products` says; everything
 * else runs the network's own math with the backend's kernels. `inputDensity` is the share
 * of non-zero values in the training rows (which products layer 1 uses).
 */
export function createEngine(
  config: Config,
  net: MultiLayerNet,
  optimizer: Optimizer,
  resident: { products: Products; inputDensity: number } | null,
): Engine {
  return resident
    ? new WasmTrainer(net, optimizer, { capacity: config.training.batchSize, ...resident })
    : new NetworkEngine(net, optimizer, backendKernels(effectiveBackend(config)));
}

/** Iterations of a run that names neither iterations nor epochs. */
const DEFAULT_ITERATIONS = 10_000;

/**
 * The least time between two checkpoints of `checkpoint.every: auto`, in seconds. An epoch of
 * the default run's 8,000 digits takes 20–30 ms, and its 784-100-10 Adam state is 2.5 MB:
 * a checkpoint every epoch wrote about 100 MB a second and took 10–20 µs of each 0.25 ms step
 * (784-50-10, measured with and without them); one every 2 s costs about 0.1 %.
 */
export const AUTO_CHECKPOINT_SECONDS = 2;

/**
 * When things happen, in iterations: the run's length, evaluations and checkpoints, and the
 * least time between checkpoints in seconds.
 */
export function scheduleOf(
  config: Config,
  perEpoch: number,
): { total: number; evaluateEvery: number; checkpointEvery: number; checkpointSpacing: number } {
  const { iterations, epochs, checkpoint } = config.training;
  const every = config.evaluation.every;
  return {
    total: iterations ?? (epochs !== undefined ? epochs * perEpoch : DEFAULT_ITERATIONS),
    evaluateEvery: every === "epoch" ? perEpoch : every,
    checkpointEvery: typeof checkpoint.every === "number" ? checkpoint.every : perEpoch,
    checkpointSpacing: checkpoint.every === "auto" ? AUTO_CHECKPOINT_SECONDS : 0,
  };
}

/**
 * The learning rate of iteration i under step decay (the base rate without): a function of the
 * epoch, so a resumed run gets it right too.
 */
export function learningRateAt(config: Config, i: number, perEpoch: number): number {
  const { learningRate, learningRateDecay: decay } = config.optimizer;
  return decay
    ? learningRate * decay.factor ** Math.floor(i / perEpoch / decay.every)
    : learningRate;
}

/** Fail before loading anything when the run's output folder cannot be written. */
export async function checkWritable(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.write-test-${Deno.pid}`);
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (error) {
    throw new Error(`the output directory ${dir} is not writable: ${(error as Error).message}`);
  }
  await checkLatest(dir);
}
