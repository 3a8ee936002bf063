import assert from "node:assert/strict";
import {
  AdaGrad,
  Adam,
  createOptimizer,
  Matrix,
  Momentum,
  type Optimizer,
  SGD,
} from "../../mod.ts";

const f = (x: Float64Array) => x[0]! ** 2 + x[1]! ** 2;

function minimise(optimizer: Optimizer, steps: number): number[] {
  const params = { x: Matrix.from([[-3, 4]]) };
  const values = [f(params.x.data)];
  for (let i = 0; i < steps; i++) {
    const g = params.x.data.map((v) => 2 * v);
    optimizer.update(params, { x: new Matrix(1, 2, g) });
    values.push(f(params.x.data));
  }
  return values;
}

for (
  const [name, make] of [
    ["SGD", () => new SGD(0.1)],
    ["Momentum", () => new Momentum(0.05, 0.9)],
    ["AdaGrad", () => new AdaGrad(1.0)],
    ["Adam", () => new Adam(0.3)],
  ] as const
) {
  Deno.test(`${name}() decreases x0²+x1² from (-3, 4)`, () => {
    const values = minimise(make(), 100);
    assert.equal(values[0], 25);
    assert.ok(values.at(-1)! < 0.01 * values[0]!, `${name} ended at ${values.at(-1)}`);
  });
}

Deno.test("Adam() first step matches its closed form", () => {
  const lr = 0.001;
  const b1 = 0.9;
  const b2 = 0.999;
  const adam = new Adam(lr, b1, b2);
  const params = { w: Matrix.from([[1, -2, 0.5]]) };
  const g = [0.3, -0.02, 4];
  adam.update(params, { w: Matrix.from([g]) });
  const lrT = lr * Math.sqrt(1 - b2) / (1 - b1);
  const expected = [1, -2, 0.5].map((p, i) =>
    p - lrT * (1 - b1) * g[i]! / (Math.sqrt((1 - b2) * g[i]! ** 2) + 1e-7)
  );
  params.w.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-15));
  // About lr·sign(g) for each parameter.
  assert.ok(Math.abs(params.w.data[0]! - (1 - lr)) < 1e-6);
});

Deno.test("SGD() is the book's params -= lr * grad", () => {
  const params = { W1: Matrix.from([[1, 2]]) };
  new SGD(0.5).update(params, { W1: Matrix.from([[4, -2]]) });
  assert.deepEqual(Array.from(params.W1.data), [-1, 3]);
});

Deno.test("Optimizer.setState() continues exactly", () => {
  const a = createOptimizer({ kind: "adam", learningRate: 0.1 });
  const pa = { x: Matrix.from([[-3, 4]]) };
  const grad = () => ({ x: new Matrix(1, 2, pa.x.data.map((v) => 2 * v)) });
  for (let i = 0; i < 5; i++) a.update(pa, grad());
  const b = createOptimizer({ kind: "adam", learningRate: 0.1 });
  const state = a.state();
  b.setState(state);
  // The state is a copy: changing it changes neither optimizer.
  for (const values of Object.values(state.buffers)) values.fill(Number.NaN);
  const pb = { x: pa.x.clone() };
  a.update(pa, { x: new Matrix(1, 2, pa.x.data.map((v) => 2 * v)) });
  b.update(pb, { x: new Matrix(1, 2, pb.x.data.map((v) => 2 * v)) });
  assert.deepEqual(pa.x.data, pb.x.data);
});

Deno.test("createOptimizer() rejects a learning rate <= 0", () => {
  assert.throws(() => createOptimizer({ kind: "sgd", learningRate: 0 }), {
    name: "RangeError",
    message: "Expected learningRate to be a finite number greater than 0 but found 0",
  });
});
