/**
 * Update rules as in the book's `common/optimizer.py`: each keeps its own state (velocities,
 * squared-gradient sums, moments) so that it can be saved and restored exactly.
 * @module
 */
import type { Params } from "./network.ts";

/** The names of the optimizers. */
export type OptimizerKind = "sgd" | "momentum" | "adagrad" | "adam";

/** An optimizer's state: its step count and named buffers (one per parameter and slot). */
export interface OptimizerState {
  kind: OptimizerKind;
  step: number;
  /** Copies: a state never shares memory with the optimizer it came from or goes to. */
  buffers: Record<string, Float64Array>;
}

/** An update rule: `update` changes `params` in place from `grads`. */
export interface Optimizer {
  readonly kind: OptimizerKind;
  learningRate: number;
  update(params: Params, grads: Params): void;
  /** The state, in new arrays or in `into`'s where their names and lengths fit. */
  state(into?: OptimizerState): OptimizerState;
  setState(state: OptimizerState): void;
}

abstract class Stateful implements Optimizer {
  abstract readonly kind: OptimizerKind;
  learningRate: number;
  protected step = 0;
  protected buffers = new Map<string, Float64Array>();

  constructor(learningRate: number) {
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
      throw new RangeError(
        `Expected learningRate to be a finite number greater than 0 but found ${learningRate}`,
      );
    }
    this.learningRate = learningRate;
  }

  abstract update(params: Params, grads: Params): void;

  protected buffer(key: string, length: number): Float64Array {
    let b = this.buffers.get(key);
    if (!b) {
      b = new Float64Array(length);
      this.buffers.set(key, b);
    }
    return b;
  }

  /** The state, in new arrays or in `into`'s where their names and lengths fit. */
  state(into?: OptimizerState): OptimizerState {
    const buffers: Record<string, Float64Array> = {};
    for (const [key, b] of this.buffers) buffers[key] = copyOf(b, into?.buffers[key]);
    return { kind: this.kind, step: this.step, buffers };
  }

  setState(state: OptimizerState): void {
    if (state.kind !== this.kind) {
      throw new TypeError(`Expected ${this.kind} optimizer state but found ${state.kind}`);
    }
    this.step = state.step;
    this.buffers = new Map(
      Object.entries(state.buffers).map(([key, values]) => [key, values.slice()]),
    );
  }
}

/** `values` copied into `into` when it has their length, else into a new array. */
function copyOf(values: Float64Array, into?: Float64Array): Float64Array {
  if (into?.length !== values.length) return values.slice();
  into.set(values);
  return into;
}

function pairs(params: Params, grads: Params): [string, Float64Array, Float64Array][] {
  return Object.entries(params).map(([name, p]) => {
    const g = grads[name];
    if (!g || g.data.length !== p.data.length) {
      throw new RangeError(`Expected a gradient shaped like parameter ${name}`);
    }
    return [name, p.data, g.data];
  });
}

/**
 * Stochastic gradient descent: p ← p - lr·g.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Matrix, SGD } from "../mod.ts";
 * const params = { W1: Matrix.from([[1]]) };
 * new SGD(0.1).update(params, { W1: Matrix.from([[2]]) });
 * assert.ok(Math.abs(params.W1.get(0, 0) - 0.8) < 1e-15);
 * ```
 */
export class SGD extends Stateful {
  readonly kind = "sgd";
  constructor(learningRate = 0.01) {
    super(learningRate);
  }
  update(params: Params, grads: Params): void {
    this.step++;
    for (const [, p, g] of pairs(params, grads)) {
      for (let i = 0; i < p.length; i++) p[i]! -= this.learningRate * g[i]!;
    }
  }
}

/** Momentum: v ← αv - lr·g; p ← p + v. */
export class Momentum extends Stateful {
  readonly kind = "momentum";
  readonly momentum: number;
  constructor(learningRate = 0.01, momentum = 0.9) {
    super(learningRate);
    if (!(momentum >= 0 && momentum < 1)) {
      throw new RangeError(`Expected momentum to be in [0, 1) but found ${momentum}`);
    }
    this.momentum = momentum;
  }
  update(params: Params, grads: Params): void {
    this.step++;
    for (const [name, p, g] of pairs(params, grads)) {
      const v = this.buffer(`${name}.v`, p.length);
      for (let i = 0; i < p.length; i++) {
        v[i] = this.momentum * v[i]! - this.learningRate * g[i]!;
        p[i]! += v[i]!;
      }
    }
  }
}

/** AdaGrad: h ← h + g²; p ← p - lr·g/(√h + 1e-7) (the 1e-7 avoids dividing by 0). */
export class AdaGrad extends Stateful {
  readonly kind = "adagrad";
  constructor(learningRate = 0.01) {
    super(learningRate);
  }
  update(params: Params, grads: Params): void {
    this.step++;
    for (const [name, p, g] of pairs(params, grads)) {
      const h = this.buffer(`${name}.h`, p.length);
      for (let i = 0; i < p.length; i++) {
        h[i]! += g[i]! * g[i]!;
        p[i]! -= (this.learningRate * g[i]!) / (Math.sqrt(h[i]!) + 1e-7);
      }
    }
  }
}

/**
 * Adam, as the book writes it: the bias corrections folded into the step size
 * lr_t = lr·√(1-β2^t)/(1-β1^t), so the first step is about lr·sign(g).
 */
export class Adam extends Stateful {
  readonly kind = "adam";
  readonly beta1: number;
  readonly beta2: number;
  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999) {
    super(learningRate);
    for (const [name, b] of [["beta1", beta1], ["beta2", beta2]] as const) {
      if (!(b >= 0 && b < 1)) {
        throw new RangeError(`Expected ${name} to be in [0, 1) but found ${b}`);
      }
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
  }
  update(params: Params, grads: Params): void {
    this.step++;
    const lrT = (this.learningRate * Math.sqrt(1 - this.beta2 ** this.step)) /
      (1 - this.beta1 ** this.step);
    for (const [name, p, g] of pairs(params, grads)) {
      const m = this.buffer(`${name}.m`, p.length);
      const v = this.buffer(`${name}.v`, p.length);
      for (let i = 0; i < p.length; i++) {
        m[i]! += (1 - this.beta1) * (g[i]! - m[i]!);
        v[i]! += (1 - this.beta2) * (g[i]! * g[i]! - v[i]!);
        p[i]! -= (lrT * m[i]!) / (Math.sqrt(v[i]!) + 1e-7);
      }
    }
  }
}

/** Options of {@linkcode createOptimizer}, as the config spells them. */
export type OptimizerOptions =
  | { kind: "sgd"; learningRate: number }
  | { kind: "momentum"; learningRate: number; momentum?: number }
  | { kind: "adagrad"; learningRate: number }
  | { kind: "adam"; learningRate: number; beta1?: number; beta2?: number };

/** An optimizer from its options. */
export function createOptimizer(options: OptimizerOptions): Optimizer {
  switch (options.kind) {
    case "sgd":
      return new SGD(options.learningRate);
    case "momentum":
      return new Momentum(options.learningRate, options.momentum);
    case "adagrad":
      return new AdaGrad(options.learningRate);
    case "adam":
      return new Adam(options.learningRate, options.beta1, options.beta2);
  }
}
