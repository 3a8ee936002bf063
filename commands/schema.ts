/**
 * `deno task schema [output.json]`: the config's JSON Schema, generated from zod.
 * @module
 */
import { z } from "zod";
import { ConfigSchema } from "../config/config.ts";
import { writeFileAtomic } from "../pipeline/run_dir.ts";
import { print } from "./cli.ts";

/** The JSON Schema of a config (for editors), to stdout or a file. */
export async function schemaCommand(args: string[]): Promise<number> {
  const schema = JSON.stringify(z.toJSONSchema(ConfigSchema, { io: "input" }), null, 2) + "\n";
  if (args[0]) await writeFileAtomic(args[0], schema);
  else print(schema);
  return 0;
}
