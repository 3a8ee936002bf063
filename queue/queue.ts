/**
 * Trials on a BullMQ queue in Redis, for sweeps that outgrow one machine: the sweep process
 * adds one job per trial and reads each trial's evaluations (job progress) and outcome (the
 * job's return value); `deno task worker` processes on any number of machines take the jobs
 * and run each trial as an ordinary run in a temporary folder, so workers need no shared disk.
 * A worker that dies mid-trial leaves its job's lock to expire; BullMQ's stalled-job check
 * returns the job to the queue and another worker runs it again (the seeds give the same
 * numbers). Job ids are the sweep's id and the trial number, so a trial is added once however
 * often a sweep is resumed.
 * @module
 */
import { join } from "node:path";
import { Job, Queue, QueueEvents, Worker } from "bullmq";
import type { Config } from "../config/config.ts";
import type { TrialRunner } from "../sweep/sweep.ts";
import { runTrial, type TrainCommand, type TrialOutcome, type TrialSpec } from "../sweep/trial.ts";

/** The queue every gradstream job goes through (trials, scheduled retrainings). */
export const QUEUE_NAME = "gradstream";
/** How long finished jobs (and their results) stay in Redis for a resumed sweep: 7 days. */
const KEEP_SECONDS = 7 * 24 * 3600;
/** How often a worker looks for a request to stop its trial (a pruned trial), in ms. */
const STOP_POLL_MS = 250;
/** How long to wait for Redis before saying it cannot be reached. */
const CONNECT_TIMEOUT_MS = 5000;

/** ioredis connection options from a `redis://[user:password@]host[:port][/db]` URL. */
export interface Connection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
  /** BullMQ's workers block on Redis; ioredis must not give up on a slow command. */
  maxRetriesPerRequest: null;
}

/** Parse a queue URL; a clear error for anything else. */
export function connectionOf(url: string): Connection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`--queue expects a URL such as redis://127.0.0.1:6379, not "${url}"`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new RangeError(
      `--queue expects a redis:// (or rediss://) URL such as redis://127.0.0.1:6379, not "${url}"`,
    );
  }
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) {
    throw new RangeError(
      `--queue: the path of "${url}" must be a database number (/0), not /${db}`,
    );
  }
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== "" ? { db: Number(db) } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** Wait until a BullMQ object's connection is up, or fail with where it tried. */
export async function ready(
  what: { waitUntilReady(): Promise<unknown> },
  connection: Connection,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      what.waitUntilReady(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `cannot reach Redis at ${connection.host}:${connection.port} within ${
                  CONNECT_TIMEOUT_MS / 1000
                } s`,
              ),
            ),
          CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A trial job's data: the trial and the whole base config (workers share no disk). */
export interface TrialJobData {
  kind: "trial";
  spec: Omit<TrialSpec, "base" | "outputDir" | "resume">;
  base: Config;
}

/** The key a sweep sets to ask the worker running a job to stop it. */
function stopKey(jobId: string): string {
  return `gradstream:stop:${jobId}`;
}

/**
 * Trials through the queue: each `run` adds the trial's job (or finds it, resuming) and
 * resolves with the worker's outcome. Stopping a trial for the pruning rule asks its worker
 * to stop it; stopping the sweep only stops waiting (the jobs run on, and a resumed sweep
 * collects their results).
 */
export async function queueRunner(
  url: string,
  sweepId: string,
  base: Config,
): Promise<{ run: TrialRunner; close(): Promise<void> }> {
  const connection = connectionOf(url);
  const queue = new Queue(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  queue.on("error", () => {}); // reconnects on its own; a dead server shows as a timeout
  events.on("error", () => {});
  await ready(queue, connection);
  await ready(events, connection);
  const listeners = new Map<string, (event: Record<string, unknown>) => void>();
  events.on("progress", ({ jobId, data }) => {
    if (data && typeof data === "object") listeners.get(jobId)?.(data as Record<string, unknown>);
  });
  const run: TrialRunner = async (spec, { onEvent, signal }) => {
    const jobId = `${sweepId}-trial-${spec.trial}`;
    listeners.set(jobId, onEvent);
    const data: TrialJobData = {
      kind: "trial",
      spec: {
        trial: spec.trial,
        values: spec.values,
        seed: spec.seed,
        splitSeed: spec.splitSeed,
      },
      base,
    };
    const job = await queue.add("trial", data, {
      jobId,
      removeOnComplete: { age: KEEP_SECONDS },
      removeOnFail: { age: KEEP_SECONDS },
    });
    const detached = Promise.withResolvers<TrialOutcome>();
    const onAbort = async () => {
      if (signal.reason === "pruned") {
        await (await queue.client).set(stopKey(jobId), "1", { EX: KEEP_SECONDS });
      } else {
        detached.resolve(stoppedOutcome("the sweep stopped waiting for this trial"));
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await Promise.race([
        job.waitUntilFinished(events).then((r) => r as TrialOutcome),
        detached.promise,
      ]);
    } catch (error) {
      return { ...stoppedOutcome(`the worker failed: ${(error as Error).message}`), code: 1 };
    } finally {
      signal.removeEventListener("abort", onAbort);
      listeners.delete(jobId);
    }
  };
  return {
    run,
    close: async () => {
      await events.close();
      await queue.close();
    },
  };
}

function stoppedOutcome(why: string): TrialOutcome {
  return { code: 143, runDir: null, summary: null, evaluations: [], errorTail: why, seconds: 0 };
}

/**
 * Run a trial job here: the base config into a temporary folder, the trial as an ordinary run
 * there, its evaluations reported as job progress; the folder is removed afterwards (the
 * outcome carries the summary and every evaluation back).
 */
export async function processTrialJob(
  job: Job<TrialJobData>,
  command: TrainCommand,
  redis: Redis,
  options: { signal?: AbortSignal } = {},
): Promise<TrialOutcome> {
  const dir = await Deno.makeTempDir({ prefix: "gradstream-trial-" });
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const poll = setInterval(async () => {
    try {
      if (await redis.get(stopKey(job.id!))) stop.abort();
    } catch { /* the next poll tries again */ }
  }, STOP_POLL_MS);
  try {
    const base = join(dir, "base.json");
    await Deno.writeTextFile(base, JSON.stringify(job.data.base));
    const outcome = await runTrial(
      command,
      { ...job.data.spec, base, outputDir: join(dir, "trials") },
      {
        signal: stop.signal,
        onEvent: (event) => {
          if (event.event === "evaluation") job.updateProgress(event).catch(() => {});
        },
      },
    );
    // The run folder is removed below: what the sweep needs travels in the outcome.
    return { ...outcome, runDir: null };
  } finally {
    clearInterval(poll);
    options.signal?.removeEventListener("abort", onAbort);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Options of {@linkcode startWorker}. */
export interface WorkerOptions {
  url: string;
  concurrency: number;
  /** Seconds a job's lock lasts without renewal: how soon a dead worker's trial runs again [30]. */
  lockSeconds?: number;
  /** The jobs this worker knows, by name; `redis` is a client for their own keys (locks, stops). */
  handlers: Record<string, (job: Job, redis: Redis) => Promise<unknown>>;
  log?: (line: string) => void;
}

/** A Redis client as BullMQ holds it. */
export type Redis = Awaited<Queue["client"]>;

/** Take jobs from the queue until closed. */
export async function startWorker(
  options: WorkerOptions,
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const connection = connectionOf(options.url);
  // A queue handle of its own, for the jobs' Redis keys (the worker's connections block).
  const control = new Queue(QUEUE_NAME, { connection });
  control.on("error", () => {});
  await ready(control, connection);
  const redis = await control.client;
  const lockDuration = (options.lockSeconds ?? 30) * 1000;
  const log = options.log ?? (() => {});
  const worker = new Worker(
    QUEUE_NAME,
    async (job) => {
      const handler = options.handlers[job.name];
      if (!handler) throw new Error(`this worker does not know jobs named "${job.name}"`);
      log(`${new Date().toISOString()} ${job.name} ${job.id} started`);
      try {
        const result = await handler(job, redis);
        log(`${new Date().toISOString()} ${job.name} ${job.id} ended`);
        return result;
      } catch (error) {
        log(
          `${new Date().toISOString()} ${job.name} ${job.id} failed: ${(error as Error).message}`,
        );
        throw error;
      }
    },
    {
      connection,
      concurrency: options.concurrency,
      lockDuration,
      // Check for dead workers' jobs as often as a lock would expire.
      stalledInterval: lockDuration,
      // A trial whose workers keep dying is failed after three tries, not retried forever.
      maxStalledCount: 3,
      autorun: false,
    },
  );
  worker.on("error", (error) => log(`queue error: ${error.message}`));
  await ready(worker, connection);
  worker.run();
  return {
    worker,
    close: async () => {
      await worker.close();
      await control.close();
    },
  };
}
