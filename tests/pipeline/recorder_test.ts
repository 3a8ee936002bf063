import assert from "node:assert/strict";
import { loadConfig } from "../../pipeline/load_config.ts";
import { RunCounters, RunRecorder } from "../../pipeline/recorder.ts";
import { metricColumns, RunDirectory } from "../../pipeline/run_dir.ts";
import { AUTO_CHECKPOINT_SECONDS, scheduleOf } from "../../pipeline/setup.ts";
import type { EvaluatedStep } from "../../stages/evaluate.ts";
import { tiny, withTempDir } from "../helpers.ts";

Deno.test("scheduleOf(): checkpoint.every auto is each epoch with a least spacing; epoch and numbers have none", async () => {
  const schedule = async (every: string) =>
    scheduleOf((await loadConfig(tiny, [`training.checkpoint.every=${every}`])).config, 9);
  const auto = await schedule("auto");
  assert.deepEqual([auto.checkpointEvery, auto.checkpointSpacing], [9, AUTO_CHECKPOINT_SECONDS]);
  const epoch = await schedule("epoch");
  assert.deepEqual([epoch.checkpointEvery, epoch.checkpointSpacing], [9, 0]);
  const fifty = await schedule("50");
  assert.deepEqual([fifty.checkpointEvery, fifty.checkpointSpacing], [50, 0]);
  // The default is auto.
  const plain = scheduleOf((await loadConfig(tiny)).config, 9);
  assert.equal(plain.checkpointSpacing, AUTO_CHECKPOINT_SECONDS);
});

Deno.test("RunRecorder: a due checkpoint waits until checkpointSpacing seconds after the last one", () => {
  let clock = 0;
  const perEpoch = 4;
  const counters = new RunCounters(perEpoch, () => clock);
  counters.startClock();
  const metrics: unknown[] = [];
  const recorder = new RunRecorder({
    run: { metric: (row: unknown) => metrics.push(row) } as unknown as RunDirectory,
    counters,
    emit: () => {},
    checkpointEvery: perEpoch,
    checkpointSpacing: 2,
  });
  const due: number[] = [];
  // 0.25 s a step: an epoch a second.
  for (let iteration = 0; iteration < 24; iteration++) {
    clock = (iteration + 1) * 0.25;
    const step = { iteration, epoch: Math.floor(iteration / perEpoch), loss: 1, learningRate: 0.1 };
    if (recorder.record(step as unknown as EvaluatedStep)) due.push(iteration + 1);
  }
  // The first epoch's, then every second epoch (2 s apart), never between epochs.
  assert.deepEqual(due, [4, 12, 20]);
  assert.equal(metrics.length, 24);
});

Deno.test("RunDirectory.metric(): rows held as numbers are written exactly, in blocks, empty where absent", async () => {
  await withTempDir(async (dir) => {
    const columns = metricColumns("classification", true);
    const run = await RunDirectory.create(dir, "rows", new Date(0), columns);
    const rows = Array.from({ length: 1203 }, (_, i) => ({
      iteration: i + 1,
      epoch: Math.floor(i / 80) + 1,
      // Values that need all 17 digits, and one that is negative zero.
      loss: i === 7 ? -0 : Math.PI / (i + 1),
      learningRate: 0.1 * 0.99 ** i,
      elapsedSeconds: i * 0.001,
      ...(i % 100 === 99 ? { trainAccuracy: 1 / 3, testAccuracy: 0.5, validationLoss: 1e-21 } : {}),
    }));
    for (const row of rows.slice(0, 700)) run.metric(row);
    // Past one block (500 rows) the file holds exactly the rows written, none after.
    const written = (await Deno.readTextFile(`${run.path}/metrics.csv`)).trimEnd().split("\n");
    assert.equal(written.length, 1 + 500);
    for (const row of rows.slice(700)) run.metric(row);
    run.close();
    const lines = (await Deno.readTextFile(`${run.path}/metrics.csv`)).trimEnd().split("\n");
    assert.equal(lines[0], columns.join(","));
    assert.deepEqual(
      lines.slice(1),
      rows.map((row) =>
        columns.map((c) => {
          const value = (row as Record<string, number | undefined>)[c];
          return value === undefined ? "" : String(value);
        }).join(",")
      ),
    );
    assert.match(lines[100]!, /^100,2,0.0314159265358979\d*,0.3333333333333333,0.5,,1e-21,/);
  });
});
