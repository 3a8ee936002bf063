/**
 * `deno task evaluate <run dir|model.json> [config] [--json]`.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../pipeline/errors.ts";
import { evaluateRun, formatReport } from "../pipeline/evaluate_run.ts";
import { print, USAGE, usage } from "./cli.ts";

/** Scores of a saved model on a config's data (the run's own by default). */
export async function evaluateCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean" } } })
  );
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError(
      `evaluate takes a run directory or model.json, and optionally a config\n${USAGE}`,
    );
  }
  const report = await evaluateRun(positionals[0]!, positionals[1]);
  print(values.json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report) + "\n");
  return 0;
}
