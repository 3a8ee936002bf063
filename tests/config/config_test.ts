import assert from "node:assert/strict";
import { join } from "node:path";
import type { z } from "zod";
import { configReference } from "../../config/docs.ts";
import { GENERATED } from "../../commands/schema.ts";
import { ConfigSchema } from "../../config/config.ts";
import { ConfigError, nearest } from "../../config/errors.ts";
import { applyOverride, loadConfig, validateConfig } from "../../pipeline/load_config.ts";

const root = join(import.meta.dirname!, "..", "..");

Deno.test("validateConfig() fills every default", () => {
  const config = validateConfig({ model: { layers: [784, 50, 10] } }, "x.yaml");
  assert.equal(config.seed, 0);
  assert.deepEqual(config.data.source, { kind: "mnist-digits", trainSize: 8000, testSize: 2000 });
  assert.equal(config.data.oneHot, true);
  assert.equal(config.model.activation, "sigmoid");
  assert.equal(config.model.output, "softmax");
  assert.deepEqual(config.model.weightInit, { kind: "normal", std: 0.01 });
  assert.equal(config.loss, "cross-entropy");
  assert.deepEqual(config.gradient, { method: "backprop" });
  assert.deepEqual(config.optimizer, { kind: "sgd", learningRate: 0.1, weightDecay: 0 });
  assert.equal(config.training.batchSize, 100);
  assert.equal(config.training.sampling, "with-replacement");
  assert.equal(config.evaluation.every, "epoch");
  assert.equal(config.output.dir, "runs");
});

Deno.test("validateConfig() gives each optimizer its own default learning rate", () => {
  const lr = (kind: string) =>
    validateConfig({ model: { layers: [784, 10] }, optimizer: { kind } }, "x").optimizer
      .learningRate;
  assert.deepEqual(["sgd", "momentum", "adagrad", "adam"].map(lr), [0.1, 0.01, 0.01, 0.001]);
});

Deno.test("validateConfig() reports every problem at once, one entry per line pair", () => {
  try {
    validateConfig({ model: { layers: [784, 0, 10] }, seed: -1, loss: "ce" }, "bad.yaml");
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.issues.length, 3);
    assert.match(error.message, /^bad\.yaml: invalid config\n/);
    assert.ok(error.issues.some((i) => i.endsWith("→ at model.layers[1]")));
    assert.ok(
      error.issues.includes('✖ Expected one of "cross-entropy", "mse" but found "ce"\n  → at loss'),
    );
  }
});

Deno.test("loadConfig() resolves relative paths against the config's folder", async () => {
  const { config, name } = await loadConfig(join(root, "fixtures", "configs", "tiny.yaml"));
  assert.equal(name, "tiny");
  const source = config.data.source;
  assert.equal(source.kind, "idx");
  if (source.kind === "idx") {
    assert.equal(source.trainImages, join(root, "fixtures", "tiny", "train-images-idx3-ubyte"));
  }
  assert.equal(config.output.dir, join(root, "runs"));
});

Deno.test("loadConfig() names a run after its file when the config has no name", async () => {
  const { name } = await loadConfig(join(root, "fixtures", "configs", "tiny_csv.yaml"));
  assert.equal(name, "tiny_csv");
});

Deno.test("loadConfig() reads JSON configs too", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify({ model: { layers: [784, 10] }, seed: 5 }));
    const { config } = await loadConfig(file);
    assert.equal(config.seed, 5);
    await Deno.writeTextFile(file, '{ "seed": 5, }');
    await assert.rejects(loadConfig(file), { name: "ConfigError", message: /not valid JSON/ });
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("loadConfig() reports a missing file as a config error", async () => {
  await assert.rejects(loadConfig("/nonexistent/x.yaml"), {
    name: "ConfigError",
    message: "/nonexistent/x.yaml: invalid config\n✖ cannot read the config: file does not exist",
  });
});

Deno.test("applyOverride() sets nested values read as YAML and null removes a key", () => {
  const raw: Record<string, unknown> = { training: { epochs: 3 } };
  applyOverride(raw, "training.iterations=50");
  applyOverride(raw, "training.epochs=null");
  applyOverride(raw, "model.layers=[784, 10]");
  applyOverride(raw, "optimizer={ kind: adam }");
  assert.deepEqual(raw, {
    training: { iterations: 50 },
    model: { layers: [784, 10] },
    optimizer: { kind: "adam" },
  });
  assert.throws(() => applyOverride(raw, "seed"), {
    name: "ConfigError",
    message: /Expected an override like/,
  });
});

Deno.test("nearest() suggests only likely typos", () => {
  assert.equal(nearest("learningRte", ["learningRate", "weightDecay"]), "learningRate");
  assert.equal(nearest("xyz", ["learningRate", "weightDecay"]), undefined);
});

Deno.test("ConfigSchema rejects unknown keys at every level", () => {
  assert.equal(ConfigSchema.safeParse({ model: { layers: [2, 1], extra: 1 } }).success, false);
  assert.equal(ConfigSchema.safeParse({ model: { layers: [2, 1] }, extra: 1 }).success, false);
});

Deno.test("every generated schema and reference (config, sweep file, model.json) is up to date (deno task schema)", async () => {
  for (const [file, generate] of Object.entries(GENERATED)) {
    const committed = await Deno.readTextFile(join(root, file));
    assert.equal(committed, generate(), `${file} is stale: run \`deno task schema\``);
  }
});

Deno.test("docs/config.md names every key of the schema, with its default", () => {
  const reference = configReference();
  const keys: [string, z.ZodType][] = [];
  const walk = (prefix: string, schema: z.ZodType) => {
    const shape = shapeOf(schema);
    for (const [key, child] of Object.entries(shape ?? {})) {
      keys.push([`${prefix}${key}`, child]);
      walk(`${prefix}${key}.`, child);
    }
  };
  walk("", ConfigSchema);
  assert.ok(keys.length > 60, `${keys.length} keys`);
  for (const [key] of keys) assert.ok(reference.includes(`\`${key}\``), `${key} is missing`);
  assert.match(reference, /\| `training\.batchSize` \| integer \(> 0\) \| `100` \|/);
  assert.match(reference, /\| `optimizer\.beta2` \| number \(≥ 0, < 1\) \| `0\.999` \|/);
});

/** The object shape under optional, default, union and refinement wrappers (every variant's keys). */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | null {
  const def = (schema as unknown as { def: Record<string, unknown> }).def;
  if (def.type === "object") return def.shape as Record<string, z.ZodType>;
  if (def.type === "union") {
    const merged: Record<string, z.ZodType> = {};
    for (const option of def.options as z.ZodType[]) Object.assign(merged, shapeOf(option) ?? {});
    return Object.keys(merged).length > 0 ? merged : null;
  }
  const inner = (def.innerType ?? def.in ?? def.schema) as z.ZodType | undefined;
  return inner ? shapeOf(inner) : null;
}
