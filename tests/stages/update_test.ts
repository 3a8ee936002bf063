import assert from "node:assert/strict";
import { lastValueFrom, map, of } from "rxjs";
import { Matrix } from "../../nn/matrix.ts";
import { MultiLayerNet } from "../../nn/network.ts";
import { SGD } from "../../nn/optimizers.ts";
import type { GradientResult } from "../../stages/gradient.ts";
import { update } from "../../stages/update.ts";
import { testScheduler } from "./helpers.ts";

function step(net: MultiLayerNet, loss?: number): GradientResult {
  const x = Matrix.from([[1, 0], [0, 1]]);
  const labels = Int32Array.from([0, 1]);
  const g = net.gradientAndLoss(x, labels);
  return { iteration: 6, epoch: 1, x, t: labels, labels, grads: g.grads, loss: loss ?? g.loss };
}

Deno.test("update() applies the optimizer and reports the step", async () => {
  const net = new MultiLayerNet([2, 3, 2], { seed: 2 });
  const s = step(net);
  const expected = net.params.W1!.data.map((w, i) => w - 0.5 * s.grads.W1!.data[i]!);
  const out = await lastValueFrom(of(s).pipe(update(net, new SGD(0.5))));
  assert.deepEqual(out, { iteration: 6, epoch: 1, loss: s.loss, learningRate: 0.5, batchSize: 2 });
  assert.deepEqual(net.params.W1!.data, expected);
});

Deno.test("update() stops on a non-finite loss, naming the iteration", async () => {
  const net = new MultiLayerNet([2, 3, 2], { seed: 2 });
  await assert.rejects(lastValueFrom(of(step(net, NaN)).pipe(update(net, new SGD(0.5)))), {
    name: "DivergenceError",
    message:
      /^training diverged at iteration 7: the loss is NaN \(largest parameter in W\d: \|.*\|\)\. Likely causes: a learning rate too high/,
  });
});

Deno.test("update() stops when a parameter becomes non-finite, naming the layer", async () => {
  const net = new MultiLayerNet([2, 3, 2], { seed: 2 });
  const s = step(net);
  s.grads.W2!.data[0] = Infinity;
  await assert.rejects(lastValueFrom(of(s).pipe(update(net, new SGD(0.5)))), {
    name: "DivergenceError",
    message: /at iteration 7: a parameter became non-finite \(in W2\)/,
  });
});

Deno.test("update() completes on empty input and passes errors on", () => {
  const net = new MultiLayerNet([2, 3, 2], { seed: 2 });
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold<GradientResult>("-|").pipe(update(net, new SGD(0.1)))).toBe("-|");
    expectObservable(cold<GradientResult>("-#").pipe(update(net, new SGD(0.1)))).toBe("-#");
  });
});

Deno.test("update() applies no update after early unsubscribe", () => {
  const net = new MultiLayerNet([2, 3, 2], { seed: 2 });
  const s = step(net);
  const sgd = new SGD(0.5);
  testScheduler().run(({ hot, expectObservable }) => {
    const out = hot("-a-b-c|", { a: s, b: s, c: s }).pipe(
      update(net, sgd),
      map((r) => r.iteration),
    );
    expectObservable(out, "^--!").toBe("-a-", { a: 6 });
  });
  const once = new MultiLayerNet([2, 3, 2], { seed: 2 });
  new SGD(0.5).update(once.params, s.grads);
  assert.deepEqual(net.params.W1!.data, once.params.W1!.data, "exactly one update was applied");
});
