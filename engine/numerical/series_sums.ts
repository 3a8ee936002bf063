/**
 * The workspace and the one hot loop of `fastNumericalGradient`'s series: per sample,
 * (ℓ₁, ℓ₃) per unit, summed into every non-zero input's row as (x·ℓ₁, x³·ℓ₃). The loop runs in
 * WebAssembly SIMD, one (ℓ₁, ℓ₃) pair per f64x2 (series_sums.wat), on buffers that live in the
 * module's memory so nothing is copied; where the runtime has no SIMD the same loop runs in
 * JavaScript, with the same roundings and so the same bits.
 * @module
 */
import { alignedLayout, moduleBytes } from "../kernels/wasm_kernels.ts";
import { SERIES_SUMS_WASM } from "./series_sums_binary.ts";

/** The buffers of one layer's series, views of the module's memory (or plain arrays). */
export interface SeriesWorkspace {
  /** Samples, values per sample, and units of the layer's slice. */
  rows: number;
  inputs: number;
  width: number;
  /** (ℓ₁, ℓ₃) of sample s, unit u at [(s·width + u)·2]: zero where not used. */
  series: Float64Array;
  /** The non-zero inputs of sample s at [s·inputs, s·inputs + count[s]). */
  index: Int32Array;
  /** Their values, in the same places. */
  value: Float64Array;
  count: Int32Array;
  /** Σ_s (x·ℓ₁, x³·ℓ₃) of input i, unit u at [(i·width + u)·2]. */
  sums: Float64Array;
  /** Σ_s (ℓ₁, ℓ₃) of unit u at [u·2]. */
  biasSums: Float64Array;
}

/** Series workspaces and the loop that sums them. */
export interface SeriesSums {
  /** The buffers for this shape, series and sums zero; valid until the next call. */
  workspace(rows: number, inputs: number, width: number): SeriesWorkspace;
  /** Fill the last workspace's sums and biasSums from its series, index, value and count. */
  sum(): void;
  /** `wasm` or `js`. */
  readonly kind: string;
}

interface Exports {
  memory: WebAssembly.Memory;
  seriesSums(
    series: number,
    index: number,
    value: number,
    count: number,
    rows: number,
    stride: number,
    pairs: number,
    sums: number,
    bias: number,
  ): void;
}

/** The WebAssembly loop, or the JavaScript one where the module does not validate. */
export function createSeriesSums(prefer: "wasm" | "js" = "wasm"): SeriesSums {
  const bytes = moduleBytes(SERIES_SUMS_WASM);
  if (prefer === "wasm" && WebAssembly.validate(bytes)) return wasmSeriesSums(bytes);
  return jsSeriesSums();
}

/** Zero what the next gradient accumulates into. */
function cleared(ws: SeriesWorkspace): SeriesWorkspace {
  ws.series.fill(0);
  ws.sums.fill(0);
  ws.biasSums.fill(0);
  return ws;
}

function wasmSeriesSums(bytes: Uint8Array<ArrayBuffer>): SeriesSums {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const wasm = instance.exports as unknown as Exports;
  let last: { ws: SeriesWorkspace; offsets: number[] } | null = null;
  return {
    kind: "wasm",
    workspace(rows, inputs, width) {
      // In the order of SeriesWorkspace's arrays.
      const offsets = alignedLayout(wasm.memory, [
        rows * width * 16,
        rows * inputs * 4,
        rows * inputs * 8,
        rows * 4,
        inputs * width * 16,
        width * 16,
      ]);
      const buffer = wasm.memory.buffer;
      const ws: SeriesWorkspace = {
        rows,
        inputs,
        width,
        series: new Float64Array(buffer, offsets[0]!, rows * width * 2),
        index: new Int32Array(buffer, offsets[1]!, rows * inputs),
        value: new Float64Array(buffer, offsets[2]!, rows * inputs),
        count: new Int32Array(buffer, offsets[3]!, rows),
        sums: new Float64Array(buffer, offsets[4]!, inputs * width * 2),
        biasSums: new Float64Array(buffer, offsets[5]!, width * 2),
      };
      last = { ws, offsets };
      return cleared(ws);
    },
    sum() {
      const { ws, offsets } = last!;
      const [series, index, value, count, sums, bias] = offsets as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      wasm.seriesSums(series, index, value, count, ws.rows, ws.inputs, ws.width, sums, bias);
    },
  };
}

function jsSeriesSums(): SeriesSums {
  // One workspace per shape: a gradient alternates between its layers' shapes.
  const workspaces = new Map<string, SeriesWorkspace>();
  let last: SeriesWorkspace | null = null;
  return {
    kind: "js",
    workspace(rows, inputs, width) {
      const key = `${rows} ${inputs} ${width}`;
      let ws = workspaces.get(key);
      if (!ws) {
        ws = {
          rows,
          inputs,
          width,
          series: new Float64Array(rows * width * 2),
          index: new Int32Array(rows * inputs),
          value: new Float64Array(rows * inputs),
          count: new Int32Array(rows),
          sums: new Float64Array(inputs * width * 2),
          biasSums: new Float64Array(width * 2),
        };
        workspaces.set(key, ws);
      }
      return last = cleared(ws);
    },
    sum() {
      const { rows, inputs, width, series, index, value, count, sums, biasSums } = last!;
      const span = width * 2;
      for (let s = 0; s < rows; s++) {
        const from = s * span;
        for (let k = 0; k < span; k++) biasSums[k]! += series[from + k]!;
        for (let q = s * inputs; q < s * inputs + count[s]!; q++) {
          const c1 = value[q]!;
          const c3 = c1 * c1 * c1;
          const to = index[q]! * span;
          for (let k = 0; k < span; k += 2) {
            sums[to + k]! += c1 * series[from + k]!;
            sums[to + k + 1]! += c3 * series[from + k + 1]!;
          }
        }
      }
    },
  };
}
