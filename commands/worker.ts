/**
 * `deno task worker --queue redis://…`: take gradstream's jobs from the queue until stopped:
 * sweep trials (each an ordinary run in a temporary folder, results back through the queue)
 * and scheduled retrainings (under a Redis lock, promoting into the shared output directory).
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Job } from "bullmq";
import type { Config } from "../config/config.ts";
import { UsageError } from "../pipeline/errors.ts";
import { processTrialJob, type Redis, startWorker, type TrialJobData } from "../queue/queue.ts";
import { takeRedisLock } from "../queue/redis_lock.ts";
import { integerOption, print, printError, USAGE, usage } from "./cli.ts";
import { runIsolated } from "./schedule.ts";
import { TRAIN_COMMAND } from "./sweep.ts";
import { SIGNAL_EXIT } from "./train.ts";

/** A scheduled retraining's job data: the config (paths resolved) and its run name. */
export interface RetrainJobData {
  kind: "retrain";
  name: string;
  config: Config;
}

/** Retrain exit codes that are a retraining done: promoted (0) or kept the current model (3). */
const RETRAIN_DONE = [0, 3];

/** Run the worker until SIGINT/SIGTERM. */
export async function workerCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        queue: { type: "string" },
        concurrency: { type: "string" },
        "lock-seconds": { type: "string" },
      },
    })
  );
  if (positionals.length > 0 || values.queue === undefined) {
    throw new UsageError(`worker takes --queue redis://host:port\n${USAGE}`);
  }
  const concurrency = integerOption("concurrency", values.concurrency, 1) ?? 1;
  const lockSeconds = integerOption("lock-seconds", values["lock-seconds"], 1) ?? 30;
  const { close } = await startWorker({
    url: values.queue,
    concurrency,
    lockSeconds,
    log: (line) => print(line + "\n"),
    handlers: {
      trial: (job: Job, redis: Redis) =>
        processTrialJob(job as Job<TrialJobData>, TRAIN_COMMAND, redis),
      retrain: (job: Job, redis: Redis) => processRetrainJob(job as Job<RetrainJobData>, redis),
    },
  });
  print(
    `gradstream worker: taking jobs from ${values.queue}, ${concurrency} at a time; Ctrl-C to stop\n`,
  );
  // The first signal finishes the jobs in hand; a second exits now (its jobs stall and return
  // to the queue for another worker once their locks expire).
  const stopped = Promise.withResolvers<number>();
  let stopping = false;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => {
    const handler = () => {
      if (stopping) Deno.exit(SIGNAL_EXIT[name]);
      stopping = true;
      printError(`received ${name}: finishing the jobs in hand (again to exit at once)\n`);
      close().then(() => stopped.resolve(SIGNAL_EXIT[name]));
    };
    Deno.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  const code = await stopped.promise;
  for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
  return code;
}

/**
 * One scheduled retraining: under a Redis lock on its output folder and name, so that two
 * workers never promote the same model at once (the lock file beside `current` guards one
 * machine; this one guards them all). A retraining that promoted or kept the current model is
 * a done job; anything else fails the job with the retraining's exit code.
 */
async function processRetrainJob(job: Job<RetrainJobData>, redis: Redis): Promise<unknown> {
  const { config, name } = job.data;
  const lock = await takeRedisLock(redis, `gradstream:retrain:${join(config.output.dir, name)}`);
  const dir = await Deno.makeTempDir({ prefix: "gradstream-retrain-" });
  try {
    const file = join(dir, `${name}.json`);
    await Deno.writeTextFile(file, JSON.stringify({ ...config, name }));
    const code = await runIsolated([file]);
    if (!RETRAIN_DONE.includes(code)) throw new Error(`the retraining of "${name}" exited ${code}`);
    return { code, promoted: code === 0 };
  } finally {
    await lock.release();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
