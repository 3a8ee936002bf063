/**
 * A sweep from its file to its folder: validate the whole sweep before any trial starts, run
 * the trials (local processes, or a queue's workers through the same {@linkcode TrialRunner}
 * shape), judge them with the median rule, and keep the state in `sweep.json` after every
 * change so that `--resume` continues where a stop left off.
 *
 *   <output.dir>/<name>/<timestamp>/
 *     sweep.json    the sweep, the base config's path and every trial's state
 *     base.json     the base config, validated, paths resolved (each trial = base + --set)
 *     trials/       the trials' run directories (trial-000/<timestamp>/…)
 *     trials.csv, best.json, sweep.svg, curves.svg, report.html   when the sweep ends
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { ConfigError, formatIssues } from "../config/errors.ts";
import type { Config } from "../config/config.ts";
import { minimizes, type Sweep, SweepSchema } from "../config/sweep.ts";
import {
  applyOverride,
  checkMetricTask,
  loadConfig,
  parseConfigText,
  resolvePaths,
  validateConfig,
} from "../pipeline/load_config.ts";
import { readTextOrThrow } from "../data/errors.ts";
import { UsageError } from "../pipeline/errors.ts";
import { makeStampedDir, writeFileAtomic } from "../pipeline/run_dir.ts";
import { bestEvaluation, judge, settled, type TrialRecord } from "./prune.ts";
import { trialsOf } from "./sample.ts";
import { type TrialOutcome, trialOverrides, type TrialSpec } from "./trial.ts";

/** A validated sweep, ready to run. */
export interface SweepPlan {
  sweep: Sweep;
  /** The sweep file (absolute). */
  file: string;
  /** The base config, validated with its paths resolved (written as base.json). */
  base: Config;
  /** Whether a lower metric is better (from the sweep). */
  minimize: boolean;
  /** The seed of every trial's test and validation rows (from the base config). */
  splitSeed: number;
  records: TrialRecord[];
}

/** What the state file holds (sweep.json); the rest of a plan follows from it and base.json. */
interface SweepState {
  format: "gradstream-sweep";
  version: 1;
  file: string;
  sweep: Sweep;
  trials: TrialRecord[];
}

/** A plan from its parts; what follows from them is derived here, for a new sweep and a resumed one. */
function planOf(sweep: Sweep, file: string, base: Config, records: TrialRecord[]): SweepPlan {
  return {
    sweep,
    file,
    base,
    minimize: minimizes(sweep),
    splitSeed: base.data.split?.seed ?? base.seed,
    records,
  };
}

/** Runs one trial somewhere (a local process, a queue worker) and reports its events. */
export type TrialRunner = (
  spec: TrialSpec,
  options: { onEvent: (event: Record<string, unknown>) => void; signal: AbortSignal },
) => Promise<TrialOutcome>;

/** Problems listed when many trials share them: the first few trials with each. */
const TRIALS_NAMED_PER_PROBLEM = 3;

/** Read, validate and sample a sweep file; every trial's config is validated before any runs. */
export async function planSweep(file: string): Promise<SweepPlan> {
  const text = await readTextOrThrow(
    file,
    (why) => new ConfigError(file, [`✖ cannot read the sweep file: ${why}`]),
  );
  const raw = parseConfigText(text, file);
  const parsed = SweepSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(file, formatIssues(parsed.error.issues, SweepSchema, raw));
  }
  const sweep = parsed.data;
  const here = dirname(resolve(file));
  let base: Config;
  if (sweep.base !== undefined) {
    const loaded = await loadConfig(resolve(here, sweep.base));
    base = { ...loaded.config, name: loaded.name };
  } else {
    const config = validateConfig(structuredClone(sweep.config), file);
    base = { ...resolvePaths(config, here), name: config.name ?? sweep.name };
  }
  const trials = trialsOf(sweep);
  const plan = planOf(
    sweep,
    resolve(file),
    base,
    trials.map((t) => ({ ...t, status: "pending", evaluations: [], judged: 0, seconds: 0 })),
  );
  // Trials with the same problem (apart from the value found) are listed together.
  const problems = new Map<string, { problem: string; at: number[] }>();
  for (const trial of trials) {
    for (const problem of trialProblems(base, sweep, trial, plan.splitSeed)) {
      const kind = problem.replace(/ but found [^\n]*/, "");
      const seen = problems.get(kind) ?? { problem, at: [] };
      seen.at.push(trial.trial);
      problems.set(kind, seen);
    }
  }
  if (problems.size > 0) {
    throw new ConfigError(
      file,
      [...problems.values()].map(({ problem, at }) =>
        at.length === trials.length
          ? `${problem}\n  → in every trial`
          : `${problem}\n  → in trial ${at.slice(0, TRIALS_NAMED_PER_PROBLEM).join(", ")}${
            at.length > TRIALS_NAMED_PER_PROBLEM
              ? ` and ${at.length - TRIALS_NAMED_PER_PROBLEM} more`
              : ""
          } (${describeValues(trials[at[0]!]!.values)})`
      ),
    );
  }
  return plan;
}

/** Trial i's config: the base with its values, seed and run folder applied as by --set. */
function trialConfig(
  base: Config,
  trial: Pick<TrialRecord, "trial" | "values" | "seed">,
  splitSeed: number,
  outputDir: string,
): Config {
  const raw = structuredClone(base) as unknown as Record<string, unknown>;
  for (const o of trialOverrides({ ...trial, base: "", outputDir, splitSeed })) {
    applyOverride(raw, o, "sweep");
  }
  return validateConfig(raw, "sweep");
}

/** What is wrong with one trial's config. */
function trialProblems(
  base: Config,
  sweep: Sweep,
  trial: Pick<TrialRecord, "trial" | "values" | "seed">,
  splitSeed: number,
): string[] {
  let config: Config;
  try {
    config = trialConfig(base, trial, splitSeed, base.output.dir);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  const problems: string[] = [];
  if (config.data.split?.validation === undefined) {
    problems.push(
      `✖ ${sweep.metric} is measured on validation rows: the config needs data.split.validation (e.g. { validation: 0.1 })\n  → at metric`,
    );
  }
  checkMetricTask(sweep.metric, config.task, "metric", problems);
  return problems;
}

function describeValues(values: Record<string, unknown>): string {
  return Object.entries(values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
}

/** A new sweep folder `<output.dir>/<name>/<timestamp>` with base.json and sweep.json. */
export async function createSweepDir(plan: SweepPlan): Promise<string> {
  const root = resolve(dirname(plan.file), plan.sweep.output.dir, plan.sweep.name);
  await Deno.mkdir(root, { recursive: true });
  const dir = await makeStampedDir(root, new Date(), "sweep folder");
  await writeFileAtomic(join(dir, "base.json"), JSON.stringify(plan.base, null, 2) + "\n");
  await saveState(dir, plan);
  return dir;
}

/** A sweep folder's state, to resume it. */
export async function loadSweepDir(dir: string): Promise<SweepPlan> {
  const path = join(dir, "sweep.json");
  const text = await readTextOrThrow(
    path,
    (why) => new UsageError(`${dir} is not a sweep folder (no readable sweep.json: ${why})`),
  );
  let state: SweepState;
  try {
    state = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not JSON (${(error as Error).message})`);
  }
  if (state.format !== "gradstream-sweep" || state.version !== 1) {
    throw new Error(`${path}: not a gradstream sweep state (format ${state.format})`);
  }
  const base = (await loadConfig(join(dir, "base.json"))).config;
  return planOf(SweepSchema.parse(state.sweep), state.file, base, state.trials);
}

async function saveState(dir: string, plan: SweepPlan): Promise<void> {
  const state: SweepState = {
    format: "gradstream-sweep",
    version: 1,
    file: plan.file,
    sweep: plan.sweep,
    trials: plan.records,
  };
  await writeFileAtomic(join(dir, "sweep.json"), JSON.stringify(state) + "\n");
}

/** Options of {@linkcode runSweep}. */
export interface RunOptions {
  run: TrialRunner;
  /** Trials at once. */
  parallel: number;
  /** Stop: running trials checkpoint, the state is saved, runSweep returns "stopped". */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/**
 * Run every trial that has not ended, `parallel` at a time, in trial order. Returns "done"
 * when every trial has ended, "stopped" when the signal stopped it.
 */
export async function runSweep(
  dir: string,
  plan: SweepPlan,
  options: RunOptions,
): Promise<"done" | "stopped"> {
  const log = options.log ?? (() => {});
  const metric = plan.sweep.metric;
  const pruning = plan.sweep.pruning;
  const records = plan.records;
  const stops = new Map<number, AbortController>();
  // One write of the state at a time, the newest last.
  let saving = Promise.resolve();
  const save = () => {
    saving = saving.then(() => saveState(dir, plan));
    return saving;
  };
  const decide = () => {
    for (const t of judge(records, pruning, plan.minimize)) {
      const r = records[t]!;
      const best = bestEvaluation(r, plan.minimize);
      log(`trial ${t} pruned at iteration ${r.evaluations.at(-1)![0]} (best ${best?.[1]})`);
      stops.get(t)?.abort();
    }
  };
  // A trial's run stopped with the sweep resumes from its checkpoint; without one it restarts.
  for (const r of records) {
    if (r.status === "running") {
      if (!r.runDir || !(await exists(join(r.runDir, "checkpoint.json")))) {
        Object.assign(r, { status: "pending", evaluations: [], judged: 0 });
        delete r.runDir;
      } else r.evaluations = mergeEvaluations(r.evaluations, await evaluationsIn(r.runDir, metric));
    }
  }
  decide();
  await save();
  const todo = records.filter((r) => r.exitCode === undefined && r.status !== "pruned");
  let next = 0;
  const outputDir = join(dir, "trials");
  const worker = async () => {
    while (next < todo.length && !options.signal?.aborted) {
      const r = todo[next++]!;
      if (r.status === "pruned") continue;
      const stop = new AbortController();
      stops.set(r.trial, stop);
      const onAbort = () => stop.abort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const resume = r.status === "running" ? r.runDir : undefined;
      // The judge may stop this trial while it runs (it reads r.status afresh).
      const pruned = () => (r.status as TrialRecord["status"]) === "pruned";
      r.status = "running";
      log(`trial ${r.trial} ${resume ? "resumes" : "starts"}: ${describeValues(r.values)}`);
      const outcome = await options.run(
        {
          trial: r.trial,
          values: r.values,
          seed: r.seed,
          base: join(dir, "base.json"),
          outputDir,
          splitSeed: plan.splitSeed,
          ...(resume ? { resume } : {}),
        },
        {
          signal: stop.signal,
          onEvent: (event) => {
            if ((event.event === "started" || event.event === "resumed") && !r.runDir) {
              r.runDir = String(event.runDir);
              save();
            }
            if (event.event === "evaluation" && typeof event[metric] === "number") {
              if (pruned()) return;
              r.evaluations = mergeEvaluations(r.evaluations, [[
                Number(event.iteration),
                event[metric] as number,
              ]]);
              decide();
              save();
            }
          },
        },
      );
      options.signal?.removeEventListener("abort", onAbort);
      stops.delete(r.trial);
      r.seconds += outcome.seconds;
      if (outcome.runDir) r.runDir = outcome.runDir;
      // Evaluations the events did not carry (a queue worker reports them at the end).
      if (!pruned()) {
        r.evaluations = mergeEvaluations(
          r.evaluations,
          outcome.evaluations.filter((e) => typeof e[metric] === "number").map((
            e,
          ) => [e.iteration!, e[metric]!]),
        );
      }
      if (pruned()) {
        // Stopped by the rule: how the process ended does not matter.
      } else if (options.signal?.aborted && outcome.code !== 0) {
        log(`trial ${r.trial} stopped with the sweep (exit ${outcome.code})`);
      } else {
        r.exitCode = outcome.code;
        if (outcome.code === 0 && typeof outcome.summary?.[metric] === "number") {
          r.final = outcome.summary[metric] as number;
        } else if (outcome.code !== 0) {
          r.error = outcome.errorTail.trim().split("\n").at(-1) || `exit ${outcome.code}`;
        }
        log(
          `trial ${r.trial} ${outcome.code === 0 ? "finished" : "failed"}${
            r.error ? `: ${r.error}` : ""
          }`,
        );
      }
      decide();
      await save();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker));
  decide();
  await save();
  return records.every(settled) ? "done" : "stopped";
}

/** Add evaluations, one per iteration (a resumed run repeats some; their values are equal). */
function mergeEvaluations(
  into: [number, number][],
  more: [number, number][],
): [number, number][] {
  const byIteration = new Map(into);
  for (const [i, v] of more) if (!byIteration.has(i)) byIteration.set(i, v);
  return [...byIteration].sort((a, b) => a[0] - b[0]);
}

/** The metric at each evaluation a run directory's events.jsonl recorded. */
async function evaluationsIn(runDir: string, metric: string): Promise<[number, number][]> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(runDir, "events.jsonl"));
  } catch {
    return [];
  }
  return text.split("\n").flatMap((line) => {
    try {
      const e = JSON.parse(line);
      return e.event === "evaluation" && typeof e[metric] === "number"
        ? [[e.iteration as number, e[metric] as number] as [number, number]]
        : [];
    } catch {
      return [];
    }
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A trial's metric for the table: the finished run's, else its best evaluation's. */
export function trialMetric(r: TrialRecord, minimize: boolean): number | null {
  if (r.status === "done" && r.final !== undefined) return r.final;
  return bestEvaluation(r, minimize)?.[1] ?? null;
}

/** The trials ranked best first (those with a metric; the lower number first on ties). */
export function ranked(plan: SweepPlan): TrialRecord[] {
  return plan.records
    .filter((r) => trialMetric(r, plan.minimize) !== null)
    .sort((a, b) => {
      const [x, y] = [trialMetric(a, plan.minimize)!, trialMetric(b, plan.minimize)!];
      return (plan.minimize ? x - y : y - x) || a.trial - b.trial;
    });
}

/** The winning trial: the best ranked among the trials that finished. */
export function bestTrial(plan: SweepPlan): TrialRecord | null {
  return ranked(plan).find((r) => r.status === "done") ?? null;
}

/** trials.csv: one row per trial in trial order. */
export function trialsCsv(dir: string, plan: SweepPlan): string {
  const keys = Object.keys(plan.sweep.space);
  const metric = plan.sweep.metric;
  const header = ["trial", ...keys, "seed", "status", metric, "bestIteration", "seconds", "runDir"];
  const rows = plan.records.map((r) => {
    const best = bestEvaluation(r, plan.minimize);
    const m = trialMetric(r, plan.minimize);
    return [
      String(r.trial),
      ...keys.map((k) => csvCell(r.values[k])),
      String(r.seed),
      r.status,
      m === null ? "" : String(m),
      best ? String(best[0]) : "",
      r.seconds.toFixed(2),
      r.runDir ? relative(dir, r.runDir) : "",
    ].join(",");
  });
  return [header.join(","), ...rows].join("\n") + "\n";
}

function csvCell(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** best.json: the winning trial's full config, named and placed as the base config is. */
export function bestConfig(plan: SweepPlan, best: TrialRecord): Config {
  const config = trialConfig(plan.base, best, plan.splitSeed, plan.base.output.dir);
  return { ...config, name: plan.base.name };
}
