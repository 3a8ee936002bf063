/**
 * ONNX export, checked by a real runtime (onnxruntime-node): for each kind of model (image
 * pixels, a table with categories and blanks, a regression) onnxruntime's outputs on raw rows
 * equal `deno task predict`'s on the same rows: the same classes, and probabilities and values
 * within 1e-5 (the exported graph computes in float32, predict in float64).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { loadModel } from "../pipeline/model_file.ts";
import { onnxInputs, onnxOutput, toOnnx } from "../pipeline/onnx.ts";
import { predictFile } from "../pipeline/predict.ts";
import { readTable } from "../data/table.ts";
import { cellValue } from "../data/tabular.ts";
import { cli, root, runDirOf, trainConfig, trainTiny, withTempDir } from "./helpers.ts";

const TOLERANCE = 1e-5;

/** Run the exported model on a CSV's rows (raw, as predict reads them); the output rows. */
async function runOnnx(runDir: string, csv: string): Promise<number[][]> {
  const { file } = await loadModel(join(runDir, "model.json"));
  const session = await ort.InferenceSession.create(toOnnx(file));
  const inputs = onnxInputs(file);
  const table = await readTable(csv, { labelColumn: null });
  const n = table.rows;
  const feeds: Record<string, ort.Tensor> = {};
  if (!file.data.table) {
    const width = inputs[0]!.width;
    // A label column first (as MNIST-as-CSV has, and predict reads) is left out.
    const skip = table.names.length - width;
    const data = new Float32Array(n * width);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < width; j++) {
        data[i * width + j] = Number(cellValue(table.columns[skip + j]!, i));
      }
    }
    feeds.features = new ort.Tensor("float32", data, [n, width]);
  } else {
    for (const input of inputs) {
      const column = table.columns[table.names.indexOf(input.name)]!;
      const cells = Array.from({ length: n }, (_, i) => cellValue(column, i));
      feeds[input.name] = input.type === "float"
        ? new ort.Tensor(
          "float32",
          Float32Array.from(cells, (v) => (v === null ? NaN : Number(v))),
          [n, 1],
        )
        : new ort.Tensor("string", cells.map((v) => (v === null ? "" : String(v))), [n, 1]);
    }
  }
  const result = await session.run(feeds);
  const out = result[onnxOutput(file)]!;
  const [rows, cols] = out.dims as number[];
  const data = out.data as Float32Array;
  return Array.from(
    { length: rows! },
    (_, i) => Array.from(data.subarray(i * cols!, (i + 1) * cols!)),
  );
}

/** predict's CSV output as numbers: each row's probabilities (or its value). */
async function runPredict(
  runDir: string,
  csv: string,
  regression: boolean,
): Promise<{ cls: string[]; out: number[][] }> {
  const lines = (await predictFile(runDir, csv)).trim().split("\n");
  const header = lines[0]!.split(",");
  const rows = lines.slice(1).map((l) => l.split(","));
  if (regression) return { cls: [], out: rows.map((r) => [Number(r[1])]) };
  const first = header.findIndex((h) => h.startsWith("p_"));
  return { cls: rows.map((r) => r[1]!), out: rows.map((r) => r.slice(first).map(Number)) };
}

async function compare(runDir: string, csv: string, regression: boolean, classes?: string[]) {
  const onnx = await runOnnx(runDir, csv);
  const expected = await runPredict(runDir, csv, regression);
  assert.equal(onnx.length, expected.out.length);
  let worst = 0;
  onnx.forEach((row, i) => {
    row.forEach((
      v,
      j,
    ) => (worst = Math.max(
      worst,
      Math.abs(v - expected.out[i]![j]!) /
        (regression ? Math.max(1, Math.abs(expected.out[i]![j]!)) : 1),
    )));
    if (!regression) {
      const k = row.indexOf(Math.max(...row));
      assert.equal(classes![k], expected.cls[i], `row ${i}`);
    }
  });
  assert.ok(worst < TOLERANCE, `largest difference ${worst}`);
}

Deno.test("ONNX export of an image model: onnxruntime agrees with predict", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    // The fixture's test.csv: a label column, then the 64 raw pixels of each test image.
    const csv = join(root, "fixtures", "tiny", "test.csv");
    await compare(runDir, csv, false, ["horizontal", "vertical", "diagonal"]);
  });
});

Deno.test("ONNX export of a table (categories, blanks) and a regression: onnxruntime agrees", async () => {
  await withTempDir(async (dir) => {
    for (
      const [example, regression, classes] of [
        ["penguins", false, ["Adelie", "Chinstrap", "Gentoo"]],
        ["cars", true, undefined],
      ] as const
    ) {
      const train = await cli([
        "train",
        join(root, "examples", `${example}.yaml`),
        "--set",
        `output.dir=${dir}`,
        "--set",
        "training.epochs=5",
      ]);
      assert.equal(train.code, 0, train.stderr);
      await compare(
        runDirOf(train.stdout),
        join(root, "examples", `${example}.csv`),
        regression,
        classes as string[] | undefined,
      );
    }
  });
});

/** A Python that has the official checker (Debian's python3-onnx), if any. */
const checkerPython = ["/usr/bin/python3", "python3"].find((python) => {
  try {
    return new Deno.Command(python, { args: ["-c", "import onnx"] }).outputSync().success;
  } catch {
    return false;
  }
});
const hasChecker = checkerPython !== undefined;
if (!hasChecker) console.warn("skipped the ONNX checker test: python3-onnx is not installed");

Deno.test({
  name: "the exported models pass onnx.checker (full check, with shape inference)",
  ignore: !hasChecker,
  fn: async () => {
    await withTempDir(async (dir) => {
      const runs = [await trainTiny(dir)];
      runs.push(
        await trainConfig(join(root, "examples", "penguins.yaml"), dir, "training.epochs=2"),
      );
      for (const [i, runDir] of runs.entries()) {
        const { file } = await loadModel(join(runDir, "model.json"));
        const path = join(dir, `model-${i}.onnx`);
        await Deno.writeFile(path, toOnnx(file));
        const check = await new Deno.Command(checkerPython!, {
          args: [
            "-c",
            "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print('ok')",
            path,
          ],
        }).output();
        const said = new TextDecoder().decode(check.stdout) +
          new TextDecoder().decode(check.stderr);
        assert.ok(check.success && said.includes("ok"), said);
      }
    });
  },
});
