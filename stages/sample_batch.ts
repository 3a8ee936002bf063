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
     * buffers reused from batch to batch, valid until the next batch is drawn (the training loop draws it only after this step's update). A fresh
     * buffer is 313 KB a step for 100 digits; the default run peaked 25 MB higher with one per
     * step (measured).
     */
    reuseRows?: boolean;
  } = {},
): OperatorFunction<number, Batch> {
  const { classWeights } = options;
  const perEpoch = sampler.iterationsPerEpoch;
  const features = train.features;
  let shared = new Float32Array(0);
  // The float64 copy of a batch, for the float64 engines, likewise reused: a fresh one cost
  // 0.36 ms a step of 100 digits (allocating 627 KB), a copy into this one 0.014 ms.
  let shared64 = new Float64Array(0);
  // Labels and one-hot targets likewise: 8.4 KB a step of 100 digits, freed in small pieces
  // that the allocator kept (Fashion-MNIST's 30 epochs grew by about 5 MB an epoch).
  let sharedLabels = new Int32Array(0);
  let oneHotValues = new Float64Array(0);
  const sharedOneHot = (length: number) => {
    if (oneHotValues.length < length) oneHotValues = new Float64Array(length);
    return oneHotValues.subarray(0, length);
  };
  let drawn = 0;
  return map((iteration) => {
    const indices = sampler.next();
    const count = indices.length;
    const size = count * features;
    const generation = ++drawn;
    if (options.reuseRows && sharedLabels.length < count) sharedLabels = new Int32Array(count);
    const labels = options.reuseRows ? sharedLabels.subarray(0, count) : new Int32Array(count);
    for (let i = 0; i < count; i++) labels[i] = train.labels[indices[i]!]!;
    /** Reused buffers hold this batch only until the next is drawn. */
    const current = () => {
      if (generation !== drawn) {
        throw new Error(`batch ${iteration}'s rows were read after the next batch was drawn`);
      }
    };
    /** Copy the batch's rows out of the dataset into `into` (converting to its type). */
    const gather = <T extends Float32Array | Float64Array>(into: T): T => {
      current();
      for (let i = 0; i < count; i++) {
        const row = indices[i]!;
        into.set(train.x.subarray(row * features, (row + 1) * features), i * features);
      }
      return into;
    };
    let rows: Float32Rows | null = null;
    let x: Matrix | null = null;
    if (!options.reuseRows) {
      // Fresh arrays, gathered now: they stay valid whatever is drawn next.
      rows = { rows: count, cols: features, data: gather(new Float32Array(size)) };
    }
    const t = train.targets
      ? scaledTargets(train, indices)
      : classWeights
      ? weightedOneHot(labels, train.classes, classWeights)
      : options.oneHot === false
      ? labels
      : options.reuseRows
      ? oneHotInto(labels, train.classes, sharedOneHot(count * train.classes))
      : oneHot(labels, train.classes);
    return {
      iteration,
      epoch: Math.floor(iteration / perEpoch),
      // Reused batches gather their rows when first read, in the precision read: the
      // numerical method reads only float64 rows, and a float32 copy on the way cost it
      // 78 µs a step of 100 digits.
      get rows(): Float32Rows {
        if (rows) return rows;
        current();
        if (shared.length < size) shared = new Float32Array(size);
        const data = shared.subarray(0, size);
        // From the float64 copy when that was read first: the same float32 values.
        if (x) data.set(x.data);
        else gather(data);
        return rows = { rows: count, cols: features, data };
      },
      get x(): Matrix {
        if (x) return x;
        if (!options.reuseRows) {
          return x = new Matrix(count, features, new Float64Array(rows!.data));
        }
        current();
        if (shared64.length < size) shared64 = new Float64Array(size);
        const values = shared64.subarray(0, size);
        if (rows) values.set(rows.data);
        else gather(values);
        return x = new Matrix(count, features, values);
      },
      t,
      labels,
      indices,
    };
  });
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
