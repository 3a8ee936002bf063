/**
 * A training run from a validated config: the stages wired into one RxJS pipeline and fed by
 * the feedback loop (training_loop.ts), observed by the recorder (recorder.ts), resumable from
 * checkpoints (resume.ts), finished by finish.ts. The caller writes the report.
 * @module
 */
import { join } from "node:path";
import { tap } from "rxjs";
import { BatchSampler } from "../data/sampler.ts";
import { compacted, type Dataset } from "../data/dataset.ts";
import type { Engine, Predictor } from "../engine/engine.ts";
import { kernelPredictor } from "../engine/network_engine.ts";
import { createOptimizer } from "../nn/optimizers.ts";
import { deriveSeed } from "../nn/random.ts";
import { evaluate } from "../stages/evaluate.ts";
import { gradient } from "../stages/gradient.ts";
import { sampleBatch } from "../stages/sample_batch.ts";
import { update } from "../stages/update.ts";
import {
  CHECKPOINT_FILE,
  CheckpointError,
  readCheckpoint,
  type TrainingState,
} from "./checkpoint.ts";
import { EarlyStopping } from "./early_stopping.ts";
import { InterruptedError, UsageError } from "./errors.ts";
import { finish, type Summary } from "./finish.ts";
export type { Summary };
import type { LoadedConfig } from "./load_config.ts";
import type { Progress } from "./progress.ts";
import { RunCounters, RunRecorder } from "./recorder.ts";
import { checkFingerprint, checkpoint, restore, type Resumable } from "./resume.ts";
import { metricColumns, removeStaleTemps, RunDirectory } from "./run_dir.ts";
import {
  checkWritable,
  classWeightsFor,
  createEngine,
  createNetwork,
  effectiveBackend,
  learningRateAt,
  loadData,
  residentTrainer,
  resolvedConfig,
  resolveProducts,
  scheduleOf,
} from "./setup.ts";
import { runLoop } from "./training_loop.ts";
import { density } from "../engine/trainer/wasm_trainer.ts";
import { acquireLock } from "./lock.ts";

/** The share of the most frequent class among the training rows. */
function majorityShare(train: Dataset): number {
  const counts = new Array(train.classes).fill(0);
  for (const label of train.labels) counts[label]++;
  return Math.max(...counts) / Math.max(train.count, 1);
}

/** Put a checkpoint back; a state that does not fit this run names the checkpoint. */
function restoreFrom(runDir: string, parts: Resumable, state: TrainingState): number {
  try {
    return restore(parts, state);
  } catch (error) {
    throw new CheckpointError(
      `${join(runDir, CHECKPOINT_FILE)}: does not fit this run: ${(error as Error).message}`,
    );
  }
}

/** The real path of a run directory given directly or through a link such as `latest`. */
async function resolveRunDir(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    throw new UsageError(`${path}: no such run directory to resume`);
  }
}

/** The lock a training holds on its run directory (removed when it ends). */
const RUN_LOCK = "run.lock";
const RUN_HOLDER = "process training this run directory";

/** What a finished run returns; the trained model and its test split serve the report. */
export interface TrainResult {
  runDir: string;
  summary: Summary;
  model: Predictor;
  test: Dataset;
}

/** Options of {@linkcode train}. */
export interface TrainOptions {
  progress?: Progress;
  /** Every event also written to events.jsonl (started, evaluation, checkpoint, …). */
  onEvent?: (event: Record<string, unknown>) => void;
  /** Aborting finishes the current step, writes a checkpoint and rejects with InterruptedError. */
  signal?: AbortSignal;
  /** Continue the run in this directory from its checkpoint. */
  resume?: string;
  /** The clock, in seconds (tests may fix it). */
  now?: () => number;
}

/**
 * Run the config's training end to end.
 *
 * @example
 * ```ts ignore
 * import { loadConfig } from "./load_config.ts";
 * import { train } from "./train.ts";
 * const { summary, runDir } = await train(await loadConfig("configs/default.yaml"));
 * console.log(summary.testAccuracy, runDir);
 * ```
 */
export async function train(
  loaded: LoadedConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const { name } = loaded;
  const now = options.now ?? (() => performance.now() / 1000);
  const started = now();
  // `--resume <dir>/latest`: continue the run the link points at, never the link itself.
  if (options.resume) options = { ...options, resume: await resolveRunDir(options.resume) };
  const resumed = options.resume ? await readCheckpoint(options.resume) : null;
  if (resumed) checkFingerprint(resumed, loaded.config, options.resume!);
  else await checkWritable(join(loaded.config.output.dir, name));

  const { splits, config } = await loadData(loaded);
  for (const warning of splits.warnings ?? []) options.progress?.line(`warning: ${warning}`);
  // Before the run directory exists: a class weight naming no class fails here.
  const classWeights = classWeightsFor(config, splits.train);
  const backend = effectiveBackend(config);
  const net = createNetwork(config);
  // Before the run directory exists too: a run that asks for OpenBLAS where it does not load.
  const products = residentTrainer(config, net, classWeights)
    ? resolveProducts(
      config,
      resumed && { runDir: options.resume!, recorded: resumed.products },
    )
    : null;
  // What killed writers left goes first: on a full disk it is what takes the room.
  if (resumed) await removeStaleTemps(options.resume!);
  // One process per run directory: a second resume of the same run is refused.
  const runLock = resumed ? await acquireLock(join(options.resume!, RUN_LOCK), RUN_HOLDER) : null;
  const run = resumed
    ? await RunDirectory.reopen(options.resume!, resumed.nextIteration).catch(async (error) => {
      await runLock?.release();
      throw error;
    })
    : await RunDirectory.create(
      config.output.dir,
      name,
      new Date(),
      metricColumns(config.task, splits.validation !== undefined),
    );
  const lock = runLock ?? await acquireLock(join(run.path, RUN_LOCK), RUN_HOLDER);
  const emit = (event: Record<string, unknown>) => {
    const stamped = { time: new Date().toISOString(), ...event };
    run.event(stamped);
    options.onEvent?.(stamped);
  };
  const optimizer = createOptimizer(config.optimizer);
  let engine: Engine | null = null;
  const writes = new BackgroundWrites();
  try {
    if (!resumed) await run.writeJson("config.json", { ...resolvedConfig(config, name), backend });
    const { train } = splits;
    const trainer = engine = createEngine(
      config,
      net,
      optimizer,
      products && {
        products,
        // Only OpenBLAS's choice of products for layer 1 reads it.
        inputDensity: products === "openblas" ? density(train.x, train.count * train.features) : 1,
      },
    );
    // Backprop on an engine that holds the training rows names each batch's rows: no copy
    // of them a step (a 784-50-10 step through the CLI went from 0.44 to 0.40 ms, measured).
    const rowsHeld = config.gradient.method === "backprop" &&
      (trainer.holdRows?.({ rows: train.count, cols: train.features, data: train.x }) ?? false);
    const sampler = new BatchSampler(
      splits.train.count,
      config.training.batchSize,
      config.training.sampling,
      deriveSeed(config.seed, "sampler"),
    );
    const perEpoch = sampler.iterationsPerEpoch;
    const { total, evaluateEvery, checkpointEvery, checkpointSpacing } = scheduleOf(
      config,
      perEpoch,
    );
    const stopping = config.evaluation.earlyStopping
      ? new EarlyStopping(config.evaluation.earlyStopping)
      : null;
    const counters = new RunCounters(perEpoch, now);
    const parts: Resumable = { config, engine, sampler, stopping, counters, products };
    const start = resumed ? restoreFrom(options.resume!, parts, resumed) : 0;
    emit(
      resumed
        ? { event: "resumed", name, seed: config.seed, iteration: start, runDir: run.path }
        : { event: "started", name, seed: config.seed, config: loaded.file, runDir: run.path },
    );
    for (const message of splits.warnings ?? []) emit({ event: "warning", message });
    if (lock.warning) emit({ event: "warning", message: lock.warning });
    const { progress } = options;
    const recorder = new RunRecorder({
      run,
      counters,
      emit,
      checkpointEvery,
      checkpointSpacing,
      progress,
      ...(config.task === "classification" ? { chanceAccuracy: majorityShare(splits.train) } : {}),
    });
    progress?.start(total);
    counters.startClock();

    let stoppedEarly = false;
    const last = await runLoop(
      start,
      total,
      (iterations) =>
        iterations.pipe(
          tap((i) => optimizer.learningRate = learningRateAt(config, i, perEpoch)),
          sampleBatch(splits.train, sampler, {
            oneHot: config.data.oneHot,
            classWeights,
            reuseRows: true,
          }),
          gradient(trainer, config.gradient, { rowsHeld }),
          update(trainer, config.training),
          evaluate(trainer, splits, { every: evaluateEvery, lastIteration: total - 1 }),
        ),
      (step) => {
        writes.check();
        const checkpointDue = recorder.record(step);
        if (step.evaluation && stopping?.observe(step.evaluation, trainer.readParams())) {
          stoppedEarly = true;
        }
        const done = step.iteration + 1;
        if (stoppedEarly || done >= total) return true;
        const interrupted = options.signal?.aborted;
        if (!interrupted && !checkpointDue) return false;
        // The rows up to this checkpoint are on disk before it (resume keeps exactly those).
        run.flush();
        if (interrupted) {
          return writes.settled().then(() => checkpoint(run.path, parts, done, emit)).then(() => {
            const reason = String(options.signal!.reason ?? "interrupted");
            throw new InterruptedError(reason, run.path, done);
          });
        }
        return writes.start(() => checkpoint(run.path, parts, done, emit));
      },
      () => writes.pending,
    );
    await writes.settled();
    writes.check();
    const trainSeconds = counters.elapsed();
    progress?.done();
    engine.readParams();
    engine.dispose();
    // The final evaluation sees the network as evaluate, predict and serve do: in float64.
    const model = kernelPredictor(net);
    const summary = await finish(run, {
      name,
      config,
      splits,
      model,
      counters,
      stopping,
      stoppedEarly,
      iterationsDone: last ? last.iteration + 1 : start,
      perEpoch,
      resumed: resumed !== null,
      engine: engine.description ?? engine.name,
      durationSeconds: now() - started,
      trainSeconds,
      emit,
      progress,
    });
    // A finished run is not resumed: its checkpoint only takes space, unless asked to keep it.
    if (!config.training.checkpoint.keep) {
      await Deno.remove(join(run.path, CHECKPOINT_FILE)).catch(() => {});
    }
    await run.markLatest();
    // The test rows on their own (a view of the whole data, from partitionInPlace, would keep
    // all of it alive through the report), and the training rows given back now: nothing reads
    // them after the final evaluation, and a garbage collection came only during the report,
    // which made its start the run's peak (Fashion-MNIST: 188 MB of training rows).
    const test = compacted(splits.test);
    release(splits, test);
    return { runDir: run.path, summary, model, test };
  } catch (error) {
    if (!(error instanceof InterruptedError)) {
      emit({ event: "error", name: (error as Error).name, message: (error as Error).message });
    } else emit({ event: "interrupted", reason: error.reason, iteration: error.iteration });
    throw error;
  } finally {
    // A checkpoint still being written finishes before the run's files close.
    await writes.settled();
    engine?.dispose();
    run.close();
    await lock.release();
  }
}

/** Free the memory of the splits' rows now, except the rows of `keep`. */
function release(splits: { train: Dataset; validation?: Dataset }, keep: Dataset): void {
  for (const ds of [splits.train, splits.validation]) {
    const buffer = ds?.x.buffer;
    // transfer(0) detaches the array and frees what it held at once.
    if (buffer instanceof ArrayBuffer && buffer !== keep.x.buffer && !buffer.detached) {
      buffer.transfer(0);
    }
  }
}

/**
 * Checkpoints written while training goes on. The state is encoded when the write starts
 * (writeCheckpoint encodes before its first await), so the file holds that step's state; the
 * file write and its fsync overlap the next steps. One write at a time: a checkpoint due while
 * the last one is still being written waits for it. A failed write fails the run at its next
 * step. Awaiting each write cost the default run 1.3 s of its 5.6 s, mostly in fsync (measured
 * with checkpoints off).
 */
class BackgroundWrites {
  #pending: Promise<void> | null = null;
  #error: unknown = null;

  /** Start `write` (after the one in progress); the loop goes on as soon as it has started. */
  start(write: () => Promise<void>): false | Promise<false> {
    if (this.#pending) {
      return this.#pending.then(() => {
        this.check();
        this.#launch(write);
        return false as const;
      });
    }
    this.#launch(write);
    return false;
  }

  /** Whether a write is in progress. */
  get pending(): boolean {
    return this.#pending !== null;
  }

  /** Resolves when no write is in progress (it never rejects: see check). */
  settled(): Promise<void> {
    return this.#pending ?? Promise.resolve();
  }

  /** Throw the error of a write that failed. */
  check(): void {
    if (this.#error !== null) throw this.#error;
  }

  #launch(write: () => Promise<void>): void {
    const pending: Promise<void> = write().then(() => {}, (error) => {
      this.#error ??= error;
    }).finally(() => {
      if (this.#pending === pending) this.#pending = null;
    });
    this.#pending = pending;
  }
}
