/**
 * `deno task predict <run dir|model.json> <input> [--out file] [--label-column N] [--no-header]`.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../pipeline/errors.ts";
import { predictFile } from "../pipeline/predict.ts";
import { writeFileAtomic } from "../pipeline/run_dir.ts";
import { print, printError, USAGE, usage } from "./cli.ts";

/** Predictions CSV for an input file, to stdout or `--out`. */
export async function predictCommand(args: string[]): Promise<number> {
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
    onWarning: (message) => printError(`warning: ${message}\n`),
  });
  if (values.out) {
    await writeFileAtomic(values.out, csv);
    printError(`predictions written to ${values.out}\n`);
  } else print(csv);
  return 0;
}
