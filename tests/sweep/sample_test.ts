import assert from "node:assert/strict";
import { SweepSchema } from "../../config/sweep.ts";
import { trialCount, trialOf, trialsOf } from "../../sweep/sample.ts";

const base = { name: "s", base: "x.yaml", metric: "validationAccuracy" } as const;

Deno.test("logUniform draws stay within the bounds and spread evenly over the decades", () => {
  const sweep = SweepSchema.parse({
    ...base,
    method: "random",
    trials: 4000,
    seed: 3,
    space: { "optimizer.learningRate": { logUniform: [1e-6, 1e-2] } },
  });
  const draws = trialsOf(sweep).map((t) => t.values["optimizer.learningRate"] as number);
  assert.ok(draws.every((v) => v >= 1e-6 && v <= 1e-2));
  // Four decades, 1,000 expected in each; binomial sd ≈ 27, so ±120 is over 4 sd.
  const decades = [0, 0, 0, 0];
  for (const v of draws) decades[Math.min(3, Math.floor(Math.log10(v) + 6))]!++;
  for (const count of decades) assert.ok(Math.abs(count - 1000) < 120, `decades ${decades}`);
  // Uniform on the linear scale would put ~90 % in the top decade.
  assert.ok(draws.filter((v) => v < 1e-4).length > 1800);
});

Deno.test("int draws cover both bounds, uniform draws stay in [low, high)", () => {
  const sweep = SweepSchema.parse({
    ...base,
    method: "random",
    trials: 500,
    space: { "training.batchSize": { int: [10, 13] }, "model.dropout": { uniform: [0.1, 0.5] } },
  });
  const trials = trialsOf(sweep);
  const sizes = new Set(trials.map((t) => t.values["training.batchSize"]));
  assert.deepEqual([...sizes].sort(), [10, 11, 12, 13]);
  assert.ok(trials.every((t) => {
    const d = t.values["model.dropout"] as number;
    return d >= 0.1 && d < 0.5;
  }));
});

Deno.test("a grid runs every combination exactly once, the last key changing fastest", () => {
  const sweep = SweepSchema.parse({
    ...base,
    method: "grid",
    space: {
      "training.batchSize": { values: [50, 100] },
      "optimizer.learningRate": { values: [0.1, 0.01, 0.001] },
      "model.layers": { choice: [["auto", 50, "auto"], ["auto", 100, "auto"]] },
    },
  });
  assert.equal(trialCount(sweep), 12);
  const trials = trialsOf(sweep);
  const seen = new Set(trials.map((t) => JSON.stringify(t.values)));
  assert.equal(seen.size, 12);
  assert.deepEqual(trials[0]!.values, {
    "training.batchSize": 50,
    "optimizer.learningRate": 0.1,
    "model.layers": ["auto", 50, "auto"],
  });
  assert.deepEqual(trials[1]!.values["model.layers"], ["auto", 100, "auto"]);
  assert.equal(trials[11]!.values["training.batchSize"], 100);
});

Deno.test("trial i depends only on the seed and i: not on how many trials, not on the others", () => {
  const sweep = (trials: number, seed: number) =>
    SweepSchema.parse({
      ...base,
      method: "random",
      trials,
      seed,
      space: { "optimizer.learningRate": { logUniform: [1e-6, 1e-2] } },
    });
  assert.deepEqual(trialOf(sweep(5, 1), 4), trialsOf(sweep(50, 1))[4]);
  assert.deepEqual(trialsOf(sweep(5, 1)), trialsOf(sweep(5, 1)));
  assert.notDeepEqual(trialOf(sweep(5, 1), 4), trialOf(sweep(5, 2), 4));
  const seeds = new Set(trialsOf(sweep(50, 1)).map((t) => t.seed));
  assert.equal(seeds.size, 50, "every trial gets its own run seed");
});

Deno.test("the sweep schema refuses test metrics, a grid with trials and random without", () => {
  const problems = (input: Record<string, unknown>) => {
    const r = SweepSchema.safeParse({
      ...base,
      method: "random",
      trials: 2,
      space: { a: { values: [1] } },
      ...input,
    });
    return r.success ? [] : r.error.issues.map((i) => i.message);
  };
  assert.match(problems({ metric: "testAccuracy" }).join(), /testAccuracy cannot select a model/);
  assert.match(problems({ method: "grid" }).join(), /leave `trials` out/);
  assert.match(problems({ trials: undefined }).join(), /random search needs `trials`/);
  assert.match(
    problems({ method: "grid", trials: undefined, space: { a: { uniform: [0, 1] } } }).join(),
    /a grid needs a list/,
  );
  assert.match(problems({ space: { a: { logUniform: [0, 1] } } }).join(), /Too small|>0/);
  assert.match(problems({ space: { a: { uniform: [1, 0] } } }).join(), /low < high/);
  assert.deepEqual(problems({}), []);
});
