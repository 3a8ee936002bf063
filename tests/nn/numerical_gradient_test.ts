import assert from "node:assert/strict";
import { gradientDescent, Matrix, numericalGradient } from "../../mod.ts";

const f2 = (x: Float64Array) => x[0]! ** 2 + x[1]! ** 2;

Deno.test("numericalGradient() of x0²+x1² is (6, 8) at (3, 4) and (0, 4) at (0, 2)", () => {
  const g = numericalGradient(f2, new Float64Array([3, 4]));
  assert.ok(Math.abs(g[0]! - 6) < 1e-6 && Math.abs(g[1]! - 8) < 1e-6, `found ${g}`);
  const g2 = numericalGradient(f2, new Float64Array([0, 2]));
  assert.ok(Math.abs(g2[0]!) < 1e-6 && Math.abs(g2[1]! - 4) < 1e-6, `found ${g2}`);
});

Deno.test("numericalGradient() restores every element exactly", () => {
  const x = new Float64Array([0.1, 1 / 3, -7.25]);
  const before = x.slice();
  numericalGradient((v) => v[0]! * v[1]! * v[2]!, x);
  assert.deepEqual(Array.from(x), Array.from(before));
});

Deno.test("numericalGradient() keeps a matrix's shape", () => {
  const w = Matrix.from([[1, 2, 3], [4, 5, 6]]);
  const g = numericalGradient((m) => m.data.reduce((s, v) => s + v * v, 0), w);
  assert.ok(g instanceof Matrix);
  assert.equal(g.rows, 2);
  g.data.forEach((v, i) => assert.ok(Math.abs(v - 2 * w.data[i]!) < 1e-6));
});

Deno.test("numericalGradient() throws on h <= 0", () => {
  assert.throws(() => numericalGradient(f2, new Float64Array(2), { h: 0 }), {
    name: "RangeError",
    message: "Expected h to be a finite number greater than 0 but found 0",
  });
});

Deno.test("gradientDescent() with lr 0.1 reaches about (-6.1e-10, 8.1e-10)", () => {
  const x = gradientDescent(f2, [-3, 4], { lr: 0.1, stepNum: 100 });
  assert.ok(Math.abs(x[0]! - -6.1e-10) < 0.05e-10, `found ${x}`);
  assert.ok(Math.abs(x[1]! - 8.1e-10) < 0.1e-10, `found ${x}`);
});

Deno.test("gradientDescent() with lr 0.01 only reaches about (-0.398, 0.530)", () => {
  const x = gradientDescent(f2, [-3, 4], { lr: 0.01, stepNum: 100 });
  assert.ok(Math.abs(x[0]! - -0.398) < 1e-3 && Math.abs(x[1]! - 0.530) < 1e-3, `found ${x}`);
});

Deno.test("gradientDescent() with lr 10 diverges (the book's -2.58e13, -1.29e12)", () => {
  const x = gradientDescent(f2, [-3, 4], { lr: 10, stepNum: 100 });
  assert.ok(Math.abs(x[0]!) > 1e12, `found ${x}`);
  assert.ok(Math.abs(x[0]! / -2.58983747e13 - 1) < 1e-6, `found ${x}`);
  assert.ok(Math.abs(x[1]! / -1.29524862e12 - 1) < 1e-6, `found ${x}`);
});

Deno.test("gradientDescent() with lr 1e-10 barely moves", () => {
  const x = gradientDescent(f2, [-3, 4], { lr: 1e-10, stepNum: 100 });
  assert.ok(Math.abs(x[0]! - -3) < 1e-7 && Math.abs(x[1]! - 4) < 1e-7, `found ${x}`);
  assert.notEqual(x[0], -3);
});

Deno.test("gradientDescent() returns the path on request", () => {
  const { x, path } = gradientDescent(f2, [-3, 4], { lr: 0.1, stepNum: 20, path: true });
  assert.equal(path.length, 21);
  assert.deepEqual(Array.from(path[0]!), [-3, 4]);
  assert.deepEqual(Array.from(path[20]!), Array.from(x));
  assert.ok(Math.abs(path[1]![0]! - -2.4) < 1e-9);
});
