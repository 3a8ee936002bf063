import assert from "node:assert/strict";
import { createSeriesSums, type SeriesSums } from "../../engine/numerical/series_sums.ts";
import { Random } from "../../nn/random.ts";

/** Fill a workspace with a random sparse batch and series; return the inputs as dense rows. */
function fill(sums: SeriesSums, rows: number, inputs: number, width: number, seed: number) {
  const r = new Random(seed);
  const ws = sums.workspace(rows, inputs, width);
  const x = new Float64Array(rows * inputs);
  for (let s = 0; s < rows; s++) {
    let at = s * inputs;
    for (let i = 0; i < inputs; i++) {
      if (r.random() < 0.7) continue;
      x[s * inputs + i] = r.random() * 2 - 1;
      ws.index[at] = i;
      ws.value[at++] = x[s * inputs + i]!;
    }
    ws.count[s] = at - s * inputs;
  }
  for (let k = 0; k < ws.series.length; k++) ws.series[k] = r.random() - 0.5;
  sums.sum();
  return { ws, x };
}

// Widths 13 and 4 exercise the four-pair loop's tail and a row of exactly one block.
for (const [rows, inputs, width] of [[9, 17, 13], [5, 6, 4], [3, 1, 1]] as const) {
  Deno.test(`series sums: WebAssembly and JavaScript give the same bits (${rows}×${inputs}, ${width} units)`, () => {
    const wasm = createSeriesSums("wasm");
    const js = createSeriesSums("js");
    assert.equal(wasm.kind, "wasm");
    assert.equal(js.kind, "js");
    const a = fill(wasm, rows, inputs, width, 7).ws;
    const b = fill(js, rows, inputs, width, 7).ws;
    assert.deepEqual(Array.from(a.sums), Array.from(b.sums));
    assert.deepEqual(Array.from(a.biasSums), Array.from(b.biasSums));
  });
}

Deno.test("series sums are Σ_s (x·ℓ₁, x³·ℓ₃) per input and unit, and Σ_s (ℓ₁, ℓ₃) for the bias", () => {
  const [rows, inputs, width] = [7, 11, 6];
  const sums = createSeriesSums();
  const { ws, x } = fill(sums, rows, inputs, width, 3);
  for (let i = 0; i < inputs; i++) {
    for (let u = 0; u < width; u++) {
      let first = 0, third = 0, bias1 = 0, bias3 = 0;
      for (let s = 0; s < rows; s++) {
        const c = x[s * inputs + i]!;
        first += c * ws.series[(s * width + u) * 2]!;
        third += c ** 3 * ws.series[(s * width + u) * 2 + 1]!;
        bias1 += ws.series[(s * width + u) * 2]!;
        bias3 += ws.series[(s * width + u) * 2 + 1]!;
      }
      // Summed in another order (zeros included): equal to rounding.
      assert.ok(Math.abs(ws.sums[(i * width + u) * 2]! - first) < 1e-14);
      assert.ok(Math.abs(ws.sums[(i * width + u) * 2 + 1]! - third) < 1e-14);
      assert.ok(Math.abs(ws.biasSums[u * 2]! - bias1) < 1e-14);
      assert.ok(Math.abs(ws.biasSums[u * 2 + 1]! - bias3) < 1e-14);
    }
  }
});

Deno.test("series sums: a workspace comes back zeroed after the memory grows", () => {
  const sums = createSeriesSums("wasm");
  fill(sums, 4, 8, 3, 1);
  const big = sums.workspace(200, 784, 50);
  assert.ok(big.sums.every((v) => v === 0) && big.series.every((v) => v === 0));
  const small = sums.workspace(4, 8, 3);
  assert.ok(small.sums.every((v) => v === 0) && small.biasSums.every((v) => v === 0));
});
