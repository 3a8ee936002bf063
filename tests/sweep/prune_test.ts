import assert from "node:assert/strict";
import { judge, median, type TrialRecord } from "../../sweep/prune.ts";
import { deriveSeed, Random } from "../../nn/random.ts";

/** A trial that has reported `values` at iterations 10, 20, … and ended when `ended`. */
function record(trial: number, values: number[], ended = true): TrialRecord {
  return {
    trial,
    values: {},
    seed: trial,
    status: "running",
    evaluations: values.map((v, i) => [10 * (i + 1), v]),
    judged: 0,
    seconds: 0,
    ...(ended ? { exitCode: 0 } : {}),
  };
}

const rule = { after: 1, minTrials: 3 };

Deno.test("median() of odd and even counts", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("a trial below the median of the earlier trials at an evaluation is stopped there", () => {
  const records = [
    record(0, [0.5, 0.6, 0.7]),
    record(1, [0.4, 0.6, 0.8]),
    record(2, [0.6, 0.7, 0.9]),
    record(3, [0.1, 0.2, 0.95]), // below at 20 (median 0.6): stopped there, its 0.95 never counts
    record(4, [0.9, 0.9, 0.9]),
  ];
  assert.deepEqual(judge(records, rule, false), [3]);
  assert.deepEqual(records.map((r) => r.status), ["done", "done", "done", "pruned", "done"]);
  assert.deepEqual(records[3]!.evaluations, [[10, 0.1], [20, 0.2]]);
});

Deno.test("no stop within `after` evaluations, nor with fewer than minTrials earlier trials", () => {
  const early = [record(0, [0.5]), record(1, [0.5]), record(2, [0.5]), record(3, [0.1])];
  assert.deepEqual(judge(early, rule, false), [], "its first evaluation is never judged");
  const few = () => [record(0, [0.5, 0.5]), record(1, [0.5, 0.5]), record(2, [0.1, 0.1])];
  assert.deepEqual(judge(few(), rule, false), [], "two earlier trials are not enough");
  assert.deepEqual(judge(few(), { after: 1, minTrials: 2 }, false), [2]);
});

Deno.test("when minimizing, a trial above the median is the worse one", () => {
  const records = [0.5, 0.6, 0.7].map((v, i) => record(i, [v, v])).concat(record(3, [0.2, 0.9]));
  assert.deepEqual(judge(records, rule, true), [3]);
  const better = [0.5, 0.6, 0.7].map((v, i) => record(i, [v, v])).concat(record(3, [0.2, 0.1]));
  assert.deepEqual(judge(better, rule, true), []);
});

Deno.test("a trial waits for an earlier one that has not reached the evaluation yet", () => {
  const records = [
    record(0, [0.5, 0.6]),
    record(1, [0.5, 0.6]),
    record(2, [0.5], false), // running, only at iteration 10 so far
    record(3, [0.5, 0.1]),
  ];
  assert.deepEqual(judge(records, rule, false), []);
  assert.equal(records[3]!.status, "running", "not judged at 20 before trial 2 reports there");
  records[2]!.evaluations.push([20, 0.6]);
  records[2]!.exitCode = 0;
  assert.deepEqual(judge(records, rule, false), [3]);
});

Deno.test("the decisions are the same whatever order the evaluations arrive in", () => {
  // Eight trials of five evaluations; the evaluations arrive interleaved at random (as from
  // parallel processes or queue workers), and the trials end at random points after.
  const random = new Random(deriveSeed(5, "prune-test"));
  const series = Array.from({ length: 8 }, () => Array.from({ length: 5 }, () => random.random()));
  const inOrder = series.map((v, i) => record(i, v));
  judge(inOrder, rule, false);
  for (let round = 0; round < 20; round++) {
    const records = series.map((_, i) => record(i, [], false));
    const pending = series.flatMap((v, i) => v.map((_, k) => ({ i, k })));
    const next = series.map(() => 0);
    while (pending.some(({ i, k }) => next[i]! <= k)) {
      const i = random.int(series.length);
      if (next[i]! >= 5) continue;
      const r = records[i]!;
      if (r.status !== "pruned") {
        r.evaluations.push([10 * (next[i]! + 1), series[i]![next[i]!]!]);
      }
      next[i]!++;
      if (next[i] === 5 && r.status !== "pruned") r.exitCode = 0;
      judge(records, rule, false);
    }
    judge(records, rule, false);
    assert.deepEqual(
      records.map((r) => [r.status, r.evaluations]),
      inOrder.map((r) => [r.status, r.evaluations]),
    );
  }
  assert.ok(inOrder.some((r) => r.status === "pruned"), "the case stops some trials");
});
