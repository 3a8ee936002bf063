import assert from "node:assert/strict";
import { takeBatch } from "../../data/dataset.ts";
import { loadMnistDigits } from "../../data/mnist_digits.ts";
import { fastNumericalGradient } from "../../engine/numerical/fast_numerical_gradient.ts";
import { Matrix } from "../../nn/matrix.ts";
import { MultiLayerNet, type NetworkOptions } from "../../nn/network.ts";
import { TwoLayerNet } from "../../nn/two_layer_net.ts";
import { maxDifference, sparseBatch } from "../nn/helpers.ts";

const cases: [string, number[], NetworkOptions][] = [
  ["two-layer sigmoid (the book's)", [10, 6, 4], {}],
  ["single layer", [10, 4], {}],
  ["three hidden ReLU layers", [10, 8, 7, 6, 4], {
    activation: "relu",
    weightInit: { kind: "he" },
  }],
  ["tanh, MSE, sigmoid output, weight decay", [10, 6, 5, 4], {
    activation: "tanh",
    loss: "mse",
    output: "sigmoid",
    weightDecay: 0.05,
  }],
  ["identity output with MSE", [10, 6, 4], { loss: "mse", output: "identity" }],
];
for (const [name, sizes, options] of cases) {
  Deno.test(`fastNumericalGradient() equals the naive numerical gradient: ${name}`, () => {
    const net = new MultiLayerNet(sizes, { seed: 3, ...options });
    const x = sparseBatch(7, 10, 1, 0.3);
    const t = [0, 1, 2, 3, 0, 1, 2];
    const difference = maxDifference(fastNumericalGradient(net, x, t), net.numericalGradient(x, t));
    assert.ok(difference <= 1e-9, `max |fast - naive| = ${difference}`);
  });
}

Deno.test("fastNumericalGradient() holds dropout masks as the naive method does", () => {
  const net = new MultiLayerNet([10, 12, 4], { seed: 3, dropout: 0.4 });
  const x = sparseBatch(5, 10, 2, 0.3);
  const t = [0, 1, 2, 3, 0];
  const state = net.randomState();
  const fast = fastNumericalGradient(net, x, t, { train: true });
  net.setRandomState(state);
  const naive = net.numericalGradient(x, t, { train: true });
  assert.ok(maxDifference(fast, naive) <= 1e-9);
  assert.ok(fast.W1!.data.some((v) => v === 0), "dropped units get no gradient");
});

Deno.test("fastNumericalGradient() agrees with backprop on 784-50-10 and 100 real digits", async () => {
  const digits = await loadMnistDigits();
  const { x, labels } = takeBatch(digits, Int32Array.from({ length: 100 }, (_, i) => i * 97));
  const net = new TwoLayerNet(784, 50, 10, { seed: 42 });
  const difference = maxDifference(fastNumericalGradient(net, x, labels), net.gradient(x, labels));
  assert.ok(difference <= 1e-8, `max |numerical - backprop| = ${difference}`);
});

Deno.test("fastNumericalGradient() rejects h <= 0", () => {
  const net = new TwoLayerNet(3, 2, 2);
  assert.throws(() => fastNumericalGradient(net, new Matrix(1, 3), [0], { h: -1 }), {
    name: "RangeError",
    message: "Expected h to be a finite number greater than 0 but found -1",
  });
});
