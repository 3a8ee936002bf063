/**
 * `deno task export <run dir|model.json> --format onnx [--out model.onnx]`.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../pipeline/errors.ts";
import { openModel } from "../pipeline/model_file.ts";
import { toOnnx } from "../pipeline/onnx.ts";
import { writeFileAtomic } from "../pipeline/run_dir.ts";
import { print, USAGE, usage } from "./cli.ts";

/** Write the model in another format (ONNX). */
export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { format: { type: "string" }, out: { type: "string" } },
    })
  );
  if (positionals.length !== 1) {
    throw new UsageError(`export takes a run directory or model.json\n${USAGE}`);
  }
  if (values.format !== "onnx") {
    throw new UsageError(
      `--format takes onnx (the only format) but found "${values.format ?? ""}"`,
    );
  }
  const { file } = await openModel(positionals[0]!);
  const out = values.out ?? "model.onnx";
  await writeFileAtomic(out, toOnnx(file));
  print(`wrote ${out}\n`);
  return 0;
}
