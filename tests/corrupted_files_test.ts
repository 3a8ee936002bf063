/**
 * Damaged or edited files a run reads back: model.json, checkpoint.json, and a CSV with a
 * huge field. Each is refused with a message naming the file and the problem, never a
 * JavaScript error, never a silent wrong answer.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, tiny, trainTiny, withTempDir } from "./helpers.ts";

/** A JSON document as tests edit it: any shape. */
// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

async function editJson(path: string, edit: (value: Json) => void): Promise<void> {
  const value = JSON.parse(await Deno.readTextFile(path));
  edit(value);
  await Deno.writeTextFile(path, JSON.stringify(value));
}

/** A CSV of the tiny fixture's 64 features (one row) for predict. */
async function featuresCsv(dir: string): Promise<string> {
  const path = join(dir, "rows.csv");
  await Deno.writeTextFile(
    path,
    Array.from({ length: 64 }, (_, i) => `p${i}`).join(",") + "\n" +
      new Array(64).fill(0.5).join(",") + "\n",
  );
  return path;
}

Deno.test("a model.json whose parts disagree is refused on load, for evaluate and predict", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    const model = join(runDir, "model.json");
    await editJson(model, (m) => (m.data.classNames = ["horizontal", "vertical"]));
    for (const args of [["evaluate", runDir], ["predict", runDir, await featuresCsv(dir)]]) {
      const result = await cli(args);
      assert.equal(result.code, 1, `${args[0]}: ${result.stdout}`);
      assert.match(
        result.stderr,
        /model\.json: not a valid model file\n✖ data\.classNames names 2 classes but data\.classes is 3/,
      );
      assert.doesNotMatch(result.stderr, /Cannot read properties|TypeError/);
    }
  });
});

Deno.test("a weight of 1e308 (finite, absurd) is refused on load, not predicted with", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    // Stored weights are base64 float64 or arrays: set the first one through the JSON.
    await editJson(join(runDir, "model.json"), (m) => {
      const w = m.params.W1;
      if (Array.isArray(w.data)) w.data[0] = 1e308;
      else throw new Error(`unexpected parameter layout ${Object.keys(w)}`);
      for (let i = 0; i < w.data.length; i++) w.data[i] = 1e308;
    });
    const result = await cli(["predict", runDir, await featuresCsv(dir)]);
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      /model\.json: not a valid model file\n✖ parameter W1 holds 1e\+308 \(at 0\): beyond float32's range/,
    );
    assert.doesNotMatch(result.stdout, /NaN/);
  });
});

Deno.test("a checkpoint edited and re-hashed is checked field by field", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir, "training.epochs=2", "training.checkpoint.keep=true");
    const path = join(runDir, "checkpoint.json");
    const original = await Deno.readTextFile(path);
    const rehash = async (edit: (state: Json) => void) => {
      const file = JSON.parse(original);
      edit(file.state);
      const body = JSON.stringify(file.state);
      const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
      file.sha256 = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join(
        "",
      );
      await Deno.writeTextFile(path, JSON.stringify(file));
    };
    const cases: [string, (s: Json) => void, RegExp][] = [
      ["a text iteration", (s) => (s.nextIteration = "abc"), /state is not valid: nextIteration: /],
      [
        "a short weight",
        (s) => (s.params.W1.data = "AAAA"),
        /state is not valid: params\.W1: the data does not hold rows × cols float64 values/,
      ],
      [
        "another optimizer",
        (s) => (s.optimizer.kind = "rmsprop"),
        /state is not valid: optimizer\.kind: /,
      ],
      [
        "a sampler beyond the rows",
        (s) => (s.sampler.order = [1, 2, 3]),
        /checkpoint\.json: does not fit this run: Expected a saved order of the 90 training rows but found 3 entries/,
      ],
    ];
    for (const [what, edit, message] of cases) {
      await rehash(edit);
      const result = await cli(["train", tiny, "--set", `output.dir=${dir}`, "--resume", runDir]);
      assert.equal(result.code, 1, `${what}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message, what);
      assert.doesNotMatch(result.stderr, /Cannot read properties|is not a function/, what);
    }
  });
});

Deno.test("a CSV value of 5 MB is cut to 80 characters in the error, not echoed whole", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    const path = join(dir, "huge.csv");
    const row = new Array(63).fill(0.5).join(",") + `,"${"x".repeat(5_000_000)}"`;
    await Deno.writeTextFile(
      path,
      Array.from({ length: 64 }, (_, i) => `p${i}`).join(",") + "\n" + row + "\n",
    );
    const result = await cli(["predict", runDir, path]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /expected a number but found "x{80}…"/);
    assert.ok(result.stderr.length < 1000, `${result.stderr.length} characters of error`);
  });
});
