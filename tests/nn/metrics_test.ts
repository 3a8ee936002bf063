import assert from "node:assert/strict";
import { balancedAccuracy, classScores, macroF1, regressionScores } from "../../nn/metrics.ts";

const TOLERANCE = 1e-12;

Deno.test("regressionScores() matches RMSE, MAE and R² computed by hand", () => {
  // errors 0.5, -1, 1.5, 0 → squares 0.25, 1, 2.25, 0 (sum 3.5); |e| sum 3;
  // actual mean 5, Σ(y - ȳ)² = 4 + 0 + 4 + 0 = 8 → R² = 1 - 3.5/8 = 0.5625.
  const s = regressionScores([2.5, 6, 5.5, 5], [3, 5, 7, 5]);
  assert.ok(Math.abs(s.rmse - Math.sqrt(3.5 / 4)) < TOLERANCE);
  assert.ok(Math.abs(s.mae - 0.75) < TOLERANCE);
  assert.ok(Math.abs(s.r2 - 0.5625) < TOLERANCE);
});

Deno.test("classScores(), macroF1() and balancedAccuracy() match a worked confusion matrix", () => {
  // true × predicted: class 0 recall 8/10, class 1 recall 3/5, class 2 recall 1/1.
  const confusion = [[8, 2, 0], [1, 3, 1], [0, 0, 1]];
  const [a, b, c] = classScores(confusion);
  assert.deepEqual(a, {
    precision: 8 / 9,
    recall: 0.8,
    f1: (2 * (8 / 9) * 0.8) / (8 / 9 + 0.8),
    support: 10,
  });
  assert.ok(Math.abs(b!.precision - 0.6) < TOLERANCE && b!.recall === 0.6);
  assert.ok(c!.precision === 0.5 && c!.recall === 1 && c!.support === 1);
  assert.ok(Math.abs(balancedAccuracy(confusion) - (0.8 + 0.6 + 1) / 3) < TOLERANCE);
  assert.ok(Math.abs(macroF1(confusion) - (a!.f1 + b!.f1 + c!.f1) / 3) < TOLERANCE);
});

Deno.test("balancedAccuracy() leaves out classes without samples", () => {
  assert.equal(balancedAccuracy([[2, 0], [0, 0]]), 1);
});
