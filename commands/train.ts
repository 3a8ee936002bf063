/**
 * `deno task train` and `deno task retrain`: parse the arguments, attach the observers the
 * user asked for (text progress or JSON events, the dashboard), stop cleanly on a signal, run,
 * write the report, and say how it ended.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { InterruptedError, UsageError } from "../pipeline/errors.ts";
import { loadConfig, type LoadedConfig } from "../pipeline/load_config.ts";
import { createProgress, type Progress, teeProgress } from "../pipeline/progress.ts";
import { retrain } from "../pipeline/retrain.ts";
import { type Summary, train, type TrainOptions } from "../pipeline/train.ts";
import { type Dashboard, startDashboard } from "../report/dashboard.ts";
import { print, printError, USAGE, usage } from "./cli.ts";
import { reportAfterTraining } from "./report.ts";

const DEFAULT_CONFIG = join(import.meta.dirname!, "..", "configs", "default.yaml");
/** The dashboard's port when `--dashboard` names none. */
const DEFAULT_DASHBOARD_PORT = 8787;
/** Exit codes of a run stopped by a signal (checkpoint written): 128 + the signal number. */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
/** Exit code of a retraining whose model was not promoted. */
const NOT_PROMOTED = 3;
/** Exit code of a run that trained but could not write its report. */
const EXIT_FAILURE = 1;

const TRAIN_OPTIONS = {
  set: { type: "string", multiple: true },
  resume: { type: "string" },
  log: { type: "string" },
  dashboard: { type: "boolean" },
  "dashboard-host": { type: "string" },
  "keep-serving": { type: "boolean" },
} as const;

/** What the command line asked for. */
interface TrainArgs {
  file: string;
  overrides: string[];
  resume?: string;
  json: boolean;
  dashboard: { port: number; hostname: string; keepServing: boolean } | null;
}

/** Train (or retrain and promote); returns the exit code. */
export async function trainCommand(rawArgs: string[], mode: "train" | "retrain"): Promise<number> {
  const args = parseTrainArgs(rawArgs, mode);
  const loaded = await loadConfig(args.file, args.overrides);
  /** A line for the user: plain text, or a JSON message event with --log json. */
  const message = (text: string) =>
    print(args.json ? JSON.stringify({ event: "message", message: text }) + "\n" : text + "\n");
  if (!args.json) print(headline(loaded, args.resume !== undefined) + "\n");
  for (const note of loaded.notes ?? []) message(`note: ${note}`);
  const signals = stopOnSignals();
  const dashboard = args.dashboard
    ? startDashboard({
      port: args.dashboard.port,
      hostname: args.dashboard.hostname,
      title: `gradstream: ${loaded.name}`,
    })
    : null;
  if (dashboard) message(`dashboard: ${dashboard.url}`);
  const options = observers(loaded, args, dashboard, signals.signal);
  try {
    if (mode === "retrain") {
      const { runDir, summary, warning, trained } = await retrain(loaded, options);
      if (warning) printError(`warning: ${warning}\n`);
      const reported = await reportAfterTraining(runDir, trained);
      const p = summary.promotion;
      message(`${p.promoted ? "promoted" : "not promoted"}: ${p.reason}`);
      message(`run directory: ${runDir}`);
      // The product: what a consumer of the promoted model should read (docs/runs.md).
      const current = join(loaded.config.output.dir, loaded.name, "current", "model.json");
      if (p.promoted) message(`current model: ${current}`);
      if (!reported) return EXIT_FAILURE;
      return p.promoted ? 0 : NOT_PROMOTED;
    }
    const { runDir, summary, model, test } = await train(loaded, options);
    const reported = await reportAfterTraining(runDir, { model, test });
    message(
      `${reported ? "done" : "trained"}: ${
        resultLine(summary)
      }, ${summary.iterations} iterations in ${
        summary.durationSeconds.toFixed(1)
      }s (${summary.samplesPerSecond} samples/s), seed ${summary.seed}`,
    );
    message(`run directory: ${runDir}`);
    return reported ? 0 : EXIT_FAILURE;
  } catch (error) {
    if (error instanceof InterruptedError) {
      const signal = error.reason as keyof typeof SIGNAL_EXIT;
      message(
        `interrupted by ${signal} after iteration ${error.iteration}; checkpoint: ${
          join(error.runDir, "checkpoint.json")
        }`,
      );
      message(`resume with: ${resumeCommand(mode, args, error.runDir)}`);
      return SIGNAL_EXIT[signal] ?? 1;
    }
    if (args.json) {
      const { name, message } = error as Error;
      print(JSON.stringify({ event: "error", name, message }) + "\n");
    }
    throw error;
  } finally {
    signals.remove();
    if (dashboard && args.dashboard?.keepServing) {
      message(`the run has ended; still serving ${dashboard.url} (Ctrl-C to stop)`);
      await dashboard.finished;
    } else await dashboard?.close();
  }
}

function parseTrainArgs(rawArgs: string[], mode: "train" | "retrain"): TrainArgs {
  const { args, port } = takeDashboardPort(rawArgs);
  const { values, positionals } = usage(() =>
    parseArgs({ args, allowPositionals: true, options: TRAIN_OPTIONS })
  );
  if ((values["keep-serving"] || values["dashboard-host"]) && !values.dashboard) {
    throw new UsageError("--keep-serving and --dashboard-host go with --dashboard");
  }
  if (positionals.length > 1) throw new UsageError(`${mode} takes one config file\n${USAGE}`);
  if (values.log !== undefined && values.log !== "json" && values.log !== "text") {
    throw new UsageError(`--log takes "json" or "text" but found "${values.log}"`);
  }
  return {
    file: positionals[0] ?? DEFAULT_CONFIG,
    overrides: values.set ?? [],
    ...(values.resume ? { resume: values.resume } : {}),
    json: values.log === "json",
    dashboard: values.dashboard
      ? {
        port,
        hostname: values["dashboard-host"] ?? "127.0.0.1",
        keepServing: values["keep-serving"] === true,
      }
      : null,
  };
}

/** `--dashboard [port]`: the port is optional, which parseArgs cannot express; take it here. */
function takeDashboardPort(args: string[]): { args: string[]; port: number } {
  const at = args.indexOf("--dashboard");
  const next = args[at + 1];
  if (at >= 0 && next !== undefined && /^\d+$/.test(next)) {
    return { args: [...args.slice(0, at + 1), ...args.slice(at + 2)], port: Number(next) };
  }
  return { args, port: DEFAULT_DASHBOARD_PORT };
}

function headline(loaded: LoadedConfig, resuming: boolean): string {
  const { config } = loaded;
  return `gradstream: ${
    resuming ? "resuming" : "training"
  } "${loaded.name}" (seed ${config.seed}, ${
    config.model.layers.join("-")
  } ${config.model.activation}, ${config.gradient.method}, ${config.optimizer.kind} lr ${config.optimizer.learningRate})`;
}

/**
 * SIGINT/SIGTERM: finish the step, write a checkpoint, exit 130/143; a second one exits at
 * once (every file is written by rename, so nothing is left half-written).
 */
export function stopOnSignals(): { signal: AbortSignal; remove(): void } {
  const controller = new AbortController();
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => {
    const handler = () => {
      if (controller.signal.aborted) Deno.exit(SIGNAL_EXIT[name]);
      controller.abort(name);
      printError(
        `received ${name}: finishing the current step and writing a checkpoint (again to exit at once)\n`,
      );
    };
    Deno.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    remove: () => {
      for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
    },
  };
}

/** The run's observers: text progress or JSON events on stdout, and the dashboard. */
function observers(
  loaded: LoadedConfig,
  args: TrainArgs,
  dashboard: Dashboard | null,
  signal: AbortSignal,
): TrainOptions {
  const text = args.json
    ? null
    : createProgress({ terminal: Deno.stdout.isTerminal(), write: print });
  const dashboardProgress = dashboard?.progress({ name: loaded.name, seed: loaded.config.seed });
  const receivers = [text, dashboardProgress].filter((p): p is Progress => !!p);
  return {
    signal,
    onEvent: (event) => {
      if (args.json) print(JSON.stringify(event) + "\n");
      dashboard?.publish(event);
    },
    ...(receivers.length > 0 ? { progress: teeProgress(...receivers) } : {}),
    ...(args.resume ? { resume: args.resume } : {}),
  };
}

/**
 * The command that continues an interrupted run: the same task (a retraining resumes under
 * its gate and lock), config and overrides (the checkpoint only resumes under them).
 */
function resumeCommand(mode: "train" | "retrain", args: TrainArgs, runDir: string): string {
  const sets = args.overrides.map((o) => ` --set ${shellQuote(o)}`).join("");
  return `deno task ${mode} ${shellQuote(args.file)}${sets} --resume ${shellQuote(runDir)}`;
}

/** A word as a POSIX shell reads it back. */
function shellQuote(word: string): string {
  return /^[\w.,:=/@+%-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The final scores of a run, as one line. */
function resultLine(s: Summary): string {
  const f = (x: number) => x.toFixed(4);
  if (s.task === "regression") {
    return `test RMSE ${f(s.testRmse!)}, MAE ${f(s.testMae!)}, R² ${f(s.testR2!)}${
      s.validationRmse !== undefined ? `, validation RMSE ${f(s.validationRmse)}` : ""
    }`;
  }
  return `test accuracy ${f(s.testAccuracy!)}, train accuracy ${f(s.trainAccuracy!)}${
    s.validationAccuracy !== undefined ? `, validation accuracy ${f(s.validationAccuracy)}` : ""
  }${
    s.testBalancedAccuracy !== undefined && s.perClassAccuracy.length > 2
      ? `, test balanced accuracy ${f(s.testBalancedAccuracy)}`
      : ""
  }`;
}
