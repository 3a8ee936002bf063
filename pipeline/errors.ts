/**
 * The errors a run can end with, each mapped to an exit code by the CLI: usage and config
 * errors exit 2, everything at run time exits 1.
 * @module
 */

/** A wrong command line or argument (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Training produced a non-finite loss or parameter (exit 1). */
export class DivergenceError extends Error {
  readonly iteration: number;
  constructor(message: string, iteration: number) {
    super(message);
    this.name = "DivergenceError";
    this.iteration = iteration;
  }
}

/** The numerical and backprop gradients disagreed beyond the configured tolerance (exit 1). */
export class GradientCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GradientCheckError";
  }
}
