/**
 * A training run from a validated config: the stages wired into one RxJS pipeline, the
 * feedback loop that feeds it, and the run directory it leaves behind.
 * @module
 */
import { join } from "node:path";
import { lastValueFrom, of, Subject } from "rxjs";
import { BatchSampler } from "../data/sampler.ts";
import { MultiLayerNet } from "../nn/network.ts";
import { createOptimizer } from "../nn/optimizers.ts";
import { deriveSeed } from "../nn/random.ts";
import {
  evaluate,
  type EvaluatedStep,
  type FinalEvaluation,
  finalEvaluation,
} from "../stages/evaluate.ts";
import { gradient } from "../stages/gradient.ts";
import { load } from "../stages/load.ts";
import { defaultNormalize, normalize } from "../stages/normalize.ts";
import { sampleBatch } from "../stages/sample_batch.ts";
import { update } from "../stages/update.ts";
import type { Config } from "./config.ts";
import { ConfigError } from "./config_errors.ts";
import { EarlyStopping } from "./early_stopping.ts";
import { checkSizes, type LoadedConfig } from "./load_config.ts";
import { modelToJson } from "./model_file.ts";
import type { Progress } from "./progress.ts";
import { RunDirectory } from "./run_dir.ts";

/** `summary.json`. */
export interface Summary {
  name: string;
  seed: number;
  testAccuracy: number;
  trainAccuracy: number;
  /** Mean training loss over the last epoch's iterations (or all of them, if fewer). */
  finalLoss: number;
  iterations: number;
  epochs: number;
  durationSeconds: number;
  samplesPerSecond: number;
  stoppedEarly: boolean;
  /** Iteration (1-based) of the parameters that were saved. */
  modelIteration: number;
  perClassAccuracy: number[];
  confusion: number[][];
}

/** What a finished run returns. */
export interface TrainResult {
  runDir: string;
  summary: Summary;
}

/** Options of {@linkcode train}. */
export interface TrainOptions {
  progress?: Progress;
  /** The clock used for elapsed times (tests may fix it). */
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
  await checkWritable(join(config.output.dir, name));

  const normalizeSetting = config.data.normalize ?? defaultNormalize(config.data.source.kind);
  const splits = await lastValueFrom(
    of(config.data.source).pipe(load({ seed: config.seed }), normalize(normalizeSetting)),
  );
  const problems: string[] = [];
  checkSizes(config, { ...splits.train, trainCount: splits.train.count }, problems);
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);

  const run = await RunDirectory.create(config.output.dir, name);
  try {
    const resolved = { ...config, name, data: { ...config.data, normalize: normalizeSetting } };
    await run.writeJson("config.json", resolved);
    run.event({ event: "started", name, seed: config.seed, config: loaded.file, runDir: run.path });
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
    options.progress?.start(total);
    const stopping = config.evaluation.earlyStopping
      ? new EarlyStopping(config.evaluation.earlyStopping)
      : null;
    const losses: number[] = [];
    let samples = 0;
    let last: EvaluatedStep | null = null;
    let stoppedEarly = false;
    const loopStarted = now();

    // The feedback loop: each finished step asks for the next iteration, so a batch is drawn
    // only after the previous update is done and memory stays flat however long the run.
    const iterations = new Subject<number>();
    const steps = iterations.pipe(
      sampleBatch(splits.train, sampler, { oneHot: config.data.oneHot }),
      gradient(net, config.gradient),
      update(net, optimizer),
      evaluate(net, splits, { every, lastIteration: total - 1 }),
    );
    await new Promise<void>((resolve, reject) => {
      const yieldEvery = makeYielder();
      steps.subscribe({
        next: (step) => {
          last = step;
          samples += step.batchSize;
          losses.push(step.loss);
          if (losses.length > perEpoch) losses.shift();
          const elapsed = now() - loopStarted;
          run.metric({
            iteration: step.iteration + 1,
            epoch: step.epoch + 1,
            loss: step.loss,
            ...(step.evaluation
              ? {
                trainAccuracy: step.evaluation.trainAccuracy,
                testAccuracy: step.evaluation.testAccuracy,
              }
              : {}),
            learningRate: step.learningRate,
            elapsedSeconds: round(elapsed),
          });
          if (step.check) {
            run.event({ event: "gradientCheck", iteration: step.iteration + 1, ...step.check });
          }
          if (step.evaluation) {
            run.event({ event: "evaluation", ...oneBased(step.evaluation), loss: step.loss });
            if (stopping?.observe(step.evaluation, net.params)) stoppedEarly = true;
          }
          options.progress?.step(step, elapsed, samples / Math.max(elapsed, 1e-9));
          if (stoppedEarly || step.iteration + 1 >= total) iterations.complete();
          else yieldEvery(() => iterations.next(step.iteration + 1));
        },
        error: reject,
        complete: resolve,
      });
      iterations.next(0);
    });
    const trainSeconds = now() - loopStarted;
    options.progress?.done();

    const finalStep = last as EvaluatedStep | null;
    if (finalStep === null) throw new Error("training ran no iteration");
    let modelIteration = finalStep.iteration + 1;
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
    const final: FinalEvaluation = finalEvaluation(net, splits, finalStep);
    const summary: Summary = {
      name,
      seed: config.seed,
      testAccuracy: final.testAccuracy,
      trainAccuracy: final.trainAccuracy,
      finalLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
      iterations: finalStep.iteration + 1,
      epochs: round((finalStep.iteration + 1) / perEpoch),
      durationSeconds: round(now() - started),
      samplesPerSecond: Math.round(samples / Math.max(trainSeconds, 1e-9)),
      stoppedEarly,
      modelIteration,
      perClassAccuracy: final.perClassAccuracy,
      confusion: final.confusion,
    };
    await run.writeJson(
      "model.json",
      modelToJson(net, {
        name,
        featureShape: splits.train.shape,
        classes: splits.train.classes,
        ...(splits.train.classNames ? { classNames: splits.train.classNames } : {}),
        normalization: splits.normalization,
      }),
    );
    await run.writeJson("summary.json", summary);
    run.event({ event: "finished", ...summaryForEvent(summary) });
    await run.markLatest();
    return { runDir: run.path, summary };
  } catch (error) {
    run.event({ event: "error", name: (error as Error).name, message: (error as Error).message });
    throw error;
  } finally {
    run.close();
  }
}

/** The network a config describes, seeded from the run's seed. */
export function createNetwork(config: Config): MultiLayerNet {
  return new MultiLayerNet(config.model.layers, {
    activation: config.model.activation,
    output: config.model.output,
    loss: config.loss,
    weightInit: config.model.weightInit,
    dropout: config.model.dropout,
    weightDecay: config.optimizer.weightDecay,
    seed: deriveSeed(config.seed, "init"),
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
