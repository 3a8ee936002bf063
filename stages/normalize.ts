/**
 * Stage `normalize`: fit the normalisation on the training split, apply it to both splits.
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import { applyNormalization, fitNormalization, type Normalization } from "../data/normalize.ts";
import type { Config } from "../config/config.ts";
import type { Splits } from "./load.ts";

/** The splits, normalised, with the statistics that did it. */
export interface NormalizedSplits extends Splits {
  normalization: Normalization;
}

/** The config's `data.normalize` setting. */
export type NormalizeSetting = Config["data"]["normalize"];

/**
 * The default for a source: the npm digits are already in [0, 1]; IDX bytes and CSV pixel
 * pairs (train + test files) are divided by 255; a single CSV table, whose columns have
 * units of their own, is standardised (zscore).
 */
export function defaultNormalize(
  source: Config["data"]["source"] | Config["data"]["source"]["kind"],
): NormalizeSetting {
  const kind = typeof source === "string" ? source : source.kind;
  if (kind === "mnist-digits") return "none";
  return typeof source === "object" && source.kind === "csv" && source.file !== undefined
    ? "zscore"
    : "scale";
}

/**
 * Normalise each pair of splits that arrives, in place (a dataset is not copied).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of } from "rxjs";
 * import { normalize } from "./normalize.ts";
 * const ds = (v: number[]) => ({ x: Float32Array.from(v), labels: new Int32Array(v.length),
 *   count: v.length, features: 1, shape: [1], classes: 1, origin: "example" });
 * const out = await lastValueFrom(of({ train: ds([0, 4]), test: ds([2]) }).pipe(normalize("minmax")));
 * assert.ok(out.test.x[0] === 0.5);
 * ```
 */
export function normalize(setting: NormalizeSetting): OperatorFunction<Splits, NormalizedSplits> {
  return map((splits) => {
    const kind = typeof setting === "object" ? setting.kind : setting ?? "scale";
    const divisor = typeof setting === "object" ? { divisor: setting.divisor } : {};
    const normalization = fitNormalization(kind, splits.train, divisor);
    for (const ds of [splits.train, splits.validation, splits.test]) {
      if (ds) applyNormalization(normalization, ds);
    }
    return { ...splits, normalization };
  });
}
