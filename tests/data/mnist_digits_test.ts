import assert from "node:assert/strict";
import { stratifiedSplit } from "../../data/dataset.ts";
import { loadMnistDigits, scanNumberArray } from "../../data/mnist_digits.ts";
import { Random } from "../../nn/random.ts";

Deno.test("loadMnistDigits() loads the 10,000 real digits, already in [0, 1]", async () => {
  const ds = await loadMnistDigits();
  assert.equal(ds.count, 10_000);
  assert.equal(ds.features, 784);
  assert.deepEqual(ds.shape, [28, 28]);
  let max = 0;
  let zeros = 0;
  for (const v of ds.x) {
    if (v > max) max = v;
    if (v === 0) zeros++;
  }
  assert.ok(max <= 1 && max > 0.9, `max ${max}`);
  assert.ok(zeros / ds.x.length > 0.7, `fraction of zero pixels ${zeros / ds.x.length}`);
  const perClass = new Array(10).fill(0);
  for (const l of ds.labels) perClass[l]++;
  assert.ok(perClass.every((c) => c > 800 && c < 1200), `per class ${perClass}`);
});

Deno.test("stratifiedSplit() of the digits: disjoint parts, every digit once, each class 80/20", async () => {
  const ds = await loadMnistDigits();
  const { train, test } = stratifiedSplit(ds.labels, 10, 8000, 2000, new Random(42));
  const seen = new Uint8Array(ds.count);
  for (const i of [...train, ...test]) seen[i]!++;
  assert.ok(seen.every((n) => n === 1), "every digit in exactly one part");
  const count = (rows: Int32Array) => {
    const perClass = new Array(10).fill(0);
    for (const i of rows) perClass[ds.labels[i]!]++;
    return perClass;
  };
  const [all, inTest] = [count(Int32Array.from({ length: ds.count }, (_, i) => i)), count(test)];
  // Each class's share of the test part is its share of the whole, to within one digit.
  all.forEach((n, k) =>
    assert.ok(Math.abs(inTest[k] - n / 5) <= 1, `class ${k}: ${inTest[k]} of ${n}`)
  );
  // Drawn by the seed: another seed gives another test part.
  const other = stratifiedSplit(ds.labels, 10, 8000, 2000, new Random(43));
  assert.notDeepEqual(other.test, test);
});

Deno.test("loadMnistDigits() scans the package's files to exactly the values JSON.parse gives", async () => {
  const digits = await loadMnistDigits();
  let at = 0;
  let differ = 0;
  for (let digit = 0; digit < 10; digit++) {
    const file = new URL(import.meta.resolve(`mnist/src/digits/${digit}.json`));
    const data = JSON.parse(await Deno.readTextFile(file)).data as number[];
    for (const v of data) if (Math.fround(v) !== digits.x[at++]) differ++;
    assert.equal(digits.labels[Math.floor((at - 1) / 784)], digit);
  }
  assert.equal(at, digits.x.length);
  assert.equal(differ, 0);
});

Deno.test("scanNumberArray() reads plain decimals exactly, the rest through Number(), and names a bad byte", () => {
  const scan = (text: string, size = 8) => {
    const into = new Float32Array(size);
    const n = scanNumberArray(new TextEncoder().encode(text), into, 0, "t.json");
    return Array.from(into.subarray(0, n));
  };
  const values = [0, 0.5, 0.123, 1, 12.75, -0.25, 1e-3, 2.5e2];
  assert.deepEqual(
    scan(`{ "data": [ ${values.join(" , ")} ] }`),
    values.map(Math.fround),
  );
  assert.deepEqual(scan('{"data":[]}'), []);
  assert.throws(() => scan('{"data":[0, abc]}'), /t\.json: expected a number at byte 12/);
  assert.throws(() => scan('{"data":[0, 1'), /does not end/);
  assert.throws(() => scan('{"data": 5}'), /no array of values/);
});
