/**
 * `deno task schema`: the config's JSON Schema and its Markdown reference, both generated from
 * the zod schema. `--write` (what the task passes) writes `config.schema.json` and
 * `docs/config.md` into the repository; a file name writes the JSON Schema there; neither
 * prints it.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { configJsonSchema, GENERATED as CONFIG_FILES } from "../config/docs.ts";
import { ModelFileSchema } from "../pipeline/model_file.ts";
import { UsageError } from "../pipeline/errors.ts";
import { writeFileAtomic } from "../pipeline/run_dir.ts";
import { print, USAGE, usage } from "./cli.ts";

const REPOSITORY = join(import.meta.dirname!, "..");

/** model.json's JSON Schema (docs/model-format.md describes it). */
export function modelJsonSchema(): string {
  return JSON.stringify(z.toJSONSchema(ModelFileSchema, { io: "input" }), null, 2) + "\n";
}

/** Every file `deno task schema` writes, by its path in the repository. */
export const GENERATED: Record<string, () => string> = {
  ...CONFIG_FILES,
  "docs/model.schema.json": modelJsonSchema,
};

/** Write or print the schema. */
export async function schemaCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({ args, allowPositionals: true, options: { write: { type: "boolean" } } })
  );
  if (positionals.length > 1) throw new UsageError(`schema takes at most one file\n${USAGE}`);
  if (values.write) {
    for (const [file, generate] of Object.entries(GENERATED)) {
      await writeFileAtomic(join(REPOSITORY, file), generate());
      print(`wrote ${file}\n`);
    }
  }
  if (positionals[0]) await writeFileAtomic(positionals[0], configJsonSchema());
  else if (!values.write) print(configJsonSchema());
  return 0;
}
