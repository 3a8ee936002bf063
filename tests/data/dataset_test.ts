import assert from "node:assert/strict";
import {
  compacted,
  type Dataset,
  oneHot,
  partitionInPlace,
  stratifiedSplit,
  subset,
  takeBatch,
} from "../../data/dataset.ts";
import { Random } from "../../nn/random.ts";

const ds: Dataset = {
  x: Float32Array.from({ length: 12 }, (_, i) => i),
  labels: Int32Array.from([0, 1, 2, 1]),
  count: 4,
  features: 3,
  shape: [3],
  classes: 3,
  origin: "test",
};

Deno.test("takeBatch() copies the chosen rows as float64", () => {
  const { x, labels } = takeBatch(ds, [3, 0, 3]);
  assert.deepEqual(Array.from(x.data), [9, 10, 11, 0, 1, 2, 9, 10, 11]);
  assert.deepEqual(Array.from(labels), [1, 0, 1]);
});

Deno.test("subset() keeps metadata and the chosen rows", () => {
  const s = subset(ds, [2]);
  assert.equal(s.count, 1);
  assert.deepEqual(Array.from(s.x), [6, 7, 8]);
  assert.equal(s.classes, 3);
});

Deno.test("oneHot() encodes labels and rejects one out of range", () => {
  assert.deepEqual(oneHot([2, 0], 3).toArray(), [[0, 0, 1], [1, 0, 0]]);
  assert.throws(() => oneHot([3], 3), { name: "RangeError", message: /found 3/ });
});

Deno.test("stratifiedSplit() keeps class proportions and exact sizes", () => {
  const labels = Int32Array.from({ length: 1000 }, (_, i) => (i < 600 ? 0 : i < 900 ? 1 : 2));
  const { train, test } = stratifiedSplit(labels, 3, 700, 250, new Random(1));
  assert.equal(train.length, 700);
  assert.equal(test.length, 250);
  const count = (idx: Int32Array, k: number) => idx.filter((i) => labels[i] === k).length;
  assert.deepEqual([0, 1, 2].map((k) => count(test, k)), [150, 75, 25]);
  assert.deepEqual([0, 1, 2].map((k) => count(train, k)), [420, 210, 70]);
  assert.equal(new Set([...train, ...test]).size, 950);
});

Deno.test("stratifiedSplit() is identical for the same seed and differs for another", () => {
  const labels = Int32Array.from({ length: 100 }, (_, i) => i % 10);
  const a = stratifiedSplit(labels, 10, 80, 20, new Random(7));
  const b = stratifiedSplit(labels, 10, 80, 20, new Random(7));
  const c = stratifiedSplit(labels, 10, 80, 20, new Random(8));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.test, c.test);
});

Deno.test("stratifiedSplit() rejects sizes larger than the data", () => {
  assert.throws(() => stratifiedSplit(new Int32Array(10), 1, 8, 5, new Random(0)), {
    name: "RangeError",
    message: "Expected trainSize + testSize to be at most 10 but found 8 + 5 = 13",
  });
});

/** 12 rows of 3 features whose values name their row, with targets. */
function numbered(count = 12): Dataset {
  return {
    x: Float32Array.from({ length: count * 3 }, (_, i) => Math.floor(i / 3) + (i % 3) / 10),
    labels: Int32Array.from({ length: count }, (_, i) => i % 4),
    targets: Float64Array.from({ length: count }, (_, i) => i * 1.5),
    count,
    features: 3,
    shape: [3],
    classes: 4,
    origin: "test",
  };
}

Deno.test("partitionInPlace() gives what subset() gives, as views of the one array", () => {
  const r = new Random(5);
  for (let trial = 0; trial < 20; trial++) {
    const order = r.shuffle(Array.from({ length: 12 }, (_, i) => i));
    // Two parts that leave some rows out, as a split into train and test sizes may.
    const parts = [Int32Array.from(order.slice(0, 5)), Int32Array.from(order.slice(5, 9))];
    const expected = parts.map((p) => subset(numbered(), p));
    const ds = numbered();
    const got = partitionInPlace(ds, parts);
    for (const [k, part] of got.entries()) {
      assert.deepEqual(Array.from(part.x), Array.from(expected[k]!.x));
      assert.deepEqual(Array.from(part.labels), Array.from(expected[k]!.labels));
      assert.deepEqual(Array.from(part.targets!), Array.from(expected[k]!.targets!));
      assert.equal(part.count, parts[k]!.length);
      assert.equal(part.x.buffer, ds.x.buffer);
    }
  }
});

Deno.test("partitionInPlace() refuses a row twice or out of range, and compacted() copies views", () => {
  assert.throws(() => partitionInPlace(numbered(), [Int32Array.of(1, 2), Int32Array.of(2)]), {
    message: "Expected distinct rows but found row 2 twice",
  });
  assert.throws(() => partitionInPlace(numbered(), [Int32Array.of(12)]), {
    message: "Expected rows in [0, 12) but found 12",
  });
  const [part] = partitionInPlace(numbered(), [Int32Array.of(3, 1)]);
  const own = compacted(part!);
  assert.notEqual(own.x.buffer, part!.x.buffer);
  assert.equal(own.x.buffer.byteLength, 2 * 3 * 4);
  assert.deepEqual(Array.from(own.x), Array.from(part!.x));
  const whole = numbered();
  assert.equal(compacted(whole), whole);
});
