import assert from "node:assert/strict";
import { oneHot } from "../../data/dataset.ts";
import { Matrix } from "../../nn/matrix.ts";
import { MultiLayerNet, type NetworkOptions, type Params } from "../../nn/network.ts";
import {
  Adam,
  createOptimizer,
  type Optimizer,
  type OptimizerOptions,
} from "../../nn/optimizers.ts";
import type { Engine } from "../../engine/engine.ts";
import { NetworkEngine } from "../../engine/network_engine.ts";
import { jsKernels } from "../../nn/kernels.ts";
import { WasmTrainer } from "../../engine/trainer/wasm_trainer.ts";
import {
  fasterThreads,
  FIRST_RECHECK_STEPS,
  TIMED_STEPS,
  WARM_UP,
} from "../../engine/trainer/thread_choice.ts";
import { ACTIVATION_KIND, planStep, shareSplit } from "../../engine/trainer/wasm_step.ts";
import { sparseBatch } from "../nn/helpers.ts";
import { assertFloat32Backprop, heldRowsFixture, relativeDifference } from "./helpers.ts";

/** Steps until `auto` has chosen: each thread count's warm-up and timed steps. */
const FIRST_CHOICE_STEPS = WARM_UP[1] + TIMED_STEPS + WARM_UP[2] + TIMED_STEPS;

function copyOf(params: Params): Params {
  return Object.fromEntries(Object.entries(params).map(([k, m]) => [k, m.clone()]));
}

// Widths that are not multiples of 4 exercise the padding; 30 inputs with ~20% non-zero
// exercise the gathering.
const nets: [string, number[], NetworkOptions][] = [
  ["sigmoid 30-6-3 (padded widths)", [30, 6, 3], {}],
  ["ReLU 30-9-7-5", [30, 9, 7, 5], { activation: "relu", weightInit: { kind: "he" } }],
  ["tanh 30-8-10", [30, 8, 10], { activation: "tanh", weightInit: { kind: "xavier" } }],
  ["sigmoid with weight decay", [30, 12, 4], { weightDecay: 0.1 }],
  ["ReLU with dropout", [30, 16, 12, 4], {
    activation: "relu",
    dropout: 0.3,
    weightInit: { kind: "he" },
  }],
];
for (const [name, sizes, options] of nets) {
  Deno.test(`WasmTrainer.gradientAndLoss() equals backprop to float32 precision: ${name}`, () => {
    const { net, reference } = assertFloat32Backprop(sizes, options, {});
    // The same dropout draws: both generators moved on by the same amount.
    assert.deepEqual(net.randomState(), reference.randomState());
  });
}

const optimizers: OptimizerOptions[] = [
  { kind: "sgd", learningRate: 0.5 },
  { kind: "momentum", learningRate: 0.1, momentum: 0.9 },
  { kind: "adagrad", learningRate: 0.1 },
  { kind: "adam", learningRate: 0.01 },
];
for (const options of optimizers) {
  Deno.test(`WasmTrainer.update() applies ${options.kind} as the float64 optimizer does`, () => {
    const sizes = [30, 10, 4];
    const reference = new MultiLayerNet(sizes, { seed: 3 });
    const net = new MultiLayerNet(sizes, { seed: 3 });
    const referenceOptimizer = createOptimizer(options);
    const optimizer = createOptimizer(options);
    const trainer = new WasmTrainer(net, optimizer);
    try {
      const x = sparseBatch(8, 30, 5, 0.4);
      const labels = [0, 1, 2, 3, 3, 2, 1, 0];
      for (let step = 0; step < 5; step++) {
        referenceOptimizer.update(reference.params, reference.gradient(x, labels));
        trainer.gradientAndLoss(x, labels);
        trainer.update();
      }
      const error = relativeDifference(reference.params, trainer.readParams());
      // Adam and AdaGrad divide by the gradient's own size, which magnifies float32 rounding.
      const tolerance = options.kind === "sgd" || options.kind === "momentum" ? 1e-5 : 1e-4;
      assert.ok(error < tolerance, `relative parameter error ${error}`);
      const expected = referenceOptimizer.state();
      const actual = trainer.optimizerState();
      assert.equal(actual.step, 5);
      assert.deepEqual(Object.keys(actual.buffers).sort(), Object.keys(expected.buffers).sort());
      for (const [key, values] of Object.entries(expected.buffers)) {
        const got = actual.buffers[key]!;
        const scale = Math.max(...values.map(Math.abs), 1e-12);
        const worst = Math.max(...values.map((v, i) => Math.abs(v - got[i]!)));
        assert.ok(worst / scale < 1e-4, `${key}: relative error ${worst / scale}`);
      }
    } finally {
      trainer.dispose();
    }
  });
}

Deno.test("WasmTrainer: parameters and optimizer state read back and pushed in continue bit-identically", () => {
  const sizes = [30, 9, 4];
  const options: NetworkOptions = { seed: 4, dropout: 0.2, activation: "relu" };
  const x = sparseBatch(6, 30, 8);
  const labels = [0, 1, 2, 3, 0, 1];
  const net = new MultiLayerNet(sizes, options);
  const adam = createOptimizer({ kind: "adam", learningRate: 0.01 });
  const trainer = new WasmTrainer(net, adam);
  const step = (t: WasmTrainer) => {
    t.gradientAndLoss(x, labels, { train: true });
    t.update();
  };
  for (let i = 0; i < 3; i++) step(trainer);
  // What a checkpoint holds: host parameters, optimizer state, the dropout generator.
  const saved = {
    params: copyOf(trainer.readParams()),
    optimizer: trainer.optimizerState(),
    random: net.randomState(),
  };
  for (let i = 0; i < 3; i++) step(trainer);
  const resumedNet = new MultiLayerNet(sizes, options);
  for (const [k, m] of Object.entries(saved.params)) resumedNet.params[k]!.data.set(m.data);
  resumedNet.setRandomState(saved.random);
  const resumedAdam: Optimizer = createOptimizer({ kind: "adam", learningRate: 0.01 });
  resumedAdam.setState(saved.optimizer);
  const resumed = new WasmTrainer(resumedNet, resumedAdam);
  for (let i = 0; i < 3; i++) step(resumed);
  const [continued, original] = [resumed.readParams(), trainer.readParams()];
  for (const name of Object.keys(original)) {
    assert.deepEqual(continued[name]!.data, original[name]!.data, name);
  }
  assert.deepEqual(resumed.optimizerState(), trainer.optimizerState());
  trainer.dispose();
  resumed.dispose();
});

Deno.test("optimizerState(into) writes into the buffers it is given where they fit, the same values", () => {
  const x = sparseBatch(6, 30, 8);
  const labels = [0, 1, 2, 3, 0, 1];
  const engines: Engine[] = [
    new WasmTrainer(new MultiLayerNet([30, 9, 4], { seed: 4 }), new Adam(0.01)),
    new NetworkEngine(new MultiLayerNet([30, 9, 4], { seed: 4 }), new Adam(0.01), jsKernels),
  ];
  for (const engine of engines) {
    const step = () => {
      engine.gradientAndLoss(x, labels, { train: true });
      engine.update();
    };
    step();
    const first = engine.optimizerState();
    const kept = first.buffers["W1.m"]!;
    step();
    // A buffer of the wrong length is not used; the others are, with the fresh values.
    first.buffers["b1.v"] = new Float64Array(1);
    const second = engine.optimizerState(first);
    assert.equal(second.buffers["W1.m"], kept, `${engine.name} reuses W1.m`);
    assert.notEqual(second.buffers["b1.v"], first.buffers["b1.v"]);
    assert.deepEqual(second, engine.optimizerState(), engine.name);
    engine.dispose();
  }
});

Deno.test("WasmTrainer takes one-hot targets, float32 rows and batches larger than its capacity", () => {
  const net = new MultiLayerNet([30, 5, 3], { seed: 1 });
  const trainer = new WasmTrainer(net, createOptimizer({ kind: "sgd", learningRate: 0.1 }), {
    capacity: 2,
  });
  try {
    const x = sparseBatch(7, 30, 3);
    const labels = Int32Array.from([0, 1, 2, 0, 1, 2, 2]);
    const fromLabels = trainer.gradientAndLoss(x, labels);
    const fromOneHot = trainer.gradientAndLoss(x, oneHot(labels, 3));
    const fromFloat32 = trainer.gradientAndLoss(
      { rows: 7, cols: 30, data: Float32Array.from(x.data) },
      labels,
    );
    assert.equal(fromOneHot, fromLabels);
    assert.equal(fromFloat32, fromLabels);
    assert.ok(Math.abs(fromLabels - net.loss(x, labels)) < 1e-6);
  } finally {
    trainer.dispose();
  }
});

Deno.test("WasmTrainer.clipGradient() scales the gradient to the norm, and firstNonFinite() names the layer", () => {
  const net = new MultiLayerNet([30, 6, 3], { seed: 2 });
  const trainer = new WasmTrainer(net, createOptimizer({ kind: "sgd", learningRate: 0.1 }));
  try {
    const x = sparseBatch(4, 30, 6, 0.5);
    trainer.gradientAndLoss(x, [0, 1, 2, 0]);
    const norm = trainer.clipGradient(1e-3);
    assert.ok(norm > 1e-3);
    const clipped = trainer.gradients();
    let squares = 0;
    for (const g of Object.values(clipped)) for (const v of g.data) squares += v * v;
    assert.ok(Math.abs(Math.sqrt(squares) - 1e-3) < 1e-8, `norm after clipping ${squares}`);
    assert.equal(trainer.firstNonFinite(), undefined);
    net.params.b2!.data[1] = Infinity;
    trainer.push();
    assert.equal(trainer.firstNonFinite(), "b2");
  } finally {
    trainer.dispose();
  }
});

Deno.test("WasmTrainer.firstNonFinite() after an update names what the update made non-finite, on one thread or two", async () => {
  for (const threads of [1, 2] as const) {
    const net = new MultiLayerNet([30, 10, 4], { seed: 2 });
    // b2 at the largest float32: a step of a learning rate of 1e38 against a negative gradient
    // overflows it, and nothing else.
    const trainer = new WasmTrainer(net, createOptimizer({ kind: "sgd", learningRate: 1e38 }), {
      threads,
    });
    try {
      assert.equal(await trainer.ready(), threads === 2);
      // b2 is in the update's second share: the Worker computes it, and says it overflowed.
      trainer.testHandOff({ handOff: "wait" });
      const x = sparseBatch(6, 30, 6, 0.5);
      trainer.gradientAndLoss(x, [0, 1, 2, 3, 0, 1]);
      trainer.update();
      assert.equal(trainer.firstNonFinite(), undefined, `${threads} thread(s)`);
      net.params.b2!.data.fill(3.4e38);
      trainer.push();
      trainer.gradientAndLoss(x, [0, 1, 2, 3, 0, 1]);
      trainer.update();
      assert.equal(trainer.threads, threads);
      assert.equal(trainer.firstNonFinite(), "b2", `${threads} thread(s)`);
      assert.equal(trainer.updateShares.worker, threads === 2 ? 2 : 0);
    } finally {
      trainer.dispose();
    }
  }
});

Deno.test("WasmTrainer rejects what it cannot train, with the reason", () => {
  const mse = new MultiLayerNet([4, 3, 2], { loss: "mse", output: "identity" });
  assert.match(
    WasmTrainer.supports(mse) ?? "",
    /softmax with cross-entropy, not identity with mse/,
  );
  assert.throws(() => new WasmTrainer(mse, createOptimizer({ kind: "sgd", learningRate: 1 })), {
    name: "TypeError",
  });
  const net = new MultiLayerNet([4, 3, 2]);
  const trainer = new WasmTrainer(net, createOptimizer({ kind: "sgd", learningRate: 1 }));
  try {
    const x = Matrix.from([[1, 0, 0, 1]]);
    assert.throws(() => trainer.gradientAndLoss(x, [2]), {
      message: "Expected labels in 0..1 but found 2 at row 0",
    });
    assert.throws(() => trainer.gradientAndLoss(Matrix.from([[1, 0]]), [0]), {
      message: "Expected inputs with 4 features but found 2",
    });
    assert.throws(() => trainer.gradientAndLoss(x, Matrix.from([[0.5, 0.5]])), {
      message: /one-hot target rows/,
    });
  } finally {
    trainer.dispose();
  }
});

// Every optimizer, and weight decay.
for (const optimizer of optimizers) {
  Deno.test(`WasmTrainer gives bit-identical results with one thread and with two: ${optimizer.kind}`, async () => {
    const sizes = [30, 10, 7, 4];
    const options: NetworkOptions = {
      seed: 6,
      activation: "relu",
      dropout: 0.25,
      weightDecay: optimizer.kind === "sgd" ? 0.01 : 0,
    };
    const run = async (threads: 1 | 2) => {
      const net = new MultiLayerNet(sizes, options);
      const trainer = new WasmTrainer(net, createOptimizer(optimizer), { threads });
      const losses: number[] = [];
      try {
        // Every step below then really runs on the asked number of threads, the Worker
        // computing every second half (this thread would take on those of a late Worker).
        assert.equal(await trainer.ready(), threads === 2);
        trainer.testHandOff({ handOff: "wait" });
        // Odd, even and single-row batches: the halves are 4+3, 3+3 and 1+0 rows.
        for (const rows of [7, 6, 1, 7, 6]) {
          const x = sparseBatch(rows, 30, rows + losses.length);
          const labels = Array.from({ length: rows }, (_, i) => i % 4);
          losses.push(trainer.gradientAndLoss(x, labels, { train: true }));
          trainer.update();
        }
        assert.equal(trainer.threads, threads);
        assert.equal(trainer.secondHalves.worker, threads === 2 ? 5 : 0, "halves the Worker did");
        assert.deepEqual(
          trainer.updateShares,
          { worker: threads === 2 ? 5 : 0, taken: 0 },
          "update shares the Worker did",
        );
      } finally {
        trainer.dispose();
      }
      return { losses, params: trainer.readParams() };
    };
    const one = await run(1);
    const two = await run(2);
    assert.deepEqual(two.losses, one.losses);
    for (const name of Object.keys(one.params)) {
      assert.deepEqual(two.params[name]!.data, one.params[name]!.data, name);
    }
    assert.ok(one.losses.every(Number.isFinite));
  });
}

Deno.test("WasmTrainer.predict() answers as net.predict() does, to float32 precision", async () => {
  for (const threads of [1, 2] as const) {
    const net = new MultiLayerNet([30, 9, 6, 3], { seed: 8, activation: "relu", dropout: 0.5 });
    const x = sparseBatch(300, 30, 9, 0.3);
    const expected = net.predict(x);
    const trainer = new WasmTrainer(net, createOptimizer({ kind: "sgd", learningRate: 0.1 }), {
      threads,
      capacity: 64,
    });
    try {
      assert.equal(await trainer.ready(), threads === 2);
      const viaTrainer = trainer.predict(x);
      assert.equal(viaTrainer.rows, 300);
      let worst = 0;
      expected.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - viaTrainer.data[i]!))));
      assert.ok(worst < 1e-6, `${threads} thread(s): max |difference| ${worst}`);
      assert.deepEqual(trainer.predict(x).data, viaTrainer.data, "the same answer twice");
      // Training mode (dropout) is not inference: the network computes it itself.
      assert.notDeepEqual(net.predict(x, { train: true }).data, viaTrainer.data);
    } finally {
      trainer.dispose();
    }
    assert.deepEqual(net.predict(x).data, expected.data, "the network itself is unchanged");
  }
});

Deno.test("WasmTrainer steps on held rows named by number give the bits of steps on copies of those rows", async () => {
  const sizes = [30, 10, 7, 4];
  const { held, batches, step: stepOn } = heldRowsFixture();
  for (const threads of [1, 2] as const) {
    const run = async (byNumber: boolean) => {
      const net = new MultiLayerNet(sizes, { seed: 6, activation: "relu", dropout: 0.25 });
      const trainer = new WasmTrainer(net, createOptimizer({ kind: "adam", learningRate: 0.01 }), {
        threads,
        capacity: 2,
      });
      const losses: number[] = [];
      const step = (rows: number[], byNumber: boolean) =>
        losses.push(stepOn(trainer, rows, byNumber));
      try {
        // The first step on copies either way: holding rows keeps the parameters and the
        // optimizer's state.
        step(batches[0]!, false);
        if (byNumber) assert.equal(trainer.holdRows(held), true);
        for (const rows of batches.slice(1)) step(rows, byNumber);
        // With the Worker up, the same steps again on two threads.
        assert.equal(await trainer.ready(), threads === 2);
        for (const rows of batches) step(rows, byNumber);
        assert.equal(trainer.threads, threads);
      } finally {
        trainer.dispose();
      }
      return { losses, params: trainer.readParams() };
    };
    const copied = await run(false);
    const named = await run(true);
    assert.ok(copied.losses.every(Number.isFinite));
    assert.deepEqual(named.losses, copied.losses, `${threads} thread(s)`);
    for (const name of Object.keys(copied.params)) {
      assert.deepEqual(named.params[name]!.data, copied.params[name]!.data, name);
    }
  }
});

Deno.test("WasmTrainer.holdRows() declines rows beyond 64 MiB and rejects misfits; unheld rows are an error", () => {
  const net = new MultiLayerNet([30, 5, 3], { seed: 1 });
  const trainer = new WasmTrainer(net, createOptimizer({ kind: "sgd", learningRate: 0.1 }), {
    threads: 1,
  });
  try {
    assert.throws(
      () => trainer.gradientAndLossOfRows(Int32Array.of(0), [0]),
      /No rows are held: call holdRows first/,
    );
    // One row more than 64 MiB of float32 holds: declined, and nothing else changes.
    const rows = Math.floor(64 * 1024 * 1024 / (4 * 30)) + 1;
    assert.equal(trainer.holdRows({ rows, cols: 30, data: new Float32Array(rows * 30) }), false);
    assert.throws(
      () => trainer.holdRows({ rows: 2, cols: 29, data: new Float32Array(58) }),
      /Expected rows of 30 features but found 29/,
    );
    assert.throws(
      () => trainer.holdRows({ rows: 2, cols: 30, data: new Float32Array(59) }),
      /Expected 60 values for 2 rows but found 59/,
    );
    assert.equal(trainer.holdRows({ rows: 2, cols: 30, data: new Float32Array(60) }), true);
    assert.throws(
      () => trainer.gradientAndLossOfRows(Int32Array.of(0, 2), [0, 1]),
      /Expected row numbers in 0\.\.1 but found 2 at 1/,
    );
    assert.ok(Number.isFinite(trainer.gradientAndLossOfRows(Int32Array.of(1, 0, 1), [0, 1, 2])));
  } finally {
    trainer.dispose();
  }
});

Deno.test("WasmTrainer: a Worker late with its half (taken on here, or raced for) changes no bit", async () => {
  const sizes = [30, 10, 7, 4];
  const options: NetworkOptions = { seed: 11, activation: "relu", dropout: 0.25 };
  // The Worker's hold before each step, in ms: late for that step (and raced for its half),
  // it is still on that half (in its own workspace) during the next ones, whose halves are
  // taken on here.
  const holds = [0, 0, 40, 0, 0, 0, 0, 40, 0, 0];
  const run = async (threads: 1 | 2) => {
    const net = new MultiLayerNet(sizes, options);
    const trainer = new WasmTrainer(net, createOptimizer({ kind: "adam", learningRate: 0.01 }), {
      threads,
    });
    const losses: number[] = [];
    /** A training step on `rows` rows drawn with `seed`, the labels shifted by `shift`. */
    const step = (rows: number, seed: number, shift = 0) => {
      const x = sparseBatch(rows, 30, seed);
      const labels = Array.from({ length: rows }, (_, i) => (i + shift) % 4);
      losses.push(trainer.gradientAndLoss(x, labels, { train: true }));
      trainer.update();
    };
    try {
      assert.equal(await trainer.ready(), threads === 2);
      holds.forEach((hold, k) => {
        if (threads === 2) {
          trainer.testHandOff({ holdWorkerMs: hold, handOff: hold > 0 ? "race" : "auto" });
        }
        step(7 + (k % 2), k, k);
      });
      // Predictions while the Worker is held, too; then a step that waits for the Worker, which
      // first finishes the half it was raced for.
      if (threads === 2) trainer.testHandOff({ holdWorkerMs: 40, handOff: "race" });
      const predicted = trainer.predict(sparseBatch(9, 30, 99)).data;
      if (threads === 2) trainer.testHandOff({ holdWorkerMs: 0, handOff: "wait" });
      step(8, 100);
      // Raced for again, and then a batch larger than the workspace, laid out anew while the
      // Worker is still held.
      if (threads === 2) trainer.testHandOff({ holdWorkerMs: 40, handOff: "race" });
      step(8, 101);
      step(130, 102);
      return {
        losses,
        predicted,
        halves: trainer.secondHalves,
        shares: trainer.updateShares,
        trainer,
      };
    } finally {
      // The parameters are read below, after the Worker is stopped.
      trainer.dispose();
    }
  };
  const one = await run(1);
  const two = await run(2);
  assert.deepEqual(two.losses, one.losses);
  assert.deepEqual(two.predicted, one.predicted);
  const [p1, p2] = [one.trainer.readParams(), two.trainer.readParams()];
  for (const name of Object.keys(p1)) assert.deepEqual(p2[name]!.data, p1[name]!.data, name);
  assert.deepEqual(one.halves, { worker: 0, taken: 0, raced: 0 }, "one thread: no hand-off");
  assert.deepEqual(one.shares, { worker: 0, taken: 0 }, "one thread: no update shared");
  // The update after a half raced for: the Worker, still held in that half, leaves its share
  // of the update to this thread (and, having claimed a half, never computes a share).
  assert.ok(two.shares.taken >= 3, `update shares ${JSON.stringify(two.shares)}`);
  // A held Worker loses the race for its half, and is still busy with it at the next step.
  assert.ok(two.halves.raced >= 3, `raced ${JSON.stringify(two.halves)}`);
  assert.ok(two.halves.taken >= 1, `taken ${JSON.stringify(two.halves)}`);
  assert.ok(two.halves.worker >= 1, `worker ${JSON.stringify(two.halves)}`);
});

Deno.test("shareSplit() halves an update on a cache line, and the parameters start on one", () => {
  const CACHE_LINE_FLOATS = 16;
  for (const total of [0, 4, 12, 16, 20, 424, 39_760, 79_510, 235_146]) {
    const split = shareSplit(total);
    assert.equal(split % CACHE_LINE_FLOATS, 0, `${total}: on a line`);
    assert.ok(split >= 0 && split <= total, `${total}: ${split} inside`);
    assert.ok(Math.abs(total - 2 * split) <= CACHE_LINE_FLOATS, `${total}: ${split} a half`);
  }
  for (const sizes of [[30, 10, 4], [784, 100, 10], [784, 256, 128, 10]]) {
    const plan = planStep(sizes, ACTIVATION_KIND.relu, 128);
    assert.equal(plan.params % (CACHE_LINE_FLOATS * 4), 0, `${sizes.join("-")} parameters`);
    assert.equal(plan.halves[0].grads % (CACHE_LINE_FLOATS * 4), 0, "gradients");
    assert.equal(plan.state[0] % (CACHE_LINE_FLOATS * 4), 0, "state");
  }
});

Deno.test("fasterThreads() keeps two threads only when faster by the lower quartile and the mean", () => {
  // Shapes of the 16 timed steps seen here (ms). Idle: two threads faster throughout.
  const idleOne = [
    0.48,
    0.5,
    0.52,
    0.53,
    0.55,
    0.55,
    0.56,
    0.58,
    0.6,
    0.6,
    0.62,
    0.7,
    0.8,
    1,
    1.2,
    1.3,
  ];
  const idleTwo = [
    0.29,
    0.3,
    0.31,
    0.32,
    0.33,
    0.33,
    0.34,
    0.35,
    0.36,
    0.4,
    0.42,
    0.45,
    0.5,
    0.6,
    0.8,
    0.9,
  ];
  assert.equal(fasterThreads(idleOne, idleTwo), 2);
  // A busy core: the Worker got a few steps (a lower quartile), the rest were this thread's
  // two halves in a row or waits (a higher mean).
  const busyOne = [
    0.47,
    0.48,
    0.5,
    0.51,
    0.52,
    0.53,
    0.53,
    0.55,
    0.6,
    0.62,
    0.7,
    0.8,
    0.9,
    1,
    1.1,
    1.2,
  ];
  const busyTwo = [0.41, 0.42, 0.43, 0.44, 0.45, 0.47, 0.5, 0.9, 0.95, 1, 1, 1.1, 1.2, 1.6, 2, 3];
  assert.ok(
    [...busyTwo].sort((a, b) => a - b)[4]! < [...busyOne].sort((a, b) => a - b)[4]!,
    "the quartile alone would choose two",
  );
  assert.equal(fasterThreads(busyOne, busyTwo), 1);
  // And a two-thread mean that is lower, but with a higher quartile (bursts in one thread's).
  assert.equal(fasterThreads([0.3, 0.3, 0.3, 0.3, 9], [0.4, 0.4, 0.4, 0.4, 0.4]), 1);
});

/** Two trainers of the same net: one choosing its threads (`auto`), one on one thread. */
function autoAndOneThread(
  sizes: number[],
  seed: number,
  optimizer: OptimizerOptions,
): [WasmTrainer, WasmTrainer] {
  const make = (threads: 1 | "auto") =>
    new WasmTrainer(new MultiLayerNet(sizes, { seed }), createOptimizer(optimizer), { threads });
  return [make("auto"), make(1)];
}

Deno.test("WasmTrainer: one-thread work waits for a Worker still on a half it lost a race for", async () => {
  // While `auto` times the threads, predictions run on one thread with the Worker still there:
  // they must not compute the second half in the Worker's workspace while the Worker, late
  // with a training half that this thread computed instead, may still be writing it.
  const [trainer, reference] = autoAndOneThread([30, 256, 128, 4], 12, {
    kind: "sgd",
    learningRate: 0.5,
  });
  const x = sparseBatch(2000, 30, 77, 0.3);
  const step = (t: WasmTrainer, k: number, rows = 8) => {
    const labels = Array.from({ length: rows }, (_, i) => i % 4);
    t.gradientAndLoss(sparseBatch(rows, 30, k), labels, { train: true });
    t.update();
  };
  // Held this long after taking on a half, the Worker is still held when this thread, which
  // waits for it to take the half on in short sleeps (20 ms at most), races it.
  const HOLD_MS = 60;
  try {
    assert.equal(await trainer.ready(), true);
    // One warm-up step and the one-thread steps timed first; the next ones use both threads.
    let k = 0;
    for (; k < WARM_UP[1] + TIMED_STEPS; k++) [trainer, reference].forEach((t) => step(t, k));
    trainer.testHandOff({ holdWorkerMs: HOLD_MS, handOff: "race" });
    // Fewer two-thread steps than `auto` times (its warm-up and timed ones).
    const CYCLES = 20;
    assert.ok(CYCLES < WARM_UP[2] + TIMED_STEPS);
    for (let cycle = 0; cycle < CYCLES; cycle++, k++) {
      // The Worker takes on this step's half and is held: this thread races it and wins.
      const raced = trainer.secondHalves.raced;
      [trainer, reference].forEach((t) => step(t, k, 64));
      assert.equal(trainer.secondHalves.raced, raced + 1, `cycle ${cycle}: raced for`);
      assert.equal(trainer.threads, "auto", "still timing: predictions on one thread");
      // Predictions until well after the held Worker has written its half.
      const expected = reference.predict(x).data;
      for (const until = performance.now() + HOLD_MS + 40; performance.now() < until;) {
        assert.deepEqual(trainer.predict(x).data, expected, `cycle ${cycle}`);
      }
    }
  } finally {
    trainer.dispose();
    reference.dispose();
  }
});

Deno.test("WasmTrainer: auto chooses its threads again, with the bits of one thread", async () => {
  const [trainer, reference] = autoAndOneThread([30, 10, 4], 13, {
    kind: "momentum",
    learningRate: 0.05,
  });
  const BATCHES = 16;
  const batches = Array.from({ length: BATCHES }, (_, k) => sparseBatch(10, 30, 300 + k));
  const labels = Array.from({ length: 10 }, (_, i) => (i * 3) % 4);
  try {
    await trainer.ready();
    // Both choices' steps and a few more: the second choice finds the Worker (kept, or
    // asleep since the first) and times it again.
    const steps = FIRST_RECHECK_STEPS + 2 * FIRST_CHOICE_STEPS + 10;
    let lossesAgree = true;
    for (let k = 0; k < steps; k++) {
      const x = batches[k % BATCHES]!;
      const a = trainer.gradientAndLoss(x, labels, { train: true });
      const b = reference.gradientAndLoss(x, labels, { train: true });
      lossesAgree &&= a === b;
      trainer.update();
      reference.update();
    }
    // Twice at least: more when a window of its steps happened to be slow.
    assert.ok(trainer.threadChoices >= 2, `chose ${trainer.threadChoices} times`);
    assert.ok(lossesAgree, "every loss the same");
    const [p1, p2] = [reference.readParams(), trainer.readParams()];
    for (const name of Object.keys(p1)) assert.deepEqual(p2[name]!.data, p1[name]!.data, name);
  } finally {
    trainer.dispose();
    reference.dispose();
  }
});
