/**
 * Reading a config file (YAML or JSON), applying `--set` overrides, validating it against
 * the schema, and resolving its relative paths against the file's folder.
 * @module
 */
import { readTextOrThrow } from "../data/errors.ts";
import { basename, dirname, extname, isAbsolute, resolve } from "node:path";
import { isScalar, parse as parseYaml, parseDocument, visit, YAMLParseError } from "yaml";
import type { z } from "zod";
import { type Config, ConfigSchema, RUN_NAME, type SelectionMetric } from "../config/config.ts";
import { ConfigError, formatIssues, formatPath } from "../config/errors.ts";

/** A validated config and where it came from. */
export interface LoadedConfig {
  config: Config;
  /** The config file's path ("<defaults>" when built in code). */
  file: string;
  /** The folder relative paths were resolved against. */
  baseDir: string;
  /** `config.name`, or the file name without extension. */
  name: string;
  /** What the overrides changed beyond what they name (one line each, for the user). */
  notes?: string[];
}

/** Settings where giving one replaces the other: a run's length in iterations or in epochs. */
const EXCLUSIVE: Record<string, string> = {
  "training.iterations": "training.epochs",
  "training.epochs": "training.iterations",
};

/**
 * Load, override, validate and resolve a config file.
 *
 * @example
 * ```ts ignore
 * import { loadConfig } from "./load_config.ts";
 * const { config, name } = await loadConfig("configs/default.yaml", ["training.iterations=100"]);
 * ```
 */
export async function loadConfig(
  file: string,
  overrides: string[] = [],
  options: { recorded?: boolean } = {},
): Promise<LoadedConfig> {
  await checkConfigSize(file);
  const text = await readTextOrThrow(
    file,
    (why) => new ConfigError(file, [`✖ cannot read the config: ${why}`]),
  );
  const parsed = parseConfigText(text, file);
  const raw = options.recorded ? withoutSelection(parsed) : parsed;
  const notes: string[] = [];
  for (const o of overrides) {
    const replaced = applyOverride(raw, o, file);
    if (replaced) notes.push(replaced);
  }
  const baseDir = dirname(resolve(file));
  const config = validateConfig(raw, file);
  const name = config.name ?? basename(file, extname(file));
  if (!RUN_NAME.test(name)) {
    throw new ConfigError(file, [
      `✖ The run name "${name}" (from the file's name) is not a usable folder name: set name to letters, digits, '.', '_' or '-', not starting with '.'\n  → at name`,
    ]);
  }
  return {
    config: resolvePaths(config, baseDir),
    file,
    baseDir,
    name,
    ...(notes.length > 0 ? { notes } : {}),
  };
}

/**
 * The config a finished run recorded (`<run>/config.json`), read again for its data: its
 * model-selection settings (`evaluation`, `promotion`) are set aside, since neither the data
 * nor the saved model depends on them, and runs made before validation splits existed recorded
 * test-set metrics there, which a new config refuses.
 */
export async function loadRunConfig(file: string): Promise<LoadedConfig> {
  return await loadConfig(file, [], { recorded: true });
}

/** A recorded config without the settings that only chose the model (see loadRunConfig). */
export function withoutSelection(raw: Record<string, unknown>): Record<string, unknown> {
  const { evaluation: _e, promotion: _p, ...rest } = raw;
  return rest;
}

/**
 * The largest config file read: a real config is a few KB; a many-megabyte one is a mistake
 * (or an attack) that would only exhaust memory in the parser.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

async function checkConfigSize(file: string): Promise<void> {
  let size: number;
  try {
    size = (await Deno.stat(file)).size;
  } catch {
    return; // reading it says why
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new ConfigError(file, [
      `✖ the config is ${size} bytes; a config may be at most ${MAX_CONFIG_BYTES} bytes (1 MiB)`,
    ]);
  }
}

/**
 * YAML text to a value, refusing duplicate keys. The parser's own duplicate check compares
 * every key with every other (100,000 keys took over two minutes); this one is a set per map.
 */
function parseYamlConfig(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  if (doc.errors.length > 0) throw doc.errors[0];
  const duplicates: string[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : String(pair.key);
        if (seen.has(key)) {
          const line = pair.key && isScalar(pair.key) && pair.key.range
            ? ` (line ${lineOf(text, pair.key.range[0])})`
            : "";
          duplicates.push(`✖ the key "${String(key)}" appears twice in one mapping${line}`);
        }
        seen.add(key);
      }
    },
  });
  if (duplicates.length > 0) throw new ConfigError(file, duplicates);
  return doc.toJS();
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Parse YAML (or JSON, which YAML includes) into a plain object, with line and column on error. */
export function parseConfigText(text: string, file: string): Record<string, unknown> {
  let raw: unknown;
  if (extname(file).toLowerCase() === ".json") {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ConfigError(file, [`✖ not valid JSON: ${message}`]);
    }
  } else {
    try {
      raw = parseYamlConfig(text, file);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      if (error instanceof YAMLParseError) {
        const where = error.linePos
          ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}: `
          : "";
        throw new ConfigError(file, [
          `✖ not valid YAML: ${where}${
            error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")
          }`,
        ]);
      }
      // The parser's other refusals (an alias bomb: "Excessive alias count …") are config errors.
      throw new ConfigError(file, [`✖ not a usable YAML config: ${(error as Error).message}`]);
    }
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(file, [
      `✖ Expected a mapping of settings at the top level but found ${
        Array.isArray(raw) ? "a list" : typeof raw
      }`,
    ]);
  }
  return raw as Record<string, unknown>;
}

/**
 * Set `a.b.c=value` in a raw config; the value is read as YAML (so `100`, `true`, `[784, 10]`
 * and `{ kind: adam }` all work), and `null` removes the key.
 */
export function applyOverride(
  raw: Record<string, unknown>,
  override: string,
  file = "--set",
): string | null {
  const eq = override.indexOf("=");
  if (eq <= 0) {
    throw new ConfigError(file, [
      `✖ Expected an override like training.iterations=100 but found "${override}"`,
    ]);
  }
  const path = override.slice(0, eq).split(".");
  let value: unknown;
  try {
    value = parseYaml(override.slice(eq + 1));
  } catch {
    value = override.slice(eq + 1);
  }
  let node: Record<string, unknown> = raw;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) node[key] = {};
    else if (typeof next !== "object" || Array.isArray(next)) {
      throw new ConfigError(file, [`✖ Cannot set ${override}: ${key} is not a mapping`]);
    }
    node = node[key] as Record<string, unknown>;
  }
  // `key=null` removes a setting, so an override can return it to its default.
  if (value === null) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  // `--set training.iterations=100` on a config that gives epochs means "run 100 iterations":
  // the override replaces the other setting rather than conflicting with it.
  const other = EXCLUSIVE[path.join(".")];
  if (value === null || !other) return null;
  const [section, key] = other.split(".") as [string, string];
  const holder = raw[section] as Record<string, unknown> | undefined;
  if (holder?.[key] === undefined) return null;
  delete holder[key];
  return `--set ${path.join(".")} replaces the config's ${other}`;
}

/** Validate a raw config; all problems are reported together. */
export function validateConfig(raw: unknown, file: string): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(file, formatIssues(result.error.issues, ConfigSchema, raw));
  }
  const problems: string[] = [];
  const config = withTaskDefaults(result.data, problems);
  const source = config.data.source;
  if (source.kind === "mnist-digits") {
    checkSizes(config, { features: 784, classes: 10, trainCount: source.trainSize }, problems);
  }
  if (config.data.normalize === "scale" && source.kind === "mnist-digits") {
    // "scale" means ÷255 everywhere else; the digits are already in [0, 1].
    problems.push(
      `✖ The mnist-digits source is already in [0, 1]; normalize "scale" would divide it by 255 again. Use "none" (the default for this source) or { kind: scale, divisor: 1 }\n  → at data.normalize`,
    );
  }
  if (config.loss === "cross-entropy" && config.model.output === "identity") {
    // log(y) needs probabilities; an identity output can be 0 or negative.
    problems.push(
      `✖ loss "cross-entropy" needs probabilities: use output "softmax" or "sigmoid", or loss "mse"\n  → at model.output`,
    );
  }
  checkSplits(config, problems);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

/**
 * Fill the output and loss the task implies (softmax with cross-entropy, or identity with
 * mse), refusing a setting that contradicts the task.
 */
function withTaskDefaults(parsed: z.infer<typeof ConfigSchema>, problems: string[]): Config {
  const regression = parsed.task === "regression";
  const output = parsed.model.output ?? (regression ? "identity" : "softmax");
  const loss = parsed.loss ?? (regression ? "mse" : "cross-entropy");
  if (regression && output !== "identity") {
    problems.push(
      `✖ task "regression" predicts a number: the output must be "identity" (the default) but is "${output}"\n  → at model.output`,
    );
  }
  if (regression && loss !== "mse") {
    problems.push(
      `✖ task "regression" trains on the squared error: the loss must be "mse" (the default) but is "${loss}"\n  → at loss`,
    );
  }
  if (regression && parsed.training.classWeights !== "none") {
    problems.push(
      `✖ classWeights need classes; task is "regression"\n  → at training.classWeights`,
    );
  }
  const promotion = {
    ...parsed.promotion,
    metric: parsed.promotion.metric ?? (regression ? "validationRmse" : "validationAccuracy"),
  } as const;
  return { ...parsed, loss, model: { ...parsed.model, output }, promotion };
}

/** The split, column and early-stopping settings against the source and the task. */
function checkSplits(config: Config, problems: string[]): void {
  const { source, split, columns } = config.data;
  const single = source.kind === "csv" && source.file !== undefined;
  if (split?.test !== undefined && !single) {
    problems.push(
      `✖ data.split.test splits a single file; this ${source.kind} source has its own test ${
        source.kind === "mnist-digits" ? "size (testSize)" : "files"
      }\n  → at data.split.test`,
    );
  }
  if ((split?.test ?? 0) + (split?.validation ?? 0) >= 1) {
    problems.push(
      `✖ data.split.test + data.split.validation must leave training rows but add up to ${
        (split?.test ?? 0) + (split?.validation ?? 0)
      }\n  → at data.split`,
    );
  }
  if (split?.stratify === true && config.task === "regression") {
    problems.push(
      `✖ stratify keeps each class's share, but task "regression" has no classes; remove it\n  → at data.split.stratify`,
    );
  }
  if (columns && source.kind !== "csv") {
    problems.push(`✖ data.columns applies to csv sources only\n  → at data.columns`);
  }
  if (config.task === "regression" && source.kind !== "csv") {
    problems.push(
      `✖ task "regression" needs a numeric label column: use a csv source\n  → at task`,
    );
  }
  const stopping = config.evaluation.earlyStopping;
  if (stopping && split?.validation === undefined) {
    problems.push(
      `✖ earlyStopping chooses a model on validation data, and there is none: add data.split.validation (e.g. { validation: 0.1 }), so that the test set is used once, at the end\n  → at evaluation.earlyStopping`,
    );
  }
  if (stopping) {
    checkMetricTask(stopping.metric, config.task, "evaluation.earlyStopping.metric", problems);
  }
  checkMetricTask(config.promotion.metric, config.task, "promotion.metric", problems);
}

/** A selection metric must be one the task measures: RMSE for regression, not accuracy. */
export function checkMetricTask(
  metric: SelectionMetric,
  task: Config["task"],
  path: string,
  problems: string[],
): void {
  if (metric === "validationLoss") return;
  const regressionMetric = metric === "validationRmse";
  if (regressionMetric === (task === "regression")) return;
  problems.push(
    `✖ ${metric} is a ${
      regressionMetric ? "regression" : "classification"
    } metric but task is "${task}"; use ${
      task === "regression"
        ? "validationRmse or validationLoss"
        : "validationAccuracy, validationLoss or validationMacroF1"
    }\n  → at ${path}`,
  );
}

/** What the data fixes about a config: feature count, classes and training-set size. */
export interface DataFacts {
  features: number;
  classes: number;
  trainCount: number;
}

/**
 * Check the model's input and output sizes and the batch size against the data; push one
 * entry per problem. Used before loading when the source fixes them, after loading otherwise.
 */
export function checkSizes(config: Config, facts: DataFacts, problems: string[]): void {
  const layers = config.model.layers;
  const what = config.task === "regression" ? "1 output (regression)" : `${facts.classes} classes`;
  if (layers[0] !== "auto" && layers[0] !== facts.features) {
    problems.push(
      `✖ The first layer must match the data's ${facts.features} features but is ${
        layers[0]
      } (or write auto)\n  → at ${formatPath(["model", "layers", 0])}`,
    );
  }
  const last = layers.at(-1);
  if (last !== "auto" && last !== facts.classes) {
    problems.push(
      `✖ The last layer must match the data's ${what} but is ${last} (or write auto)\n  → at ${
        formatPath(["model", "layers", layers.length - 1])
      }`,
    );
  }
  layers.slice(1, -1).forEach((n, i) => {
    if (n === "auto") {
      problems.push(
        `✖ auto stands only for the first (features) or last (outputs) layer; give hidden sizes as numbers\n  → at ${
          formatPath(["model", "layers", i + 1])
        }`,
      );
    }
  });
  if (config.training.batchSize > facts.trainCount) {
    problems.push(
      `✖ batchSize ${config.training.batchSize} is larger than the ${facts.trainCount} training samples\n  → at training.batchSize`,
    );
  }
}

/** The config with `auto` layer sizes replaced by the data's feature and output counts. */
export function resolveLayers(
  config: Config,
  facts: { features: number; classes: number },
): Config {
  const layers = config.model.layers.map((n, i, all) =>
    n !== "auto" ? n : i === 0 ? facts.features : i === all.length - 1 ? facts.classes : n
  );
  return { ...config, model: { ...config.model, layers } };
}

/** Layer sizes as numbers; `auto` must have been resolved against the data first. */
export function layerSizes(config: Config): number[] {
  return config.model.layers.map((n, i) => {
    if (n === "auto") throw new TypeError(`model.layers[${i}] is still auto: resolve it first`);
    return n;
  });
}

/** Resolve the config's relative paths against `baseDir`. */
export function resolvePaths(config: Config, baseDir: string): Config {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const source = config.data.source;
  const resolved = source.kind === "idx"
    ? {
      ...source,
      trainImages: at(source.trainImages),
      trainLabels: at(source.trainLabels),
      testImages: at(source.testImages),
      testLabels: at(source.testLabels),
    }
    : source.kind === "csv"
    ? {
      ...source,
      ...(source.file !== undefined ? { file: at(source.file) } : {}),
      ...(source.train !== undefined ? { train: at(source.train) } : {}),
      ...(source.test !== undefined ? { test: at(source.test) } : {}),
    }
    : source;
  return {
    ...config,
    data: { ...config.data, source: resolved },
    output: { ...config.output, dir: at(config.output.dir) },
  };
}
