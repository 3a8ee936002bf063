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
