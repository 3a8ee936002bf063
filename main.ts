/**
 * The gradstream command line.
 *
 *   deno task train [config] [--set key=value]…    train (default: configs/default.yaml)
 *   deno task evaluate <run dir|model.json> [config] [--json]
 *   deno task predict <model.json> <input.csv|idx[.gz]> [--out file] [--label-column N]
 *   deno task schema [file]                        the config's JSON Schema
 *
 * Exit codes: 0 success, 1 runtime failure (data error, divergence), 2 usage or config error.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { ConfigSchema } from "./pipeline/config.ts";
import { ConfigError } from "./pipeline/config_errors.ts";
import { UsageError } from "./pipeline/errors.ts";
import { evaluateRun, formatReport } from "./pipeline/evaluate_run.ts";
import { loadConfig } from "./pipeline/load_config.ts";
import { predictFile } from "./pipeline/predict.ts";
import { createProgress } from "./pipeline/progress.ts";
import { writeFileAtomic } from "./pipeline/run_dir.ts";
import { train } from "./pipeline/train.ts";

const DEFAULT_CONFIG = join(import.meta.dirname!, "configs", "default.yaml");

const USAGE = `usage:
  deno task train [config.yaml|json] [--set key=value]...
  deno task evaluate <run dir|model.json> [config] [--json]
  deno task predict <model.json> <input.csv|idx[.gz]> [--out predictions.csv] [--label-column N] [--no-header]
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
        return await trainCommand(rest);
      case "evaluate":
        return await evaluateCommand(rest);
      case "predict":
        return await predictCommand(rest);
      case "schema":
        return await schemaCommand(rest);
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

async function trainCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { set: { type: "string", multiple: true } },
    })
  );
  if (positionals.length > 1) throw new UsageError(`train takes one config file\n${USAGE}`);
  const file = positionals[0] ?? DEFAULT_CONFIG;
  const loaded = await loadConfig(file, values.set ?? []);
  const { config } = loaded;
  const terminal = Deno.stdout.isTerminal();
  out(
    `gradstream: training "${loaded.name}" (seed ${config.seed}, ${
      config.model.layers.join("-")
    } ${config.model.activation}, ${config.gradient.method}, ${config.optimizer.kind} lr ${config.optimizer.learningRate})\n`,
  );
  const progress = createProgress({ terminal, write: out });
  const { runDir, summary } = await train(loaded, { progress });
  out(
    `done: test accuracy ${summary.testAccuracy.toFixed(4)}, train accuracy ${
      summary.trainAccuracy.toFixed(4)
    }, ${summary.iterations} iterations in ${
      summary.durationSeconds.toFixed(1)
    }s (${summary.samplesPerSecond} samples/s), seed ${summary.seed}\n`,
  );
  out(`run directory: ${runDir}\n`);
  return 0;
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
    throw new UsageError(`predict takes a model.json and an input file\n${USAGE}`);
  }
  const label = values["label-column"];
  const csv = await predictFile(positionals[0]!, positionals[1]!, {
    ...(label !== undefined ? { labelColumn: /^\d+$/.test(label) ? Number(label) : label } : {}),
    header: !values["no-header"],
  });
  if (values.out) {
    await writeFileAtomic(values.out, csv);
    err(`predictions written to ${values.out}\n`);
  } else out(csv);
  return 0;
}

async function schemaCommand(args: string[]): Promise<number> {
  const schema = JSON.stringify(z.toJSONSchema(ConfigSchema, { io: "input" }), null, 2) + "\n";
  if (args[0]) await writeFileAtomic(args[0], schema);
  else out(schema);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
