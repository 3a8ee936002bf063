import assert from "node:assert/strict";
import { lastValueFrom, map, of, type OperatorFunction, take, toArray } from "rxjs";
import { BatchSampler } from "../../data/sampler.ts";
import type { Matrix } from "../../nn/matrix.ts";
import { type Batch, sampleBatch } from "../../stages/sample_batch.ts";
import { smallDataset, testScheduler } from "./helpers.ts";

const train = smallDataset(10, 3, 2);

Deno.test("sampleBatch() emits one batch per iteration, on the same frame", () => {
  const sampler = new BatchSampler(10, 4, "shuffle", 1);
  const reference = new BatchSampler(10, 4, "shuffle", 1);
  testScheduler().run(({ cold, expectObservable }) => {
    const batches = cold("-a--b-|", { a: 0, b: 1 }).pipe(sampleBatch(train, sampler));
    const summary = (b: Batch) => ({ iteration: b.iteration, epoch: b.epoch, rows: b.x.rows });
    expectObservable(batches.pipe(mapSummary(summary))).toBe("-x--y-|", {
      x: { iteration: 0, epoch: 0, rows: 4 },
      y: { iteration: 1, epoch: 0, rows: 4 },
    });
  });
  // Two draws happened, the same two the reference sampler makes.
  reference.next();
  reference.next();
  assert.deepEqual(sampler.state(), reference.state());
});

Deno.test("sampleBatch() completes without drawing on empty input", () => {
  const sampler = new BatchSampler(10, 4, "shuffle", 1);
  const before = sampler.state();
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold<number>("|").pipe(sampleBatch(train, sampler))).toBe("|");
  });
  assert.deepEqual(sampler.state(), before);
});

Deno.test("sampleBatch() passes an upstream error through", () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const out = cold("-a-#", { a: 0 }, new Error("boom")).pipe(
      sampleBatch(train, new BatchSampler(10, 4, "shuffle", 1)),
      mapSummary(() => "batch"),
    );
    expectObservable(out).toBe("-x-#", { x: "batch" }, new Error("boom"));
  });
});

Deno.test("sampleBatch() stops drawing after early unsubscribe", () => {
  const sampler = new BatchSampler(10, 2, "with-replacement", 1);
  const reference = new BatchSampler(10, 2, "with-replacement", 1);
  testScheduler().run(({ hot, expectObservable }) => {
    const out = hot("-a-b-c-d-|", { a: 0, b: 1, c: 2, d: 3 }).pipe(
      sampleBatch(train, sampler),
      mapSummary((b) => b.iteration),
    );
    expectObservable(out, "^----!").toBe("-a-b-", { a: 0, b: 1 });
  });
  reference.next();
  reference.next();
  assert.deepEqual(sampler.state(), reference.state());
});

Deno.test("sampleBatch() numbers epochs and gives one-hot or label targets", async () => {
  const sampler = new BatchSampler(10, 4, "shuffle", 3);
  const batches = await lastValueFrom(of(0, 1, 2, 3).pipe(sampleBatch(train, sampler), toArray()));
  assert.deepEqual(batches.map((b) => b.epoch), [0, 0, 0, 1]);
  assert.deepEqual(batches.map((b) => b.x.rows), [4, 4, 2, 4]);
  // One epoch covers every row exactly once: its batches' rows, matched back to the dataset's,
  // are each of the ten rows once (the rows' three values tell most rows apart, the label the
  // rest).
  const key = (x: ArrayLike<number>, at: number, label: number) =>
    `${Array.from({ length: 3 }, (_, j) => x[at + j]).join(" ")} ${label}`;
  const epoch = batches.slice(0, 3).flatMap((b) =>
    Array.from({ length: b.x.rows }, (_, i) => key(b.x.data, i * 3, b.labels[i]!))
  );
  const all = Array.from({ length: 10 }, (_, i) => key(train.x, i * 3, train.labels[i]!));
  assert.deepEqual([...epoch].sort(), [...all].sort());
  assert.equal(new Set(all).size, 10, "the rows are distinguishable, so a repeat would show");
  const first = batches[0]!;
  assert.ok(!(first.t instanceof Int32Array));
  const labelled = await lastValueFrom(
    of(0).pipe(
      sampleBatch(train, new BatchSampler(10, 4, "shuffle", 3), { oneHot: false }),
      take(1),
    ),
  );
  assert.ok(labelled.t instanceof Int32Array);
  assert.deepEqual(Array.from(labelled.t), Array.from(first.labels));
});

Deno.test("sampleBatch() gives the dataset's float32 rows, and float64 x equal to them", async () => {
  const batch = await lastValueFrom(
    of(0).pipe(sampleBatch(train, new BatchSampler(10, 4, "shuffle", 5)), take(1)),
  );
  assert.ok(batch.rows);
  const rows = batch.rows;
  assert.equal(rows.rows, 4);
  assert.equal(rows.cols, 3);
  assert.ok(rows.data instanceof Float32Array);
  assert.deepEqual(Array.from(batch.x.data), Array.from(rows.data));
  assert.equal(batch.x, batch.x, "x is made once");
  // The rows and labels the sampler chose (the same seed draws the same indices).
  const indices = new BatchSampler(10, 4, "shuffle", 5).next();
  assert.deepEqual(batch.indices, indices, "the batch names its rows");
  indices.forEach((r, i) => {
    assert.deepEqual(rows.data.subarray(i * 3, i * 3 + 3), train.x.subarray(r * 3, r * 3 + 3));
    assert.equal(batch.labels[i], train.labels[r]);
  });
});

Deno.test("BatchSampler.setState() continues with the same batches", () => {
  const a = new BatchSampler(50, 7, "shuffle", 9);
  for (let i = 0; i < 5; i++) a.next();
  const b = new BatchSampler(50, 7, "shuffle", 0);
  b.setState(JSON.parse(JSON.stringify(a.state())));
  for (let i = 0; i < 20; i++) assert.deepEqual(a.next(), b.next());
});

Deno.test("BatchSampler() rejects a batch larger than the data", () => {
  assert.throws(() => new BatchSampler(5, 6, "shuffle", 0), {
    name: "RangeError",
    message: "Expected batchSize to be an integer in [1, 5] but found 6",
  });
});

function mapSummary<T, R>(f: (t: T) => R): OperatorFunction<T, R> {
  return map(f);
}

Deno.test("sampleBatch() with reuseRows draws each batch into one buffer, the same rows as fresh ones", async () => {
  const draw = (reuseRows: boolean) =>
    lastValueFrom(
      of(0, 1, 2).pipe(
        sampleBatch(train, new BatchSampler(10, 4, "shuffle", 3), { reuseRows }),
        // Read each batch within its step, as the training loop does.
        map((b) => ({
          batch: b,
          rows: Array.from(b.rows!.data),
          x: Array.from(b.x.data),
          labels: Array.from(b.labels),
          t: Array.from((b.t as Matrix).data),
        })),
        toArray(),
      ),
    );
  const [fresh, reused] = [await draw(false), await draw(true)];
  assert.deepEqual(reused.map((r) => r.rows), fresh.map((r) => r.rows));
  assert.deepEqual(reused.map((r) => r.x), fresh.map((r) => r.x));
  assert.deepEqual(reused.map((r) => r.labels), fresh.map((r) => r.labels));
  assert.deepEqual(reused.map((r) => r.t), fresh.map((r) => r.t));
  assert.equal(reused[0]!.batch.labels.buffer, reused[2]!.batch.labels.buffer);
  assert.equal(
    (reused[0]!.batch.t as Matrix).data.buffer,
    (reused[2]!.batch.t as Matrix).data.buffer,
  );
  assert.equal(reused[0]!.batch.rows!.data.buffer, reused[2]!.batch.rows!.data.buffer);
  assert.equal(reused[0]!.batch.x.data.buffer, reused[2]!.batch.x.data.buffer);
  assert.notEqual(fresh[0]!.batch.rows!.data.buffer, fresh[2]!.batch.rows!.data.buffer);
  // An old batch's float64 rows, never made within its step, cannot be made from reused rows.
  const late = await lastValueFrom(
    of(0, 1).pipe(
      sampleBatch(train, new BatchSampler(10, 4, "shuffle", 3), { reuseRows: true }),
      toArray(),
    ),
  );
  assert.throws(() => late[0]!.x, /batch 0's rows were read after the next batch was drawn/);
  assert.throws(() => late[0]!.rows, /batch 0's rows were read after the next batch was drawn/);
});

Deno.test("sampleBatch() with reuseRows gathers float64 rows directly, and float32 ones from them", async () => {
  const fresh = await lastValueFrom(
    of(0, 1).pipe(
      sampleBatch(train, new BatchSampler(10, 4, "shuffle", 3)),
      map((b) => ({ rows: Array.from(b.rows!.data), x: Array.from(b.x.data) })),
      toArray(),
    ),
  );
  // The numerical method's order: x first (and maybe never rows).
  const reused = await lastValueFrom(
    of(0, 1).pipe(
      sampleBatch(train, new BatchSampler(10, 4, "shuffle", 3), { reuseRows: true }),
      map((b) => ({ x: Array.from(b.x.data), rows: Array.from(b.rows!.data) })),
      toArray(),
    ),
  );
  assert.deepEqual(reused, fresh.map(({ rows, x }) => ({ x, rows })));
});

Deno.test("sampleBatch(): a batch's indices and labels stay as drawn while later epochs are drawn", async () => {
  // 10 rows in batches of 4: three batches an epoch (the last of 2), four epochs.
  const drawn = await lastValueFrom(
    of(...Array.from({ length: 12 }, (_, i) => i)).pipe(
      sampleBatch(train, new BatchSampler(10, 4, "shuffle", 5)),
      // Copies taken within each batch's step, before the next is drawn.
      map((b) => ({ batch: b, indices: Array.from(b.indices), labels: Array.from(b.labels) })),
      toArray(),
    ),
  );
  assert.deepEqual(drawn.map((d) => d.indices.length), [4, 4, 2, 4, 4, 2, 4, 4, 2, 4, 4, 2]);
  for (const { batch, indices, labels } of drawn) {
    assert.deepEqual(Array.from(batch.indices), indices);
    assert.deepEqual(Array.from(batch.labels), labels);
    assert.deepEqual(labels, indices.map((i) => train.labels[i]));
  }
  // Each epoch is a permutation of the 10 rows, and the epochs' orders differ.
  const epochs = [0, 1, 2, 3].map((e) => drawn.slice(e * 3, e * 3 + 3).flatMap((d) => d.indices));
  for (const order of epochs) {
    assert.deepEqual([...order].sort((a, b) => a - b), [...Array(10).keys()]);
  }
  assert.notDeepEqual(epochs[0], epochs[1]);
});
