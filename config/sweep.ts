/**
 * The sweep file (`deno task sweep <sweep.yaml>`): which config to tune, which keys to vary and
 * how, the validation metric that judges a trial, and how many trials run at once. The book's
 * chapter 6 search: sample the learning rate and weight decay on a log scale, train each trial
 * briefly, judge it on validation data, keep the best.
 * @module
 */
import { z } from "zod";
import { runName, selectionMetric } from "./config.ts";

const positiveInt = () => z.int().positive();
const finite = () => z.number().refine(Number.isFinite, "Expected a finite number");

/** An interval [low, high] with low < high. */
const interval = (value: z.ZodNumber | z.ZodType<number>) =>
  z.tuple([value, value]).refine(([low, high]) => low < high, {
    message: "Expected [low, high] with low < high",
  });

/** How one key's values are drawn (random) or listed (grid). */
export const Distribution = z.union([
  z.strictObject({
    uniform: interval(finite()).describe("Uniform on [low, high)."),
  }),
  z.strictObject({
    logUniform: interval(z.number().positive()).describe(
      "10^U(log10 low, log10 high): every decade equally likely (the book's learning rates).",
    ),
  }),
  z.strictObject({
    int: interval(z.int()).describe("An integer in [low, high], each equally likely."),
  }),
  z.strictObject({
    choice: z.array(z.unknown()).min(1).describe("One of these values, each equally likely."),
  }),
  z.strictObject({
    values: z.array(z.unknown()).min(1).describe(
      "grid: each of these values in turn; random: one of them, each equally likely.",
    ),
  }),
]);
export type Distribution = z.infer<typeof Distribution>;

export const SweepSchema = z.strictObject({
  name: runName().describe("The sweep's name: a folder under output.dir."),
  base: z.string().min(1).optional().describe(
    "The config file to tune, relative to the sweep file (or give `config:` inline).",
  ),
  config: z.record(z.string(), z.unknown()).optional().describe(
    "The config to tune, inline (its relative paths are relative to the sweep file).",
  ),
  method: z.enum(["random", "grid"]).describe(
    "random: `trials` draws from the space; grid: every combination of the `values` lists.",
  ),
  trials: positiveInt().optional().describe("random: how many trials (grid: leave it out)."),
  seed: z.int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0).describe(
    "Trial i's values and its run seed depend only on this seed and i.",
  ),
  metric: selectionMetric().describe(
    "The validation metric (from summary.json) that judges a trial; the config needs data.split.validation.",
  ),
  goal: z.enum(["maximize", "minimize"]).optional().describe(
    "[minimize for validationLoss and validationRmse, maximize otherwise]",
  ),
  space: z.record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/, {
      message: "Expected a dotted config key such as optimizer.learningRate",
    }),
    Distribution,
  ).refine((s) => Object.keys(s).length > 0, {
    message: "Expected at least one key to vary",
  }).describe("Config keys (dotted, as in --set) and how each is drawn."),
  parallel: positiveInt().optional().describe(
    "Trials running at once, each in its own process [the number of cores].",
  ),
  pruning: z.strictObject({
    kind: z.literal("median"),
    after: z.int().nonnegative().default(1).describe(
      "Evaluations a trial always runs before it may be stopped.",
    ),
    minTrials: positiveInt().default(3).describe(
      "Earlier trials that must have reached an evaluation before their median is used there.",
    ),
  }).optional().describe(
    "Stop a trial whose metric at an evaluation is worse than the median of the earlier trials (lower numbers) at the same evaluation.",
  ),
  output: z.strictObject({
    dir: z.string().min(1).default("sweeps").describe("Relative to the sweep file."),
  }).default({ dir: "sweeps" }),
}).superRefine((s, ctx) => {
  if ((s.base === undefined) === (s.config === undefined)) {
    ctx.addIssue({
      code: "custom",
      message: "give either `base` (a config file) or `config` (inline), not both",
      path: ["base"],
    });
  }
  if (s.method === "random" && s.trials === undefined) {
    ctx.addIssue({ code: "custom", message: "random search needs `trials`", path: ["trials"] });
  }
  if (s.method === "grid") {
    if (s.trials !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: "a grid runs every combination: leave `trials` out",
        path: ["trials"],
      });
    }
    for (const [key, d] of Object.entries(s.space)) {
      if (!("values" in d) && !("choice" in d)) {
        ctx.addIssue({
          code: "custom",
          message: "a grid needs a list: { values: [...] }",
          path: ["space", key],
        });
      }
    }
  }
});

/** A sweep file after validation. */
export type Sweep = z.infer<typeof SweepSchema>;

/** Whether the sweep wants its metric low: its `goal`, else what the metric measures. */
export function minimizes(sweep: Pick<Sweep, "goal" | "metric">): boolean {
  if (sweep.goal) return sweep.goal === "minimize";
  return sweep.metric === "validationLoss" || sweep.metric === "validationRmse";
}
