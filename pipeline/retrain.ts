/**
 * Scheduled retraining: train, compare the new model with the current one on the same
 * validation rows, and promote it only if it passes the config's gate. `current` and `previous` are
 * symlinks to run directories, each swapped by an atomic rename.
 * @module
 */
import { UsageError } from "./errors.ts";
import { ConfigError } from "../config/errors.ts";
import { lowerIsBetter } from "./early_stopping.ts";
import { dirname, join, relative, resolve } from "node:path";
import type { Config } from "../config/config.ts";
import { evaluateModelOn, type EvaluationReport } from "./evaluate_run.ts";
import { acquireLock } from "./lock.ts";
import type { LoadedConfig } from "./load_config.ts";
import { writeFileAtomic } from "./run_dir.ts";
import { type Summary, train, type TrainOptions, type TrainResult } from "./train.ts";

type GateMetric = Config["promotion"]["metric"];

/** The promotion decision, also stored in the new run's summary.json. */
export interface Promotion {
  promoted: boolean;
  /** One line: why. */
  reason: string;
  metric: Config["promotion"]["metric"];
  candidate: number;
  /** The current model's value on the same data, or null when there was none. */
  current: number | null;
  /** The run directory `current` pointed to before, if any. */
  previousRun: string | null;
}

/** What a retraining returns. */
export interface RetrainResult {
  runDir: string;
  summary: Summary & { promotion: Promotion };
  warning?: string;
  /** The training's own result (its model and test split serve the report). */
  trained: TrainResult;
}

/** Train under the name's lock, then promote or keep the current model. */
export async function retrain(
  loaded: LoadedConfig,
  options: TrainOptions = {},
): Promise<RetrainResult> {
  const { config, name } = loaded;
  if (config.data.split?.validation === undefined) {
    // The gate chooses between two models: on validation rows, never on the test set.
    throw new ConfigError(loaded.file, [
      `✖ retrain compares the new and the current model on validation data, and there is none: add data.split.validation (e.g. { validation: 0.1 }), so that the test set is never used to choose\n  → at data.split.validation`,
    ]);
  }
  const root = join(config.output.dir, name);
  await Deno.mkdir(root, { recursive: true });
  const lock = await acquireLock(join(root, "retrain.lock"));
  if (lock.warning) options.onEvent?.({ event: "warning", message: lock.warning });
  try {
    const currentLink = join(root, "current");
    // Before training: a broken `current` must stop the retraining, not promote without a gate.
    await currentModel(currentLink);
    const trained = await train(loaded, options);
    const { runDir, summary } = trained;
    const previousRun = await currentModel(currentLink);
    const current = previousRun
      ? await evaluateModelOn(join(currentLink, "model.json"), loaded)
      : null;
    const promotion = decide(config.promotion, summary, current, previousRun);
    if (promotion.promoted) {
      if (previousRun) await pointAt(join(root, "previous"), previousRun);
      await pointAt(currentLink, runDir);
    }
    const full = { ...summary, promotion };
    await writeFileAtomic(join(runDir, "summary.json"), JSON.stringify(full, null, 2) + "\n");
    options.onEvent?.({
      event: promotion.promoted ? "promoted" : "notPromoted",
      ...promotion,
      runDir,
    });
    return {
      runDir,
      summary: full,
      trained,
      ...(lock.warning ? { warning: lock.warning } : {}),
    };
  } finally {
    await lock.release();
  }
}

/** Apply the promotion gate. */
export function decide(
  gate: Config["promotion"],
  candidate: Partial<Pick<Summary, GateMetric | "validationPerClassAccuracy">>,
  current:
    | Partial<Pick<EvaluationReport, GateMetric | "validationPerClassAccuracy">>
      & Pick<EvaluationReport, "classNames">
    | null,
  previousRun: string | null,
): Promotion {
  const value = candidate[gate.metric];
  if (value === undefined) {
    throw new UsageError(
      `promotion.metric ${gate.metric} is not measured by this run: add data.split.validation`,
    );
  }
  const higher = !lowerIsBetter(gate.metric);
  const base = { metric: gate.metric, candidate: value, previousRun };
  if (!current) {
    return {
      ...base,
      promoted: true,
      current: null,
      reason: "no current model: promoted the first one",
    };
  }
  const was = current[gate.metric] ?? NaN;
  const gain = higher ? value - was : was - value;
  const fmt = (x: number) => x.toFixed(4);
  if (gain < gate.minDelta) {
    return {
      ...base,
      current: was,
      promoted: false,
      reason: `${gate.metric} ${fmt(value)} vs current ${fmt(was)}: ${
        higher ? "gain" : "improvement"
      } ${fmt(gain)} is below minDelta ${gate.minDelta}`,
    };
  }
  // Per-class accuracy on the same validation rows (classification only).
  const before = current.validationPerClassAccuracy ?? [];
  const after = candidate.validationPerClassAccuracy ?? [];
  if (gate.maxClassRegression !== undefined) {
    for (let k = 0; k < after.length; k++) {
      const drop = (before[k] ?? 0) - after[k]!;
      if (drop > gate.maxClassRegression) {
        return {
          ...base,
          current: was,
          promoted: false,
          reason: `class "${current.classNames[k] ?? k}" accuracy fell by ${fmt(drop)} (${
            fmt(before[k]!)
          } → ${fmt(after[k]!)}), more than maxClassRegression ${gate.maxClassRegression}`,
        };
      }
    }
  }
  return {
    ...base,
    current: was,
    promoted: true,
    reason: `${gate.metric} ${fmt(value)} vs current ${
      fmt(was)
    } passes the gate (minDelta ${gate.minDelta})`,
  };
}

/**
 * The run directory `current` points at, or null when there is no `current` yet. Anything
 * else (a link to nothing, to a file, to a directory without a model, or not a link at all)
 * is an error: promoting past it would skip the gate.
 */
async function currentModel(link: string): Promise<string | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(link);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const fix =
    `point it at a run directory (ln -sfn <run dir> ${link}), or remove it to promote the next model without a comparison`;
  if (!info.isSymlink) throw new PromotionError(`${link} is not a link to a run directory; ${fix}`);
  const target = await Deno.readLink(link);
  let resolved: string;
  try {
    resolved = await Deno.realPath(link);
  } catch {
    throw new PromotionError(`${link} points at ${target}, which does not exist; ${fix}`);
  }
  if (!(await Deno.stat(resolved)).isDirectory) {
    throw new PromotionError(`${link} points at ${target}, which is not a run directory; ${fix}`);
  }
  try {
    await Deno.stat(join(resolved, "model.json"));
  } catch {
    throw new PromotionError(`${link} points at ${target}, which has no model.json; ${fix}`);
  }
  return resolved;
}

/** The current model cannot be compared with: the retraining stops before it trains (exit 1). */
export class PromotionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromotionError";
  }
}

/**
 * Point a symlink at `target`, replacing it atomically (a new link renamed over the old). The
 * link is relative, like `latest`, so a runs folder can be moved.
 */
async function pointAt(link: string, target: string): Promise<void> {
  const tmp = `${link}.tmp-${Deno.pid}`;
  await Deno.remove(tmp).catch(() => {});
  await Deno.symlink(relative(dirname(resolve(link)), resolve(target)), tmp);
  await Deno.rename(tmp, link);
}
