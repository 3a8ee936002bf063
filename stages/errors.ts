/**
 * The errors a training step can end with (the CLI exits 1 for both).
 * @module
 */

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
