import assert from "node:assert/strict";
import { takeBatch } from "../../data/dataset.ts";
import { loadMnistDigits } from "../../data/mnist_digits.ts";
import {
  fastNumericalGradient,
  fastNumericalGradientAndLoss,
  useSeriesSums,
} from "../../engine/numerical/fast_numerical_gradient.ts";
import { createSeriesSums } from "../../engine/numerical/series_sums.ts";
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

Deno.test("fastNumericalGradient() evaluates large shifts directly: raw pixels up to 255", () => {
  // 2h·255 = 0.05 is beyond the series' bound (1e-3): in the hidden layer of a two-layer net,
  // in the output layer of a single-layer one.
  for (
    const [sizes, activation] of [[[10, 6, 4], "sigmoid"], [[10, 6, 4], "relu"], [
      [10, 4],
      "sigmoid",
    ]] as const
  ) {
    const net = new MultiLayerNet([...sizes], { seed: 5, activation });
    const x = sparseBatch(6, 10, 4, 0.4);
    for (let i = 0; i < x.data.length; i++) x.data[i] = Math.round(x.data[i]! * 255);
    const t = [0, 1, 2, 3, 0, 1];
    const difference = maxDifference(fastNumericalGradient(net, x, t), net.numericalGradient(x, t));
    assert.ok(difference <= 1e-9, `${sizes} ${activation}: max |fast - naive| = ${difference}`);
  }
});

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

Deno.test("fastNumericalGradient() equals the book's loop on 784-50-10 and 100 real digits", async () => {
  // The book's net and batch, where the series carries every entry: each of 200 parameters,
  // spread over the four matrices, against (L(p + h) - L(p - h)) / 2h from two whole passes.
  const digits = await loadMnistDigits();
  const { x, labels } = takeBatch(digits, Int32Array.from({ length: 100 }, (_, i) => i * 97));
  const net = new TwoLayerNet(784, 50, 10, { seed: 42 });
  const fast = fastNumericalGradient(net, x, labels);
  let worst = 0;
  for (const name of ["W1", "b1", "W2", "b2"]) {
    const p = net.params[name]!.data;
    for (let k = 0; k < 50; k++) {
      // W1's rows 150-650 are the pixels that are not always 0.
      const at = name === "W1" ? 150 * 50 + ((k * 4999) % (500 * 50)) : (k * 7) % p.length;
      const v = p[at]!;
      p[at] = v + 1e-4;
      const up = net.loss(x, labels);
      p[at] = v - 1e-4;
      const down = net.loss(x, labels);
      p[at] = v;
      worst = Math.max(worst, Math.abs((up - down) / 2e-4 - fast[name]!.data[at]!));
    }
  }
  assert.ok(worst <= 1e-9, `max |fast - naive| = ${worst}`);
});

Deno.test("fastNumericalGradient() keeps the central difference's truncation error, as the book's loop has it", () => {
  // The largest h whose shifts stay within the series' bound (2h·max(1, |x|) < 1e-3), where the
  // O(h²) difference from the derivative (about 3e-9 here) stands out of the rounding (1e-12).
  const h = 4.5e-4;
  const net = new MultiLayerNet([30, 8, 4], { seed: 6 });
  const x = sparseBatch(8, 30, 5, 0.4);
  const t = [0, 1, 2, 3, 0, 1, 2, 3];
  const fast = fastNumericalGradient(net, x, t, { h });
  const fromNaive = maxDifference(fast, net.numericalGradient(x, t, { h }));
  const fromBackprop = maxDifference(fast, net.gradient(x, t));
  assert.ok(fromNaive <= 1e-9, `max |fast - naive| = ${fromNaive}`);
  assert.ok(fromBackprop > 100 * fromNaive, `max |fast - backprop| = ${fromBackprop}`);
});

Deno.test("fastNumericalGradient() gives the same bits with the JavaScript sums as with WebAssembly", async () => {
  const digits = await loadMnistDigits();
  const { x, labels } = takeBatch(digits, Int32Array.from({ length: 50 }, (_, i) => i * 193));
  const net = new TwoLayerNet(784, 50, 10, { seed: 7 });
  useSeriesSums(createSeriesSums("js"));
  try {
    const js = fastNumericalGradient(net, x, labels);
    useSeriesSums(createSeriesSums("wasm"));
    assert.deepEqual(fastNumericalGradient(net, x, labels), js);
  } finally {
    useSeriesSums(createSeriesSums());
  }
});

Deno.test("fastNumericalGradientAndLoss() gives net.loss() bit for bit, with and without dropout", () => {
  for (const dropout of [0, 0.3]) {
    const net = new MultiLayerNet([10, 8, 4], { seed: 2, dropout });
    const x = sparseBatch(6, 10, 3);
    const t = [0, 1, 2, 3, 0, 1];
    const state = net.randomState();
    const { grads, loss } = fastNumericalGradientAndLoss(net, x, t, { train: true });
    assert.equal(loss, net.loss(x, t));
    net.setRandomState(state);
    assert.deepEqual(grads, fastNumericalGradient(net, x, t, { train: true }));
  }
});

Deno.test("fastNumericalGradient() rejects h <= 0", () => {
  const net = new TwoLayerNet(3, 2, 2);
  assert.throws(() => fastNumericalGradient(net, new Matrix(1, 3), [0], { h: -1 }), {
    name: "RangeError",
    message: "Expected h to be a finite number greater than 0 but found -1",
  });
});
