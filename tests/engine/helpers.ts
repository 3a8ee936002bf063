/** Helpers shared by the engine tests. */
import assert from "node:assert/strict";
import type { Engine } from "../../engine/engine.ts";
import { Matrix } from "../../nn/matrix.ts";
import type { MultiLayerNet, Params } from "../../nn/network.ts";
import type { WasmTrainer } from "../../engine/trainer/wasm_trainer.ts";
import { maxDifference, sparseBatch } from "../nn/helpers.ts";

/** The largest |a - b| relative to the largest |a| over all parameters. */
export function relativeDifference(a: Params, b: Params): number {
  let scale = 0;
  for (const m of Object.values(a)) for (const v of m.data) scale = Math.max(scale, Math.abs(v));
  return maxDifference(a, b) / scale;
}

/**
 * The engine's training pass on (x, labels) gives the float64 network's loss and gradient to
 * float32 precision: the loss within 2e-6 relative, the gradient within 5e-6 of its largest
 * entry.
 */
export function assertFloat32Backprop(
  engine: Engine,
  reference: MultiLayerNet,
  x: Matrix,
  labels: number[],
): void {
  const expected = reference.gradientAndLoss(x, labels, { train: true });
  const loss = engine.gradientAndLoss(x, labels, { train: true });
  assert.ok(Math.abs(loss - expected.loss) < 2e-6 * expected.loss, `${loss} vs ${expected.loss}`);
  const error = relativeDifference(expected.grads, engine.gradients());
  assert.ok(error < 5e-6, `relative gradient error ${error}`);
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
