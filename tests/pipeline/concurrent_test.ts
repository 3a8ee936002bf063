import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../pipeline/load_config.ts";
import { train } from "../../pipeline/train.ts";
import { tiny, withTempDir } from "../helpers.ts";

/** What a run computed: its model file and its metrics without the wall-clock column. */
async function outputs(runDir: string): Promise<{ model: string; metrics: string }> {
  const rows = (await Deno.readTextFile(join(runDir, "metrics.csv"))).trim().split("\n");
  const elapsed = rows[0]!.split(",").indexOf("elapsedSeconds");
  return {
    model: await Deno.readTextFile(join(runDir, "model.json")),
    metrics: rows.map((r) => r.split(",").filter((_, i) => i !== elapsed).join(",")).join("\n"),
  };
}

// Different engines and different configs: the WebAssembly kernels (sigmoid output with mse
// leaves the resident trainer out), the resident trainer, and the js kernels with dropout.
const RUNS: Record<string, string[]> = {
  "wasm-kernels": ["backend=wasm", "model.output=sigmoid", "loss=mse", "model.activation=sigmoid"],
  "wasm-trainer": ["backend=wasm", "seed=11"],
  "js": ["backend=js", "model.dropout=0.2", "seed=3", "training.batchSize=7"],
};

Deno.test("trainings running concurrently in one process give the results each gives alone", async () => {
  await withTempDir(async (dir) => {
    // A checkpoint each epoch: the loop gives the event loop a turn while one is written, so
    // the runs take turns. With auto's 2 s spacing, a tiny run of 135 steps could finish before
    // the next one started (one run of six here), and the test would not test concurrency.
    const config = (name: string, where: string) =>
      loadConfig(tiny, [
        ...RUNS[name]!,
        "training.checkpoint.every=epoch",
        `name=${name}`,
        `output.dir=${join(dir, where)}`,
      ]);
    const alone: Record<string, { model: string; metrics: string }> = {};
    for (const name of Object.keys(RUNS)) {
      alone[name] = await outputs((await train(await config(name, "alone"))).runDir);
    }
    const order: string[] = [];
    const together = await Promise.all(
      Object.keys(RUNS).map(async (name) => {
        const onEvent = (e: Record<string, unknown>) => order.push(`${name} ${e.event}`);
        return [name, (await train(await config(name, "together"), { onEvent })).runDir] as const;
      }),
    );
    // They did run at the same time: every run evaluated before the first one finished.
    const firstFinish = order.findIndex((e) => e.endsWith(" finished"));
    for (const name of Object.keys(RUNS)) {
      assert.ok(order.slice(0, firstFinish).includes(`${name} evaluation`), order.join("; "));
    }
    for (const [name, runDir] of together) {
      const both = await outputs(runDir);
      assert.equal(both.metrics, alone[name]!.metrics, `${name}: metrics.csv`);
      assert.equal(both.model, alone[name]!.model, `${name}: model.json`);
    }
    // The runs really differ from one another, so a mix-up between them would show.
    const models = new Set(Object.values(alone).map((o) => o.model));
    assert.equal(models.size, Object.keys(RUNS).length);
  });
});
