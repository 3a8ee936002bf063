/**
 * Early stopping: stop after `patience` evaluations without improving the watched metric,
 * optionally restoring the parameters of the best evaluation.
 * @module
 */
import type { Matrix } from "../nn/matrix.ts";
import type { Evaluation } from "../stages/evaluate.ts";
import type { Config } from "../config/config.ts";
import { copyParams } from "./model_file.ts";

type Options = NonNullable<Config["evaluation"]["earlyStopping"]>;

/** Tracks the best evaluation and how long since it. */
export class EarlyStopping {
  readonly options: Options;
  best: Evaluation | null = null;
  bestParams: Record<string, Matrix> | null = null;
  sinceBest = 0;

  constructor(options: Options) {
    this.options = options;
  }

  /** Record an evaluation; true when training should stop. */
  observe(evaluation: Evaluation, params: Record<string, Matrix>): boolean {
    const metric = this.options.metric;
    const value = evaluation[metric];
    if (value === undefined) {
      throw new TypeError(`early stopping watches ${metric}, which this evaluation lacks`);
    }
    const best = this.best?.[metric];
    const better = best === undefined ||
      (lowerIsBetter(metric) ? value < best : value > best);
    if (better) {
      this.best = evaluation;
      this.sinceBest = 0;
      if (this.options.restoreBest) this.bestParams = copyParams(params);
      return false;
    }
    this.sinceBest++;
    return this.sinceBest >= this.options.patience;
  }
}

/** Losses and errors improve downwards; accuracies and F1 upwards. */
export function lowerIsBetter(metric: string): boolean {
  return /Loss$|Rmse$|Mae$/.test(metric);
}
