import assert from "node:assert/strict";
import { lastValueFrom, map, of } from "rxjs";
import { Matrix } from "../../nn/matrix.ts";
import { MultiLayerNet } from "../../nn/network.ts";
import { SGD } from "../../nn/optimizers.ts";
import { NetworkEngine } from "../../engine/network_engine.ts";
import type { GradientResult } from "../../stages/gradient.ts";
import { update } from "../../stages/update.ts";
import { testScheduler } from "./helpers.ts";

/** A gradient computed by `engine` (which holds it for the update), as the gradient stage emits it. */
function step(engine: NetworkEngine, loss?: number): GradientResult {
  const x = Matrix.from([[1, 0], [0, 1]]);
  const labels = Int32Array.from([0, 1]);
  const computed = engine.gradientAndLoss(x, labels);
  return {
    iteration: 6,
    epoch: 1,
    x,
    indices: Int32Array.of(0, 1),
    t: labels,
    labels,
    grads: engine.gradients(),
    loss: loss ?? computed,
  };
}

function engineOf(net: MultiLayerNet, rate: number): NetworkEngine {
  return new NetworkEngine(net, new SGD(rate));
}

Deno.test("update() applies the optimizer and reports the step", async () => {
  const net = new MultiLayerNet([2, 3, 2], { seed: 2 });
  const engine = engineOf(net, 0.5);
  const s = step(engine);
  const expected = net.params.W1!.data.map((w, i) => w - 0.5 * s.grads.W1!.data[i]!);
  const out = await lastValueFrom(of(s).pipe(update(engine)));
  assert.deepEqual(out, { iteration: 6, epoch: 1, loss: s.loss, learningRate: 0.5, batchSize: 2 });
  assert.deepEqual(net.params.W1!.data, expected);
});

Deno.test("update() stops on a non-finite loss, naming the iteration", async () => {
  const engine = engineOf(new MultiLayerNet([2, 3, 2], { seed: 2 }), 0.5);
  await assert.rejects(lastValueFrom(of(step(engine, NaN)).pipe(update(engine))), {
    name: "DivergenceError",
    message:
      /^training diverged at iteration 7: the loss is NaN \(largest parameter in W\d: \|.*\|\)\. Likely causes: a learning rate too high/,
  });
});

Deno.test("update() stops when a parameter becomes non-finite, naming the layer", async () => {
  const engine = engineOf(new MultiLayerNet([2, 3, 2], { seed: 2 }), 0.5);
  const s = step(engine);
  const grads = s.grads;
  grads.W2!.data[0] = Infinity;
  engine.setGradients(grads);
  await assert.rejects(lastValueFrom(of(s).pipe(update(engine))), {
    name: "DivergenceError",
    message: /at iteration 7: a parameter became non-finite \(in W2\)/,
  });
});

Deno.test("update() completes on empty input and passes errors on", () => {
  const engine = engineOf(new MultiLayerNet([2, 3, 2], { seed: 2 }), 0.1);
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold<GradientResult>("-|").pipe(update(engine))).toBe("-|");
    expectObservable(cold<GradientResult>("-#").pipe(update(engine))).toBe("-#");
  });
});

Deno.test("update() applies no update after early unsubscribe", () => {
  const net = new MultiLayerNet([2, 3, 2], { seed: 2 });
  const engine = engineOf(net, 0.5);
  const s = step(engine);
  testScheduler().run(({ hot, expectObservable }) => {
    const out = hot("-a-b-c|", { a: s, b: s, c: s }).pipe(
      update(engine),
      map((r) => r.iteration),
    );
    expectObservable(out, "^--!").toBe("-a-", { a: 6 });
  });
  const once = new MultiLayerNet([2, 3, 2], { seed: 2 });
  new SGD(0.5).update(once.params, s.grads);
  assert.deepEqual(net.params.W1!.data, once.params.W1!.data, "exactly one update was applied");
});
