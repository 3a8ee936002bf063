/**
 * The one in-memory dataset type every source produces and every stage consumes.
 * @module
 */
import { Matrix } from "../nn/matrix.ts";
import type { Random } from "../nn/random.ts";

/** A regression target's scaling: the network learns (value - mean) / std. */
export interface TargetScaling {
  mean: number;
  std: number;
}

/**
 * Regression targets as one column in the units training learns, (value - mean) / std: of
 * the rows `indices`, or of every row.
 */
export function scaledTargets(ds: Dataset, indices?: ArrayLike<number>): Matrix {
  const targets = ds.targets;
  if (!targets) throw new TypeError(`${ds.origin}: not a regression dataset (no targets)`);
  const mean = ds.target?.mean ?? 0;
  const std = ds.target?.std ?? 1;
  const count = indices ? indices.length : ds.count;
  const at = indices ? (i: number) => indices[i]! : (i: number) => i;
  return new Matrix(
    count,
    1,
    Float64Array.from({ length: count }, (_, i) => (targets[at(i)]! - mean) / std),
  );
}

/** Network outputs (first column) back in the target's own units: y · std + mean. */
export function inTargetUnits(y: Matrix, scaling: TargetScaling | undefined): Float64Array {
  const mean = scaling?.mean ?? 0;
  const std = scaling?.std ?? 1;
  return Float64Array.from({ length: y.rows }, (_, i) => y.data[i * y.cols]! * std + mean);
}

/**
 * Labelled samples. `x` is row-major, `count × features` `Float32Array` (half the memory of
 * float64; batches are widened to float64 when drawn). `labels` holds class indices.
 */
export interface Dataset {
  x: Float32Array;
  labels: Int32Array;
  count: number;
  features: number;
  /** The shape of one sample, e.g. [28, 28]; its product is `features`. */
  shape: number[];
  classes: number;
  classNames?: string[];
  /** Regression: each sample's target value in its own units (`labels` are then all 0). */
  targets?: Float64Array;
  /** Regression: the training targets' mean and standard deviation, which training scales by. */
  target?: TargetScaling;
  /** Where the samples came from (a path or a package), for messages. */
  origin: string;
}

/**
 * Rows `indices` of a dataset as a float64 batch matrix and their labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { takeBatch } from "./dataset.ts";
 * const ds = { x: new Float32Array([1, 2, 3, 4]), labels: new Int32Array([0, 1]), count: 2,
 *   features: 2, shape: [2], classes: 2, origin: "example" };
 * const { x, labels } = takeBatch(ds, [1]);
 * assert.ok(x.get(0, 1) === 4 && labels[0] === 1);
 * ```
 */
export function takeBatch(
  ds: Dataset,
  indices: ArrayLike<number>,
): { x: Matrix; labels: Int32Array } {
  const x = new Matrix(indices.length, ds.features);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i]!;
    x.data.set(ds.x.subarray(row * ds.features, (row + 1) * ds.features), i * ds.features);
    labels[i] = ds.labels[row]!;
  }
  return { x, labels };
}

/** Samples `start` to `end` (exclusive) as a float64 matrix, without their labels. */
export function sliceSamples(ds: Dataset, start: number, end: number): Matrix {
  return new Matrix(
    end - start,
    ds.features,
    Float64Array.from(ds.x.subarray(start * ds.features, end * ds.features)),
  );
}

/**
 * One-hot rows for labels: a function of the labels, not a second copy kept beside them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneHot } from "./dataset.ts";
 * assert.ok(oneHot([2], 3).get(0, 2) === 1);
 * ```
 */
export function oneHot(labels: ArrayLike<number>, classes: number): Matrix {
  return oneHotInto(labels, classes, new Float64Array(labels.length * classes));
}

/** {@linkcode oneHot} written into `data` (labels.length × classes values, overwritten). */
export function oneHotInto(
  labels: ArrayLike<number>,
  classes: number,
  data: Float64Array,
): Matrix {
  data.fill(0);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(
        `Expected label ${i} to be an integer in [0, ${classes}) but found ${label}`,
      );
    }
    data[i * classes + label] = 1;
  }
  return new Matrix(labels.length, classes, data);
}

/**
 * Datasets of the rows of each index list, in order, made by rearranging `ds`'s own rows in
 * place (its rows end up in the order of the lists, then the rest): each part is a view of
 * `ds`'s arrays, so splitting costs no second copy of the data. The result equals
 * `parts.map((p) => subset(ds, p))` value for value; `ds` itself must not be used afterwards.
 * The lists must not share a row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionInPlace } from "./dataset.ts";
 * const ds = {
 *   x: Float32Array.of(0, 1, 2),
 *   labels: Int32Array.of(0, 1, 2),
 *   count: 3,
 *   features: 1,
 *   shape: [1],
 *   classes: 3,
 *   origin: "example",
 * };
 * const [a, b] = partitionInPlace(ds, [Int32Array.of(2, 0), Int32Array.of(1)]);
 * assert.deepEqual([Array.from(a!.x), Array.from(b!.x)], [[2, 0], [1]]);
 * ```
 */
export function partitionInPlace(ds: Dataset, parts: ArrayLike<number>[]): Dataset[] {
  const { count, features } = ds;
  // perm[k]: the row that moves to position k (the parts' rows first, then the others).
  const perm = new Int32Array(count);
  const taken = new Uint8Array(count);
  let k = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const row = part[i]!;
      if (!(Number.isInteger(row) && row >= 0 && row < count)) {
        throw new RangeError(`Expected rows in [0, ${count}) but found ${row}`);
      }
      if (taken[row]) throw new RangeError(`Expected distinct rows but found row ${row} twice`);
      taken[row] = 1;
      perm[k++] = row;
    }
  }
  for (let row = 0; row < count; row++) if (!taken[row]) perm[k++] = row;
  // Follow each cycle of the permutation with one row held aside.
  const held = new Float32Array(features);
  const done = taken.fill(0);
  const targets = ds.targets;
  for (let start = 0; start < count; start++) {
    if (done[start] || perm[start] === start) continue;
    held.set(ds.x.subarray(start * features, (start + 1) * features));
    const heldLabel = ds.labels[start]!;
    const heldTarget = targets?.[start];
    let at = start;
    for (;;) {
      done[at] = 1;
      const from = perm[at]!;
      if (from === start) {
        ds.x.set(held, at * features);
        ds.labels[at] = heldLabel;
        if (targets) targets[at] = heldTarget!;
        break;
      }
      ds.x.copyWithin(at * features, from * features, (from + 1) * features);
      ds.labels[at] = ds.labels[from]!;
      if (targets) targets[at] = targets[from]!;
      at = from;
    }
  }
  let offset = 0;
  return parts.map((part) => {
    const [start, end] = [offset, offset += part.length];
    return {
      ...ds,
      x: ds.x.subarray(start * features, end * features),
      labels: ds.labels.subarray(start, end),
      count: part.length,
      ...(targets ? { targets: targets.subarray(start, end) } : {}),
    };
  });
}

/** The dataset with arrays of its own when they are views of larger ones (else itself). */
export function compacted(ds: Dataset): Dataset {
  if (ds.x.byteLength === ds.x.buffer.byteLength) return ds;
  return {
    ...ds,
    x: ds.x.slice(),
    labels: ds.labels.slice(),
    ...(ds.targets ? { targets: ds.targets.slice() } : {}),
  };
}

/** A new dataset of the rows `indices` (copied, in that order). */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const x = new Float32Array(indices.length * ds.features);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i]!;
    x.set(ds.x.subarray(row * ds.features, (row + 1) * ds.features), i * ds.features);
    labels[i] = ds.labels[row]!;
  }
  const targets = ds.targets ? Float64Array.from(indices, (row) => ds.targets![row]!) : null;
  return { ...ds, x, labels, count: indices.length, ...(targets ? { targets } : {}) };
}

/**
 * Indices of a seeded, stratified train/test split: each class contributes to each split in
 * proportion to its share of the whole (largest-remainder rounding, so the sizes are exact).
 * Both index lists come out shuffled.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  classes: number,
  trainSize: number,
  testSize: number,
  rng: Random,
): { train: Int32Array; test: Int32Array } {
  const total = labels.length;
  if (trainSize + testSize > total) {
    throw new RangeError(
      `Expected trainSize + testSize to be at most ${total} but found ${trainSize} + ${testSize} = ${
        trainSize + testSize
      }`,
    );
  }
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < total; i++) byClass[labels[i]!]!.push(i);
  for (const members of byClass) rng.shuffle(members);
  const counts = byClass.map((m) => m.length);
  const testCounts = apportion(counts, testSize);
  const trainCounts = apportion(counts.map((c, k) => c - testCounts[k]!), trainSize);
  const train: number[] = [];
  const test: number[] = [];
  byClass.forEach((members, k) => {
    test.push(...members.slice(0, testCounts[k]));
    train.push(...members.slice(testCounts[k], testCounts[k]! + trainCounts[k]!));
  });
  return { train: Int32Array.from(rng.shuffle(train)), test: Int32Array.from(rng.shuffle(test)) };
}

/** Split `size` over groups in proportion to `counts`, never exceeding a group's count. */
function apportion(counts: number[], size: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return counts.map(() => 0);
  const exact = counts.map((c) => (c * size) / total);
  const out = exact.map(Math.floor);
  let left = size - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, k) => [e - Math.floor(e), k] as const).sort((a, b) =>
    b[0] - a[0] || a[1] - b[1]
  );
  for (const [, k] of order) {
    if (left === 0) break;
    if (out[k]! < counts[k]!) {
      out[k]!++;
      left--;
    }
  }
  return out;
}
