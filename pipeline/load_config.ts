/**
 * Reading a config file (YAML or JSON), applying `--set` overrides, validating it against
 * the schema, and resolving its relative paths against the file's folder.
 * @module
 */
import { basename, dirname, extname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { type Config, ConfigSchema } from "./config.ts";
import { ConfigError, formatIssues, formatPath } from "./config_errors.ts";

/** A validated config and where it came from. */
export interface LoadedConfig {
  config: Config;
  /** The config file's path ("<defaults>" when built in code). */
  file: string;
  /** The folder relative paths were resolved against. */
  baseDir: string;
  /** `config.name`, or the file name without extension. */
  name: string;
}

/**
 * Load, override, validate and resolve a config file.
 *
 * @example
 * ```ts ignore
 * import { loadConfig } from "./load_config.ts";
 * const { config, name } = await loadConfig("configs/default.yaml", ["training.iterations=100"]);
 * ```
 */
export async function loadConfig(file: string, overrides: string[] = []): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "file does not exist"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new ConfigError(file, [`✖ cannot read the config: ${why}`]);
  }
  const raw = parseConfigText(text, file);
  for (const o of overrides) applyOverride(raw, o, file);
  const baseDir = dirname(resolve(file));
  const config = validateConfig(raw, file);
  return {
    config: resolvePaths(config, baseDir),
    file,
    baseDir,
    name: config.name ?? basename(file, extname(file)),
  };
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
      raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
    } catch (error) {
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
      throw error;
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
): void {
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
}

/** Validate a raw config; all problems are reported together. */
export function validateConfig(raw: unknown, file: string): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(file, formatIssues(result.error.issues, ConfigSchema, raw));
  }
  const config = result.data;
  const problems: string[] = [];
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
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
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
  if (layers[0] !== facts.features) {
    problems.push(
      `✖ The first layer must match the data's ${facts.features} features but is ${
        layers[0]
      }\n  → at ${formatPath(["model", "layers", 0])}`,
    );
  }
  if (layers.at(-1) !== facts.classes) {
    problems.push(
      `✖ The last layer must match the data's ${facts.classes} classes but is ${
        layers.at(-1)
      }\n  → at ${formatPath(["model", "layers", layers.length - 1])}`,
    );
  }
  if (config.training.batchSize > facts.trainCount) {
    problems.push(
      `✖ batchSize ${config.training.batchSize} is larger than the ${facts.trainCount} training samples\n  → at training.batchSize`,
    );
  }
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
    ? { ...source, train: at(source.train), test: at(source.test) }
    : source;
  return {
    ...config,
    data: { ...config.data, source: resolved },
    output: { ...config.output, dir: at(config.output.dir) },
  };
}
