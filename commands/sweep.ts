/**
 * `deno task sweep <sweep.yaml>`: the book's hyperparameter search. Every trial is an ordinary
 * run in its own process; the sweep folder gets trials.csv, best.json, the charts and a report.
 * @module
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../pipeline/errors.ts";
import { writeSweepResults } from "../sweep/report.ts";
import {
  bestTrial,
  createSweepDir,
  loadSweepDir,
  planSweep,
  runSweep,
  type SweepPlan,
  trialMetric,
  type TrialRunner,
} from "../sweep/sweep.ts";
import { runTrial, type TrainCommand } from "../sweep/trial.ts";
import { integerOption, print, printError, USAGE, usage } from "./cli.ts";
import { MAIN, RUN_PERMISSIONS, RUN_V8_FLAGS } from "./schedule.ts";
import { SIGNAL_EXIT, stopOnSignals } from "./train.ts";

/** How a trial process is started: this Deno, the run's V8 flags and permissions, `main.ts train`. */
export const TRAIN_COMMAND: TrainCommand = [
  Deno.execPath(),
  "run",
  ...RUN_V8_FLAGS,
  ...RUN_PERMISSIONS,
  MAIN,
  "train",
];

/** Trials run locally, each `train` in its own process. */
export const localRunner: TrialRunner = (spec, options) => runTrial(TRAIN_COMMAND, spec, options);

/** Run a sweep file, or continue a sweep folder (`--resume`). */
export async function sweepCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        resume: { type: "string" },
        parallel: { type: "string" },
        queue: { type: "string" },
        quiet: { type: "boolean" },
      },
    })
  );
  if ((positionals.length === 1) === (values.resume !== undefined) || positionals.length > 1) {
    throw new UsageError(`sweep takes one sweep file, or --resume <sweep folder>\n${USAGE}`);
  }
  const parallel = integerOption("parallel", values.parallel, 1);
  // Loaded only for --queue: BullMQ and its Redis client double the start-up time of a command.
  const queueModule = values.queue === undefined ? null : await import("../queue/queue.ts");
  if (values.queue !== undefined) usage(() => queueModule!.connectionOf(values.queue!));
  let plan: SweepPlan;
  let dir: string;
  if (values.resume !== undefined) {
    dir = values.resume;
    plan = await loadSweepDir(dir);
  } else {
    plan = await planSweep(positionals[0]!);
    dir = await createSweepDir(plan);
  }
  const log = values.quiet ? () => {} : (line: string) => print(line + "\n");
  // On a queue every trial is added at once; the workers' concurrency decides how many run.
  const queue = values.queue === undefined ? null : await queueModule!.queueRunner(
    values.queue,
    `${plan.sweep.name}-${basename(dir)}`,
    plan.base,
  );
  const at = queue
    ? plan.records.length
    : parallel ?? plan.sweep.parallel ?? navigator.hardwareConcurrency ?? 1;
  print(
    `gradstream: sweep "${plan.sweep.name}", ${plan.records.length} trials (${plan.sweep.method}), ${
      queue ? `on the queue ${values.queue}` : `${at} at a time`
    }, judged on ${plan.sweep.metric}\n`,
  );
  print(`sweep folder: ${dir}\n`);
  const signals = stopOnSignals();
  let outcome: "done" | "stopped";
  try {
    outcome = await runSweep(dir, plan, {
      run: queue?.run ?? localRunner,
      parallel: at,
      signal: signals.signal,
      log,
    });
  } finally {
    signals.remove();
    await queue?.close();
  }
  const files = await writeSweepResults(dir, plan);
  if (outcome === "stopped") {
    const reason = signals.signal.reason as keyof typeof SIGNAL_EXIT;
    printError(
      queue
        ? `stopped waiting: the trials run on in the workers; collect them with: deno task sweep --resume ${dir} --queue ${values.queue}\n`
        : `stopped: running trials wrote checkpoints; continue with: deno task sweep --resume ${dir}\n`,
    );
    return SIGNAL_EXIT[reason] ?? SIGNAL_EXIT.SIGTERM;
  }
  const best = bestTrial(plan);
  const counts = ["done", "pruned", "failed"].map((s) =>
    `${plan.records.filter((r) => r.status === s).length} ${s}`
  ).join(", ");
  print(`trials: ${counts}\n`);
  if (best) {
    print(
      `best: trial ${best.trial}, ${plan.sweep.metric} ${trialMetric(best, plan.minimize)} (${
        Object.entries(best.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")
      })\n`,
    );
  } else printError("no trial finished: no best.json\n");
  print(`wrote ${files.join(", ")} in ${dir}\n`);
  return best ? 0 : 1;
}
