/**
 * The feedback loop: each finished step asks for the next iteration, so a batch is drawn only
 * after the previous update is done and memory stays flat however long the run. Observers
 * (recording, checkpoints, stop requests) act between two steps.
 * @module
 */
import { setImmediate } from "node:timers";
import { type Observable, type OperatorFunction, Subject } from "rxjs";
import type { EvaluatedStep } from "../stages/evaluate.ts";

/**
 * What to do after a step: `true` stops the loop there, `false` continues; a promise holds the
 * next step back until it settles, and a rejection (or a throw) ends the loop with that error.
 */
export type AfterStep = (step: EvaluatedStep) => boolean | Promise<boolean>;

/** A macrotask at least this often, in ms, so timers, signals and I/O get their turn. */
const YIELD_EVERY_MS = 50;

/**
 * Run iterations `start`, `start + 1`, … `total - 1` through `steps`; resolves with the last
 * step (null when there was none to run).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { map } from "rxjs";
 * import { runLoop } from "./training_loop.ts";
 * const seen: number[] = [];
 * const last = await runLoop(0, 5, map((iteration) =>
 *   ({ iteration, epoch: 0, loss: 1, learningRate: 0.1, batchSize: 1 })), (step) => {
 *   seen.push(step.iteration);
 *   return step.iteration === 2; // stop after the third
 * });
 * assert.deepEqual(seen, [0, 1, 2]);
 * assert.equal(last?.iteration, 2);
 * ```
 */
export function runLoop(
  start: number,
  total: number,
  steps: OperatorFunction<number, EvaluatedStep>,
  afterStep: AfterStep,
  /**
   * Whether work in the background (a checkpoint being written) is waiting for the event
   * loop: the loop then gives it a turn after every step instead of every YIELD_EVERY_MS.
   */
  busy: () => boolean = () => false,
): Promise<EvaluatedStep | null> {
  if (start >= total) return Promise.resolve(null);
  const iterations = new Subject<number>();
  const stream: Observable<EvaluatedStep> = iterations.pipe(steps);
  return new Promise((resolve, reject) => {
    const soon = makeYielder(busy);
    let last: EvaluatedStep | null = null;
    const fail = (error: unknown) => {
      subscription.unsubscribe();
      reject(error);
    };
    // The iteration to run next, and one function that runs it: not a new closure a step.
    let upcoming = start;
    const advance = () => iterations.next(upcoming);
    const next = (stop: boolean, done: number) => {
      if (stop || done >= total) iterations.complete();
      else {
        upcoming = done;
        soon(advance);
      }
    };
    // Errors thrown while handling a step would escape RxJS; route them to the promise.
    const subscription = stream.subscribe({
      next: (step) => {
        last = step;
        const done = step.iteration + 1;
        try {
          const decision = afterStep(step);
          if (typeof decision === "boolean") next(decision, done);
          else decision.then((stop) => next(stop, done), fail);
        } catch (error) {
          fail(error);
        }
      },
      error: reject,
      complete: () => resolve(last),
    });
    iterations.next(start);
  });
}

/**
 * Run `next` soon: as a microtask mostly, but as a macrotask at least every YIELD_EVERY_MS so
 * that timers, signals and I/O still get their turn during a long synchronous-looking loop,
 * and after every step while `busy()`. A checkpoint's write (open, write, sync, rename) moves
 * one operation a turn: at one turn every 50 ms it was still pending when the next epoch's
 * checkpoint came, and the loop waited 1.2 ms a checkpoint for it.
 */
function makeYielder(busy: () => boolean): (next: () => void) => void {
  let lastYield = performance.now();
  return (next) => {
    const t = performance.now();
    if (t - lastYield > YIELD_EVERY_MS || busy()) {
      lastYield = t;
      // Not setTimeout(next, 0): a chain of those waited 2.1 ms each here (timer clamping),
      // 4 % of a run that yields every 50 ms; setImmediate comes back after 0.02 ms, once the
      // event loop has polled for I/O and run due timers.
      setImmediate(next);
    } else queueMicrotask(next);
  };
}
