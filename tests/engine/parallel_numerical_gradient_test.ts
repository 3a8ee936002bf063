import assert from "node:assert/strict";
import { fastNumericalGradient } from "../../engine/numerical/fast_numerical_gradient.ts";
import { MultiLayerNet } from "../../nn/network.ts";
import { NumericalGradientPool } from "../../engine/numerical/parallel_numerical_gradient.ts";
import { sparseBatch } from "../nn/helpers.ts";

Deno.test("NumericalGradientPool.gradient() is bit-identical to one thread", async () => {
  const pool = new NumericalGradientPool(2);
  try {
    for (const sizes of [[30, 9, 4], [30, 8, 6, 4], [30, 4]]) {
      const net = new MultiLayerNet(sizes, {
        seed: 5,
        activation: "relu",
        weightInit: { kind: "he" },
      });
      const x = sparseBatch(6, 30, 3);
      const t = [0, 1, 2, 3, 0, 1];
      const parallel = await pool.gradient(net, x, t);
      const single = fastNumericalGradient(net, x, t);
      for (const name of Object.keys(single)) {
        assert.deepEqual(parallel[name]!.data, single[name]!.data, `${sizes.join("-")} ${name}`);
      }
    }
  } finally {
    pool.terminate();
  }
});

Deno.test("NumericalGradientPool.gradient() uses and advances the dropout masks as one thread does", async () => {
  const pool = new NumericalGradientPool(2);
  try {
    const a = new MultiLayerNet([30, 12, 4], { seed: 5, dropout: 0.5 });
    const b = new MultiLayerNet([30, 12, 4], { seed: 5, dropout: 0.5 });
    const x = sparseBatch(5, 30, 4);
    const t = [0, 1, 2, 3, 0];
    const parallel = await pool.gradient(a, x, t, { train: true });
    const single = fastNumericalGradient(b, x, t, { train: true });
    assert.deepEqual(parallel.W1!.data, single.W1!.data);
    assert.deepEqual(a.randomState(), b.randomState());
  } finally {
    pool.terminate();
  }
});

Deno.test("NumericalGradientPool() with one worker computes in the calling thread", async () => {
  const pool = new NumericalGradientPool(1);
  const net = new MultiLayerNet([10, 4], { seed: 1 });
  const x = sparseBatch(3, 10, 1);
  assert.deepEqual(
    (await pool.gradient(net, x, [0, 1, 2])).W1!.data,
    fastNumericalGradient(net, x, [0, 1, 2]).W1!.data,
  );
  pool.terminate();
  assert.throws(() => new NumericalGradientPool(0), {
    name: "RangeError",
    message: "Expected the number of workers to be a positive integer but found 0",
  });
});
