/**
 * The serving benchmark (`deno task bench-serve`): the default model's single-row predictions
 * over HTTP with 16 concurrent clients, next to a bare Deno.serve handler that parses the same
 * JSON body and answers a constant, measured in the same run by the same load generator; and
 * batches of 100 rows against single rows, with the bare handler's own rows/s at 100 rows as the
 * ceiling that ratio can reach when only parsing the body costs time. Each server runs in its own process; rounds
 * alternate (model, bare, model, bare) so that a drift of the machine's speed hits both.
 * Goals: at least half the bare handler's requests/s; batches at least 20× the rows/s.
 * @module
 */
import { join } from "node:path";
import { loadMnistDigits } from "../data/mnist_digits.ts";

const CLIENTS = 16;
const ROUND_SECONDS = Number(Deno.env.get("ROUND_SECONDS") ?? 4);
const ROUNDS = 2;
const BATCH_ROWS = 100;
const here = import.meta.dirname!;

/** A trained default model: runs/default/latest if there is one, else trained now. */
async function defaultRun(): Promise<string> {
  const latest = join(here, "..", "runs", "default", "latest");
  try {
    await Deno.stat(join(latest, "model.json"));
    return await Deno.realPath(latest);
  } catch {
    const out = await Deno.makeTempDir({ prefix: "gradstream-serve-bench-" });
    const train = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(here, "..", "main.ts"), "train", "--set", `output.dir=${out}`],
    }).output();
    if (!train.success) throw new Error(new TextDecoder().decode(train.stderr));
    return await Deno.realPath(join(out, "default", "latest"));
  }
}

async function startTarget(mode: "model" | "bare", runDir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(here, "serve_target.ts"), mode, runDir],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) out += (await reader.read()).value ?? "";
  return { url: out.trim(), stop: () => child.kill("SIGKILL") };
}

/** CLIENTS loops posting `body` for ROUND_SECONDS: requests/s and latency percentiles (ms). */
async function load(url: string, body: string) {
  const latencies: number[] = [];
  let failed = 0;
  const end = performance.now() + ROUND_SECONDS * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const r = await fetch(new URL("/v1/predict", url), { method: "POST", body });
      await r.arrayBuffer();
      if (r.status !== 200) failed++;
      latencies.push(performance.now() - t);
    }
  }));
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { rps: latencies.length / ROUND_SECONDS, p50: at(0.5), p99: at(0.99), failed };
}

const runDir = await defaultRun();
const digits = await loadMnistDigits();
const row = (i: number) => Array.from(digits.x.subarray(i * 784, (i + 1) * 784));
const single = JSON.stringify({ rows: [row(0)] });
const batch = JSON.stringify({ rows: Array.from({ length: BATCH_ROWS }, (_, i) => row(i)) });

const results: Record<string, { rps: number; p50: number; p99: number; failed: number }[]> = {
  model: [],
  bare: [],
  batch: [],
  bareBatch: [],
};
for (let round = 0; round < ROUNDS; round++) {
  for (
    const [name, mode, body] of [
      ["model", "model", single],
      ["bare", "bare", single],
      ["batch", "model", batch],
      ["bareBatch", "bare", batch],
    ] as const
  ) {
    const target = await startTarget(mode, runDir);
    await load(target.url, body); // a warm-up round: compiled code and warm connections
    results[name]!.push(await load(target.url, body));
    target.stop();
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const summary = Object.fromEntries(
  Object.entries(results).map(([k, v]) => [k, {
    rps: median(v.map((r) => r.rps)),
    p50: median(v.map((r) => r.p50)),
    p99: median(v.map((r) => r.p99)),
    failed: v.reduce((a, r) => a + r.failed, 0),
  }]),
);
const m = summary.model!, b = summary.bare!, x = summary.batch!, bx = summary.bareBatch!;
console.log(`model: ${runDir}; ${CLIENTS} clients, ${ROUNDS} rounds of ${ROUND_SECONDS} s each`);
console.log("| server | rows per request | requests/s | rows/s | p50 ms | p99 ms | failed |");
console.log("|---|---|---|---|---|---|---|");
for (
  const [name, r, rows] of [
    ["bare Deno.serve (parse, constant)", b, 1],
    ["gradstream serve", m, 1],
    ["gradstream serve", x, BATCH_ROWS],
    ["bare Deno.serve (parse, constant)", bx, BATCH_ROWS],
  ] as const
) {
  console.log(
    `| ${name} | ${rows} | ${r.rps.toFixed(0)} | ${(r.rps * rows).toFixed(0)} | ${
      r.p50.toFixed(2)
    } | ${r.p99.toFixed(2)} | ${r.failed} |`,
  );
}
console.log(`serve ÷ bare (requests/s): ${(m.rps / b.rps).toFixed(2)} (goal ≥ 0.5)`);
console.log(`batch ÷ single (rows/s): ${((x.rps * BATCH_ROWS) / m.rps).toFixed(1)} (goal ≥ 20)`);
// The ceiling of that ratio for any server taking JSON rows: a handler that only parses the
// 100-row body and answers a constant, against gradstream's single rows.
console.log(
  `ceiling, bare batch ÷ serve single (rows/s): ${
    ((bx.rps * BATCH_ROWS) / m.rps).toFixed(1)
  } (no JSON server here can do better)`,
);
