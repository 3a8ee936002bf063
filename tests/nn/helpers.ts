/** Helpers shared by the network tests. */
import { Matrix } from "../../nn/matrix.ts";
import type { Params } from "../../nn/network.ts";
import { Random } from "../../nn/random.ts";

/** max |a - b| per parameter name. */
export function maxAbsDifference(a: Params, b: Params): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(a)) {
    let m = 0;
    a[name]!.data.forEach((v, i) => (m = Math.max(m, Math.abs(v - b[name]!.data[i]!))));
    out[name] = m;
  }
  return out;
}

/** max |a - b| over all parameters. */
export function maxDifference(a: Params, b: Params): number {
  return Math.max(...Object.values(maxAbsDifference(a, b)));
}

/** A batch shaped like MNIST: mostly exact zeros (a fraction `density` is not), in (0, 1]. */
export function sparseBatch(rows: number, cols: number, seed: number, density = 0.2): Matrix {
  const r = new Random(seed);
  const x = new Matrix(rows, cols);
  for (let i = 0; i < x.data.length; i++) x.data[i] = r.random() < density ? r.random() : 0;
  return x;
}
