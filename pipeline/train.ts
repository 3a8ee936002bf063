/**
 * A training run from a validated config: the stages wired into one RxJS pipeline, the
 * feedback loop that feeds it, checkpoints for exact resume, and the run directory it
 * leaves behind.
 * @module
 */
import { join } from "node:path";
import { lastValueFrom, of, Subject, tap } from "rxjs";
import { BatchSampler } from "../data/sampler.ts";
import { MultiLayerNet } from "../nn/network.ts";
import { createOptimizer } from "../nn/optimizers.ts";
import { deriveSeed } from "../nn/random.ts";
import {
  evaluate,
  type EvaluatedStep,
  type Evaluation,
  type FinalEvaluation,
  finalEvaluation,
} from "../stages/evaluate.ts";
import { gradient } from "../stages/gradient.ts";
import { DEFAULT_TEST_FRACTION, load, loadOptions, type RowCounts } from "../stages/load.ts";
import { defaultNormalize, normalize, type NormalizedSplits } from "../stages/normalize.ts";
import { sampleBatch } from "../stages/sample_batch.ts";
import { update } from "../stages/update.ts";
import { readCheckpoint, type TrainingState, writeCheckpoint } from "./checkpoint.ts";
import type { Config } from "../config/config.ts";
import { ConfigError } from "../config/errors.ts";
import { EarlyStopping } from "./early_stopping.ts";
import { UsageError } from "./errors.ts";
import { checkSizes, layerSizes, type LoadedConfig, resolveLayers } from "./load_config.ts";
import { modelToJson } from "./model_file.ts";
import {
  backendKernels,
  type BackendName,
  defaultBackend,
  withKernels,
} from "../engine/kernels/backends.ts";
import { WasmTrainer } from "../engine/trainer/wasm_trainer.ts";
import type { Progress } from "./progress.ts";
import { metricColumns, RunDirectory } from "./run_dir.ts";
import type { Dataset } from "../data/dataset.ts";
import { balancedClassWeights } from "../nn/losses.ts";
import type { ClassScores } from "../nn/metrics.ts";
import { writeReport } from "../report/report.ts";

/** Per-class scores on the test split, by class name. */
export type PerClass = Record<string, ClassScores>;

/**
 * `summary.json`. Classification fills the accuracies and per-class scores, regression the
 * RMSE, MAE and R² (in the target's units); validation entries need a validation split.
 */
export interface Summary {
  name: string;
  seed: number;
  task: "classification" | "regression";
  testAccuracy?: number;
  trainAccuracy?: number;
  testLoss: number;
  validationAccuracy?: number;
  validationLoss?: number;
  validationMacroF1?: number;
  validationBalancedAccuracy?: number;
  testMacroF1?: number;
  testBalancedAccuracy?: number;
  perClass?: PerClass;
  /** Accuracy per class of the validation rows (the promotion gate's per-class check). */
  validationPerClassAccuracy?: number[];
  testRmse?: number;
  testMae?: number;
  testR2?: number;
  validationRmse?: number;
  validationMae?: number;
  validationR2?: number;
  trainRmse?: number;
  /** The metric that chose the saved parameters (early stopping), or null. */
  selectedBy: string | null;
  rows: RowCounts;
  /** Mean training loss over the last epoch's iterations (or all of them, if fewer). */
  finalLoss: number;
  iterations: number;
  epochs: number;
  durationSeconds: number;
  samplesPerSecond: number;
  stoppedEarly: boolean;
  /** Iteration (1-based) of the parameters that were saved. */
  modelIteration: number;
  resumed: boolean;
  perClassAccuracy: number[];
  confusion: number[][];
}

/** Test rows sent to the dashboard's regression scatter: enough to see the shape, bounded. */
const MAX_SCATTER_POINTS = 2000;

/** What a finished run returns. */
export interface TrainResult {
  runDir: string;
  summary: Summary;
}

/** A run stopped on request (a signal): its checkpoint is written and it can be resumed. */
export class InterruptedError extends Error {
  readonly runDir: string;
  readonly iteration: number;
  readonly reason: string;
  constructor(reason: string, runDir: string, iteration: number) {
    super(`${reason}: stopped after iteration ${iteration}; checkpoint written in ${runDir}`);
    this.name = "InterruptedError";
    this.reason = reason;
    this.runDir = runDir;
    this.iteration = iteration;
  }
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
  const { config, name } = loaded;
  const now = options.now ?? (() => performance.now() / 1000);
  const started = now();
  const resumed = options.resume ? await readCheckpoint(options.resume) : null;
  if (resumed) checkFingerprint(resumed, config, options.resume!);
  else await checkWritable(join(config.output.dir, name));

  const { splits, config: resolved } = await loadData(loaded);
  for (const warning of splits.warnings ?? []) options.progress?.line(`warning: ${warning}`);
  // Before the run directory exists: a class weight naming no class fails here.
  const classWeights = classWeightsFor(resolved, splits.train);
  const backend = effectiveBackend(resolved);
  return await withKernels(
    backendKernels(backend),
    () =>
      runTraining(
        { ...loaded, config: resolved },
        { splits, classWeights },
        backend,
        options,
        now,
        started,
        resumed,
      ),
  );
}

/** The run itself, with the backend's kernels in use. */
async function runTraining(
  loaded: LoadedConfig,
  data: { splits: NormalizedSplits; classWeights: Float64Array | null },
  backend: BackendName,
  options: TrainOptions,
  now: () => number,
  started: number,
  resumed: TrainingState | null,
): Promise<TrainResult> {
  const { config, name } = loaded;
  const { splits, classWeights } = data;
  let trainer: WasmTrainer | null = null;
  const run = resumed
    ? await RunDirectory.reopen(options.resume!, resumed.nextIteration)
    : await RunDirectory.create(
      config.output.dir,
      name,
      new Date(),
      metricColumns(config.task, splits.validation !== undefined),
    );
  const emit = (event: Record<string, unknown>) => {
    const stamped = { time: new Date().toISOString(), ...event };
    run.event(stamped);
    options.onEvent?.(stamped);
  };
  try {
    if (!resumed) await run.writeJson("config.json", { ...resolvedConfig(config, name), backend });
    const net = createNetwork(config);
    const optimizer = createOptimizer(config.optimizer);
    const sampler = new BatchSampler(
      splits.train.count,
      config.training.batchSize,
      config.training.sampling,
      deriveSeed(config.seed, "sampler"),
    );
    const perEpoch = sampler.iterationsPerEpoch;
    const total = config.training.iterations ??
      (config.training.epochs !== undefined ? config.training.epochs * perEpoch : 10_000);
    const every = config.evaluation.every === "epoch" ? perEpoch : config.evaluation.every;
    const checkpointEvery = config.training.checkpoint.every === "epoch"
      ? perEpoch
      : config.training.checkpoint.every;
    const stopping = config.evaluation.earlyStopping
      ? new EarlyStopping(config.evaluation.earlyStopping)
      : null;
    let recentLosses: number[] = [];
    let samples = 0;
    let elapsedBefore = 0;
    let lastEvaluation: Evaluation | null = null;
    let start = 0;
    if (resumed) {
      for (const [k, m] of Object.entries(resumed.params)) net.params[k]!.data.set(m.data);
      optimizer.setState(resumed.optimizer);
      sampler.setState(resumed.sampler);
      net.setRandomState(resumed.dropout);
      recentLosses = resumed.recentLosses;
      samples = resumed.samples;
      elapsedBefore = resumed.elapsedSeconds;
      lastEvaluation = resumed.lastEvaluation;
      if (stopping && resumed.earlyStopping) Object.assign(stopping, resumed.earlyStopping);
      start = resumed.nextIteration;
      emit({ event: "resumed", name, seed: config.seed, iteration: start, runDir: run.path });
    } else {
      emit({ event: "started", name, seed: config.seed, config: loaded.file, runDir: run.path });
    }
    for (const message of splits.warnings ?? []) emit({ event: "warning", message });
    // Backprop on the wasm backend trains in WebAssembly memory: parameters and optimizer
    // state stay there between steps and are copied back whenever the host reads them.
    // Class weights travel as scaled one-hot targets, which the trainer (labels only) lacks.
    trainer = backend === "wasm" && config.gradient.method === "backprop" && !classWeights &&
        WasmTrainer.supports(net) === null
      ? new WasmTrainer(net, optimizer, { capacity: config.training.batchSize })
      : null;
    options.progress?.start(total);
    const loopStarted = now();

    const state = (nextIteration: number): TrainingState => ({
      fingerprint: fingerprint(config),
      nextIteration,
      params: net.params,
      optimizer: optimizer.state(),
      sampler: sampler.state(),
      dropout: net.randomState(),
      recentLosses,
      samples,
      elapsedSeconds: elapsedBefore + (now() - loopStarted),
      lastEvaluation,
      earlyStopping: stopping && {
        best: stopping.best,
        bestParams: stopping.bestParams,
        sinceBest: stopping.sinceBest,
      },
    });
    const checkpoint = async (nextIteration: number) => {
      const path = await writeCheckpoint(run.path, state(nextIteration));
      emit({ event: "checkpoint", iteration: nextIteration, path });
    };

    let last: EvaluatedStep | null = null;
    let stoppedEarly = false;
    if (start < total) {
      // The feedback loop: each finished step asks for the next iteration, so a batch is
      // drawn only after the previous update is done and memory stays flat however long the
      // run. Checkpoint writes and stop requests happen here, between two steps.
      const iterations = new Subject<number>();
      const decay = config.optimizer.learningRateDecay;
      const baseRate = config.optimizer.learningRate;
      const steps = iterations.pipe(
        // Step decay: the rate is a function of the epoch, so a resumed run gets it right too.
        tap((i) => {
          if (decay) {
            optimizer.learningRate = baseRate *
              decay.factor ** Math.floor(i / perEpoch / decay.every);
          }
        }),
        sampleBatch(splits.train, sampler, {
          oneHot: config.data.oneHot,
          ...(classWeights ? { classWeights } : {}),
        }),
        gradient(net, config.gradient, trainer ? { trainer } : {}),
        update(
          net,
          optimizer,
          config.training.gradientClip ? { gradientClip: config.training.gradientClip } : {},
        ),
        evaluate(net, splits, { every, lastIteration: total - 1 }),
      );
      await new Promise<void>((resolve, reject) => {
        const soon = makeYielder();
        const fail = (error: unknown) => {
          subscription.unsubscribe();
          reject(error);
        };
        const onStep = (step: EvaluatedStep) => {
          last = step;
          samples += step.batchSize;
          recentLosses.push(step.loss);
          if (recentLosses.length > perEpoch) recentLosses.shift();
          const elapsed = elapsedBefore + (now() - loopStarted);
          const done = step.iteration + 1;
          run.metric({
            iteration: done,
            epoch: step.epoch + 1,
            loss: step.loss,
            ...(step.evaluation ? present(step.evaluation, STEP_SCORES) : {}),
            learningRate: step.learningRate,
            elapsedSeconds: round(elapsed),
          });
          if (step.check) emit({ event: "gradientCheck", iteration: done, ...step.check });
          if (step.evaluation) {
            lastEvaluation = step.evaluation;
            emit({ event: "evaluation", ...oneBased(step.evaluation), loss: step.loss });
            if (stopping?.observe(step.evaluation, net.params)) stoppedEarly = true;
          }
          options.progress?.step(step, elapsed, samples / Math.max(elapsed, 1e-9));
          if (stoppedEarly || done >= total) return iterations.complete();
          const interrupted = options.signal?.aborted;
          if (interrupted || done % checkpointEvery === 0) {
            checkpoint(done).then(() => {
              if (interrupted) {
                fail(
                  new InterruptedError(
                    String(options.signal!.reason ?? "interrupted"),
                    run.path,
                    done,
                  ),
                );
              } else soon(() => iterations.next(done));
            }, fail);
          } else soon(() => iterations.next(done));
        };
        // Errors thrown while handling a step would escape RxJS; route them to the promise.
        const subscription = steps.subscribe({
          next: (step) => {
            try {
              onStep(step);
            } catch (error) {
              fail(error);
            }
          },
          error: reject,
          complete: resolve,
        });
        iterations.next(start);
      });
    }
    const trainSeconds = elapsedBefore + (now() - loopStarted);
    options.progress?.done();
    // From here on the network answers for itself: the final evaluation, the model file and
    // the report take the same path as `deno task evaluate` and `deno task predict` do.
    trainer?.dispose();

    const finalStep = last as EvaluatedStep | null;
    const iterationsDone = finalStep ? finalStep.iteration + 1 : start;
    let modelIteration = iterationsDone;
    if (stoppedEarly && stopping?.best) {
      options.progress?.line(
        `early stopping: no better ${stopping.options.metric} for ${stopping.options.patience} evaluations; best at iteration ${
          stopping.best.iteration + 1
        }`,
      );
      if (stopping.bestParams) {
        for (const [k, m] of Object.entries(stopping.bestParams)) net.params[k]!.data.set(m.data);
        modelIteration = stopping.best.iteration + 1;
      }
    }
    const at = {
      iteration: iterationsDone - 1,
      epoch: Math.floor((iterationsDone - 1) / perEpoch),
    };
    const final: FinalEvaluation = finalEvaluation(net, splits, at);
    const summary: Summary = {
      name,
      seed: config.seed,
      task: config.task,
      testLoss: final.testLoss,
      ...present(final, FINAL_SCORES),
      finalLoss: recentLosses.reduce((a, b) => a + b, 0) / Math.max(recentLosses.length, 1),
      iterations: iterationsDone,
      epochs: round(iterationsDone / perEpoch),
      durationSeconds: round(now() - started),
      samplesPerSecond: Math.round(samples / Math.max(trainSeconds, 1e-9)),
      stoppedEarly,
      modelIteration,
      resumed: resumed !== null,
      selectedBy: stopping && stopping.options.restoreBest && stopping.best
        ? stopping.options.metric
        : null,
      rows: splits.rows ?? {
        train: splits.train.count,
        validation: splits.validation?.count ?? 0,
        test: splits.test.count,
        droppedMissingLabel: 0,
        droppedMissingValues: 0,
      },
      perClassAccuracy: final.perClassAccuracy,
      confusion: final.confusion,
      ...(final.perClass ? { perClass: perClassByName(final.perClass, splits.test) } : {}),
    };
    await run.writeJson("model.json", modelFor(net, name, config, splits));
    await run.writeJson("summary.json", summary);
    try {
      await writeReport(run.path, { net, test: splits.test });
    } catch (error) {
      // The model and summary are written; a chart that fails to render must not lose them.
      emit({ event: "warning", message: `report not written: ${(error as Error).message}` });
    }
    if (final.testPredictions) {
      // Regression: the dashboard's predicted-against-true scatter (the first rows, bounded).
      const shown = Math.min(splits.test.count, MAX_SCATTER_POINTS);
      emit({
        event: "testPredictions",
        predicted: Array.from(final.testPredictions.subarray(0, shown)),
        actual: Array.from(splits.test.targets!.subarray(0, shown)),
      });
    }
    emit({ event: "finished", ...summaryForEvent(summary) });
    await run.markLatest();
    return { runDir: run.path, summary };
  } catch (error) {
    if (!(error instanceof InterruptedError)) {
      emit({ event: "error", name: (error as Error).name, message: (error as Error).message });
    } else emit({ event: "interrupted", reason: error.reason, iteration: error.iteration });
    throw error;
  } finally {
    trainer?.dispose();
    run.close();
  }
}

/**
 * Load and normalise the config's data, then check the model against it; `auto` layer sizes
 * become the data's feature and output counts.
 */
async function loadData(
  loaded: LoadedConfig,
): Promise<{ splits: NormalizedSplits; config: Config }> {
  const { config } = loaded;
  const setting = config.data.normalize ?? defaultNormalize(config.data.source);
  const splits = await lastValueFrom(
    of(config.data.source).pipe(load(loadOptions(config)), normalize(setting)),
  );
  const facts = {
    features: splits.train.features,
    classes: config.task === "regression" ? 1 : splits.train.classes,
    trainCount: splits.train.count,
  };
  const problems: string[] = [];
  checkSizes(config, facts, problems);
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);
  return { splits, config: resolveLayers(config, facts) };
}

/** The config as the run used it: defaults filled in, the normalisation made explicit. */
function resolvedConfig(config: Config, name: string): Config {
  const normalize = config.data.normalize ?? defaultNormalize(config.data.source);
  const source = config.data.source;
  const split = source.kind === "csv" && source.file !== undefined
    ? { test: DEFAULT_TEST_FRACTION, ...config.data.split }
    : config.data.split;
  return { ...config, name, data: { ...config.data, normalize, ...(split ? { split } : {}) } };
}

/** Per-sample loss weights of each class, or null when the config weights none. */
export function classWeightsFor(config: Config, train: Dataset): Float64Array | null {
  const setting = config.training.classWeights;
  if (setting === "none" || config.task === "regression") return null;
  if (setting === "balanced") return balancedClassWeights(train.labels, train.classes);
  const names = train.classNames ?? Array.from({ length: train.classes }, (_, i) => String(i));
  const unknown = Object.keys(setting).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `training.classWeights names ${
        unknown.map((n) => `"${n}"`).join(", ")
      }, not among the classes ${names.map((n) => `"${n}"`).join(", ")}`,
    );
  }
  return Float64Array.from(names, (name) => setting[name] ?? 1);
}

/** The scores an evaluation can carry per step (metrics.csv's optional columns). */
const STEP_SCORES = [
  "trainAccuracy",
  "testAccuracy",
  "validationAccuracy",
  "validationLoss",
  "trainRmse",
  "validationRmse",
  "testRmse",
] as const;

/** The final scores summary.json can hold, those that apply to the task. */
const FINAL_SCORES = [
  "testAccuracy",
  "trainAccuracy",
  "validationAccuracy",
  "validationLoss",
  "validationMacroF1",
  "validationBalancedAccuracy",
  "validationPerClassAccuracy",
  "testMacroF1",
  "testBalancedAccuracy",
  "testRmse",
  "testMae",
  "testR2",
  "validationRmse",
  "validationMae",
  "validationR2",
  "trainRmse",
] as const;

/** The entries of `from` named in `keys` that are present (a task fills only its own). */
function present<T, K extends keyof T>(from: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}

function perClassByName(scores: ClassScores[], test: Dataset): PerClass {
  const names = test.classNames ?? scores.map((_, i) => String(i));
  return Object.fromEntries(scores.map((s, k) => [names[k]!, s]));
}

/** The backend a config trains with: the numerical method always computes in float64 (js). */
export function effectiveBackend(config: Config): BackendName {
  return config.gradient.method === "numerical" ? "js" : config.backend ?? defaultBackend();
}

/** What must not change between a checkpoint and the config that resumes it. */
export function fingerprint(config: Config): Record<string, unknown> {
  return JSON.parse(JSON.stringify({
    seed: config.seed,
    data: {
      ...config.data,
      normalize: config.data.normalize ?? defaultNormalize(config.data.source),
    },
    model: config.model,
    loss: config.loss,
    gradient: config.gradient.method,
    optimizer: config.optimizer,
    batchSize: config.training.batchSize,
    sampling: config.training.sampling,
    backend: effectiveBackend(config),
  }));
}

function checkFingerprint(state: TrainingState, config: Config, runDir: string): void {
  const current = fingerprint(config);
  const differing = Object.keys({ ...current, ...state.fingerprint }).filter((k) =>
    JSON.stringify(current[k]) !== JSON.stringify(state.fingerprint[k])
  );
  if (differing.length > 0) {
    throw new UsageError(
      `cannot resume ${runDir}: the config's ${
        differing.join(", ")
      } differ from the checkpoint's ` +
        `(${
          differing.map((k) => `${k}: checkpoint ${JSON.stringify(state.fingerprint[k])}`).join(
            "; ",
          )
        })`,
    );
  }
}

/** The network a config describes, seeded from the run's seed. */
export function createNetwork(config: Config): MultiLayerNet {
  return new MultiLayerNet(layerSizes(config), {
    activation: config.model.activation,
    output: config.model.output,
    loss: config.loss,
    weightInit: config.model.weightInit,
    dropout: config.model.dropout,
    weightDecay: config.optimizer.weightDecay,
    seed: deriveSeed(config.seed, "init"),
  });
}

function modelFor(net: MultiLayerNet, name: string, config: Config, splits: NormalizedSplits) {
  return modelToJson(net, {
    name,
    seed: config.seed,
    task: config.task,
    featureShape: splits.train.shape,
    classes: splits.train.classes,
    ...(splits.train.classNames ? { classNames: splits.train.classNames } : {}),
    normalization: splits.normalization,
    ...(splits.encoding ? { table: splits.encoding } : {}),
    ...(splits.train.target ? { target: splits.train.target } : {}),
  });
}

/**
 * Run `next` soon: as a microtask mostly, but as a macrotask at least every 50 ms so that
 * timers, signals and I/O still get their turn during a long synchronous-looking loop.
 */
function makeYielder(): (next: () => void) => void {
  let lastYield = performance.now();
  return (next) => {
    const t = performance.now();
    if (t - lastYield > 50) {
      lastYield = t;
      setTimeout(next, 0);
    } else queueMicrotask(next);
  };
}

async function checkWritable(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.write-test-${Deno.pid}`);
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (error) {
    throw new Error(`the output directory ${dir} is not writable: ${(error as Error).message}`);
  }
}

function oneBased<T extends { iteration: number; epoch: number }>(e: T): T {
  return { ...e, iteration: e.iteration + 1, epoch: e.epoch + 1 };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function summaryForEvent(s: Summary): Record<string, unknown> {
  const { confusion: _c, perClassAccuracy: _p, ...rest } = s;
  return rest;
}
