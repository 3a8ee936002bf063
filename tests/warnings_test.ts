import assert from "node:assert/strict";
import { join } from "node:path";
import { chanceWarning } from "../pipeline/recorder.ts";
import { cli, withTempDir } from "./helpers.ts";

/** An iris-like pair of files: 4 measurements between 0.5 and 7.5, 3 balanced classes. */
async function measurements(dir: string): Promise<string> {
  const rows = (n: number) =>
    [
      "f1,f2,f3,f4,label",
      ...Array.from({ length: n }, (_, i) => {
        const k = i % 3;
        const values = [0, 1, 2, 3].map((j) =>
          (2 + 2 * k + ((i * 7 + j * 3) % 10) / 10 - 0.5).toFixed(2)
        );
        return `${values.join(",")},${k}`;
      }),
    ].join("\n") + "\n";
  await Deno.writeTextFile(join(dir, "train.csv"), rows(120));
  await Deno.writeTextFile(join(dir, "test.csv"), rows(30));
  const config = join(dir, "iris.yaml");
  await Deno.writeTextFile(
    config,
    `data:
  source: { kind: csv, train: train.csv, test: test.csv, labelColumn: label }
model: { layers: [4, 10, 3] }
training: { epochs: 10, batchSize: 10 }
output: { dir: out }
`,
  );
  return config;
}

Deno.test("a minimal config on measurements warns about ÷255 and about chance-level accuracy", async () => {
  await withTempDir(async (dir) => {
    const result = await cli(["train", await measurements(dir)]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^warning: the default normalisation divides by 255 \(for 0–255 pixels\), but the training values range over \[1\.5, 6\.4\]; set data\.normalize: zscore/m,
    );
    assert.match(
      result.stdout,
      /^warning: training accuracy is 0\.3333 after 5 epochs, the chance level \(0\.3333: always the most frequent class\)\. Likely causes: unnormalised inputs/m,
    );
    // With the advice taken, neither warning.
    const fixed = await cli([
      "train",
      join(dir, "iris.yaml"),
      "--set",
      "data.normalize=zscore",
      "--set",
      "model.weightInit={ kind: xavier }",
    ]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.doesNotMatch(fixed.stdout, /^warning:/m);
  });
});

Deno.test("chanceWarning() speaks only at chance level, and only after five epochs", () => {
  assert.equal(chanceWarning({ trainAccuracy: 0.34 }, 4, 0.3333), null);
  assert.equal(chanceWarning({ trainAccuracy: 0.40 }, 5, 0.3333), null);
  assert.equal(chanceWarning({}, 9, 0.3333), null);
  assert.match(
    chanceWarning({ trainAccuracy: 0.35 }, 5, 0.3333)!,
    /^training accuracy is 0\.3500 after 5 epochs/,
  );
  // Unbalanced data: chance is the majority share, not 1/classes.
  assert.match(chanceWarning({ trainAccuracy: 0.9 }, 6, 0.9)!, /the chance level \(0\.9000/);
});
