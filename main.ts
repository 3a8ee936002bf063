/**
 * The gradstream command line.
 *
 *   deno task train [config] [--set key=value]… [--resume dir] [--log json]
 *   deno task retrain <config> [--log json]       train, then promote if it passes the gate
 *   deno task schedule <config>                    retrain on the config's cron schedule
 *   deno task evaluate <run dir|model.json> [config] [--json]
 *   deno task predict <run dir|model.json> <input.csv|idx[.gz]> [--out file] [--label-column N]
 *   deno task schema [file]                        the config's JSON Schema
 *
 * Exit codes: 0 success, 1 runtime failure (data error, divergence), 2 usage or config error,
 * 3 retrained but not promoted, 130/143 stopped by SIGINT/SIGTERM (checkpoint written).
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { ConfigSchema } from "./config/config.ts";
import { ConfigError } from "./config/errors.ts";
import { UsageError } from "./pipeline/errors.ts";
import { evaluateRun, formatReport } from "./pipeline/evaluate_run.ts";
import { loadConfig } from "./pipeline/load_config.ts";
import { predictFile } from "./pipeline/predict.ts";
import { createProgress, type Progress, teeProgress } from "./pipeline/progress.ts";
import { startDashboard } from "./report/dashboard.ts";
import { writeFileAtomic } from "./pipeline/run_dir.ts";
import { InterruptedError, type Summary, train } from "./pipeline/train.ts";
import { retrain } from "./pipeline/retrain.ts";
import { writeReport } from "./report/report.ts";

const DEFAULT_CONFIG = join(import.meta.dirname!, "configs", "default.yaml");

/** The permissions a training or retraining process needs (the tasks in deno.json give them). */
export const RUN_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=hostname",
  "--allow-run=kill",
  "--allow-net=127.0.0.1",
];

const USAGE = `usage:
  deno task train [config.yaml|json] [--set key=value]... [--resume <run dir>] [--log json]
      [--dashboard [port]] [--keep-serving] [--dashboard-host <address>]
  deno task retrain <config> [--set key=value]... [--log json]
  deno task schedule <config>
  deno task evaluate <run dir|model.json> [config] [--json]
  deno task predict <run dir|model.json> <input.csv|idx[.gz]> [--out predictions.csv] [--label-column N] [--no-header]
  deno task report <run dir>
  deno task schema [output.json]`;

const encoder = new TextEncoder();
const out = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
const err = (text: string) => Deno.stderr.writeSync(encoder.encode(text));

/** Run one command; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "train":
        return await trainCommand(rest, "train");
      case "retrain":
        return await trainCommand(rest, "retrain");
      case "schedule":
        return await scheduleCommand(rest);
      case "evaluate":
        return await evaluateCommand(rest);
      case "predict":
        return await predictCommand(rest);
      case "schema":
        return await schemaCommand(rest);
      case "report":
        return await reportCommand(rest);
      case undefined:
      case "help":
      case "--help":
        out(USAGE + "\n");
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      err(`error: ${error.message}\n`);
      return 2;
    }
    const e = error instanceof Error ? error : new Error(String(error));
    err(`error: ${e.message}\n`);
    if (Deno.env.get("GRADSTREAM_DEBUG")) err(`${e.stack}\n`);
    return 1;
  }
}

/** Run an argument parser, turning its complaint into a usage error (exit 2). */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

const TRAIN_OPTIONS = {
  set: { type: "string", multiple: true },
  resume: { type: "string" },
  log: { type: "string" },
  dashboard: { type: "boolean" },
  "dashboard-host": { type: "string" },
  "keep-serving": { type: "boolean" },
} as const;

/** `--dashboard [port]`: the port is optional, which parseArgs cannot express; take it here. */
function takeDashboardPort(args: string[]): { args: string[]; port: number } {
  const at = args.indexOf("--dashboard");
  const next = args[at + 1];
  if (at >= 0 && next !== undefined && /^\d+$/.test(next)) {
    return { args: [...args.slice(0, at + 1), ...args.slice(at + 2)], port: Number(next) };
  }
  return { args, port: 8787 };
}

async function trainCommand(rawArgs: string[], mode: "train" | "retrain"): Promise<number> {
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
  if (values.resume && mode === "retrain") throw new UsageError("retrain does not take --resume");
  const json = values.log === "json";
  const file = positionals[0] ?? DEFAULT_CONFIG;
  const loaded = await loadConfig(file, values.set ?? []);
  const { config } = loaded;
  const say = json ? (event: Record<string, unknown>) => out(JSON.stringify(event) + "\n") : null;
  const note = (
    text: string,
  ) => (json ? say!({ event: "message", message: text }) : out(text + "\n"));
  if (!json) {
    out(
      `gradstream: ${
        values.resume ? "resuming" : "training"
      } "${loaded.name}" (seed ${config.seed}, ${
        config.model.layers.join("-")
      } ${config.model.activation}, ${config.gradient.method}, ${config.optimizer.kind} lr ${config.optimizer.learningRate})\n`,
    );
  }

  // SIGINT/SIGTERM: finish the step, write a checkpoint, exit 130/143; a second one exits at
  // once (every file is written by rename, so nothing is left half-written).
  const controller = new AbortController();
  const codes = { SIGINT: 130, SIGTERM: 143 } as const;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => {
    const handler = () => {
      if (controller.signal.aborted) Deno.exit(codes[name]);
      controller.abort(name);
      err(
        `received ${name}: finishing the current step and writing a checkpoint (again to exit at once)\n`,
      );
    };
    Deno.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  const dashboard = values.dashboard
    ? startDashboard({
      port,
      hostname: values["dashboard-host"] ?? "127.0.0.1",
      title: `gradstream: ${loaded.name}`,
    })
    : null;
  if (dashboard) note(`dashboard: ${dashboard.url}`);
  const text = json ? null : createProgress({ terminal: Deno.stdout.isTerminal(), write: out });
  const dashboardProgress = dashboard?.progress({ name: loaded.name, seed: config.seed });
  const receivers = [text, dashboardProgress].filter((p): p is Progress => !!p);
  const onEvent = (event: Record<string, unknown>) => {
    say?.(event);
    dashboard?.publish(event);
  };
  const options = {
    signal: controller.signal,
    onEvent,
    ...(receivers.length > 0 ? { progress: teeProgress(...receivers) } : {}),
    ...(values.resume ? { resume: values.resume } : {}),
  };
  try {
    if (mode === "retrain") {
      const { runDir, summary, warning } = await retrain(loaded, options);
      if (warning) err(`warning: ${warning}\n`);
      const p = summary.promotion;
      note(`${p.promoted ? "promoted" : "not promoted"}: ${p.reason}`);
      note(`run directory: ${runDir}`);
      return p.promoted ? 0 : 3;
    }
    const { runDir, summary } = await train(loaded, options);
    note(
      `done: ${resultLine(summary)}, ${summary.iterations} iterations in ${
        summary.durationSeconds.toFixed(1)
      }s (${summary.samplesPerSecond} samples/s), seed ${summary.seed}`,
    );
    note(`run directory: ${runDir}`);
    return 0;
  } catch (error) {
    if (error instanceof InterruptedError) {
      const signal = error.reason as keyof typeof codes;
      note(
        `interrupted by ${signal} after iteration ${error.iteration}; checkpoint: ${
          join(error.runDir, "checkpoint.json")
        }`,
      );
      note(`resume with: deno task train ${file} --resume ${error.runDir}`);
      return codes[signal] ?? 1;
    }
    if (json) {
      say!({ event: "error", name: (error as Error).name, message: (error as Error).message });
    }
    throw error;
  } finally {
    for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
    if (dashboard && values["keep-serving"]) {
      note(`the run has ended; still serving ${dashboard.url} (Ctrl-C to stop)`);
      await dashboard.finished;
    } else await dashboard?.close();
  }
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

async function scheduleCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { set: { type: "string", multiple: true } },
    })
  );
  if (positionals.length !== 1) throw new UsageError(`schedule takes one config file\n${USAGE}`);
  const loaded = await loadConfig(positionals[0]!, values.set ?? []);
  const cron = loaded.config.schedule?.cron;
  if (!cron) {
    throw new UsageError(
      `${positionals[0]}: no schedule; add e.g. schedule: { cron: "0 3 * * *" } (UTC)`,
    );
  }
  out(`gradstream: retraining "${loaded.name}" on the schedule "${cron}" (UTC); Ctrl-C to stop\n`);
  const retrainArgs = [positionals[0]!, ...(values.set ?? []).flatMap((s) => ["--set", s])];
  await Deno.cron(`gradstream-${loaded.name}`, cron, async () => {
    const code = await runIsolated(retrainArgs);
    out(`${new Date().toISOString()} retrain "${loaded.name}" exited ${code}\n`);
  });
  return await new Promise<number>(() => {}); // serves until stopped
}

/**
 * One scheduled retraining in its own process, so that a crash, a divergence or a memory
 * blow-up never stops the schedule. Returns the exit code.
 */
export async function runIsolated(args: string[]): Promise<number> {
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...RUN_PERMISSIONS, import.meta.filename!, "retrain", ...args],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return (await child.status).code;
  } catch (error) {
    err(`error: could not start the retraining: ${(error as Error).message}\n`);
    return 1;
  }
}

async function evaluateCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean" } } })
  );
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError(
      `evaluate takes a run directory or model.json, and optionally a config\n${USAGE}`,
    );
  }
  const report = await evaluateRun(positionals[0]!, positionals[1]);
  out(values.json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report) + "\n");
  return 0;
}

async function predictCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        "label-column": { type: "string" },
        "no-header": { type: "boolean" },
      },
    })
  );
  if (positionals.length !== 2) {
    throw new UsageError(
      `predict takes a run directory or model.json, and an input file\n${USAGE}`,
    );
  }
  const label = values["label-column"];
  const csv = await predictFile(positionals[0]!, positionals[1]!, {
    ...(label !== undefined ? { labelColumn: /^\d+$/.test(label) ? Number(label) : label } : {}),
    header: !values["no-header"],
    onWarning: (message) => err(`warning: ${message}\n`),
  });
  if (values.out) {
    await writeFileAtomic(values.out, csv);
    err(`predictions written to ${values.out}\n`);
  } else out(csv);
  return 0;
}

async function reportCommand(args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError(`report takes one run directory\n${USAGE}`);
  try {
    await Deno.stat(join(args[0]!, "summary.json"));
  } catch {
    throw new UsageError(`${args[0]}: not a finished run directory (no summary.json)`);
  }
  for (const file of await writeReport(args[0]!)) out(`${file}\n`);
  return 0;
}

async function schemaCommand(args: string[]): Promise<number> {
  const schema = JSON.stringify(z.toJSONSchema(ConfigSchema, { io: "input" }), null, 2) + "\n";
  if (args[0]) await writeFileAtomic(args[0], schema);
  else out(schema);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
