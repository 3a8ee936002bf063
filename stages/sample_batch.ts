/**
 * Stage `sampleBatch`: an iteration number in, that iteration's mini-batch out.
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import { type Dataset, oneHot } from "../data/dataset.ts";
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
  options: { oneHot?: boolean } = {},
): OperatorFunction<number, Batch> {
  const perEpoch = sampler.iterationsPerEpoch;
  const features = train.features;
  return map((iteration) => {
    const indices = sampler.next();
    const data = new Float32Array(indices.length * features);
    const labels = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const row = indices[i]!;
      data.set(train.x.subarray(row * features, (row + 1) * features), i * features);
      labels[i] = train.labels[row]!;
    }
    const rows: Float32Rows = { rows: indices.length, cols: features, data };
    let x: Matrix | null = null;
    return {
      iteration,
      epoch: Math.floor(iteration / perEpoch),
      get x() {
        return x ??= new Matrix(rows.rows, features, Float64Array.from(data));
      },
      rows,
      t: options.oneHot === false ? labels : oneHot(labels, train.classes),
      labels,
    };
  });
}
