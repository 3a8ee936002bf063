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
  deno task schedule <config>
  deno task evaluate <run dir|model.json> [config] [--json]
  deno task predict <run dir|model.json> <input.csv|idx[.gz]> [--out predictions.csv] [--label-column N] [--no-header]
  deno task report <run dir>
  deno task schema [output.json]`;

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
