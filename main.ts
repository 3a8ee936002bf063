/**
 * The gradstream command line.
 *
 *   deno task train [config] [--set key=value]… [--resume dir] [--log json]
 *   deno task retrain <config> [--log json]       train, then promote if it passes the gate
 *   deno task schedule <config>                    retrain on the config's cron schedule
 *   deno task evaluate <run dir|model.json> [config] [--json]
 *   deno task predict <run dir|model.json> <input.csv|idx[.gz]> [--out file] [--label-column N]
 *   deno task report <run dir>                     (re)write a run's charts and report.html
 *   deno task serve <run dir|model.json|current>   serve predictions over HTTP
 *   deno task export <run dir|model.json> --format onnx [--out model.onnx]
 *   deno task sweep <sweep.yaml> [--parallel N]   hyperparameter search on validation data
 *   deno task sweep --resume <sweep dir>           continue a stopped sweep
 *   deno task sweep <sweep.yaml> --queue redis://… trials on a BullMQ queue
 *   deno task worker --queue redis://…             run queued trials and scheduled retrainings
 *   deno task schema [file]                        the config's JSON Schema
 *
 * Exit codes: 0 success, 1 runtime failure (data error, divergence), 2 usage or config error,
 * 3 retrained but not promoted, 130/143 stopped by SIGINT/SIGTERM (checkpoint written).
 * @module
 */
import { HELP, print, printError, USAGE, wantsHelp } from "./commands/cli.ts";
import { evaluateCommand } from "./commands/evaluate.ts";
import { exportCommand } from "./commands/export.ts";
import { predictCommand } from "./commands/predict.ts";
import { reportCommand } from "./commands/report.ts";
import { scheduleCommand } from "./commands/schedule.ts";
import { schemaCommand } from "./commands/schema.ts";
import { serveCommand } from "./commands/serve.ts";
import { sweepCommand } from "./commands/sweep.ts";
import { trainCommand } from "./commands/train.ts";
import { ConfigError } from "./config/errors.ts";
import { UsageError } from "./pipeline/errors.ts";

export { RUN_PERMISSIONS, RUN_V8_FLAGS, runIsolated } from "./commands/schedule.ts";

const HELP_FOOTER = "deno task <command> --help: a command's options and an example.";

/** Exit codes: a usage or config error, and a failure at run time. */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

/** Run one command; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== undefined && HELP[command] && wantsHelp(rest)) {
    print(HELP[command] + "\n");
    return 0;
  }
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
      case "serve":
        return await serveCommand(rest);
      case "export":
        return await exportCommand(rest);
      case "sweep":
        return await sweepCommand(rest);
      case "worker": {
        // Loaded only here: BullMQ and its Redis client double every command's start-up time.
        const { workerCommand } = await import("./commands/worker.ts");
        return await workerCommand(rest);
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        print(`${USAGE}\n\n${HELP_FOOTER}\n`);
        return command === undefined ? EXIT_USAGE : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      printError(`${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      printError(`error: ${error.message}\n`);
      return EXIT_USAGE;
    }
    const e = error instanceof Error ? error : new Error(String(error));
    printError(`error: ${e.message}\n`);
    if (Deno.env.get("GRADSTREAM_DEBUG")) printError(`${e.stack}\n`);
    return EXIT_FAILURE;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
