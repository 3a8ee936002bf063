/**
 * Stage `load`: a data source config in, the train and test splits out.
 * @module
 */
import { concatMap, type OperatorFunction } from "rxjs";
import { loadCsv } from "../data/csv.ts";
import { type Dataset, stratifiedSplit, subset } from "../data/dataset.ts";
import { loadIdx } from "../data/idx.ts";
import { loadMnistDigits } from "../data/mnist_digits.ts";
import { deriveSeed, Random } from "../nn/random.ts";
import type { Config } from "../pipeline/config.ts";

/** A data source as the config describes it (paths already resolved). */
export type SourceConfig = Config["data"]["source"];

/** The two splits every later stage works on. */
export interface Splits {
  train: Dataset;
  test: Dataset;
}

/**
 * Read each source config that arrives and emit its splits. The npm digits are split by a
 * seeded stratified split; IDX and CSV sources come with their own train and test files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of } from "rxjs";
 * import { load } from "./load.ts";
 * const { train, test } = await lastValueFrom(
 *   of({ kind: "mnist-digits" as const, trainSize: 800, testSize: 200 }).pipe(load({ seed: 1 })),
 * );
 * assert.ok(train.count === 800 && test.count === 200);
 * ```
 */
export function load(options: { seed: number }): OperatorFunction<SourceConfig, Splits> {
  return concatMap((source) => loadSplits(source, options.seed));
}

/** The splits of one source. */
export async function loadSplits(source: SourceConfig, seed: number): Promise<Splits> {
  switch (source.kind) {
    case "mnist-digits": {
      const all = await loadMnistDigits();
      const { train, test } = stratifiedSplit(
        all.labels,
        all.classes,
        source.trainSize,
        source.testSize,
        new Random(deriveSeed(seed, "split")),
      );
      return { train: subset(all, train), test: subset(all, test) };
    }
    case "idx": {
      const options = {
        classes: source.classes,
        ...(source.classNames ? { classNames: source.classNames } : {}),
      };
      const [train, test] = await Promise.all([
        loadIdx(source.trainImages, source.trainLabels, options),
        loadIdx(source.testImages, source.testLabels, options),
      ]);
      checkSameShape(train, test);
      return { train, test };
    }
    case "csv": {
      const common = {
        labelColumn: source.labelColumn,
        header: source.header,
        delimiter: source.delimiter,
      };
      const train = await loadCsv(source.train, {
        ...common,
        ...(source.classes !== undefined ? { classes: source.classes } : {}),
      });
      // The test split must use the training split's classes (and string-label mapping).
      const test = await loadCsv(source.test, {
        ...common,
        classes: train.classNames ?? source.classes ?? train.classes,
      });
      checkSameShape(train, test);
      return { train, test: { ...test, classes: train.classes } };
    }
  }
}

function checkSameShape(train: Dataset, test: Dataset): void {
  if (train.features !== test.features) {
    throw new RangeError(
      `${test.origin}: ${test.features} features per sample but ${train.origin} has ${train.features}; expected the same`,
    );
  }
}
