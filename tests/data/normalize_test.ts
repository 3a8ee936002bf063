import assert from "node:assert/strict";
import type { Dataset } from "../../data/dataset.ts";
import { applyNormalization, fitNormalization, normalizeValues } from "../../data/normalize.ts";

function dataset(values: number[], features: number): Dataset {
  return {
    x: Float32Array.from(values),
    labels: new Int32Array(values.length / features),
    count: values.length / features,
    features,
    shape: [features],
    classes: 1,
    origin: "test.csv",
  };
}

Deno.test("fitNormalization() scale divides by 255 by default", () => {
  const ds = dataset([0, 255, 51, 102], 2);
  const stats = fitNormalization("scale", ds);
  assert.deepEqual(stats, { kind: "scale", divisor: 255 });
  applyNormalization(stats, ds);
  assert.deepEqual(Array.from(ds.x), [0, 1, 0.20000000298023224, 0.4000000059604645]);
});

Deno.test("fitNormalization() scale refuses data already in [0, 1]", () => {
  assert.throws(() => fitNormalization("scale", dataset([0, 0.5, 1, 0.2], 2)), {
    name: "RangeError",
    message:
      /test\.csv: normalize "scale" would divide by 255, but the training data's largest value is 1: it is already in \[0, 1\]; use normalize "none"/,
  });
});

Deno.test("fitNormalization() minmax maps the training range to [0, 1], constant features to 0", () => {
  const train = dataset([1, 5, 10, 3, 2, 5, 20, 7], 4);
  const stats = fitNormalization("minmax", train);
  assert.deepEqual(stats, { kind: "minmax", min: [1, 5, 10, 3], max: [2, 5, 20, 7] });
  applyNormalization(stats, train);
  assert.deepEqual(Array.from(train.x.subarray(0, 4)), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(train.x.subarray(4)), [1, 0, 1, 1]);
});

Deno.test("fitNormalization() zscore uses training statistics for every split", () => {
  const train = dataset([1, 3, 1, 3], 1);
  const stats = fitNormalization("zscore", train);
  assert.deepEqual(stats, { kind: "zscore", mean: [2], std: [1] });
  const test = dataset([5, 2], 1);
  applyNormalization(stats, test);
  assert.deepEqual(Array.from(test.x), [3, 0]);
});

Deno.test("normalizeValues() rejects statistics for another feature count", () => {
  assert.throws(
    () => normalizeValues({ kind: "zscore", mean: [0, 0], std: [1, 1] }, new Float64Array(3), 3),
    { name: "RangeError", message: "Expected normalisation statistics for 3 features but found 2" },
  );
});
