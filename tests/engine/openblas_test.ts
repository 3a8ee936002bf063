import assert from "node:assert/strict";
import { MultiLayerNet, type NetworkOptions } from "../../nn/network.ts";
import { createOptimizer } from "../../nn/optimizers.ts";
import { openBlas } from "../../engine/trainer/openblas.ts";
import { blasLayers, density, WasmTrainer } from "../../engine/trainer/wasm_trainer.ts";
import { sparseBatch } from "../nn/helpers.ts";
import { assertFloat32Backprop, heldRowsFixture } from "./helpers.ts";

const blas = openBlas();
const ignore = typeof blas === "string";
if (ignore) console.warn(`skipping the OpenBLAS trainer's tests: ${blas}`);

Deno.test("blasLayers() leaves a sparse, wide first layer to WebAssembly and gives OpenBLAS the rest", () => {
  // The digits are 19 % non-zero: at 100 outputs the zero-skipping products won, at 50 not.
  assert.deepEqual(blasLayers([784, 100, 10], 0.19), [false, true]);
  assert.deepEqual(blasLayers([784, 50, 10], 0.19), [true, true]);
  assert.deepEqual(blasLayers([784, 256, 128, 10], 0.19), [false, true, true]);
  // Fashion-MNIST's pixels are about half non-zero: OpenBLAS everywhere.
  assert.deepEqual(blasLayers([784, 256, 128, 10], 0.5), [true, true, true]);
  assert.equal(density(Float32Array.of(0, 1, 0, 0.5)), 0.5);
  assert.equal(density(Float32Array.of(0, 1, 0, 0.5), 2), 0.5);
  assert.equal(density(new Float32Array(0)), 1);
});

// Widths that are not multiples of 4 exercise the padding; the density decides whether layer 1
// is OpenBLAS's (1) or the module's (0.1, 70 outputs).
const nets: [string, number[], NetworkOptions, number][] = [
  ["sigmoid 30-6-3, all OpenBLAS", [30, 6, 3], {}, 1],
  ["ReLU 30-70-9-3, layer 1 in WebAssembly", [30, 70, 9, 3], {
    activation: "relu",
    weightInit: { kind: "he" },
  }, 0.1],
  ["ReLU 30-9-7-5 with dropout", [30, 9, 7, 5], {
    activation: "relu",
    dropout: 0.3,
    weightInit: { kind: "he" },
  }, 1],
  ["tanh 30-8-10 with weight decay", [30, 8, 10], { activation: "tanh", weightDecay: 0.1 }, 1],
];
for (const [name, sizes, options, inputDensity] of nets) {
  Deno.test({
    name: `OpenBLAS products give backprop's gradient to float32 precision: ${name}`,
    ignore,
    fn() {
      const { description } = assertFloat32Backprop(sizes, options, {
        products: "openblas",
        inputDensity,
      });
      assert.match(description, /dense products in OpenBLAS/);
    },
  });
}

Deno.test({
  name: "OpenBLAS products: the same bits on one thread and two, on held rows and on copies",
  ignore,
  async fn() {
    const sizes = [30, 70, 7, 4];
    const { data, held, batches, step } = heldRowsFixture();
    const run = async (threads: 1 | 2, byNumber: boolean, inputDensity: number) => {
      const net = new MultiLayerNet(sizes, { seed: 6, activation: "relu", dropout: 0.25 });
      const trainer = new WasmTrainer(net, createOptimizer({ kind: "adam", learningRate: 0.01 }), {
        threads,
        capacity: 2,
        products: "openblas",
        inputDensity,
      });
      const losses: number[] = [];
      try {
        assert.equal(await trainer.ready(), threads === 2);
        if (byNumber) assert.equal(trainer.holdRows(held), true);
        for (const rows of [...batches, ...batches]) losses.push(step(trainer, rows, byNumber));
        assert.equal(trainer.threads, threads);
        return { losses, params: trainer.readParams(), predicted: trainer.predict(data).data };
      } finally {
        trainer.dispose();
      }
    };
    // Layer 1 in OpenBLAS (dense input) and in the module (sparse input, 70 outputs).
    for (const inputDensity of [1, 0.1]) {
      const first = await run(1, false, inputDensity);
      assert.ok(first.losses.every(Number.isFinite));
      for (const [threads, byNumber] of [[2, false], [1, true], [2, true]] as const) {
        const other = await run(threads, byNumber, inputDensity);
        const what = `density ${inputDensity}, ${threads} thread(s), ${
          byNumber ? "held" : "copied"
        }`;
        assert.deepEqual(other.losses, first.losses, what);
        for (const name of Object.keys(first.params)) {
          assert.deepEqual(other.params[name]!.data, first.params[name]!.data, `${what}: ${name}`);
        }
        assert.deepEqual(other.predicted, first.predicted, `${what}: predictions`);
      }
    }
  },
});

Deno.test({
  name: "OpenBLAS products: predict() answers as net.predict() does, to float32 precision",
  ignore,
  fn() {
    const net = new MultiLayerNet([30, 9, 6, 3], { seed: 8, activation: "relu" });
    const x = sparseBatch(300, 30, 9, 0.3);
    const expected = net.predict(x);
    const trainer = new WasmTrainer(net, createOptimizer({ kind: "sgd", learningRate: 0.1 }), {
      threads: 1,
      capacity: 64,
      products: "openblas",
    });
    try {
      const got = trainer.predict(x);
      let worst = 0;
      expected.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got.data[i]!))));
      assert.ok(worst < 1e-6, `max |difference| ${worst}`);
    } finally {
      trainer.dispose();
    }
  },
});
