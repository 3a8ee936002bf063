import { takeBatch } from "./data/dataset.ts";
import { loadMnistDigits } from "./data/mnist_digits.ts";
import { MultiLayerNet } from "./nn/network.ts";
import { SGD } from "./nn/optimizers.ts";
import { WasmTrainer } from "./engine/trainer/wasm_trainer.ts";
const digits = await loadMnistDigits();
const { x, labels } = takeBatch(digits, Int32Array.from({ length: 100 }, (_, i) => i * 97));
const x32 = { rows: x.rows, cols: x.cols, data: Float32Array.from(x.data) };
for (
  const [sizes, act] of [[[784, 50, 10], "sigmoid"], [[784, 100, 10], "sigmoid"], [[
    784,
    256,
    128,
    10,
  ], "relu"]] as const
) {
  const tr = new WasmTrainer(
    new MultiLayerNet([...sizes], { activation: act, weightInit: { kind: "he" }, seed: 1 }),
    new SGD(0.1),
    { threads: "auto" },
  );
  await tr.ready();
  for (let i = 0; i < 50; i++) {
    tr.gradientAndLoss(x32, labels);
    tr.update();
  }
  const t0 = performance.now();
  const N = 1000;
  for (let i = 0; i < N; i++) {
    tr.gradientAndLoss(x32, labels);
    tr.update();
  }
  const ms = (performance.now() - t0) / N;
  console.log(sizes.join("-"), act, "threads", tr.threads, "samples/s", Math.round(100000 / ms));
  tr.dispose();
}
