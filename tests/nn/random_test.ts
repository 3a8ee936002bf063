import assert from "node:assert/strict";
import { Random } from "../../mod.ts";

Deno.test("Random() with the same seed gives the same sequence", () => {
  const a = new Random(42);
  const b = new Random(42);
  for (let i = 0; i < 100; i++) assert.equal(a.nextUint32(), b.nextUint32());
});

Deno.test("Random() with different seeds gives different sequences", () => {
  const a = Array.from({ length: 8 }, (_, i) => new Random(i).nextUint32());
  assert.equal(new Set(a).size, 8);
  assert.notEqual(new Random(2 ** 32).nextUint32(), new Random(0).nextUint32());
});

Deno.test("Random.random() is uniform on [0, 1)", () => {
  const r = new Random(1);
  let sum = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const v = r.random();
    assert.ok(v >= 0 && v < 1);
    sum += v;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.005, `mean ${sum / n}`);
});

Deno.test("Random.normal() has mean 0 and variance 1", () => {
  const r = new Random(3);
  const n = 100_000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const v = r.normal();
    s += v;
    s2 += v * v;
  }
  assert.ok(Math.abs(s / n) < 0.01, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.02, `variance ${s2 / n}`);
});

Deno.test("Random.int() covers [0, n) evenly", () => {
  const r = new Random(5);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `counts ${counts}`);
});

Deno.test("Random.fromState() continues exactly, including a pending normal", () => {
  const a = new Random(9);
  a.normal();
  const b = Random.fromState(a.state());
  for (let i = 0; i < 10; i++) assert.equal(a.normal(), b.normal());
});

Deno.test("Random.shuffle() permutes and choice() draws in range", () => {
  const r = new Random(11);
  const values = Array.from({ length: 50 }, (_, i) => i);
  r.shuffle(values);
  assert.notDeepEqual(values, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  const picks = r.choice(10, 1000);
  assert.ok(picks.every((v) => v >= 0 && v < 10));
});

Deno.test("Random() throws on a negative or fractional seed", () => {
  assert.throws(() => new Random(-1), { name: "RangeError", message: /found -1/ });
  assert.throws(() => new Random(1.5), { name: "RangeError", message: /found 1.5/ });
});

Deno.test("Random.int() draws what rejection sampling with the % remainder draws, past 2^31 too", () => {
  // The reference: the textbook form, in BigInt so that no floating point is involved.
  const reference = (r: Random, n: number) => {
    const N = BigInt(n);
    const limit = 2n ** 32n - (2n ** 32n % N);
    let x = BigInt(r.nextUint32());
    while (x >= limit) x = BigInt(r.nextUint32());
    return Number(x % N);
  };
  for (
    const n of [1, 2, 3, 7, 100, 8000, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 11, 4294967291, 2 ** 32]
  ) {
    const [a, b] = [new Random(n % 1000), new Random(n % 1000)];
    for (let k = 0; k < 20_000; k++) assert.equal(a.int(n), reference(b, n), `n = ${n}`);
  }
});
