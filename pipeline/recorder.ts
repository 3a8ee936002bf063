/**
 * The run recorder: an observer of the stream of evaluated steps. It keeps the run's counters
 * (samples, the last epoch's losses, time), writes `metrics.csv` and `events.jsonl`, reports
 * progress, and says when a checkpoint is due. It never changes the training.
 * @module
 */
import type { EvaluatedStep, Evaluation } from "../stages/evaluate.ts";
import type { TrainingState } from "./checkpoint.ts";
import type { Progress } from "./progress.ts";
import type { MetricRow, RunDirectory } from "./run_dir.ts";

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

/** What a run has counted so far; a checkpoint saves and restores it. */
export class RunCounters {
  samples = 0;
  /** Training losses of the last epoch (for summary.finalLoss). */
  recentLosses: number[] = [];
  lastEvaluation: Evaluation | null = null;
  #elapsedBefore = 0;
  #started: number;
  readonly #now: () => number;
  readonly #perEpoch: number;

  constructor(perEpoch: number, now: () => number) {
    this.#perEpoch = perEpoch;
    this.#now = now;
    this.#started = now();
  }

  /** Seconds spent training, earlier sessions of a resumed run included. */
  elapsed(): number {
    return this.#elapsedBefore + (this.#now() - this.#started);
  }

  /** Start timing the loop now. */
  startClock(): void {
    this.#started = this.#now();
  }

  /** Count one step. */
  count(step: EvaluatedStep): void {
    this.samples += step.batchSize;
    this.recentLosses.push(step.loss);
    if (this.recentLosses.length > this.#perEpoch) this.recentLosses.shift();
    if (step.evaluation) this.lastEvaluation = step.evaluation;
  }

  /** The mean training loss over the last epoch's iterations. */
  finalLoss(): number {
    const losses = this.recentLosses;
    return losses.reduce((a, b) => a + b, 0) / Math.max(losses.length, 1);
  }

  restore(state: TrainingState): void {
    this.recentLosses = state.recentLosses;
    this.samples = state.samples;
    this.#elapsedBefore = state.elapsedSeconds;
    this.lastEvaluation = state.lastEvaluation;
  }
}

/** Where a recorder writes. */
export interface RecorderOptions {
  run: RunDirectory;
  counters: RunCounters;
  progress?: Progress;
  /** An event, stamped, to events.jsonl and the caller. */
  emit: (event: Record<string, unknown>) => void;
  /** Iterations between checkpoints. */
  checkpointEvery: number;
  /** The least time between two checkpoints, in seconds of training (0: none). */
  checkpointSpacing?: number;
  /** The training accuracy of always answering the most frequent class (classification). */
  chanceAccuracy?: number;
}

/** Epochs after which a training accuracy still at chance level is worth a warning. */
export const CHANCE_WARNING_EPOCHS = 5;
/** How close to chance counts as "at chance". */
const CHANCE_MARGIN = 0.02;

/**
 * A warning when training accuracy is still at chance level after several epochs: the net
 * learns nothing, usually for one of three reasons it names.
 */
export function chanceWarning(
  evaluation: { trainAccuracy?: number },
  epochsDone: number,
  chance: number,
): string | null {
  const accuracy = evaluation.trainAccuracy;
  if (accuracy === undefined || epochsDone < CHANCE_WARNING_EPOCHS) return null;
  if (accuracy > chance + CHANCE_MARGIN) return null;
  return `training accuracy is ${
    accuracy.toFixed(4)
  } after ${epochsDone} epochs, the chance level (${
    chance.toFixed(4)
  }: always the most frequent class). Likely causes: unnormalised inputs (data.normalize), a learning rate too small or too large (optimizer.learningRate), or weights too small to learn from (model.weightInit, e.g. he for relu, xavier for sigmoid)`;
}

/** Records each step; `record` returns true when a checkpoint is due after it. */
export class RunRecorder {
  readonly #o: RecorderOptions;
  #warnedChance = false;
  /** When the last due checkpoint was, in the counters' elapsed seconds. */
  #lastCheckpoint: number | null = null;

  constructor(options: RecorderOptions) {
    this.#o = options;
  }

  record(step: EvaluatedStep): boolean {
    const { run, counters, progress, emit } = this.#o;
    counters.count(step);
    const elapsed = counters.elapsed();
    const done = step.iteration + 1;
    const row: MetricRow = {
      iteration: done,
      epoch: step.epoch + 1,
      loss: step.loss,
      learningRate: step.learningRate,
      elapsedSeconds: round(elapsed),
    };
    // Scores on evaluation rows only (not spread in: a runtime call every step).
    if (step.evaluation) Object.assign(row, present(step.evaluation, STEP_SCORES));
    run.metric(row);
    if (step.check) emit({ event: "gradientCheck", iteration: done, ...step.check });
    if (step.evaluation) {
      emit({ event: "evaluation", ...oneBased(step.evaluation), loss: step.loss });
      const { chanceAccuracy } = this.#o;
      const warning = chanceAccuracy === undefined || this.#warnedChance
        ? null
        : chanceWarning(step.evaluation, step.epoch + 1, chanceAccuracy);
      if (warning) {
        this.#warnedChance = true;
        emit({ event: "warning", message: warning });
        progress?.line(`warning: ${warning}`);
      }
    }
    progress?.step(step, elapsed, counters.samples / Math.max(elapsed, 1e-9));
    if (done % this.#o.checkpointEvery !== 0) return false;
    const last = this.#lastCheckpoint;
    if (last !== null && elapsed - last < (this.#o.checkpointSpacing ?? 0)) return false;
    this.#lastCheckpoint = elapsed;
    return true;
  }
}

/** The entries of `from` named in `keys` that are present (a task fills only its own). */
export function present<T, K extends keyof T>(from: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}

/** Seconds to the millisecond, as the run's files record them. */
export function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function oneBased<T extends { iteration: number; epoch: number }>(e: T): T {
  return { ...e, iteration: e.iteration + 1, epoch: e.epoch + 1 };
}
