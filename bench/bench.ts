/**
 * `deno task bench`: one table of timings, each the median and min–max of several runs
 * after warm-up, with the ratio against reference implementations run in the same
 * invocation (our NumPy scripts and PyTorch, each used only when installed). Results also go
 * to bench/results.json. Timings are noisy on shared machines: compare the ratios.
 */
import { join } from "node:path";
import { oneHot, takeBatch } from "../data/dataset.ts";
import { loadMnistDigits } from "../data/mnist_digits.ts";
import { fastNumericalGradient } from "../engine/numerical/fast_numerical_gradient.ts";
import { NumericalGradientPool } from "../engine/numerical/parallel_numerical_gradient.ts";
import { backendKernels } from "../engine/kernels/backends.ts";
import { jsKernels, type Kernels } from "../nn/kernels.ts";
import { MultiLayerNet } from "../nn/network.ts";
import { SGD } from "../nn/optimizers.ts";
import { Random } from "../nn/random.ts";
import { density, type Products, WasmTrainer } from "../engine/trainer/wasm_trainer.ts";
import { openBlas } from "../engine/trainer/openblas.ts";
import { writeFileAtomic } from "../pipeline/run_dir.ts";
import { RUN_V8_FLAGS } from "../commands/schedule.ts";

interface Row {
  case: string;
  implementation: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesPerSecond: number | null;
  note?: string;
}

const here = import.meta.dirname!;
const BATCH = 100;
/**
 * The two numerical CLI runs whose difference is the iterations alone: 1,000 iterations of
 * ~2 ms, so that the difference (~2 s) stands well above the ±0.1 s of a process's start-up.
 */
const [NUMERICAL_SHORT, NUMERICAL_LONG] = [100, 1100];
/** The two CLI runs whose difference is the training alone. */
const [CLI_SHORT, CLI_LONG] = [200, 2200];
/** The digits the trainer holds for steps on new batches: as many as the CLI trains on. */
const HELD_DIGITS = 8000;
/** The seed of those batches' draws. */
const FRESH_SEED = 7;
const rows: Row[] = [];
const meta: Record<string, unknown> = { date: new Date().toISOString(), deno: Deno.version.deno };

/** The CPU's model and its widest SIMD (what decides how far 128-bit WebAssembly can keep up). */
function cpuLine(): { model: string; simd: string } {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const model = info.match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? "unknown";
    const flags = new Set(info.match(/^flags\s*:\s*(.*)$/m)?.[1]?.split(/\s+/) ?? []);
    const simd = flags.has("avx512f") ? "AVX-512" : flags.has("avx2") ? "AVX2" : "SSE or older";
    return { model, simd };
  } catch {
    return { model: "unknown (no /proc/cpuinfo)", simd: "unknown" };
  }
}
const cpu = cpuLine();
meta.cpu = cpu;
console.log(`CPU: ${cpu.model}, widest SIMD ${cpu.simd}, ${navigator.hardwareConcurrency} CPUs`);

/**
 * Rounds of each CLI comparison, for the median: a CLI run is noisier than an in-process step
 * (its start-up alone, loading 40 MB of digits, varied between 700 and 880 ms in four runs
 * here: 0.09 ms an iteration of the 2,000 that the difference divides it by).
 */
const CLI_RUNS = 5;
/**
 * Rounds of the paired trainer ÷ best reference: the trainer and the fastest reference timed
 * again one after the other, for the median of their ratios. Timed once each, in table order,
 * a slow minute can fall on one of them: in one run the trainer's 784-100-10 rows took 0.55 ms
 * (0.30 in the runs before and after) while NumPy's, a minute later, took their usual 0.38.
 */
const REFERENCE_ROUNDS = 3;

/** Deno's arguments for `main.ts train …args`, with the V8 flags the tasks give. */
function trainArgs(args: string[]): string[] {
  return ["run", ...RUN_V8_FLAGS, "--allow-all", join(here, "..", "main.ts"), "train", ...args];
}

/** Wall seconds of one `deno run main.ts train …args`. */
async function cliSeconds(args: string[]): Promise<number> {
  const t0 = performance.now();
  const run = await new Deno.Command(Deno.execPath(), {
    args: trainArgs(args),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!run.success) throw new Error(new TextDecoder().decode(run.stderr).slice(-2000));
  return (performance.now() - t0) / 1000;
}

/**
 * Milliseconds per iteration of `train …args` through the CLI, and its ratios to in-process
 * steps: each round times a `short`- and a `long`-iteration run (start-up, loading and the one
 * evaluation at the end, the same in both, cancel in the difference) and then `inProcess` (ms
 * a step of each reference), so that each ratio compares numbers taken within seconds of each
 * other on this shared machine, whose speed drifts by 30 % over a minute. Medians over
 * CLI_RUNS rounds, one ratio per reference; `all` has every round's ms, sorted.
 */
async function cliPerIteration(
  args: string[],
  short: number,
  long: number,
  inProcess: () => number[] | Promise<number[]>,
): Promise<{ ms: number; all: number[]; ratios: number[] }> {
  const run = (iterations: number) =>
    cliSeconds([
      ...args,
      ...[`training.iterations=${iterations}`, `evaluation.every=${iterations}`].flatMap(
        (s) => ["--set", s],
      ),
    ]);
  const ms: number[] = [];
  const ratios: number[][] = [];
  for (let round = 0; round < CLI_RUNS; round++) {
    const perIteration = ((await run(long)) - (await run(short))) * 1000 / (long - short);
    ms.push(perIteration);
    (await inProcess()).forEach((reference, k) =>
      (ratios[k] ??= []).push(perIteration / reference)
    );
  }
  return { ms: median(ms), all: [...ms].sort((a, b) => a - b), ratios: ratios.map(median) };
}

/** The middle value (the upper of the two middle ones of an even count). */
function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1]!;
}

function timeRuns(f: () => void, runs: number, warmup: number): number[] {
  for (let i = 0; i < warmup; i++) f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

function add(
  name: string,
  implementation: string,
  times: number[],
  samples: number | null,
  note?: string,
) {
  const middle = median(times);
  rows.push({
    case: name,
    implementation,
    medianMs: middle,
    minMs: times[0]!,
    maxMs: times.at(-1)!,
    samplesPerSecond: samples === null ? null : Math.round(samples / (middle / 1000)),
    ...(note ? { note } : {}),
  });
}

async function findPython(): Promise<string | null> {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const { code } = await new Deno.Command(python, {
        args: ["-c", "import numpy"],
        stderr: "null",
      }).output();
      if (code === 0) return python;
    } catch {
      // not installed
    }
  }
  return null;
}

async function python(
  py: string,
  args: string[],
  threads = 1,
): Promise<{ times: number[]; [k: string]: unknown } | null> {
  const count = String(threads);
  const out = await new Deno.Command(py, {
    args: [join(here, "numpy_bench.py"), ...args],
    // BLAS reads its thread count when it loads.
    env: { OPENBLAS_NUM_THREADS: count, OMP_NUM_THREADS: count, MKL_NUM_THREADS: count },
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    console.error(new TextDecoder().decode(out.stderr).trim().split("\n").at(-1));
    return null;
  }
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  return { ...result, times: (result.times as number[]).map((s) => s * 1000) };
}

// The batch: 100 real digits, the same for every implementation.
const digits = await loadMnistDigits();
const { x, labels } = takeBatch(digits, Int32Array.from({ length: BATCH }, (_, i) => i * 97));
const t = oneHot(labels, 10);
const tmp = await Deno.makeTempDir({ prefix: "gradstream-bench-" });
const xFile = join(tmp, "x.f32");
const tFile = join(tmp, "t.f32");
await Deno.writeFile(xFile, new Uint8Array(Float32Array.from(x.data).buffer));
await Deno.writeFile(tFile, new Uint8Array(Float32Array.from(t.data).buffer));
const py = await findPython();
let torch = false;
if (py) {
  torch =
    (await new Deno.Command(py, { args: ["-c", "import torch"], stderr: "null" }).output()).code ===
      0;
  const version = await python(py, [
    "backprop",
    xFile,
    tFile,
    "100",
    "784-10",
    "sigmoid",
    "float32",
  ]);
  meta.numpy = version?.numpy;
  // The probe ran with one BLAS thread; the rows say how many each run had.
  meta.blas = String(version?.blas ?? "unknown").replace(/ \(OPENBLAS_NUM_THREADS=[^)]*\)$/, "");
  if (torch) {
    const r = await python(py, ["torch", xFile, tFile, "100", "784-10", "sigmoid", "1"]);
    meta.torch = r
      ? `${r.torch} (BLAS: ${String(r.torchBlas).replace(/ \(OPENBLAS_NUM_THREADS=[^)]*\)$/, "")})`
      : "installed but failed";
  }
}
meta.python = py ?? "not found (apt-get install python3-numpy libopenblas0-pthread)";
meta.torch ??= "not installed (apt-get install python3-torch)";

// 1. The numerical gradient of the book's 784-50-10 net on one batch.
{
  const name = "numerical gradient 784-50-10";
  const net = new MultiLayerNet([784, 50, 10], { seed: 42 });
  add(
    name,
    "gradstream fast (exact central differences)",
    timeRuns(() => fastNumericalGradient(net, x, t), 50, 20),
    null,
  );
  const pool = new NumericalGradientPool(2);
  const pooled: number[] = [];
  for (let i = 0; i < 25; i++) {
    const t0 = performance.now();
    await pool.gradient(net, x, t);
    if (i >= 5) pooled.push(performance.now() - t0);
  }
  pool.terminate();
  add(name, "gradstream fast, 2 Workers", pooled.sort((a, b) => a - b), null);
  // The naive method makes two forward passes per parameter: time the passes, multiply.
  const forward = timeRuns(() => net.loss(x, t), 200, 20);
  const passes = 2 * (784 * 50 + 50 + 50 * 10 + 10);
  add(
    name,
    "gradstream naive (book's loop)",
    forward.map((ms) => ms * passes),
    null,
    `${passes} forward passes × median pass`,
  );
  if (py) {
    const r = await python(py, ["numerical", xFile, tFile, "100", "784-50-10", "sigmoid", "300"]);
    if (r) {
      add(
        name,
        "NumPy naive (book's loop, float64)",
        r.times,
        null,
        "extrapolated from 300 parameters",
      );
    }
  }
  // configs/ch04-numerical.yaml through the CLI: a numerical iteration from the difference
  // between two runs (no evaluation in between).
  // Against the fast gradient in one thread, the config's default (faster than 2 Workers,
  // above), timed again after each pair of CLI runs.
  const { ms, all, ratios: [ratio] } = await cliPerIteration(
    [join(here, "..", "configs", "ch04-numerical.yaml"), "--set", `output.dir=${join(tmp, "cli")}`],
    NUMERICAL_SHORT,
    NUMERICAL_LONG,
    () => [median(timeRuns(() => fastNumericalGradient(net, x, t), 30, 5))],
  );
  add(
    name,
    "gradstream CLI (configs/ch04-numerical.yaml), per iteration",
    all,
    null,
    `${NUMERICAL_LONG} − ${NUMERICAL_SHORT} iterations; CLI ÷ fast gradient (1 thread) ${
      ratio!.toFixed(2)
    } (goal ≤ 1.2, paired); 10,000 iterations ≈ ${
      Math.round((ms * 10_000) / 1000)
    } s (goal ≤ 60 s)`,
  );
}

// 2. One backprop training step (forward, backward, SGD update) on a batch of 100, the batch
// as each implementation keeps it: float32 rows for the trainer, NumPy and PyTorch. The
// trainer computes its dense products in OpenBLAS where it loads, as the CLI does (blas:
// auto), and is timed with WebAssembly's alone as well.
const x32 = { rows: x.rows, cols: x.cols, data: Float32Array.from(x.data) };
const blas = openBlas();
const cliProducts: Products = typeof blas === "string" ? "wasm" : "openblas";
const allProducts: Products[] = cliProducts === "openblas" ? ["openblas", "wasm"] : ["wasm"];
const PRODUCTS_LABEL: Record<Products, string> = {
  openblas: " + OpenBLAS",
  wasm: " (WebAssembly only)",
};
meta.trainerProducts = typeof blas === "string" ? `WebAssembly SIMD (${blas})` : blas.description;
const digitsDensity = density(digits.x, HELD_DIGITS * 784);
for (
  const [sizes, activation] of [[[784, 50, 10], "sigmoid"], [[784, 100, 10], "sigmoid"], [[
    784,
    256,
    128,
    10,
  ], "relu"]] as const
) {
  const name = `backprop step ${sizes.join("-")} ${activation}`;
  const make = () =>
    new MultiLayerNet([...sizes], { activation, weightInit: { kind: "he" }, seed: 1 });
  /**
   * 200 timed trainer steps (sorted ms), and the threads the trainer chose: on one batch, or
   * (`fresh`) on a new batch of HELD_DIGITS held digits each step, as the CLI trains; with its
   * dense products where the CLI computes them (blas: auto) unless told.
   */
  const timeTrainer = async (threads: "auto" | 1 | 2, fresh = false, products = cliProducts) => {
    const trainer = new WasmTrainer(make(), new SGD(0.1), {
      threads,
      products,
      inputDensity: digitsDensity,
    });
    const draw = new Random(FRESH_SEED);
    const freshLabels = new Int32Array(BATCH);
    if (fresh) {
      trainer.holdRows({ rows: HELD_DIGITS, cols: 784, data: digits.x });
    }
    // Time the threads asked for: steps before the Worker is up run on one.
    await trainer.ready();
    const times = timeRuns(
      fresh
        ? () => {
          const rows = draw.choice(HELD_DIGITS, BATCH);
          rows.forEach((row, i) => freshLabels[i] = digits.labels[row]!);
          trainer.gradientAndLossOfRows(rows, freshLabels);
          trainer.update();
        }
        : () => {
          trainer.gradientAndLoss(x32, labels);
          trainer.update();
        },
      200,
      20,
    );
    const chose = trainer.threads;
    trainer.dispose();
    return { times, chose };
  };
  const fresh = await timeTrainer("auto", true);
  add(
    name,
    `gradstream wasm trainer${PRODUCTS_LABEL[cliProducts]}, a new batch of ${
      HELD_DIGITS.toLocaleString("en")
    } held digits a step (auto)`,
    fresh.times,
    BATCH,
    "what the CLI's steps do without the pipeline: the rows of a new batch are not in the cache",
  );
  // The trainer as the CLI runs it (auto threads, the CLI's products): the row that the
  // references are compared with, paired, below.
  let trainerRow: Row | undefined;
  for (const products of allProducts) {
    for (const threads of ["auto", 1, 2] as const) {
      const { times, chose } = await timeTrainer(threads, false, products);
      const label = `gradstream wasm trainer${PRODUCTS_LABEL[products]}`;
      add(
        name,
        threads === "auto"
          ? `${label} (auto, chose ${chose} thread${chose === 1 ? "" : "s"})`
          : `${label}, ${threads} thread${threads === 1 ? "" : "s"}`,
        times,
        BATCH,
      );
      if (threads === "auto" && products === cliProducts) trainerRow = rows.at(-1);
    }
  }
  const net = make();
  const sgd = new SGD(0.1);
  const stepWith = (kernels: Kernels) => () =>
    sgd.update(net.params, net.gradient(x, t, { kernels }));
  add(
    name,
    "gradstream wasm kernels (float32 products only)",
    timeRuns(stepWith(backendKernels("wasm")), 50, 10),
    BATCH,
  );
  add(name, "gradstream js (float64)", timeRuns(stepWith(jsKernels), 50, 10), BATCH);
  // The same net through `deno task train` on the 8,000 training digits: samples/s from the
  // difference between a 2,200- and a 200-iteration run (start-up, loading and the one
  // evaluation at the end cancel), default checkpoints (every epoch).
  {
    const sets = [
      `output.dir=${join(tmp, "cli")}`,
      `model.layers=${JSON.stringify(sizes)}`,
      `model.activation=${activation}`,
      "model.weightInit={ kind: he }",
      "model.dropout=0",
      "optimizer={ kind: sgd, learningRate: 0.1 }",
      `training.batchSize=${BATCH}`,
    ];
    // Against the trainer (auto threads, as the CLI), timed again after each pair of CLI runs:
    // its median step on one batch and on new batches, and its mean step on new batches (the
    // CLI's per-step time is a mean, its stalls included; the table's medians leave them out).
    const { all, ratios: [cached, onFresh, onFreshMean] } = await cliPerIteration(
      sets.flatMap((s) => ["--set", s]),
      CLI_SHORT,
      CLI_LONG,
      async () => {
        const fresh = (await timeTrainer("auto", true)).times;
        return [
          median((await timeTrainer("auto")).times),
          median(fresh),
          fresh.reduce((a, b) => a + b, 0) / fresh.length,
        ];
      },
    );
    add(
      name,
      "gradstream CLI end to end (deno task train)",
      all,
      BATCH,
      `${CLI_LONG} − ${CLI_SHORT} iterations; CLI ÷ trainer ${
        (1 / cached!).toFixed(2)
      } (goal ≥ 0.9, paired), ÷ trainer on new batches ${
        (1 / onFresh!).toFixed(2)
      }, ÷ its mean step ${(1 / onFreshMean!).toFixed(2)}`,
    );
  }
  if (py) {
    // Each float32 reference's row, and how to time it again (float64 is no contender).
    const contenders = new Map<Row, () => ReturnType<typeof python>>();
    for (const [dtype, threads] of [["float32", 1], ["float32", 2], ["float64", 1]] as const) {
      const again = () =>
        python(py, ["backprop", xFile, tFile, "100", sizes.join("-"), activation, dtype], threads);
      const r = await again();
      if (r) {
        add(
          name,
          `NumPy ${dtype} (${threads} BLAS thread${threads === 1 ? "" : "s"})`,
          r.times,
          BATCH,
        );
        if (dtype === "float32") contenders.set(rows.at(-1)!, again);
      }
    }
    if (torch) {
      for (const threads of [1, 2]) {
        const again = () =>
          python(
            py,
            ["torch", xFile, tFile, "100", sizes.join("-"), activation, String(threads)],
            threads,
          );
        const r = await again();
        if (r) {
          add(
            name,
            `PyTorch ${r.torch} CPU (${threads} thread${threads === 1 ? "" : "s"})`,
            r.times,
            BATCH,
          );
          contenders.set(rows.at(-1)!, again);
        }
      }
    }
    // The goal's ratio, paired: the trainer, then the fastest reference, REFERENCE_ROUNDS times.
    const best = [...contenders.keys()].sort((a, b) => a.medianMs - b.medianMs)[0];
    if (best && trainerRow) {
      const ratios: number[] = [];
      for (let round = 0; round < REFERENCE_ROUNDS; round++) {
        const ours = median((await timeTrainer("auto")).times);
        const theirs = await contenders.get(best)!();
        if (theirs) ratios.push(median(theirs.times) / ours);
      }
      if (ratios.length > 0) {
        trainerRow.note = `trainer ÷ best reference (${best.implementation}) ${
          median(ratios).toFixed(2)
        } (goal ≥ 1.0, paired, ${ratios.length} rounds: ${
          ratios.map((r) => r.toFixed(2)).join(", ")
        })`;
      }
    }
  }
}

/**
 * One `deno task train …args` timed from outside, with its peak memory (from /usr/bin/time when
 * installed) and its summary; a row when it succeeded, the end of its stderr when not.
 */
async function cliRow(
  args: string[],
  row: (
    summary: Record<string, number>,
    rss: string,
  ) => Pick<Row, "case" | "implementation" | "note">,
): Promise<void> {
  const timeCmd = await Deno.stat("/usr/bin/time").then(() => true, () => false);
  const deno = trainArgs(args);
  const t0 = performance.now();
  const run = await new Deno.Command(timeCmd ? "/usr/bin/time" : Deno.execPath(), {
    args: timeCmd ? ["-v", Deno.execPath(), ...deno] : deno,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = performance.now() - t0;
  const stderr = new TextDecoder().decode(run.stderr);
  const kb = stderr.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1];
  const rss = kb ? `peak RSS ${Math.round(Number(kb) / 1024)} MB` : "";
  const runDir = new TextDecoder().decode(run.stdout).match(/^run directory: (.*)$/m)?.[1];
  if (run.code !== 0 || !runDir) {
    console.error(`deno task train ${args.join(" ")} failed:\n${stderr.slice(-2000)}`);
    return;
  }
  const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
  rows.push({
    ...row(summary, rss),
    medianMs: wall,
    minMs: wall,
    maxMs: wall,
    samplesPerSecond: summary.samplesPerSecond,
  });
}

// 3. The default run (`deno task train`): wall time and peak memory (goal: 250 MB).
await cliRow(["--set", `output.dir=${join(tmp, "default")}`], (summary, rss) => ({
  case: "default run 784-100-10 relu, Adam, 30 epochs (CLI)",
  implementation: "gradstream (deno task train)",
  note: `${rss ? `${rss} (goal ≤ 250 MB); ` : ""}test accuracy ${summary.testAccuracy!.toFixed(4)}`,
}));

// 4. Fashion-MNIST through the CLI, when the Debian package is installed: one epoch, or the
// config's 30 (the memory goal's run, about 80 s) with `deno task bench --fashion-epochs 30`.
const fashion = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
const epochsFlag = Deno.args.indexOf("--fashion-epochs");
const fashionEpochs = epochsFlag >= 0 ? Number(Deno.args[epochsFlag + 1]) : 1;
if (!Number.isInteger(fashionEpochs) || fashionEpochs < 1) {
  throw new Error(`--fashion-epochs takes a whole number of at least 1`);
}
if (await Deno.stat(fashion).then(() => true, () => false)) {
  await cliRow([
    join(here, "..", "configs", "fashion-mnist.yaml"),
    "--set",
    `output.dir=${join(tmp, "runs")}`,
    "--set",
    `training.epochs=${fashionEpochs}`,
  ], (summary, rss) => ({
    case: `Fashion-MNIST, ${fashionEpochs} epoch${
      fashionEpochs === 1 ? "" : "s"
    }, 784-256-128-10 relu (CLI)`,
    implementation: "gradstream (default backend: wasm)",
    note: `${
      rss ? `${rss}${fashionEpochs === 30 ? " (goal ≤ 450 MB)" : ""}; ` : ""
    }includes loading 70,000 images, an evaluation each epoch and the report; test accuracy ${
      summary.testAccuracy!.toFixed(4)
    }`,
  }));
} else {
  console.log(
    "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): its epoch is skipped",
  );
}
await Deno.remove(tmp, { recursive: true });

// The table: ratio = the reference's median / gradstream's median for the same case (> 1:
// gradstream is faster).
// Each case's first gradstream row (the fast one, where there are two) is the baseline.
const ours = new Map<string, number>();
for (const r of rows) {
  if (r.implementation.startsWith("gradstream") && !ours.has(r.case)) ours.set(r.case, r.medianMs);
}
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(2)} ms`);
const table = [
  ["case", "implementation", "median", "min–max", "samples/s", "gradstream is ×", "note"],
  ...rows.map((r) => [
    r.case,
    r.implementation,
    fmt(r.medianMs),
    `${fmt(r.minMs)} – ${fmt(r.maxMs)}`,
    r.samplesPerSecond?.toLocaleString("en-US") ?? "",
    r.medianMs === ours.get(r.case) ? "" : (r.medianMs / ours.get(r.case)!).toFixed(2),
    r.note ?? "",
  ]),
];
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c]!)).join(" | ")} |`;
console.log(line(table[0]!));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of table.slice(1)) console.log(line(row));
console.log(
  `\nCPU ${cpu.model} (widest SIMD ${cpu.simd}); Deno ${meta.deno}; NumPy ${
    meta.numpy ?? "not found"
  } with BLAS ${
    meta.blas ?? "-"
  }; PyTorch ${meta.torch}; ${navigator.hardwareConcurrency} CPUs; the trainer's dense products in ${meta.trainerProducts}`,
);
await writeFileAtomic(
  join(here, "results.json"),
  JSON.stringify({ ...meta, rows }, null, 2) + "\n",
);
console.log(`results written to ${join(here, "results.json")}`);
