/**
 * `deno task evaluate`: a saved model on a config's data, with the model's own stored
 * normalisation (never refitted), reporting accuracy, per-class accuracy and confusion.
 * @module
 */
import { join } from "node:path";
import { normalizeValues } from "../data/normalize.ts";
import { backendKernels, withKernelsSync } from "../nn/backends.ts";
import { type FinalEvaluation, finalEvaluation } from "../stages/evaluate.ts";
import { loadSplits } from "../stages/load.ts";
import { ConfigError } from "./config_errors.ts";
import { UsageError } from "./errors.ts";
import { checkSizes, loadConfig, type LoadedConfig } from "./load_config.ts";
import { loadModel, type ModelFile } from "./model_file.ts";

/** The result of evaluating a model. */
export interface EvaluationReport extends FinalEvaluation {
  model: string;
  config: string;
  classNames: string[];
}

/**
 * Evaluate `target` (a run directory or a model.json) on the data of `configPath` (default:
 * the run directory's config.json).
 */
export async function evaluateRun(target: string, configPath?: string): Promise<EvaluationReport> {
  let modelPath = target;
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(target);
  } catch {
    throw new UsageError(`${target}: no such run directory or model file`);
  }
  if (stat.isDirectory) modelPath = join(target, "model.json");
  const cfg = configPath ?? (stat.isDirectory ? join(target, "config.json") : undefined);
  if (!cfg) throw new UsageError(`give a config for the data to evaluate ${target} on`);
  return await evaluateModelOn(modelPath, await loadConfig(cfg));
}

/** Evaluate the model at `modelPath` on a loaded config's data, with the model's normalisation. */
export async function evaluateModelOn(
  modelPath: string,
  loaded: LoadedConfig,
): Promise<EvaluationReport> {
  const { net, file } = await loadModel(modelPath);
  const { config } = loaded;
  const splits = await loadSplits(config.data.source, config.seed);
  // Evaluation draws no batches: only the model's input and output sizes must fit the data.
  const problems: string[] = [];
  checkSizes({ ...config, model: { ...config.model, layers: file.architecture.layers } }, {
    features: splits.train.features,
    classes: splits.train.classes,
    trainCount: Infinity,
  }, problems);
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);
  for (const ds of [splits.train, splits.test]) {
    normalizeValues(file.data.normalization, ds.x, ds.features);
  }
  // The kernels the model was trained with (float32 wasm by default), for the same outputs.
  const final = withKernelsSync(
    backendKernels(config.backend),
    () => finalEvaluation(net, splits, { iteration: 0, epoch: 0 }),
  );
  return { ...final, model: modelPath, config: loaded.file, classNames: classNamesOf(file) };
}

/** Class names from the model, or the indices as strings. */
export function classNamesOf(file: ModelFile): string[] {
  return file.data.classNames ?? Array.from({ length: file.data.classes }, (_, i) => String(i));
}

/** A plain-text report: accuracies, per-class accuracy and the confusion matrix. */
export function formatReport(r: EvaluationReport): string {
  const names = r.classNames;
  const w = Math.max(
    5,
    ...names.map((n) => n.length),
    ...r.confusion.flat().map((c) => String(c).length),
  );
  const lines = [
    `model: ${r.model}`,
    `data:  ${r.config}`,
    `train accuracy ${r.trainAccuracy.toFixed(4)}  test accuracy ${
      r.testAccuracy.toFixed(4)
    }  test loss ${r.testLoss.toFixed(4)}`,
    "",
    `confusion matrix (rows: true class, columns: predicted), test accuracy per class:`,
    `${"".padStart(w)} ${names.map((n) => n.padStart(w)).join(" ")}  accuracy`,
    ...r.confusion.map((row, k) =>
      `${names[k]!.padStart(w)} ${row.map((c) => String(c).padStart(w)).join(" ")}  ${
        Number.isNaN(r.perClassAccuracy[k]) ? "-" : r.perClassAccuracy[k]!.toFixed(4)
      }`
    ),
  ];
  return lines.join("\n");
}
