/**
 * Stage `sampleBatch`: an iteration number in, that iteration's mini-batch out.
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import { type Dataset, oneHot, oneHotInto, scaledTargets } from "../data/dataset.ts";
import type { BatchSampler } from "../data/sampler.ts";
import { Matrix } from "../nn/matrix.ts";
import type { Float32Rows } from "../nn/network.ts";

/** One mini-batch. `t` is one-hot rows or the labels themselves, as the config asks. */
export interface Batch {
  iteration: number;
  epoch: number;
  /** The samples as float64 rows. */
  x: Matrix;
  /**
   * The same samples as the dataset stores them (float32), when the batch came from one: the
   * WebAssembly trainer reads these, and `x` is then only made when something reads it.
   */
  rows?: Float32Rows;
  t: Matrix | Int32Array;
  labels: Int32Array;
  /** The samples' row numbers in the dataset. */
  indices: Int32Array;
}

/**
 * Draw a batch for each iteration that arrives. The sampler carries the draw state (so a
 * checkpoint can save it); batches are drawn only when an iteration is asked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of, toArray } from "rxjs";
 * import { BatchSampler } from "../data/sampler.ts";
 * import { sampleBatch } from "./sample_batch.ts";
 * const train = { x: new Float32Array(20), labels: new Int32Array(10), count: 10, features: 2,
 *   shape: [2], classes: 1, origin: "example" };
 * const batches = await lastValueFrom(
 *   of(0, 1, 2).pipe(sampleBatch(train, new BatchSampler(10, 4, "shuffle", 7)), toArray()),
 * );
 * assert.ok(batches[2]!.x.rows === 2 && batches[2]!.epoch === 0);
 * ```
 */
export function sampleBatch(
  train: Dataset,
  sampler: BatchSampler,
  options: {
    oneHot?: boolean;
    classWeights?: ArrayLike<number> | null;
    /**
     * Draw every batch's rows (and their float64 copy `x`, labels and one-hot targets) into
     * buffers reused from batch to batch, valid until the next batch is drawn (the training
     * loop draws it only after this step's update). A fresh buffer is 313 KB a step for 100
     * digits; the default run peaked 25 MB higher with one per step (measured).
     */
    reuseRows?: boolean;
  } = {},
): OperatorFunction<number, Batch> {
  const { classWeights } = options;
  const perEpoch = sampler.iterationsPerEpoch;
  const draws = new Draws(train, options.reuseRows === true);
  return map((iteration) => {
    const indices = sampler.next();
    const count = indices.length;
    draws.drawn++;
    const labels = draws.labels(count);
    for (let i = 0; i < count; i++) labels[i] = train.labels[indices[i]!]!;
    const t = train.targets
      ? scaledTargets(train, indices)
      : classWeights
      ? weightedOneHot(labels, train.classes, classWeights)
      : options.oneHot === false
      ? labels
      : draws.reuse
      ? oneHotInto(labels, train.classes, draws.oneHot.view(count * train.classes))
      : oneHot(labels, train.classes);
    return new DrawnBatch(draws, iteration, Math.floor(iteration / perEpoch), t, labels, indices);
  });
}

/**
 * A buffer reused from batch to batch, grown when too small, with a view of the length last
 * asked for kept: a batch's size changes only at the end of an epoch, and a new view each step
 * was one more object for the garbage collector.
 */
class Reused<T extends Int32Array | Float32Array | Float64Array> {
  readonly #make: (length: number) => T;
  #buffer: T;
  #view: T;

  constructor(make: (length: number) => T) {
    this.#make = make;
    this.#buffer = this.#view = make(0);
  }

  /** The buffer's first `length` values. */
  view(length: number): T {
    if (this.#view.length !== length) {
      if (this.#buffer.length < length) this.#buffer = this.#make(length);
      this.#view = this.#buffer.subarray(0, length) as T;
    }
    return this.#view;
  }
}

/**
 * What a stage's batches are drawn from and, when reused, into: the dataset, the buffers
 * shared from batch to batch, and how many batches were drawn (a reused buffer belongs to the
 * last).
 */
class Draws {
  readonly train: Dataset;
  readonly reuse: boolean;
  drawn = 0;
  readonly rows32 = new Reused((n) => new Float32Array(n));
  // The float64 copy of a batch, for the float64 engines, likewise reused: a fresh one cost
  // 0.36 ms a step of 100 digits (allocating 627 KB), a copy into this one 0.014 ms.
  readonly rows64 = new Reused((n) => new Float64Array(n));
  // Labels and one-hot targets likewise: 8.4 KB a step of 100 digits, freed in small pieces
  // that the allocator kept (Fashion-MNIST's 30 epochs grew by about 5 MB an epoch).
  readonly oneHot = new Reused((n) => new Float64Array(n));
  readonly #labels = new Reused((n) => new Int32Array(n));

  constructor(train: Dataset, reuse: boolean) {
    this.train = train;
    this.reuse = reuse;
  }

  /** The labels' array for the next batch, of `count` (shared when reused). */
  labels(count: number): Int32Array {
    return this.reuse ? this.#labels.view(count) : new Int32Array(count);
  }

  /** Copy the rows numbered `indices` out of the dataset into `into` (converting to its type). */
  gather<T extends Float32Array | Float64Array>(indices: Int32Array, into: T): T {
    const { x, features } = this.train;
    for (let i = 0; i < indices.length; i++) {
      const row = indices[i]!;
      into.set(x.subarray(row * features, (row + 1) * features), i * features);
    }
    return into;
  }
}

/**
 * A drawn batch: its rows are gathered when first read, in the precision read (the numerical
 * method reads only float64 rows, and a float32 copy on the way cost it 78 µs a step of 100
 * digits). A class rather than an object of closures: that was 1.3 KB a step for the garbage
 * collector, and each step's batch outlived the young generation (a sampling heap profile of
 * 20,000 steps of 784-50-10 through the CLI).
 */
class DrawnBatch implements Batch {
  readonly iteration: number;
  readonly epoch: number;
  readonly t: Matrix | Int32Array;
  readonly labels: Int32Array;
  readonly indices: Int32Array;
  readonly #draws: Draws;
  /** Which draw this batch was: reused buffers hold it only until the next. */
  readonly #generation: number;
  #rows: Float32Rows | null = null;
  #x: Matrix | null = null;

  constructor(
    draws: Draws,
    iteration: number,
    epoch: number,
    t: Matrix | Int32Array,
    labels: Int32Array,
    indices: Int32Array,
  ) {
    this.#draws = draws;
    this.#generation = draws.drawn;
    this.iteration = iteration;
    this.epoch = epoch;
    this.t = t;
    this.labels = labels;
    this.indices = indices;
    if (!draws.reuse) {
      // Fresh arrays, gathered now: they stay valid whatever is drawn next.
      const size = indices.length * draws.train.features;
      this.#rows = {
        rows: indices.length,
        cols: draws.train.features,
        data: draws.gather(indices, new Float32Array(size)),
      };
    }
  }

  get rows(): Float32Rows {
    if (this.#rows) return this.#rows;
    this.#current();
    const count = this.indices.length;
    const cols = this.#draws.train.features;
    const data = this.#draws.rows32.view(count * cols);
    // From the float64 copy when that was read first: the same float32 values.
    if (this.#x) data.set(this.#x.data);
    else this.#draws.gather(this.indices, data);
    return this.#rows = { rows: count, cols, data };
  }

  get x(): Matrix {
    if (this.#x) return this.#x;
    const count = this.indices.length;
    const cols = this.#draws.train.features;
    if (!this.#draws.reuse) {
      return this.#x = new Matrix(count, cols, new Float64Array(this.#rows!.data));
    }
    this.#current();
    const values = this.#draws.rows64.view(count * cols);
    if (this.#rows) values.set(this.#rows.data);
    else this.#draws.gather(this.indices, values);
    return this.#x = new Matrix(count, cols, values);
  }

  /** Reused buffers hold this batch only until the next is drawn. */
  #current(): void {
    if (this.#generation !== this.#draws.drawn) {
      throw new Error(`batch ${this.iteration}'s rows were read after the next batch was drawn`);
    }
  }
}

/**
 * One-hot rows scaled by each sample's class weight: the book's cross-entropy with these soft
 * targets, -Σ t·log(y + 1e-7) / B, is then exactly the weighted loss -Σ w_label·log(y_label) / B,
 * and backprop of that same function gives its gradient.
 */
export function weightedOneHot(
  labels: Int32Array,
  classes: number,
  weights: ArrayLike<number>,
): Matrix {
  const t = oneHot(labels, classes);
  for (let i = 0; i < labels.length; i++) t.data[i * classes + labels[i]!]! *= weights[labels[i]!]!;
  return t;
}
