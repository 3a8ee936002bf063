import assert from "node:assert/strict";
import { assemble, binaryModuleSource, WASM_MODULES } from "../../scripts/build_wasm.ts";
import { KERNELS_WASM } from "../../engine/kernels/kernels_binary.ts";
import { TRAIN_STEP_WASM } from "../../engine/trainer/train_step_binary.ts";
import { SERIES_SUMS_WASM } from "../../engine/numerical/series_sums_binary.ts";
import { WasmTrainer } from "../../engine/trainer/wasm_trainer.ts";
import { oneHot, takeBatch } from "../../data/dataset.ts";
import { loadMnistDigits } from "../../data/mnist_digits.ts";
import { backendKernels, defaultBackend } from "../../engine/kernels/backends.ts";
import type { Engine } from "../../engine/engine.ts";
import { NetworkEngine } from "../../engine/network_engine.ts";
import { jsKernels, type Kernels } from "../../nn/kernels.ts";
import { MultiLayerNet } from "../../nn/network.ts";
import { Adam } from "../../nn/optimizers.ts";
import { Random } from "../../nn/random.ts";
import { createWasmKernels, wasmSimdAvailable } from "../../engine/kernels/wasm_kernels.ts";

Deno.test("the committed WebAssembly modules are the ones their WAT assembles to (deno task wasm)", async () => {
  const committed: Record<string, string> = {
    KERNELS_WASM,
    SERIES_SUMS_WASM,
    TRAIN_STEP_WASM,
  };
  for (const module of WASM_MODULES) {
    const fresh = await assemble(module.wat);
    const source = binaryModuleSource(fresh, module);
    assert.equal(
      committed[module.constant],
      source.match(/= "([^"]+)"/)![1],
      `${module.out} is stale`,
    );
    assert.ok(fresh.length > 100, `${module.wat} assembled to an empty module`);
  }
});

Deno.test("the default backend is wasm where WebAssembly SIMD validates and js where it does not", () => {
  // This runtime's answer, whichever it is, decides the default.
  assert.equal(backendKernels().name, wasmSimdAvailable() ? "wasm" : "js");
  assert.equal(backendKernels("js"), jsKernels);
  // Without SIMD: the js fallback by default, and a clear error when wasm is asked for.
  assert.equal(defaultBackend(false), "js");
  assert.equal(backendKernels(undefined, false), jsKernels);
  assert.throws(() => backendKernels("wasm", false), {
    message: /the wasm backend needs WebAssembly SIMD, which this runtime lacks; use backend: js/,
  });
  // With it: the WebAssembly kernels.
  assert.equal(defaultBackend(true), "wasm");
  if (wasmSimdAvailable()) assert.equal(backendKernels(undefined, true).name, "wasm");
});

/** A random matrix with about half its entries exactly 0 (as ReLU outputs and pixels). */
function values(r: Random, length: number): Float64Array {
  return Float64Array.from({ length }, () => (r.random() < 0.5 ? 0 : r.random() * 2 - 1));
}

function maxRelative(expected: Float64Array, actual: Float64Array): number {
  let scale = 0;
  let error = 0;
  expected.forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    error = Math.max(error, Math.abs(v - actual[i]!));
  });
  return error / Math.max(scale, 1e-30);
}

Deno.test("createWasmKernels() products agree with the float64 kernels to float32 precision", () => {
  const wasm = createWasmKernels();
  const r = new Random(1);
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [4, 16, 16],
    [7, 33, 19],
    [100, 784, 50],
    [10, 20, 129],
  ];
  // Widths that are and are not multiples of 16 and 4 exercise every column tail.
  for (const [m, k, n] of shapes) {
    const check = (
      name: string,
      size: number,
      run: (kernels: Kernels, out: Float64Array) => void,
    ) => {
      const expected = new Float64Array(size);
      const actual = new Float64Array(size);
      run(jsKernels, expected);
      run(wasm, actual);
      const error = maxRelative(expected, actual);
      assert.ok(error < 1e-5, `${name} ${m}×${k}×${n}: relative error ${error}`);
    };
    const a = values(r, m * k);
    const b = values(r, k * n);
    const bt = values(r, m * n);
    const c = values(r, m * n);
    const d = values(r, k * n);
    check("matmul", m * n, (kk, out) => kk.matmul(a, b, out, m, k, n));
    check("matmulTransA", k * n, (kk, out) => kk.matmulTransA(a, bt, out, m, k, n));
    check("matmulTransB", m * k, (kk, out) => kk.matmulTransB(c, d, out, m, n, k));
  }
});

Deno.test("the wasm and js backends give the same loss curve within 2e-3", async () => {
  // js: float64 backprop and Adam; wasm kernels: float32 products; trainer: the whole step in
  // WebAssembly memory, as `backend: wasm` trains.
  const digits = await loadMnistDigits();
  const curves: number[][] = [];
  for (const backend of ["js", "wasm", "trainer"] as const) {
    const net = new MultiLayerNet([784, 64, 10], {
      activation: "relu",
      weightInit: { kind: "he" },
      seed: 3,
    });
    const adam = new Adam(0.001);
    const engine: Engine = backend === "trainer"
      ? new WasmTrainer(net, adam)
      : new NetworkEngine(net, adam, backendKernels(backend));
    const r = new Random(4);
    const curve: number[] = [];
    for (let step = 0; step < 150; step++) {
      const { x, labels } = takeBatch(digits, r.choice(digits.count, 50));
      curve.push(engine.gradientAndLoss(x, oneHot(labels, 10)));
      engine.update();
    }
    engine.dispose();
    curves.push(curve);
  }
  const trainerCurve = curves[2]!;
  const worstTrainer = Math.max(...curves[0]!.map((l, i) => Math.abs(l - trainerCurve[i]!)));
  assert.ok(worstTrainer <= 2e-3, `max |loss_js - loss_trainer| = ${worstTrainer}`);
  const [js, wasm] = curves as [number[], number[]];
  const worst = Math.max(...js.map((l, i) => Math.abs(l - wasm[i]!)));
  assert.ok(worst <= 2e-3, `max |loss_js - loss_wasm| = ${worst}`);
  assert.ok(js.at(-1)! < js[0]! / 4, "the curve really goes down");
});
