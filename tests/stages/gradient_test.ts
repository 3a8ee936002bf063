import assert from "node:assert/strict";
import { lastValueFrom, map, of, throwError } from "rxjs";
import { Matrix } from "../../nn/matrix.ts";
import { MultiLayerNet } from "../../nn/network.ts";
import { NetworkEngine } from "../../engine/network_engine.ts";
import { SGD } from "../../nn/optimizers.ts";
import { WasmTrainer } from "../../engine/trainer/wasm_trainer.ts";
import { gradient } from "../../stages/gradient.ts";
import type { Batch } from "../../stages/sample_batch.ts";
import { testScheduler } from "./helpers.ts";

function batch(iteration: number): Batch {
  const x = Matrix.from([[0.5, 0, 1, 0.25], [0, 1, 0.5, 0], [1, 1, 0, 0]]);
  const labels = Int32Array.from([0, 2, 1]);
  return { iteration, epoch: 0, x, t: labels, labels, indices: Int32Array.of(0, 1, 2) };
}

/** The reference engine around `net` (the stage computes through it). */
function engineOf(net: MultiLayerNet): NetworkEngine {
  return new NetworkEngine(net, new SGD(0.1));
}

Deno.test("gradient() with backprop gives the network's gradient and loss", async () => {
  const net = new MultiLayerNet([4, 5, 3], { seed: 1 });
  const out = await lastValueFrom(
    of(batch(0)).pipe(gradient(engineOf(net), { method: "backprop" })),
  );
  assert.deepEqual(out.grads, net.gradient(batch(0).x, batch(0).t));
  assert.equal(out.loss, net.loss(batch(0).x, batch(0).t));
  assert.equal(out.check, undefined);
});

Deno.test("gradient() with rowsHeld names the batch's rows to the engine that holds them: the same loss and gradient", async () => {
  const run = async (rowsHeld: boolean) => {
    const trainer = new WasmTrainer(new MultiLayerNet([4, 5, 3], { seed: 1 }), new SGD(0.1), {
      threads: 1,
    });
    try {
      // The rows in another order than the batch's: the batch's indices say where they are.
      const x = batch(0).x;
      const stored = Float32Array.from([...x.row(2), ...x.row(0), ...x.row(1)]);
      if (rowsHeld) assert.equal(trainer.holdRows({ rows: 3, cols: 4, data: stored }), true);
      const named = { ...batch(0), indices: Int32Array.of(1, 2, 0) };
      const out = await lastValueFrom(
        of(named).pipe(gradient(trainer, { method: "backprop" }, { rowsHeld })),
      );
      return { loss: out.loss, grads: out.grads };
    } finally {
      trainer.dispose();
    }
  };
  const copied = await run(false);
  const named = await run(true);
  assert.equal(named.loss, copied.loss);
  assert.deepEqual(named.grads, copied.grads);
  // An engine that cannot hold rows is refused at once, not at the first batch.
  assert.throws(
    () =>
      gradient(engineOf(new MultiLayerNet([4, 5, 3])), { method: "backprop" }, { rowsHeld: true }),
    /The js engine holds no rows/,
  );
});

Deno.test("gradient() with the numerical method agrees with backprop", async () => {
  const net = new MultiLayerNet([4, 5, 3], { seed: 1 });
  const out = await lastValueFrom(
    of(batch(0)).pipe(gradient(engineOf(net), { method: "numerical", h: 1e-4, workers: 2 })),
  );
  const backprop = net.gradient(batch(0).x, batch(0).t);
  for (const [name, g] of Object.entries(out.grads)) {
    g.data.forEach((v, i) => assert.ok(Math.abs(v - backprop[name]!.data[i]!) < 1e-8, name));
  }
});

Deno.test("gradient() checks backprop against numerical every N iterations", async () => {
  const net = new MultiLayerNet([4, 5, 3], { seed: 1 });
  const check = { every: 2, tolerance: 1e-6, samples: 2 };
  const outs = await Promise.all(
    [0, 1].map((i) =>
      lastValueFrom(of(batch(i)).pipe(gradient(engineOf(net), { method: "backprop", check })))
    ),
  );
  assert.equal(outs[0]!.check, undefined);
  assert.ok(outs[1]!.check!.maxDifference < 1e-8 && outs[1]!.check!.maxDifference > 0);
});

Deno.test("gradient() fails the stream when the check exceeds its tolerance", async () => {
  const net = new MultiLayerNet([4, 5, 3], { seed: 1 });
  const check = { every: 1, tolerance: 1e-30, samples: 2 };
  await assert.rejects(
    lastValueFrom(of(batch(4)).pipe(gradient(engineOf(net), { method: "backprop", check }))),
    {
      name: "GradientCheckError",
      message:
        /^gradient check failed at iteration 5: max \|numerical - backprop\| = .* above the tolerance 1e-30$/,
    },
  );
});

Deno.test("gradient() passes errors through and completes on empty input", () => {
  const net = new MultiLayerNet([4, 5, 3], { seed: 1 });
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold<Batch>("|").pipe(gradient(engineOf(net), { method: "backprop" }))).toBe(
      "|",
    );
    expectObservable(cold<Batch>("--#").pipe(gradient(engineOf(net), { method: "backprop" }))).toBe(
      "--#",
    );
  });
});

Deno.test("gradient() rejects a batch with the wrong feature count", async () => {
  const net = new MultiLayerNet([3, 2], { seed: 1 });
  await assert.rejects(
    lastValueFrom(of(batch(0)).pipe(gradient(engineOf(net), { method: "backprop" }))),
    {
      name: "RangeError",
      message: "Expected inputs with 3 features but found 4",
    },
  );
  await assert.rejects(
    lastValueFrom(
      throwError(() => new Error("upstream")).pipe(gradient(engineOf(net), { method: "backprop" })),
    ),
    {
      message: "upstream",
    },
  );
});

Deno.test("gradient() computes nothing after early unsubscribe", () => {
  const net = new MultiLayerNet([4, 5, 3], { seed: 1 });
  const before = net.params.W1!.data.slice();
  testScheduler().run(({ hot, expectObservable }) => {
    const out = hot("-a-b-c|", { a: batch(0), b: batch(1), c: batch(2) }).pipe(
      gradient(engineOf(net), {
        method: "backprop",
        check: { every: 2, tolerance: 1e-6, samples: 2 },
      }),
      map((g) => g.iteration),
    );
    expectObservable(out, "^--!").toBe("-a-", { a: 0 });
  });
  assert.deepEqual(
    net.params.W1!.data,
    before,
    "computing a gradient never changes the parameters",
  );
});
