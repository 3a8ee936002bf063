/**
 * `deno task schedule <config>`: retrain on the config's cron schedule, each retraining in its
 * own process.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../pipeline/errors.ts";
import { loadConfig, type LoadedConfig } from "../pipeline/load_config.ts";
import { print, printError, USAGE, usage } from "./cli.ts";

/** The permissions a training or retraining process needs (the tasks in deno.json give them). */
export const RUN_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  // The system's OpenBLAS for the trainer's dense products (engine/trainer/openblas.ts).
  "--allow-ffi",
  "--allow-sys=hostname",
  "--allow-run=kill",
  "--allow-net=127.0.0.1",
];

/**
 * The V8 flags of every process that trains, as the deno.json tasks that train give them: a
 * young generation of 4 MB semi-spaces. V8's default let it grow with the run, and a 30-epoch
 * Fashion-MNIST run peaked at 456 MiB against 394 MiB with these (one run each; its heap
 * stayed under 40 MB instead of growing to 105 MB), the default run at 224 MiB against 210
 * MiB (median of 7 pairs), and neither got slower (wall time 0.98 and 0.95 of the default's).
 */
export const RUN_V8_FLAGS = ["--v8-flags=--max-semi-space-size=4"];

/** The CLI's entry module, which each retraining and each sweep trial runs in its own process. */
export const MAIN = join(import.meta.dirname!, "..", "main.ts");

/** Serve the schedule until stopped. */
export async function scheduleCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        set: { type: "string", multiple: true },
        queue: { type: "string" },
        remove: { type: "boolean" },
      },
    })
  );
  if (positionals.length !== 1) throw new UsageError(`schedule takes one config file\n${USAGE}`);
  const loaded = await loadConfig(positionals[0]!, values.set ?? []);
  if (values.queue !== undefined) {
    return await scheduleOnQueue(loaded, values.queue, !!values.remove);
  }
  if (values.remove) throw new UsageError(`--remove takes a schedule off a queue: give --queue`);
  const cron = loaded.config.schedule?.cron;
  if (!cron) {
    throw new UsageError(
      `${positionals[0]}: no schedule; add e.g. schedule: { cron: "0 3 * * *" } (UTC)`,
    );
  }
  if (cron.trim().split(/\s+/).length === 6) {
    throw new UsageError(
      `${
        positionals[0]
      }: "${cron}" has a seconds field, which only schedule --queue (BullMQ) takes; this schedule runs on Deno.cron: 5 fields`,
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

/** How long finished retraining jobs stay in Redis, to look back at past ticks: 7 days. */
const KEEP_SECONDS = 7 * 24 * 3600;

/**
 * Register the config's cron as a BullMQ job scheduler (or take it off with `remove`): Redis
 * then holds the schedule, and at each tick exactly one of the workers (`deno task worker`)
 * takes the retraining. Registering again replaces the schedule, never doubles it.
 */
async function scheduleOnQueue(
  loaded: LoadedConfig,
  url: string,
  remove: boolean,
): Promise<number> {
  // Loaded only here: BullMQ and its Redis client double the start-up time of every command.
  const { Queue } = await import("bullmq");
  const { connectionOf, QUEUE_NAME, ready } = await import("../queue/queue.ts");
  const connection = usage(() => connectionOf(url));
  const queue = new Queue(QUEUE_NAME, { connection });
  queue.on("error", () => {});
  try {
    await ready(queue, connection);
    const id = `retrain-${loaded.name}`;
    if (remove) {
      const removed = await queue.removeJobScheduler(id);
      print(`${removed ? "removed" : "there was no"} schedule "${id}" on ${url}\n`);
      return 0;
    }
    const cron = loaded.config.schedule?.cron;
    if (!cron) {
      throw new UsageError(
        `${loaded.file}: no schedule; add e.g. schedule: { cron: "0 3 * * *" } (UTC)`,
      );
    }
    await queue.upsertJobScheduler(id, { pattern: cron.trim(), tz: "UTC" }, {
      name: "retrain",
      data: { kind: "retrain", name: loaded.name, config: loaded.config },
      opts: { removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS } },
    });
    print(
      `scheduled "${id}" on ${url}: "${cron}" (UTC); workers (deno task worker --queue ${url}) run each tick once; the promotion folder ${
        join(loaded.config.output.dir, loaded.name)
      } must be the same shared path on every worker\n`,
    );
    return 0;
  } finally {
    await queue.close();
  }
}

/**
 * One scheduled retraining in its own process, so that a crash, a divergence or a memory
 * blow-up never stops the schedule. Returns the exit code.
 */
export async function runIsolated(args: string[]): Promise<number> {
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...RUN_V8_FLAGS, ...RUN_PERMISSIONS, MAIN, "retrain", ...args],
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
