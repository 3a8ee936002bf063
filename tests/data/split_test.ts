import assert from "node:assert/strict";
import { splitRows } from "../../data/split.ts";
import { Random } from "../../nn/random.ts";

/** 100 rows: class 0 × 70, class 1 × 25, class 2 × 5 (a rare class). */
const strata = Int32Array.from({ length: 100 }, (_, i) => (i < 70 ? 0 : i < 95 ? 1 : 2));
const classesIn = (rows: Int32Array) => new Set(Array.from(rows, (i) => strata[i]!));

Deno.test("splitRows() gives exact sizes and every class in each part", () => {
  const parts = splitRows(100, { test: 20, validation: 10 }, new Random(3), strata);
  assert.deepEqual(
    [parts.train.length, parts.validation.length, parts.test.length],
    [70, 10, 20],
  );
  for (const part of [parts.train, parts.validation, parts.test]) {
    assert.deepEqual([...classesIn(part)].sort(), [0, 1, 2]);
  }
  // Each class keeps its share of the test part: 70% → 14, 25% → 5, 5% → 1.
  const count = (rows: Int32Array, k: number) =>
    Array.from(rows).filter((i) => strata[i] === k).length;
  assert.deepEqual([0, 1, 2].map((k) => count(parts.test, k)), [14, 5, 1]);
});

Deno.test("splitRows() uses every row exactly once", () => {
  const parts = splitRows(100, { test: 20, validation: 10 }, new Random(3), strata);
  const all = [...parts.train, ...parts.validation, ...parts.test].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 100 }, (_, i) => i));
});

Deno.test("splitRows() draws the same rows for the same seed and others for another", () => {
  const a = splitRows(100, { test: 20, validation: 10 }, new Random(3), strata);
  const b = splitRows(100, { test: 20, validation: 10 }, new Random(3), strata);
  const c = splitRows(100, { test: 20, validation: 10 }, new Random(4), strata);
  assert.deepEqual(a, b);
  assert.notDeepEqual(Array.from(a.test).sort(), Array.from(c.test).sort());
});

Deno.test("splitRows() without strata cuts a shuffled order", () => {
  const parts = splitRows(10, { test: 3, validation: 0 }, new Random(1));
  assert.deepEqual([parts.train.length, parts.validation.length, parts.test.length], [7, 0, 3]);
  assert.notDeepEqual(Array.from(parts.train), [3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("splitRows() throws when the parts leave no training rows", () => {
  assert.throws(() => splitRows(10, { test: 5, validation: 5 }, new Random(1)), {
    name: "RangeError",
    message: /leave training rows but found 5 \+ 5 of 10 rows/,
  });
});
