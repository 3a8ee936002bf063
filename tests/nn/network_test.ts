import assert from "node:assert/strict";
import { Matrix, MultiLayerNet, Random, TwoLayerNet } from "../../mod.ts";
import { maxAbsDifference, sparseBatch } from "./helpers.ts";

function assertGradientsAgree(net: MultiLayerNet, x: Matrix, t: number[], tolerance: number) {
  const numerical = net.numericalGradient(x, t);
  const backprop = net.gradient(x, t);
  assert.deepEqual(Object.keys(backprop), Object.keys(net.params));
  for (const [name, diff] of Object.entries(maxAbsDifference(numerical, backprop))) {
    assert.ok(diff <= tolerance, `${name}: max |numerical - backprop| = ${diff} > ${tolerance}`);
  }
  // The gradients must not be trivially zero for the check to mean anything.
  assert.ok(backprop.W1!.data.some((v) => Math.abs(v) > 1e-6));
}

Deno.test("TwoLayerNet() has the book's parameter shapes", () => {
  const net = new TwoLayerNet(784, 100, 10, { seed: 1 });
  assert.deepEqual(Object.keys(net.params), ["W1", "b1", "W2", "b2"]);
  assert.deepEqual([net.params.W1!.rows, net.params.W1!.cols], [784, 100]);
  assert.deepEqual([net.params.b1!.rows, net.params.b1!.cols], [1, 100]);
  assert.deepEqual([net.params.W2!.rows, net.params.W2!.cols], [100, 10]);
  assert.ok(net.params.b2!.data.every((v) => v === 0));
  const w = net.params.W1!.data;
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - 0.01) < 0.0005, `std ${std}`);
});

Deno.test("TwoLayerNet() numerical and backprop gradients agree on 784-50-10 within 1e-7", () => {
  const net = new TwoLayerNet(784, 50, 10, { seed: 42 });
  assertGradientsAgree(net, sparseBatch(3, 784, 1), [3, 7, 1], 1e-7);
});

Deno.test("MultiLayerNet() gradients agree for a deeper ReLU net", () => {
  const net = new MultiLayerNet([30, 20, 16, 10], {
    activation: "relu",
    weightInit: { kind: "he" },
    seed: 5,
  });
  const r = new Random(2);
  const x = new Matrix(5, 30);
  for (let i = 0; i < x.data.length; i++) x.data[i] = r.normal();
  assertGradientsAgree(net, x, [0, 4, 9, 2, 2], 1e-7);
});

Deno.test("MultiLayerNet() gradients agree for tanh, MSE, sigmoid output and weight decay", () => {
  const x = sparseBatch(4, 12, 3);
  for (
    const options of [
      { activation: "tanh", loss: "mse", output: "identity" },
      { activation: "sigmoid", loss: "mse", output: "softmax" },
      { activation: "relu", loss: "cross-entropy", output: "sigmoid" },
      { activation: "sigmoid", weightDecay: 0.1 },
    ] as const
  ) {
    const net = new MultiLayerNet([12, 9, 4], { ...options, weightInit: { kind: "xavier" } });
    assertGradientsAgree(net, x, [0, 1, 3, 2], 1e-7);
  }
});

Deno.test("MultiLayerNet() with two sizes is a single-layer net", () => {
  const net = new MultiLayerNet([6, 3], { seed: 1 });
  assert.deepEqual(Object.keys(net.params), ["W1", "b1"]);
  assertGradientsAgree(net, sparseBatch(4, 6, 9), [0, 1, 2, 0], 1e-8);
});

Deno.test("MultiLayerNet() holds dropout masks fixed for the numerical gradient", () => {
  const net = new MultiLayerNet([8, 16, 3], { dropout: 0.5, seed: 4 });
  const x = sparseBatch(4, 8, 4);
  const t = [0, 1, 2, 1];
  // Backprop with the same masks: draw them by running numericalGradient's first pass.
  const state = net.randomState();
  const numerical = net.numericalGradient(x, t, { train: true });
  net.setRandomState(state);
  const backprop = net.gradient(x, t, { train: true });
  for (const [name, diff] of Object.entries(maxAbsDifference(numerical, backprop))) {
    assert.ok(diff <= 1e-8, `${name}: ${diff}`);
  }
  // Some hidden units really are dropped: a dropped unit's incoming weights get no gradient.
  assert.ok(backprop.W1!.data.some((v) => v === 0));
});

Deno.test("MultiLayerNet() dropout is off at inference", () => {
  const net = new MultiLayerNet([8, 16, 3], { dropout: 0.5, seed: 4 });
  const x = sparseBatch(2, 8, 4);
  assert.deepEqual(Array.from(net.predict(x).data), Array.from(net.predict(x).data));
  assert.notDeepEqual(
    Array.from(net.predict(x, { train: true }).data),
    Array.from(net.predict(x).data),
  );
});

Deno.test("MultiLayerNet() with the same seed has bit-identical parameters", () => {
  const a = new MultiLayerNet([20, 10, 5], { seed: 123 });
  const b = new MultiLayerNet([20, 10, 5], { seed: 123 });
  const c = new MultiLayerNet([20, 10, 5], { seed: 124 });
  for (const name of Object.keys(a.params)) {
    assert.deepEqual(a.params[name]!.data, b.params[name]!.data);
  }
  assert.notDeepEqual(a.params.W1!.data, c.params.W1!.data);
});

Deno.test("MultiLayerNet.accuracy() counts argmax hits for labels and one-hot", () => {
  const net = new MultiLayerNet([2, 2], { output: "identity" });
  net.params.W1!.data.set([1, 0, 0, 1]);
  const x = Matrix.from([[1, 0], [0, 1], [1, 0], [0, 2]]);
  assert.equal(net.accuracy(x, [0, 1, 1, 1]), 0.75);
  assert.equal(net.accuracy(x, Matrix.from([[1, 0], [0, 1], [0, 1], [0, 1]])), 0.75);
});

Deno.test("MultiLayerNet.predict() gives softmax rows for a large batch", () => {
  const net = new TwoLayerNet(10, 5, 4, { seed: 2 });
  const x = sparseBatch(1300, 10, 8);
  const y = net.predict(x);
  assert.equal(y.rows, 1300);
  for (let i = 0; i < y.rows; i += 97) {
    assert.ok(Math.abs(y.row(i).reduce((s, v) => s + v, 0) - 1) < 1e-12);
  }
  // Chunked prediction equals one-row prediction.
  const single = net.predict(new Matrix(1, 10, x.row(1299).slice()));
  assert.deepEqual(Array.from(single.data), Array.from(y.row(1299)));
});

Deno.test("MultiLayerNet() throws on bad sizes and inputs", () => {
  assert.throws(() => new MultiLayerNet([784]), {
    name: "RangeError",
    message: "Expected at least two layer sizes (input and output) but found 1",
  });
  assert.throws(() => new MultiLayerNet([784, 0, 10]), {
    name: "RangeError",
    message: "Expected layer size 1 to be a positive integer but found 0",
  });
  assert.throws(() => new TwoLayerNet(4, 3, 2).predict(new Matrix(1, 5)), {
    name: "RangeError",
    message: "Expected inputs with 4 features but found 5",
  });
  assert.throws(() => new MultiLayerNet([4, 2], { dropout: 1 }), { name: "RangeError" });
});
