import assert from "node:assert/strict";
import { Matrix, MultiLayerNet } from "../../mod.ts";
import { balancedClassWeights } from "../../nn/losses.ts";
import { weightedOneHot } from "../../stages/sample_batch.ts";

/** Numerical against backprop on a weighted batch: central differences agree this closely. */
const GRADIENT_TOLERANCE = 1e-7;

Deno.test("balancedClassWeights() is n / (classes · count), as scikit-learn", () => {
  // 6 samples, 3 classes with counts 3, 2, 1.
  const w = balancedClassWeights([0, 0, 0, 1, 1, 2], 3);
  assert.deepEqual(Array.from(w), [6 / 9, 6 / 6, 6 / 3]);
});

Deno.test("weighted targets give the hand-computed weighted cross-entropy and its gradient", () => {
  const net = new MultiLayerNet([3, 4, 3], { seed: 5 });
  const x = Matrix.from([[0.5, -1, 2], [1, 0.2, -0.3], [-0.7, 0.9, 0.1]]);
  const labels = Int32Array.of(0, 2, 2);
  const weights = [0.5, 1, 3];
  const t = weightedOneHot(labels, 3, weights);
  // By hand: -(1/B) Σ w_label · log(y_label + 1e-7).
  const y = net.predict(x);
  let expected = 0;
  for (let i = 0; i < 3; i++) {
    expected -= weights[labels[i]!]! * Math.log(y.get(i, labels[i]!) + 1e-7);
  }
  expected /= 3;
  const { grads, loss } = net.gradientAndLoss(x, t);
  assert.ok(Math.abs(loss - expected) < 1e-12, `${loss} vs ${expected}`);
  const numerical = net.numericalGradient(x, t);
  for (const [name, g] of Object.entries(grads)) {
    for (let i = 0; i < g.data.length; i++) {
      assert.ok(
        Math.abs(g.data[i]! - numerical[name]!.data[i]!) < GRADIENT_TOLERANCE,
        `${name}[${i}]: ${g.data[i]} vs ${numerical[name]!.data[i]}`,
      );
    }
  }
  // And the weights matter: the unweighted loss differs.
  assert.ok(Math.abs(net.loss(x, labels) - loss) > 1e-3);
});
