/**
 * {@linkcode fastNumericalGradient} split over Workers: each computes the central
 * differences of its slice of every layer's units, and the slices add up to the whole
 * gradient — bit-identical to the single-threaded result, since every entry is computed by
 * the same code from the same numbers.
 * @module
 */
import { fastNumericalGradient } from "./fast_numerical_gradient.ts";
import { targetsAsOneHot } from "./losses.ts";
import { Matrix } from "./matrix.ts";
import type { MultiLayerNet, NetworkOptions, Params, Targets } from "./network.ts";
import type { RandomState } from "./random.ts";

/** What a worker is sent. */
export interface NumericalTask {
  sizes: number[];
  options: NetworkOptions;
  params: Record<string, Float64Array>;
  random: RandomState;
  x: Float64Array;
  t: Float64Array;
  rows: number;
  h: number;
  train: boolean;
  units: [number, number];
}

type Reply = { ok: true; grads: Record<string, Float64Array> } | { ok: false; message: string };

/**
 * A pool of Workers for numerical gradients. With one worker (or one core) it computes in
 * the calling thread instead.
 *
 * @example
 * ```ts
 * import { Matrix, NumericalGradientPool, TwoLayerNet } from "../mod.ts";
 * const pool = new NumericalGradientPool(2);
 * const net = new TwoLayerNet(4, 3, 2, { seed: 1 });
 * const grads = await pool.gradient(net, Matrix.from([[1, 0, 0.5, 0]]), [1]);
 * console.assert(grads.W1!.rows === 4);
 * pool.terminate();
 * ```
 */
export class NumericalGradientPool {
  readonly size: number;
  #workers: Worker[] = [];

  constructor(size = Math.min(2, navigator.hardwareConcurrency ?? 1)) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(
        `Expected the number of workers to be a positive integer but found ${size}`,
      );
    }
    this.size = size;
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
    const random = net.randomState();
    // Draw this pass's dropout masks here too, so the network's generator moves on exactly as
    // it does when the gradient is computed in one thread.
    if (train) net.activations(x, { train: true });
    const base = {
      sizes: [...net.sizes],
      options: {
        activation: net.activation,
        output: net.output,
        loss: net.lossName,
        dropout: net.dropout,
        weightDecay: net.weightDecay,
        seed: net.seed,
      },
      params: Object.fromEntries(Object.entries(net.params).map(([k, m]) => [k, m.data])),
      random,
      x: x.data,
      t: Float64Array.from(targetsAsOneHot(t, x.rows, net.sizes.at(-1)!)),
      rows: x.rows,
      h: options.h ?? 1e-4,
      train,
    };
    const parts = await Promise.all(
      this.#workers.map((worker, k) =>
        new Promise<Record<string, Float64Array>>((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<Reply>) => {
            const reply = event.data;
            if (reply.ok) resolve(reply.grads);
            else reject(new Error(reply.message));
          };
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`numerical gradient worker failed: ${event.message}`));
          };
          worker.postMessage(
            { ...base, units: [k / this.size, (k + 1) / this.size] } satisfies NumericalTask,
          );
        })
      ),
    );
    const grads: Params = {};
    for (const [name, p] of Object.entries(net.params)) {
      const sum = new Float64Array(p.data.length);
      for (const part of parts) {
        const values = part[name]!;
        for (let i = 0; i < sum.length; i++) sum[i]! += values[i]!;
      }
      grads[name] = new Matrix(p.rows, p.cols, sum);
    }
    return grads;
  }

  /** Stop the workers. */
  terminate(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
  }
}
