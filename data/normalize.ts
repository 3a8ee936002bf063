/**
 * Feature normalisation: fitted on the training split only, applied to every split, and
 * returned as plain data so a saved model can normalise new inputs the same way.
 * @module
 */
import type { Dataset } from "./dataset.ts";

/** The normalisations a config may name. */
export type NormalizeKind = "scale" | "minmax" | "zscore" | "none";

/** Fitted statistics: everything needed to apply the normalisation again. */
export type Normalization =
  | { kind: "none" }
  | { kind: "scale"; divisor: number }
  | { kind: "minmax"; min: number[]; max: number[] }
  | { kind: "zscore"; mean: number[]; std: number[] };

/**
 * Fit a normalisation on training data. `scale` divides by `divisor` [255, the byte range of
 * IDX and CSV pixels]; it refuses data that is already within [0, 1] unless the divisor is 1,
 * because dividing normalised pixels by 255 again silently ruins training.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyNormalization, fitNormalization } from "./normalize.ts";
 * const train = { x: new Float32Array([0, 10, 4, 30]), labels: new Int32Array(2), count: 2,
 *   features: 2, shape: [2], classes: 1, origin: "example" };
 * const stats = fitNormalization("minmax", train);
 * applyNormalization(stats, train);
 * assert.ok(train.x[1] === 0 && train.x[3] === 1);
 * ```
 */
export function fitNormalization(
  kind: NormalizeKind,
  train: Dataset,
  options: { divisor?: number } = {},
): Normalization {
  const { x, features, count } = train;
  switch (kind) {
    case "none":
      return { kind };
    case "scale": {
      const divisor = options.divisor ?? 255;
      if (!(divisor > 0) || !Number.isFinite(divisor)) {
        throw new RangeError(
          `Expected the scale divisor to be greater than 0 but found ${divisor}`,
        );
      }
      let max = -Infinity;
      for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
      if (divisor > 1 && max <= 1 && count > 0) {
        throw new RangeError(
          `${train.origin}: normalize "scale" would divide by ${divisor}, but the training data's largest value is ${max}: it is already in [0, 1]; use normalize "none"`,
        );
      }
      return { kind, divisor };
    }
    case "minmax":
      return { kind, ...featureRanges(x, count, features) };
    case "zscore": {
      const mean = new Array<number>(features).fill(0);
      const std = new Array<number>(features).fill(0);
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < features; j++) mean[j]! += x[i * features + j]!;
      }
      for (let j = 0; j < features; j++) mean[j]! /= Math.max(count, 1);
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < features; j++) std[j]! += (x[i * features + j]! - mean[j]!) ** 2;
      }
      for (let j = 0; j < features; j++) std[j] = Math.sqrt(std[j]! / Math.max(count, 1));
      return { kind, mean, std };
    }
  }
}

/**
 * Normalise a dataset's samples in place (datasets can be hundreds of MB; no second copy).
 * A constant feature (max = min, or std = 0) maps to 0 instead of dividing by zero.
 */
export function applyNormalization(stats: Normalization, ds: Dataset): void {
  normalizeValues(stats, ds.x, ds.features);
}

/** Normalise row-major values with `features` columns in place. */
export function normalizeValues(
  stats: Normalization,
  x: Float32Array | Float64Array,
  features: number,
): void {
  if (stats.kind === "none") return;
  if (stats.kind === "scale") {
    for (let i = 0; i < x.length; i++) x[i]! /= stats.divisor;
    return;
  }
  const { offset, divisor } = perFeature(stats);
  if (offset.length !== features) {
    throw new RangeError(
      `Expected normalisation statistics for ${features} features but found ${offset.length}`,
    );
  }
  for (let i = 0; i < x.length; i += features) {
    for (let j = 0; j < features; j++) x[i + j] = (x[i + j]! - offset[j]!) / divisor[j]!;
  }
}

/** Each feature's smallest and largest value over `count` rows of `features` values. */
export function featureRanges(
  x: ArrayLike<number>,
  count: number,
  features: number,
): { min: number[]; max: number[] } {
  const min = new Array<number>(features).fill(Infinity);
  const max = new Array<number>(features).fill(-Infinity);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < features; j++) {
      const v = x[i * features + j]!;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  return { min, max };
}

/**
 * minmax and zscore as one affine map per feature, (x - offset) / divisor; a feature that did
 * not vary in training (range or std 0) is divided by 1. The ONNX export builds the same map.
 */
export function perFeature(
  stats: Extract<Normalization, { kind: "minmax" | "zscore" }>,
): { offset: number[]; divisor: number[] } {
  const [offset, range] = stats.kind === "minmax"
    ? [stats.min, stats.max.map((m, j) => m - stats.min[j]!)]
    : [stats.mean, stats.std];
  return { offset, divisor: range.map((r) => (r > 0 ? r : 1)) };
}
