/**
 * `deno task report <run dir>`, and the report a training command writes when it finishes.
 * @module
 */
import { join } from "node:path";
import { UsageError } from "../pipeline/errors.ts";
import { type ReportInputs, writeReport } from "../report/report.ts";
import { print, printError, USAGE } from "./cli.ts";

/** (Re)write a finished run's charts and report.html. */
export async function reportCommand(args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError(`report takes one run directory\n${USAGE}`);
  try {
    await Deno.stat(join(args[0]!, "summary.json"));
  } catch {
    throw new UsageError(`${args[0]}: not a finished run directory (no summary.json)`);
  }
  for (const file of await writeReport(args[0]!)) print(`${file}\n`);
  return 0;
}

/**
 * The report of a run that just finished, from the model and test split still in memory.
 * Returns false when it could not be written: the command then exits 1, after saying that the
 * model, summary and checkpoint are saved and how to retry.
 */
export async function reportAfterTraining(runDir: string, inputs: ReportInputs): Promise<boolean> {
  try {
    await writeReport(runDir, inputs);
    return true;
  } catch (error) {
    printError(
      `error: the report was not written: ${
        (error as Error).message
      }\nThe model and summary are saved in ${runDir}; retry the report with: deno task report ${runDir}\n`,
    );
    return false;
  }
}
