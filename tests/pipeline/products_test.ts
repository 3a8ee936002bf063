import assert from "node:assert/strict";
import { join } from "node:path";
import { openBlas } from "../../engine/trainer/openblas.ts";
import type { Products } from "../../engine/trainer/wasm_trainer.ts";
import { UsageError } from "../../pipeline/errors.ts";
import { loadConfig } from "../../pipeline/load_config.ts";
import { resolveProducts } from "../../pipeline/setup.ts";
import { cli, runDirOf, tiny, trainTiny, withTempDir } from "../helpers.ts";

const available = typeof openBlas() !== "string";

async function config(blas: string) {
  return (await loadConfig(tiny, [`blas=${blas}`])).config;
}

Deno.test("resolveProducts(): OpenBLAS when it loads (auto), never with off", async () => {
  assert.equal(resolveProducts(await config("auto")), available ? "openblas" : "wasm");
  assert.equal(resolveProducts(await config("off")), "wasm");
  if (available) assert.equal(resolveProducts(await config("openblas")), "openblas");
  else assert.throws(() => resolveProducts(asking("openblas")), UsageError);
});

/** Just the config's `blas`: all that resolveProducts reads. */
function asking(blas: "auto" | "openblas" | "off") {
  return { blas } as Parameters<typeof resolveProducts>[0];
}

Deno.test("resolveProducts(): a resumed run keeps its checkpoint's products or is refused", async () => {
  const resuming = (recorded?: Products) => ({ runDir: "runs/x", recorded });
  // A checkpoint from before OpenBLAS names none: it was trained in WebAssembly.
  assert.equal(resolveProducts(await config("auto"), resuming(undefined)), "wasm");
  assert.equal(resolveProducts(await config("auto"), resuming("wasm")), "wasm");
  assert.equal(resolveProducts(await config("off"), resuming("wasm")), "wasm");
  assert.throws(
    () =>
      resolveProducts(
        { blas: "off" } as Parameters<typeof resolveProducts>[0],
        resuming("openblas"),
      ),
    {
      name: "UsageError",
      message:
        "cannot resume runs/x: its checkpoint computed the dense products in OpenBLAS, and the config's blas is off (the numbers would differ; use blas: auto)",
    },
  );
  assert.throws(
    () =>
      resolveProducts(
        { blas: "openblas" } as Parameters<typeof resolveProducts>[0],
        resuming("wasm"),
      ),
    /its checkpoint computed the dense products in WebAssembly, and the config's blas is openblas/,
  );
  if (available) {
    assert.equal(resolveProducts(await config("auto"), resuming("openblas")), "openblas");
  }
});

Deno.test("train: summary.json names the products; without the library, auto falls back and openblas is refused", async () => {
  await withTempDir(async (dir) => {
    const train = (env: Record<string, string>, ...sets: string[]) =>
      cli(
        [
          "train",
          tiny,
          "--set",
          `output.dir=${dir}`,
          "--set",
          "training.epochs=1",
          ...sets.flatMap((s) => ["--set", s]),
        ],
        env,
      );
    const engineOf = async (stdout: string) =>
      JSON.parse(await Deno.readTextFile(join(runDirOf(stdout), "summary.json"))).engine;
    const auto = await train({});
    assert.equal(auto.code, 0, auto.stderr);
    assert.match(
      await engineOf(auto.stdout),
      available ? /^wasm-trainer, dense products in OpenBLAS \d/ : /WebAssembly SIMD$/,
    );
    const off = await train({}, "blas=off");
    assert.equal(off.code, 0, off.stderr);
    assert.equal(await engineOf(off.stdout), "wasm-trainer, dense products in WebAssembly SIMD");
    // A library that is not there: the run falls back, or is refused before its folder exists.
    const missing = { GRADSTREAM_OPENBLAS: join(dir, "libopenblas-missing.so") };
    const fallback = await train(missing);
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.equal(
      await engineOf(fallback.stdout),
      "wasm-trainer, dense products in WebAssembly SIMD",
    );
    const runs = [...Deno.readDirSync(join(dir, "tiny"))].length;
    const refused = await train(missing, "name=refused", "blas=openblas");
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^error: blas is openblas, but OpenBLAS does not load here: no OpenBLAS library could be loaded \(.*libopenblas-missing\.so: /,
    );
    assert.equal([...Deno.readDirSync(join(dir, "tiny"))].length, runs);
    // Only the run's name folder, which the check that it can be written makes: no run in it.
    assert.deepEqual([...Deno.readDirSync(join(dir, "refused"))], []);
  });
});

Deno.test({
  name: "resume: a run trained with OpenBLAS is not continued in WebAssembly",
  ignore: !available,
  async fn() {
    await withTempDir(async (dir) => {
      const runDir = await trainTiny(dir, "training.checkpoint.keep=true");
      const off = await cli(["train", tiny, "--set", "blas=off", "--resume", runDir]);
      assert.equal(off.code, 2);
      assert.match(
        off.stderr,
        /^error: cannot resume .*: its checkpoint computed the dense products in OpenBLAS, and the config's blas is off/,
      );
      // With the config's default (auto) it continues.
      const auto = await cli(["train", tiny, "--set", "training.epochs=2", "--resume", runDir]);
      assert.equal(auto.code, 0, auto.stderr);
    });
  },
});
