import assert from "node:assert/strict";
import {
  identity,
  Matrix,
  relu,
  reluGrad,
  sigmoid,
  sigmoidGrad,
  softmax,
  stepFunction,
  tanh,
  tanhGrad,
} from "../../mod.ts";

Deno.test("sigmoid() matches 1/(1+e^-x) and saturates without NaN", () => {
  const y = sigmoid([-1, 0, 1, -1000, 1000]);
  assert.ok(Math.abs(y[0]! - 1 / (1 + Math.E)) < 1e-15);
  assert.equal(y[1], 0.5);
  assert.ok(Math.abs(y[2]! - 1 / (1 + 1 / Math.E)) < 1e-15);
  assert.equal(y[3], 0);
  assert.equal(y[4], 1);
});

Deno.test("stepFunction(), relu() and identity() do what the book says", () => {
  assert.deepEqual(Array.from(stepFunction([-1, 0, 2])), [0, 0, 1]);
  assert.deepEqual(Array.from(relu([-1, 0, 2])), [0, 0, 2]);
  assert.deepEqual(Array.from(identity([-1, 0, 2])), [-1, 0, 2]);
  assert.deepEqual(Array.from(reluGrad([-1, 0, 2])), [0, 0, 1]);
});

Deno.test("sigmoidGrad() and tanhGrad() agree with central differences", () => {
  const h = 1e-5;
  for (const x of [-2, -0.3, 0, 0.7, 3]) {
    const ds = (sigmoid([x + h])[0]! - sigmoid([x - h])[0]!) / (2 * h);
    const dt = (tanh([x + h])[0]! - tanh([x - h])[0]!) / (2 * h);
    assert.ok(Math.abs(sigmoidGrad([x])[0]! - ds) < 1e-9);
    assert.ok(Math.abs(tanhGrad([x])[0]! - dt) < 1e-9);
  }
});

Deno.test("softmax() rows sum to 1 and survive 1000 and -1000", () => {
  const y = softmax(Matrix.from([[0.3, 2.9, 4.0], [1000, 1010, 990], [-1000, -1000, -1010]]));
  for (let i = 0; i < 3; i++) {
    const row = Array.from(y.row(i));
    assert.ok(row.every(Number.isFinite), `row ${i} has a non-finite value: ${row}`);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  }
  // The book's example: softmax([0.3, 2.9, 4.0]) = [0.01821127, 0.24519181, 0.73659691]
  const book = softmax([0.3, 2.9, 4.0]);
  [0.01821127, 0.24519181, 0.73659691].forEach((v, i) => assert.ok(Math.abs(book[i]! - v) < 1e-8));
  assert.ok(Math.abs(y.get(2, 0) - 0.5) < 1e-4);
});

Deno.test("sigmoid() maps a matrix to a matrix of the same shape", () => {
  const y = sigmoid(Matrix.from([[0, 0], [0, 0], [0, 0]]));
  assert.ok(y instanceof Matrix);
  assert.equal(y.rows, 3);
  assert.equal(y.cols, 2);
});
