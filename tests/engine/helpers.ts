/** Helpers shared by the engine tests. */
import assert from "node:assert/strict";
import { Matrix } from "../../nn/matrix.ts";
import { MultiLayerNet, type NetworkOptions, type Params } from "../../nn/network.ts";
import { createOptimizer } from "../../nn/optimizers.ts";
import { WasmTrainer, type WasmTrainerOptions } from "../../engine/trainer/wasm_trainer.ts";
import { maxDifference, sparseBatch } from "../nn/helpers.ts";

/** The largest |a - b| relative to the largest |a| over all parameters. */
export function relativeDifference(a: Params, b: Params): number {
  let scale = 0;
  for (const m of Object.values(a)) for (const v of m.data) scale = Math.max(scale, Math.abs(v));
  return maxDifference(a, b) / scale;
}

/**
 * A WasmTrainer (with `trainerOptions`) of a net of these sizes gives the float64 network's
 * loss and gradient on a sparse batch of 9 rows to float32 precision: the loss within 2e-6
 * relative, the gradient within 5e-6 of its largest entry. Returns both networks (their
 * dropout generators have moved on) and the trainer's description.
 */
export function assertFloat32Backprop(
  sizes: number[],
  options: NetworkOptions,
  trainerOptions: WasmTrainerOptions,
): { net: MultiLayerNet; reference: MultiLayerNet; description: string } {
  const reference = new MultiLayerNet(sizes, { seed: 7, ...options });
  const net = new MultiLayerNet(sizes, { seed: 7, ...options });
  const x = sparseBatch(9, 30, 2);
  const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2].map((v) => v % sizes.at(-1)!);
  const expected = reference.gradientAndLoss(x, labels, { train: true });
  const trainer = new WasmTrainer(net, createOptimizer({ kind: "sgd", learningRate: 0.1 }), {
    capacity: 4,
    ...trainerOptions,
  });
  try {
    const loss = trainer.gradientAndLoss(x, labels, { train: true });
    assert.ok(
      Math.abs(loss - expected.loss) < 2e-6 * expected.loss,
      `${loss} vs ${expected.loss}`,
    );
    const error = relativeDifference(expected.grads, trainer.gradients());
    assert.ok(error < 5e-6, `relative gradient error ${error}`);
    return { net, reference, description: trainer.description };
  } finally {
    trainer.dispose();
  }
}

/**
 * Forty sparse rows of 30 features, to hold (`held`) or copy, the batches the held-rows tests
 * step on (odd, even and single-row batches, repeated rows, and more rows than a capacity of
 * 2), and one training step on a batch's rows, named or copied: its loss.
 */
export function heldRowsFixture() {
  const data = sparseBatch(40, 30, 12);
  const held = { rows: 40, cols: 30, data: Float32Array.from(data.data) };
  const copies = (rows: number[]) =>
    new Matrix(rows.length, 30, Float64Array.from(rows.flatMap((r) => [...data.row(r)])));
  const batches = [[3, 9, 27, 0, 39, 5, 5], [1, 2, 3, 4, 5, 6], [17], [38, 12, 12, 0, 33, 21, 8]];
  const step = (trainer: WasmTrainer, rows: number[], byNumber: boolean): number => {
    const labels = rows.map((r) => r % 4);
    const loss = byNumber
      ? trainer.gradientAndLossOfRows(Int32Array.from(rows), labels, { train: true })
      : trainer.gradientAndLoss(copies(rows), labels, { train: true });
    trainer.update();
    return loss;
  };
  return { data, held, batches, step };
}
