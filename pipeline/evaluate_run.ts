/**
 * `deno task evaluate`: a saved model on a config's data, with the model's own stored
 * normalisation (never refitted), reporting accuracy, per-class accuracy and confusion.
 * @module
 */
import { dirname, extname, join, resolve } from "node:path";
import { type FinalEvaluation, finalEvaluation } from "../stages/evaluate.ts";
import { loadOptions, loadSplits } from "../stages/load.ts";
import { ConfigError } from "../config/errors.ts";
import { UsageError } from "./errors.ts";
import {
  checkSizes,
  loadConfig,
  type LoadedConfig,
  loadRunConfig,
  validateConfig,
} from "./load_config.ts";
import { type ModelFile, openModel } from "./model_file.ts";

/** The result of evaluating a model (no iteration: a saved model has none of its own). */
export interface EvaluationReport
  extends Omit<FinalEvaluation, "iteration" | "epoch" | "testPredictions"> {
  task: "classification" | "regression";
  model: string;
  config: string;
  classNames: string[];
}

/**
 * Evaluate `target` (a run directory or a model.json) on the data of `configPath` (default:
 * the run directory's config.json), or on a labelled CSV file given in its place.
 */
export async function evaluateRun(target: string, configPath?: string): Promise<EvaluationReport> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(target);
  } catch {
    throw new UsageError(`${target}: no such run directory or model file`);
  }
  if (configPath && extname(configPath).toLowerCase() === ".csv") {
    return await evaluateOnCsv(target, configPath);
  }
  if (configPath) return await evaluateModelOn(target, await loadConfig(configPath));
  if (!stat.isDirectory) {
    throw new UsageError(`give a config for the data to evaluate ${target} on`);
  }
  return await evaluateModelOn(target, await loadRunConfig(join(target, "config.json")));
}

/**
 * Evaluate the model of `target` (a run directory or model.json) on a loaded config's data,
 * with the model's normalisation, in float64.
 */
export async function evaluateModelOn(
  target: string,
  loaded: LoadedConfig,
): Promise<EvaluationReport> {
  const { config } = loaded;
  const model = await openModel(target);
  const { file } = model;
  // A tabular model encodes the raw rows its own way: the stored encoding, never refitted.
  const splits = await loadSplits(config.data.source, {
    ...loadOptions({ ...config, task: file.task }),
    ...(file.data.table ? { encoding: file.data.table } : {}),
    ...(file.data.target ? { target: file.data.target } : {}),
  });
  // Evaluation draws no batches: only the model's input and output sizes must fit the data.
  const problems: string[] = [];
  checkSizes({
    ...config,
    task: file.task,
    model: { ...config.model, layers: file.architecture.layers },
  }, {
    features: splits.train.features,
    classes: file.task === "regression" ? 1 : splits.train.classes,
    trainCount: Infinity,
  }, problems);
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);
  for (const ds of [splits.train, splits.validation, splits.test]) {
    if (ds) model.normalize(ds.x);
  }
  const final = finalEvaluation(model.predictor, splits, { iteration: 0, epoch: 0 });
  // The per-row predictions are for the run's dashboard, not part of the report.
  const { testPredictions: _rows, iteration: _i, epoch: _e, ...scores } = final;
  return {
    ...scores,
    task: file.task,
    model: model.path,
    config: loaded.file,
    classNames: classNamesOf(file),
  };
}

/**
 * The model's scores on one labelled CSV: its rows in the model's training layout (a table
 * model's columns by name, its label column by name; otherwise the label first, then the
 * features, as MNIST-as-CSV). Every row is scored as test data; there are no training scores.
 */
async function evaluateOnCsv(target: string, csv: string): Promise<EvaluationReport> {
  const { file } = await openModel(target);
  const recorded = (await Deno.stat(target)).isDirectory
    ? (await loadRunConfig(join(target, "config.json"))).config
    : null;
  const source = recorded?.data.source.kind === "csv" ? recorded.data.source : null;
  const path = resolve(csv);
  const raw = {
    task: file.task,
    model: { layers: file.architecture.layers },
    data: {
      source: {
        kind: "csv",
        train: path,
        test: path,
        labelColumn: file.data.table?.label ?? source?.labelColumn ?? 0,
        ...(source ? { header: source.header, delimiter: source.delimiter } : {}),
        ...(file.task === "classification"
          ? { classes: file.data.classNames ?? file.data.classes }
          : {}),
      },
    },
  };
  const loaded = { config: validateConfig(raw, csv), file: csv, baseDir: dirname(path), name: "" };
  const { trainAccuracy: _a, trainRmse: _r, ...report } = await evaluateModelOn(target, loaded);
  return report;
}

/** Class names from the model, or the indices as strings. */
export function classNamesOf(file: ModelFile): string[] {
  return file.data.classNames ?? Array.from({ length: file.data.classes }, (_, i) => String(i));
}

/** A plain-text report: the scores of each split, then per-class scores and the confusion. */
export function formatReport(r: EvaluationReport): string {
  const f = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(4));
  const head = [`model: ${r.model}`, `data:  ${r.config}`];
  if (r.task === "regression") {
    return [
      ...head,
      `train RMSE ${f(r.trainRmse)}`,
      ...(r.validationRmse !== undefined
        ? [
          `validation RMSE ${f(r.validationRmse)}  MAE ${f(r.validationMae)}  R² ${
            f(r.validationR2)
          }`,
        ]
        : []),
      `test RMSE ${f(r.testRmse)}  MAE ${f(r.testMae)}  R² ${f(r.testR2)}`,
    ].join("\n");
  }
  const names = r.classNames;
  const w = Math.max(
    5,
    ...names.map((n) => n.length),
    ...r.confusion.flat().map((c) => String(c).length),
  );
  const lines = [
    ...head,
    `train accuracy ${f(r.trainAccuracy)}  test accuracy ${f(r.testAccuracy)}  test loss ${
      f(r.testLoss)
    }`,
    ...(r.validationAccuracy !== undefined
      ? [
        `validation accuracy ${f(r.validationAccuracy)}  validation loss ${
          f(r.validationLoss)
        }  validation macro F1 ${f(r.validationMacroF1)}  validation balanced accuracy ${
          f(r.validationBalancedAccuracy)
        }`,
      ]
      : []),
    `test macro F1 ${f(r.testMacroF1)}  test balanced accuracy ${f(r.testBalancedAccuracy)}`,
    "",
    `confusion matrix (rows: true class, columns: predicted), test scores per class:`,
    `${"".padStart(w)} ${
      names.map((n) => n.padStart(w)).join(" ")
    }  precision recall     f1 support`,
    ...r.confusion.map((row, k) => {
      const s = r.perClass?.[k];
      return `${names[k]!.padStart(w)} ${row.map((c) => String(c).padStart(w)).join(" ")}  ${
        f(s?.precision).padStart(9)
      } ${f(s?.recall).padStart(6)} ${f(s?.f1).padStart(6)} ${
        String(s?.support ?? "").padStart(7)
      }`;
    }),
  ];
  return lines.join("\n");
}
