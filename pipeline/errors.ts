/**
 * A wrong command line or argument: the CLI exits 2 (config errors too, see config/errors.ts;
 * training errors, stages/errors.ts, exit 1).
 * @module
 */

/** A wrong command line or argument (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
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
