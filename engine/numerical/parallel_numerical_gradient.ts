/**
 * {@linkcode fastNumericalGradient} split over Workers: each computes the central
 * differences of its slice of every layer's units, writing straight into one shared
 * gradient — bit-identical to the single-threaded result, since every entry is computed by
 * the same code from the same numbers, by exactly one worker.
 *
 * Parameters, the batch and the gradient live in `SharedArrayBuffer`s set up once per network
 * shape, and each worker keeps its copy of the network, so a call copies the parameters and
 * the batch in, posts one small message per worker and copies the gradient out.
 * @module
 */
import { fastNumericalGradient, fastNumericalGradientAndLoss } from "./fast_numerical_gradient.ts";
import { targetsAsOneHot } from "../../nn/losses.ts";
import { Matrix } from "../../nn/matrix.ts";
import type { MultiLayerNet, NetworkOptions, Params, Targets } from "../../nn/network.ts";
import type { RandomState } from "../../nn/random.ts";

/** Shared memory of one network shape: parameter values, batch capacity, the gradient. */
export interface SharedLayout {
  sizes: number[];
  options: NetworkOptions;
  /** Rows of x and t the buffers hold. */
  capacity: number;
  params: Record<string, SharedArrayBuffer>;
  grads: Record<string, SharedArrayBuffer>;
  x: SharedArrayBuffer;
  t: SharedArrayBuffer;
}

/** What a worker is sent: a new layout, or one gradient to compute in it. */
export type NumericalMessage =
  | { kind: "layout"; layout: SharedLayout }
  | {
    kind: "run";
    rows: number;
    h: number;
    train: boolean;
    random: RandomState;
    units: [number, number];
  };

/** A worker's answer to a run. */
export type NumericalReply = { ok: true } | { ok: false; message: string };

/**
 * A pool of Workers for numerical gradients. With one worker (or one core) it computes in
 * the calling thread instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Matrix, NumericalGradientPool, TwoLayerNet } from "../../mod.ts";
 * const pool = new NumericalGradientPool(2);
 * const net = new TwoLayerNet(4, 3, 2, { seed: 1 });
 * const grads = await pool.gradient(net, Matrix.from([[1, 0, 0.5, 0]]), [1]);
 * assert.ok(grads.W1!.rows === 4);
 * pool.terminate();
 * ```
 */
export class NumericalGradientPool {
  readonly size: number;
  #workers: Worker[] = [];
  #layout: SharedLayout | null = null;
  #key = "";
  #gradients: Params | null = null;

  constructor(size = Math.min(2, navigator.hardwareConcurrency ?? 1)) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(
        `Expected the number of workers to be a positive integer but found ${size}`,
      );
    }
    this.size = size;
  }

  /**
   * The numerical gradient and `net.loss(x, t)`: with one worker both from one forward pass
   * (fastNumericalGradientAndLoss, into matrices reused from call to call), else the loss
   * computed in this thread while the Workers compute the gradient.
   */
  async gradientAndLoss(
    net: MultiLayerNet,
    x: Matrix,
    t: Targets,
    options: { h?: number; train?: boolean } = {},
  ): Promise<{ grads: Params; loss: number }> {
    if (this.size === 1) {
      return fastNumericalGradientAndLoss(net, x, t, {
        ...options,
        train: options.train === true && net.dropout > 0,
        into: this.#gradientsFor(net),
      });
    }
    const pending = this.gradient(net, x, t, options);
    const loss = net.loss(x, t);
    return { grads: await pending, loss };
  }

  /**
   * The matrices one thread's gradients are written into, kept from call to call (a fresh
   * 784-50-10 gradient is 318 KB a step); valid until the next call.
   */
  #gradientsFor(net: MultiLayerNet): Params {
    const fits = this.#gradients &&
      Object.entries(net.params).every(([name, p]) => {
        const g = this.#gradients![name];
        return g && g.rows === p.rows && g.cols === p.cols;
      });
    if (!fits) {
      this.#gradients = Object.fromEntries(
        Object.entries(net.params).map(([name, p]) => [name, new Matrix(p.rows, p.cols)]),
      );
    }
    return this.#gradients!;
  }

  /** The numerical gradient of `net.loss(x, t)`, as fastNumericalGradient computes it. */
  async gradient(
    net: MultiLayerNet,
    x: Matrix,
    t: Targets,
    options: { h?: number; train?: boolean } = {},
  ): Promise<Params> {
    const train = options.train === true && net.dropout > 0;
    if (this.size === 1) return fastNumericalGradient(net, x, t, { ...options, train });
    if (this.#workers.length === 0) {
      for (let i = 0; i < this.size; i++) {
        this.#workers.push(
          new Worker(new URL("./numerical_worker.ts", import.meta.url).href, { type: "module" }),
        );
      }
    }
    const layout = this.#layoutFor(net, x.rows);
    const random = net.randomState();
    // Draw this pass's dropout masks here too, so the network's generator moves on exactly as
    // it does when the gradient is computed in one thread.
    if (train) net.activations(x, { train: true });
    for (const [name, p] of Object.entries(net.params)) {
      new Float64Array(layout.params[name]!).set(p.data);
    }
    new Float64Array(layout.x).set(x.data);
    new Float64Array(layout.t).set(targetsAsOneHot(t, x.rows, net.sizes.at(-1)!));
    await Promise.all(
      this.#workers.map((worker, k) =>
        new Promise<void>((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<NumericalReply>) => {
            if (event.data.ok) resolve();
            else reject(new Error(event.data.message));
          };
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`numerical gradient worker failed: ${event.message}`));
          };
          worker.postMessage(
            {
              kind: "run",
              rows: x.rows,
              h: options.h ?? 1e-4,
              train,
              random,
              units: [k / this.size, (k + 1) / this.size],
            } satisfies NumericalMessage,
          );
        })
      ),
    );
    const grads: Params = {};
    for (const [name, p] of Object.entries(net.params)) {
      grads[name] = new Matrix(p.rows, p.cols, new Float64Array(layout.grads[name]!).slice());
    }
    return grads;
  }

  /** The shared buffers for this network and batch size, made (and sent) when they change. */
  #layoutFor(net: MultiLayerNet, rows: number): SharedLayout {
    const options: NetworkOptions = {
      activation: net.activation,
      output: net.output,
      loss: net.lossName,
      dropout: net.dropout,
      weightDecay: net.weightDecay,
      seed: net.seed,
    };
    const key = JSON.stringify([net.sizes, options]);
    if (this.#layout && this.#key === key && this.#layout.capacity >= rows) return this.#layout;
    const shared = (length: number) => new SharedArrayBuffer(length * 8);
    const params: Record<string, SharedArrayBuffer> = {};
    const grads: Record<string, SharedArrayBuffer> = {};
    for (const [name, p] of Object.entries(net.params)) {
      params[name] = shared(p.data.length);
      grads[name] = shared(p.data.length);
    }
    const layout: SharedLayout = {
      sizes: [...net.sizes],
      options,
      capacity: rows,
      params,
      grads,
      x: shared(rows * net.sizes[0]!),
      t: shared(rows * net.sizes.at(-1)!),
    };
    // Messages arrive in order, so the workers see the layout before the next run.
    for (const worker of this.#workers) {
      worker.postMessage({ kind: "layout", layout } satisfies NumericalMessage);
    }
    this.#layout = layout;
    this.#key = key;
    return layout;
  }

  /** Stop the workers. */
  terminate(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
    this.#layout = null;
  }
}
