import assert from "node:assert/strict";
import { crossEntropyError, Matrix, meanSquaredError } from "../../mod.ts";

const t = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
const y1 = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0];
const y2 = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0];

function assertClose(actual: number, expected: number, tolerance: number) {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `expected ${expected} ± ${tolerance} but found ${actual}`,
  );
}

Deno.test("meanSquaredError() reproduces the book's 0.0975 and 0.5975", () => {
  assertClose(meanSquaredError(y1, t), 0.0975, 1e-12);
  assertClose(meanSquaredError(y2, t), 0.5975, 1e-12);
});

Deno.test("crossEntropyError() reproduces the book's 0.510825 and 2.302584", () => {
  assertClose(crossEntropyError(y1, t), 0.510825, 5e-7);
  assertClose(crossEntropyError(y2, t), 2.302584, 5e-7);
  assert.equal(crossEntropyError(y1, t).toPrecision(6), "0.510825");
  assert.equal(crossEntropyError(y2, t).toPrecision(7), "2.302584");
});

Deno.test("crossEntropyError() accepts a label index instead of one-hot", () => {
  assert.equal(crossEntropyError(y1, 2), crossEntropyError(y1, t));
});

Deno.test("crossEntropyError() averages a batch over its rows", () => {
  const y = Matrix.from([y1, y2]);
  const expected = (crossEntropyError(y1, t) + crossEntropyError(y2, t)) / 2;
  assertClose(crossEntropyError(y, [2, 2]), expected, 1e-15);
  assertClose(crossEntropyError(y, Matrix.from([t, t])), expected, 1e-15);
});

Deno.test("crossEntropyError() stays finite when the true class gets probability 0", () => {
  const loss = crossEntropyError([1, 0], 1);
  assert.ok(Number.isFinite(loss));
  assertClose(loss, -Math.log(1e-7), 1e-9);
});

Deno.test("meanSquaredError() of a batch is the per-sample average", () => {
  const y = Matrix.from([y1, y2]);
  assertClose(meanSquaredError(y, [2, 2]), (0.0975 + 0.5975) / 2, 1e-12);
});

Deno.test("crossEntropyError() throws on a label outside the classes", () => {
  assert.throws(() => crossEntropyError(y1, 10), {
    name: "RangeError",
    message: "Expected label of sample 0 to be an integer in [0, 10) but found 10",
  });
});

Deno.test("meanSquaredError() throws on targets of the wrong size", () => {
  assert.throws(() => meanSquaredError(Matrix.from([y1, y2]), [0, 1, 2]), {
    name: "RangeError",
    message: /Expected targets to be 20 one-hot values or 2 labels but found 3/,
  });
});
