/**
 * `model.json`: everything needed to use a trained network on new inputs — architecture,
 * weights (float64, written with round-trip precision so they load bit-identical),
 * normalisation statistics, classes and the seed that produced it.
 * @module
 */
import { z } from "zod";
import type { TargetScaling } from "../data/dataset.ts";
import type { Normalization } from "../data/normalize.ts";
import { encodedFeatureCount, type TableEncoding } from "../data/tabular.ts";
import { join } from "node:path";
import { readTextOrThrow } from "../data/errors.ts";
import { normalizeValues } from "../data/normalize.ts";
import type { Predictor } from "../engine/engine.ts";
import { kernelPredictor } from "../engine/network_engine.ts";
import { Matrix } from "../nn/matrix.ts";
import { MultiLayerNet } from "../nn/network.ts";
import { formatIssues } from "../config/errors.ts";
import { UsageError } from "./errors.ts";

const MatrixJson = z.strictObject({
  rows: z.int().nonnegative(),
  cols: z.int().nonnegative(),
  data: z.array(z.number()),
});

const ColumnEncodingJson = z.discriminatedUnion("kind", [
  z.strictObject({
    name: z.string(),
    kind: z.literal("numeric"),
    fill: z.number().nullable(),
    min: z.number(),
    max: z.number(),
  }),
  z.strictObject({
    name: z.string(),
    kind: z.literal("categorical"),
    categories: z.array(z.string()),
    fill: z.string().nullable(),
    ownCategory: z.boolean(),
  }),
]);

/** How a tabular model reads raw rows: the columns in order, their encodings and fills. */
const TableEncodingJson = z.strictObject({
  columns: z.array(ColumnEncodingJson).min(1),
  label: z.string(),
  ignored: z.array(z.string()),
  missing: z.strictObject({
    numeric: z.enum(["mean", "median", "zero", "drop-row", "error"]),
    categorical: z.enum(["most-frequent", "own-category", "drop-row", "error"]),
  }),
});

/** The schema of `model.json`. */
export const ModelFileSchema = z.strictObject({
  format: z.literal("gradstream-model"),
  version: z.literal(1),
  name: z.string(),
  /** The run's seed (config.seed); files before initSeed existed hold the derived one here. */
  seed: z.int().nonnegative(),
  /** The seed of weight init and dropout, derived from the run's. */
  initSeed: z.int().nonnegative().optional(),
  /** Older files: the run's seed, when `seed` held the derived one. */
  runSeed: z.int().nonnegative().optional(),
  task: z.enum(["classification", "regression"]).default("classification"),
  architecture: z.strictObject({
    layers: z.array(z.int().positive()).min(2),
    activation: z.enum(["sigmoid", "relu", "tanh", "step"]),
    output: z.enum(["softmax", "identity", "sigmoid"]),
    loss: z.enum(["cross-entropy", "mse"]),
    dropout: z.number(),
    weightDecay: z.number(),
  }),
  data: z.strictObject({
    featureShape: z.array(z.int().positive()),
    classes: z.int().positive(),
    classNames: z.array(z.string()).optional(),
    normalization: z.discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("none") }),
      z.strictObject({ kind: z.literal("scale"), divisor: z.number().positive() }),
      z.strictObject({
        kind: z.literal("minmax"),
        min: z.array(z.number()),
        max: z.array(z.number()),
      }),
      z.strictObject({
        kind: z.literal("zscore"),
        mean: z.array(z.number()),
        std: z.array(z.number()),
      }),
    ]),
    table: TableEncodingJson.optional(),
    target: z.strictObject({ mean: z.number(), std: z.number().positive() }).optional(),
    /** Each input's range over the training rows, after normalisation (what the net saw). */
    inputRange: z.strictObject({ min: z.array(z.number()), max: z.array(z.number()) })
      .optional(),
  }),
  params: z.record(z.string(), MatrixJson),
});

/** The contents of `model.json`. */
export type ModelFile = z.infer<typeof ModelFileSchema>;

/** A loaded model: the network and what it needs to read new inputs. */
export interface LoadedModel {
  net: MultiLayerNet;
  file: ModelFile;
}

/** A model ready to answer: its predictor and the normalisation its inputs need. */
export interface OpenModel extends LoadedModel {
  /** The model.json it came from. */
  path: string;
  /**
   * Predictions in float64 (the reference kernels), whatever the training backend: the same
   * answer for a row alone or in any batch, and for one row faster than copying every weight
   * into WebAssembly memory (54 µs against 180 µs for 784-100-10).
   */
  predictor: Predictor;
  /** Apply the stored normalisation to raw feature rows, in place (never refitted). */
  normalize(values: Float32Array | Float64Array): void;
}

/** The model file of a run directory, or the path itself when it is a file. */
export async function modelPathOf(target: string): Promise<string> {
  try {
    return (await Deno.stat(target)).isDirectory ? join(target, "model.json") : target;
  } catch {
    throw new UsageError(`${target}: no such run directory or model file`);
  }
}

/**
 * Load the model of a run directory (or a model.json) for inference: `deno task evaluate`,
 * `predict` and the report all take this path, so they compute the same outputs.
 */
export async function openModel(target: string): Promise<OpenModel> {
  const path = await modelPathOf(target);
  const { net, file } = await loadModel(path);
  const features = net.sizes[0]!;
  return {
    net,
    file,
    path,
    predictor: kernelPredictor(net),
    normalize: (values) => normalizeValues(file.data.normalization, values, features),
  };
}

/** The JSON for a trained network. */
export function modelToJson(
  net: MultiLayerNet,
  meta: {
    name: string;
    seed?: number;
    task?: "classification" | "regression";
    featureShape: number[];
    classes: number;
    classNames?: string[];
    normalization: Normalization;
    table?: TableEncoding;
    target?: TargetScaling;
    inputRange?: { min: number[]; max: number[] };
  },
): ModelFile {
  const params: ModelFile["params"] = {};
  for (const [name, p] of Object.entries(net.params)) {
    params[name] = { rows: p.rows, cols: p.cols, data: Array.from(p.data) };
  }
  return {
    format: "gradstream-model",
    version: 1,
    name: meta.name,
    seed: meta.seed ?? net.seed,
    initSeed: net.seed,
    task: meta.task ?? "classification",
    architecture: {
      layers: [...net.sizes],
      activation: net.activation,
      output: net.output,
      loss: net.lossName,
      dropout: net.dropout,
      weightDecay: net.weightDecay,
    },
    data: {
      featureShape: meta.featureShape,
      classes: meta.classes,
      ...(meta.classNames ? { classNames: meta.classNames } : {}),
      normalization: meta.normalization,
      ...(meta.table ? { table: meta.table } : {}),
      ...(meta.target ? { target: meta.target } : {}),
      ...(meta.inputRange ? { inputRange: meta.inputRange } : {}),
    },
    params,
  };
}

/** Read and check a `model.json`; a wrong or damaged file is a clear error, never garbage. */
export async function loadModel(path: string): Promise<LoadedModel> {
  const text = await readTextOrThrow(path, (why) => new UsageError(`${path}: ${why}`));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`${path}: not a valid model file (${(error as Error).message})`);
  }
  const result = ModelFileSchema.safeParse(raw);
  if (!result.success) {
    throw new SyntaxError(
      `${path}: not a valid model file\n${
        formatIssues(result.error.issues, ModelFileSchema, raw).join("\n")
      }`,
    );
  }
  const file = result.data;
  const problems = modelProblems(file);
  if (problems.length > 0) {
    throw new SyntaxError(
      `${path}: not a valid model file\n${problems.map((p) => `✖ ${p}`).join("\n")}`,
    );
  }
  const a = file.architecture;
  const net = new MultiLayerNet(a.layers, {
    activation: a.activation,
    output: a.output,
    loss: a.loss,
    dropout: a.dropout,
    weightDecay: a.weightDecay,
    seed: file.initSeed ?? file.seed,
  });
  for (const [name, p] of Object.entries(net.params)) {
    const stored = file.params[name];
    if (
      !stored || stored.rows !== p.rows || stored.cols !== p.cols ||
      stored.data.length !== p.data.length
    ) {
      throw new SyntaxError(
        `${path}: parameter ${name} should be ${p.rows}×${p.cols} for layers ${
          a.layers.join("-")
        } but is ${
          stored ? `${stored.rows}×${stored.cols} with ${stored.data.length} values` : "missing"
        }`,
      );
    }
    p.data.set(stored.data);
  }
  return { net, file };
}

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * What the schema alone cannot see: the parts of a model file must agree with each other (the
 * output layer with the classes and their names, the input layer with the features and their
 * normalisation), or evaluate and predict would fail later with a JavaScript error.
 */
export function modelProblems(file: ModelFile): string[] {
  const problems: string[] = [];
  const { layers } = file.architecture;
  const [inputs, outputs] = [layers[0]!, layers.at(-1)!];
  const { data } = file;
  if (file.task === "regression") {
    if (outputs !== 1) problems.push(`a regression model has 1 output, not ${outputs}`);
    if (!data.target) problems.push("a regression model needs data.target (its scaling)");
  } else {
    if (outputs !== data.classes) {
      problems.push(`the output layer has ${outputs} units but data.classes is ${data.classes}`);
    }
    if (data.classNames && data.classNames.length !== data.classes) {
      problems.push(
        `data.classNames names ${data.classNames.length} classes but data.classes is ${data.classes}`,
      );
    }
  }
  const features = data.table
    ? encodedFeatureCount(data.table)
    : data.featureShape.reduce((a, b) => a * b, 1);
  if (features !== inputs) {
    problems.push(
      `the input layer has ${inputs} units but the ${
        data.table ? "table encoding" : "feature shape"
      } gives ${features} features`,
    );
  }
  for (const [name, m] of Object.entries(file.params)) {
    const at = m.data.findIndex((v) => !(Math.abs(v) <= FLOAT32_MAX));
    if (at >= 0) {
      problems.push(
        `parameter ${name} holds ${
          m.data[at]
        } (at ${at}): beyond float32's range, which no training produces (the WebAssembly engine computes in float32); the file is damaged`,
      );
      break;
    }
  }
  const n = data.normalization;
  const stats = n.kind === "minmax" ? [n.min, n.max] : n.kind === "zscore" ? [n.mean, n.std] : [];
  const range = data.inputRange;
  if (range && (range.min.length !== inputs || range.max.length !== inputs)) {
    problems.push(`data.inputRange has ${range.min.length} features, not ${inputs}`);
  }
  if (stats.some((values) => values.length !== inputs)) {
    problems.push(
      `the ${n.kind} normalisation has statistics for ${stats[0]!.length} features, not ${inputs}`,
    );
  }
  return problems;
}

/**
 * Normalise raw feature rows (in place) and predict them, as predict and serve both do: the
 * outputs, how many inputs lie far outside the training range, and the first output that is not
 * finite with its row (null when every one is).
 */
export function predictRaw(
  model: OpenModel,
  x: Float64Array,
): { y: Matrix; outside: number; nonFinite: { row: number; value: number } | null } {
  const features = model.net.sizes[0]!;
  model.normalize(x);
  const range = model.file.data.inputRange;
  const outside = range ? farOutside(x, features, range) : 0;
  const y = model.predictor.predict(new Matrix(x.length / features, features, x));
  const bad = y.data.findIndex((v) => !Number.isFinite(v));
  const nonFinite = bad < 0 ? null : { row: Math.floor(bad / y.cols), value: y.data[bad]! };
  return { y, outside, nonFinite };
}

/**
 * How many values lie far outside the training range: more than the range's own width (or, for
 * a feature that was constant, more than 1) beyond it.
 */
function farOutside(
  x: ArrayLike<number>,
  features: number,
  range: { min: number[]; max: number[] },
): number {
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    const j = i % features;
    const [low, high] = [range.min[j]!, range.max[j]!];
    const margin = high > low ? high - low : 1;
    if (x[i]! < low - margin || x[i]! > high + margin) count++;
  }
  return count;
}

/** Parameters as a plain matrix record (copies), e.g. to snapshot the best model. */
export function copyParams(params: Record<string, Matrix>): Record<string, Matrix> {
  return Object.fromEntries(Object.entries(params).map(([k, m]) => [k, m.clone()]));
}
