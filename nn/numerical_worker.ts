/**
 * A Worker that computes its share of {@linkcode fastNumericalGradient}: it rebuilds the
 * network from the parameters and the dropout generator's state it is sent (so it draws the
 * same masks), and returns the gradient of its units.
 * @module
 */
import { fastNumericalGradient } from "./fast_numerical_gradient.ts";
import { Matrix } from "./matrix.ts";
import { MultiLayerNet } from "./network.ts";
import type { NumericalTask } from "./parallel_numerical_gradient.ts";

// The worker's global scope (typed here so the file also checks alongside the main program).
const scope = self as unknown as {
  onmessage: (event: MessageEvent<NumericalTask>) => void;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = (event) => {
  const task = event.data;
  try {
    const net = new MultiLayerNet(task.sizes, task.options);
    for (const [name, values] of Object.entries(task.params)) net.params[name]!.data.set(values);
    net.setRandomState(task.random);
    const x = new Matrix(task.rows, task.sizes[0]!, task.x);
    const t = new Matrix(task.rows, task.sizes.at(-1)!, task.t);
    const grads = fastNumericalGradient(net, x, t, {
      h: task.h,
      train: task.train,
      units: task.units,
    });
    const result: Record<string, Float64Array> = {};
    for (const [name, g] of Object.entries(grads)) result[name] = g.data;
    scope.postMessage(
      { ok: true, grads: result },
      Object.values(result).map((a) => a.buffer as ArrayBuffer),
    );
  } catch (error) {
    scope.postMessage({ ok: false, message: (error as Error).message });
  }
};
