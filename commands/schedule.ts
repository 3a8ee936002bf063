/**
 * `deno task schedule <config>`: retrain on the config's cron schedule, each retraining in its
 * own process.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../pipeline/errors.ts";
import { loadConfig } from "../pipeline/load_config.ts";
import { print, printError, USAGE, usage } from "./cli.ts";

/** The permissions a training or retraining process needs (the tasks in deno.json give them). */
export const RUN_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=hostname",
  "--allow-run=kill",
  "--allow-net=127.0.0.1",
];

/** The CLI's entry module, which each scheduled retraining runs. */
const MAIN = join(import.meta.dirname!, "..", "main.ts");

/** Serve the schedule until stopped. */
export async function scheduleCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { set: { type: "string", multiple: true } },
    })
  );
  if (positionals.length !== 1) throw new UsageError(`schedule takes one config file\n${USAGE}`);
  const loaded = await loadConfig(positionals[0]!, values.set ?? []);
  const cron = loaded.config.schedule?.cron;
  if (!cron) {
    throw new UsageError(
      `${positionals[0]}: no schedule; add e.g. schedule: { cron: "0 3 * * *" } (UTC)`,
    );
  }
  print(
    `gradstream: retraining "${loaded.name}" on the schedule "${cron}" (UTC); Ctrl-C to stop\n`,
  );
  const retrainArgs = [positionals[0]!, ...(values.set ?? []).flatMap((s) => ["--set", s])];
  await Deno.cron(`gradstream-${loaded.name}`, cron, async () => {
    const code = await runIsolated(retrainArgs);
    print(`${new Date().toISOString()} retrain "${loaded.name}" exited ${code}\n`);
  });
  return await new Promise<number>(() => {}); // serves until stopped
}

/**
 * One scheduled retraining in its own process, so that a crash, a divergence or a memory
 * blow-up never stops the schedule. Returns the exit code.
 */
export async function runIsolated(args: string[]): Promise<number> {
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...RUN_PERMISSIONS, MAIN, "retrain", ...args],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return (await child.status).code;
  } catch (error) {
    printError(`error: could not start the retraining: ${(error as Error).message}\n`);
    return 1;
  }
}
