/**
 * What every command shares: the usage text, writing to stdout and stderr, and turning an
 * argument parser's complaint into a usage error (exit 2).
 * @module
 */
import { UsageError } from "../pipeline/errors.ts";

/** The commands and their arguments. */
export const USAGE = `usage:
  deno task train [config.yaml|json] [--set key=value]... [--resume <run dir>] [--log json]
      [--dashboard [port]] [--keep-serving] [--dashboard-host <address>]
  deno task retrain <config> [--set key=value]... [--log json]
  deno task schedule <config> [--queue redis://host:port [--remove]]
  deno task evaluate <run dir|model.json> [config] [--json]
  deno task predict <run dir|model.json> <input.csv|idx[.gz]> [--out predictions.csv] [--label-column N] [--no-header]
  deno task report <run dir>
  deno task serve <run dir|model.json|<dir>/<name>/current> [--port 8080] [--host 127.0.0.1]
  deno task export <run dir|model.json> --format onnx [--out model.onnx]
  deno task sweep <sweep.yaml> [--parallel N] [--queue redis://host:port] | --resume <sweep folder>
  deno task worker --queue redis://host:port [--concurrency N] [--lock-seconds 30]
  deno task schema [output.json]`;

/** Each command's `--help`: what it does, its arguments and options, and an example. */
export const HELP: Record<string, string> = {
  train: `deno task train [config.yaml|json] [options]

Train a network as the config describes (default: configs/default.yaml) and write a run
directory <output.dir>/<name>/<timestamp>/ with metrics, events, the model and a report.

Options:
  --set key=value        override any config key (the value is read as YAML; key=null removes
                         it); repeatable. Every key: docs/config.md
  --resume <run dir>     continue an interrupted run from its checkpoint (same config)
  --log json             one JSON event per line on stdout instead of progress text
  --dashboard [port]     serve a live dashboard (default port 8787; 0 picks a free one)
  --keep-serving         keep the dashboard up after the run ends
  --dashboard-host <a>   listen on another address than 127.0.0.1
  -h, --help             this help

Example:
  deno task train --set training.iterations=100 --set 'model.layers=[784, 50, 10]'`,
  retrain: `deno task retrain <config> [options]

Train a new model and promote it to <output.dir>/<name>/current only if it passes the config's
promotion gate against the current model on the same validation rows (the config needs
data.split.validation). Exit 0 promoted, 3 not promoted, 1 failed.

Options:
  --set key=value        override a config key; repeatable
  --resume <run dir>     continue an interrupted retraining (same gate, same lock)
  --log json             one JSON event per line on stdout
  -h, --help             this help

Example:
  deno task retrain examples/penguins.yaml`,
  schedule: `deno task schedule <config> [--set key=value]... [--queue redis://host:port [--remove]]

Retrain on the config's schedule (schedule.cron, 5 fields, UTC), each retraining in its own
process, until stopped. docs/runs.md describes cron and systemd alternatives.

With --queue, register the schedule in Redis as a BullMQ job scheduler instead and exit: at each
tick exactly one of the workers (deno task worker --queue …) retrains, under a Redis lock, into
the config's output folder, which must be shared storage. --remove takes the schedule off.
A queue schedule may start with a sixth field of seconds. docs/scale-out.md

Examples:
  deno task schedule configs/mine.yaml
  deno task schedule configs/mine.yaml --queue redis://10.0.0.5:6379`,
  evaluate: `deno task evaluate <run dir|model.json> [config] [--json]

Score a saved model on a config's data (default: the run's own config), with the model's stored
normalisation and table encoding: accuracy, per-class precision/recall/F1 and the confusion
matrix (regression: RMSE, MAE, R²). To score a labelled CSV, give a config whose data.source is
that file (for a table model, the same columns as its training file).

Options:
  --json                 the report as JSON
  -h, --help             this help

Example:
  deno task evaluate runs/default/latest`,
  predict: `deno task predict <run dir|model.json> <input.csv|idx[.gz]> [options]

Predictions CSV for new rows: row,class,probability,p_<class>… (regression: row,value). A table
model reads raw rows as in its training file (columns by name; text and blanks allowed).

Options:
  --out <file>           write the CSV there instead of stdout
  --label-column <N|name>  a column of true labels to echo next to each prediction
  --no-header            the CSV has no header line
  -h, --help             this help

Example:
  deno task predict runs/penguins/latest examples/penguins.csv --out predictions.csv`,
  report: `deno task report <run dir>

(Re)write a finished run's charts (loss, accuracy, confusion) and report.html.

Example:
  deno task report runs/default/latest`,
  serve: `deno task serve <run dir|model.json|<dir>/<name>/current> [options]

Serve predictions over HTTP: POST /v1/predict with {"rows": [...]} (each row an array of raw
values in the training order, or an object by column name), GET /v1/model, GET /healthz and
Prometheus GET /metrics. Serving a current link, a newly promoted model is loaded, checked and
swapped in; one that fails to load leaves the old one serving. SIGTERM finishes the requests in
flight and exits 0.

Options:
  --port <n>             the port [8080]; 0 picks a free one
  --host <address>       the address to listen on [127.0.0.1]
  --max-body-bytes <n>   bodies above this get 413 [10485760]
  --max-rows <n>         rows per request above this get 413 [10000]
  -h, --help             this help

Example:
  deno task serve runs/penguins/current --port 8080`,
  export: `deno task export <run dir|model.json> --format onnx [--out model.onnx]

Write the model as ONNX (opset 13; tables also use ai.onnx.ml): it takes the raw features and
applies the stored blank filling, one-hot encoding and normalisation, then the layers and the
output. Inputs and outputs: docs/model-format.md.

Options:
  --format onnx          the format (the only one)
  --out <file>           where to write it [model.onnx]
  -h, --help             this help

Example:
  deno task export runs/default/latest --format onnx --out digits.onnx`,
  sweep: `deno task sweep <sweep.yaml> [options]
deno task sweep --resume <sweep folder>

Search hyperparameters as the book's chapter 6 does: each trial is an ordinary run of the base
config with sampled values (applied as --set), judged on a validation metric, never the test
set. Writes <output.dir>/<name>/<timestamp>/ with trials.csv, best.json (the winner's config,
ready for deno task train), sweep.svg, curves.svg and report.html. The sweep file's keys:
docs/sweeps.md. Exit 0 with a best trial, 1 when none finished, 2 for a bad sweep file,
130/143 when stopped (running trials checkpoint; --resume continues).

Options:
  --parallel N           trials at once, each in its own process [sweep file, else the cores]
  --queue redis://h:p    put the trials on a BullMQ queue for deno task worker processes on any
                         machines (docs/scale-out.md); again with --resume to collect them
  --resume <folder>      continue a stopped sweep: finished trials are kept, stopped ones
                         continue from their checkpoints
  --quiet                no line per trial
  -h, --help             this help

Example:
  deno task sweep configs/ch06-search.yaml`,
  worker: `deno task worker --queue redis://host:port [options]

Take gradstream's jobs from a BullMQ queue until stopped: sweep trials (each an ordinary run in
a temporary folder; results go back through the queue, so no shared disk is needed) and
scheduled retrainings (promoted into the config's shared output folder under a Redis lock).
A worker killed mid-trial loses nothing: once its lock expires the trial runs again on another
worker. SIGINT/SIGTERM finish the jobs in hand; a second one exits at once. docs/scale-out.md

Options:
  --queue <url>          the Redis server, redis://[user:password@]host[:port][/db]
  --concurrency N        jobs at once, each in its own process [1]
  --lock-seconds S       how long a job's lock lasts without renewal: how soon a dead worker's
                         job runs again elsewhere [30]
  -h, --help             this help

Example:
  deno task worker --queue redis://10.0.0.5:6379 --concurrency 2`,
  schema: `deno task schema

Regenerate config.schema.json and docs/config.md from the zod schema (config/config.ts).
main.ts schema [file] prints the JSON Schema, or writes it to a file.`,
};

/** Whether the arguments ask for help. */
export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

const encoder = new TextEncoder();

/** Write to stdout: results and progress. */
export function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

/** Write to stderr: warnings and errors. */
export function printError(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** Run an argument parser, turning its complaint into a usage error (exit 2). */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

/** An integer option of at least `min` (undefined when not given), or a usage error naming it. */
export function integerOption(
  name: string,
  value: string | undefined,
  min: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} takes an integer of at least ${min} but found "${value}"`);
  }
  return n;
}
