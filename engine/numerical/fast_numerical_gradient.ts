/**
 * The central-difference gradient, computed exactly as the book defines it —
 * (L(θ + h·eᵢ) - L(θ - h·eᵢ)) / 2h for every parameter, with the same h — but re-evaluating
 * only what a perturbation changes.
 *
 * Perturbing W_l[i][j] changes only unit j's pre-activation a_l[n][j], by δ·z_{l-1}[n][i]
 * (δ = fl(w ± h) - w, the step the naive method really takes), and nothing at all for
 * samples where z_{l-1}[n][i] = 0 — most MNIST pixels. So each affected sample's loss is
 * recomputed from layer l on, from the cached forward pass: for the last layer that is one
 * softmax, for the layer before it one row update of the output. The loss difference is summed
 * per sample, which is also more precise than subtracting two whole-batch sums.
 * @module
 */
import {
  activationKernels,
  scalarActivations,
  shiftedExpRow,
  softmaxRows,
} from "../../nn/activations.ts";
import { targetsAsOneHot } from "../../nn/losses.ts";
import { Matrix } from "../../nn/matrix.ts";
import type { MultiLayerNet, Params, Targets } from "../../nn/network.ts";

/** Options of {@linkcode fastNumericalGradient}. */
export interface FastNumericalGradientOptions {
  /** The step [1e-4]. */
  h?: number;
  /** Use (and draw) dropout masks as a training pass does. */
  train?: boolean;
  /**
   * Compute only the units in this fraction of every layer, [from, to) of [0, 1]; the other
   * entries stay 0. Parts that cover [0, 1] add up to the whole gradient (for Workers).
   */
  units?: [number, number];
  /**
   * Write into these matrices (shaped like the parameters) instead of new ones; only the
   * entries of `units` are written (Workers fill one shared gradient this way).
   */
  into?: Params;
}

/**
 * The numerical gradient of `net.loss(x, t)` for every parameter, equal to
 * `net.numericalGradient(x, t)` up to rounding, hundreds of times faster.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fastNumericalGradient, Matrix, TwoLayerNet } from "../../mod.ts";
 * const net = new TwoLayerNet(4, 3, 2, { seed: 1 });
 * const x = Matrix.from([[1, 0, 0.5, 0]]);
 * const fast = fastNumericalGradient(net, x, [1]);
 * const naive = net.numericalGradient(x, [1]);
 * assert.ok(Math.abs(fast.W1!.get(0, 0) - naive.W1!.get(0, 0)) < 1e-9);
 * ```
 */
export function fastNumericalGradient(
  net: MultiLayerNet,
  x: Matrix,
  t: Targets,
  options: FastNumericalGradientOptions = {},
): Params {
  const h = options.h ?? 1e-4;
  const [from, to] = options.units ?? [0, 1];
  if (!(h > 0) || !Number.isFinite(h)) {
    throw new RangeError(`Expected h to be a finite number greater than 0 but found ${h}`);
  }
  const L = net.layerCount;
  const B = x.rows;
  const sizes = net.sizes;
  const nOut = sizes[L]!;
  const cache = net.activations(x, { train: options.train === true && net.dropout > 0 });
  // Copy what the per-sample recomputation reads: the workspace is reused by later passes.
  const a = cache.a.map((v, l) => v.slice(0, B * sizes[l + 1]!));
  const z = cache.z.map((v, l) => v.slice(0, B * sizes[l + 1]!));
  const masks = cache.masks?.map((m, l) => m.slice(0, B * sizes[l + 1]!)) ?? null;
  const oneHot = targetsAsOneHot(t, B, nOut);
  const ctx: Context = {
    net,
    B,
    sizes,
    a,
    z,
    masks,
    oneHot,
    scratch: makeScratch(sizes),
    softmax: softmaxCache(net, a[L - 1]!, oneHot, B),
  };
  const grads: Params = {};
  for (let l = 1; l <= L; l++) {
    const nIn = sizes[l - 1]!;
    const n = sizes[l]!;
    const input = l === 1 ? x.data : z[l - 2]!;
    const w = net.params[`W${l}`]!;
    const gW = target(options.into, `W${l}`, nIn, n);
    const gb = target(options.into, `b${l}`, 1, n);
    const j0 = Math.floor(n * from);
    const j1 = Math.floor(n * to);
    if (l === L - 1 || (l === L && ctx.softmax)) {
      if (l === L) outputLayer(ctx, ctx.softmax!, input, h, gW, gb, j0, j1);
      else lastHiddenLayer(ctx, l, input, h, gW, gb, j0, j1);
      grads[`W${l}`] = gW;
      grads[`b${l}`] = gb;
      continue;
    }
    for (let j = j0; j < j1; j++) {
      for (let i = 0; i < nIn; i++) {
        gW.data[i * n + j] = centralDifference(
          ctx,
          l,
          j,
          w.data[i * n + j]!,
          h,
          (s) => input[s * nIn + i]!,
        );
      }
      gb.data[j] = centralDifference(ctx, l, j, net.params[`b${l}`]!.data[j]!, h, () => 1, false);
    }
    grads[`W${l}`] = gW;
    grads[`b${l}`] = gb;
  }
  return grads;
}

function target(into: Params | undefined, name: string, rows: number, cols: number): Matrix {
  if (!into) return new Matrix(rows, cols);
  const m = into[name];
  if (!m || m.rows !== rows || m.cols !== cols) {
    throw new RangeError(`Expected into.${name} to be a ${rows}×${cols} matrix`);
  }
  return m;
}

interface Context {
  net: MultiLayerNet;
  B: number;
  sizes: readonly number[];
  a: Float64Array[];
  z: Float64Array[];
  masks: Float64Array[] | null;
  oneHot: ArrayLike<number>;
  scratch: { a: Float64Array[]; z: Float64Array[] };
  /** Set for softmax with cross-entropy and one-hot targets (the book's case). */
  softmax: SoftmaxCache | null;
}

/**
 * Per sample s of the unperturbed pass: E[s][k] = exp(a_k - max) of the output
 * pre-activations, their sum S[s], and the label. A perturbation moves a_k by some u_k, and
 * the perturbed loss is -log(E_t·exp(u_t) / Σ_k E_k·exp(u_k) + 1e-7): no new maximum is
 * needed, since the u_k are tiny.
 */
interface SoftmaxCache {
  E: Float64Array;
  S: Float64Array;
  labels: Int32Array;
}

function softmaxCache(
  net: MultiLayerNet,
  aOut: Float64Array,
  oneHot: ArrayLike<number>,
  B: number,
): SoftmaxCache | null {
  if (net.output !== "softmax" || net.lossName !== "cross-entropy") return null;
  const m = net.sizes.at(-1)!;
  const labels = oneHotLabels(oneHot, B, m);
  if (!labels) return null;
  const E = new Float64Array(B * m);
  const S = new Float64Array(B);
  for (let s = 0; s < B; s++) S[s] = shiftedExpRow(aOut, E, s * m, m);
  return { E, S, labels };
}

function makeScratch(sizes: readonly number[]) {
  return {
    a: sizes.slice(1).map((n) => new Float64Array(n)),
    z: sizes.slice(1).map((n) => new Float64Array(n)),
  };
}

/**
 * (L(p + h) - L(p - h)) / 2h for one parameter p feeding unit j of layer l, where sample s's
 * pre-activation moves by δ·coefficient(s).
 */
function centralDifference(
  ctx: Context,
  l: number,
  j: number,
  p: number,
  h: number,
  coefficient: (sample: number) => number,
  weight = true,
): number {
  const up = (p + h) - p;
  const down = (p - h) - p;
  let sum = 0;
  for (let s = 0; s < ctx.B; s++) {
    const c = coefficient(s);
    if (c === 0) continue;
    sum += sampleLoss(ctx, l, j, s, up * c) - sampleLoss(ctx, l, j, s, down * c);
  }
  return quotient(sum, ctx.B, p, h, weight ? ctx.net.weightDecay : 0);
}

/**
 * (L(p + h) - L(p - h)) / 2h from the per-sample loss differences summed over B samples (the
 * loss is their mean), plus the L2 penalty's own difference for a weight (λ > 0).
 */
function quotient(sum: number, B: number, p: number, h: number, lambda: number): number {
  let difference = sum / B;
  if (lambda > 0) difference += 0.5 * lambda * ((p + h) ** 2 - (p - h) ** 2);
  return difference / (2 * h);
}

/** Sample s's loss when unit j of layer l has its pre-activation moved by `delta`. */
function sampleLoss(ctx: Context, l: number, j: number, s: number, delta: number): number {
  const { net, sizes, a, z, masks, scratch } = ctx;
  const L = net.layerCount;
  const act = activationKernels[net.activation];
  // Layer l: only unit j changes.
  const n = sizes[l]!;
  const aRow = scratch.a[l - 1]!;
  aRow.set(a[l - 1]!.subarray(s * n, (s + 1) * n));
  aRow[j]! += delta;
  let zRow = scratch.z[l - 1]!;
  if (l === L) return outputLoss(ctx, aRow, s);
  zRow.set(z[l - 1]!.subarray(s * n, (s + 1) * n));
  const one = aRow.subarray(j, j + 1);
  const out = zRow.subarray(j, j + 1);
  act.forward(one, out);
  if (masks) out[0]! *= masks[l - 1]![s * n + j]!;
  const change = zRow[j]! - z[l - 1]![s * n + j]!;
  // Layer l + 1: its pre-activations move by change·W_{l+1}[j][:].
  let m = sizes[l + 1]!;
  let next = scratch.a[l]!;
  next.set(a[l]!.subarray(s * m, (s + 1) * m));
  const w = net.params[`W${l + 1}`]!.data;
  for (let k = 0; k < m; k++) next[k]! += change * w[j * m + k]!;
  // Any further layers: a full forward of this one sample.
  for (let q = l + 1; q < L; q++) {
    zRow = scratch.z[q - 1]!;
    act.forward(next, zRow);
    if (masks) {
      const mask = masks[q - 1]!;
      for (let k = 0; k < m; k++) zRow[k]! *= mask[s * m + k]!;
    }
    const nNext = sizes[q + 1]!;
    const wq = net.params[`W${q + 1}`]!.data;
    const bq = net.params[`b${q + 1}`]!.data;
    const aNext = scratch.a[q]!;
    for (let k = 0; k < nNext; k++) {
      let sum = bq[k]!;
      for (let r = 0; r < m; r++) sum += zRow[r]! * wq[r * nNext + k]!;
      aNext[k] = sum;
    }
    next = aNext;
    m = nNext;
  }
  return outputLoss(ctx, next, s);
}

/**
 * The hot path: the weights into the last hidden layer (W1 of a two-layer net), looped unit
 * by unit and sample by sample so that everything about (unit j, sample s) is read once, and
 * each input i with z[s][i] ≠ 0 costs two evaluations of sample s's loss.
 */
function lastHiddenLayer(
  ctx: Context,
  l: number,
  input: Float64Array,
  h: number,
  gW: Matrix,
  gb: Matrix,
  j0: number,
  j1: number,
): void {
  const { net, sizes, a, z, masks, B, softmax } = ctx;
  const nIn = sizes[l - 1]!;
  const n = sizes[l]!;
  const m = sizes[l + 1]!;
  const f = scalarActivations[net.activation];
  const wIn = net.params[`W${l}`]!.data;
  const bIn = net.params[`b${l}`]!.data;
  const wOut = net.params[`W${l + 1}`]!.data;
  const aL = a[l - 1]!;
  const zL = z[l - 1]!;
  const aOut = a[l]!;
  const out = ctx.scratch.a[l]!;
  // Each sample's non-zero inputs, gathered once: a zero input's weight changes nothing.
  const nonZero = new Int32Array(B * nIn);
  const nonZeroCount = new Int32Array(B);
  // The largest |input| of each sample bounds how far any perturbation moves unit j.
  const inputMax = new Float64Array(B);
  for (let s = 0; s < B; s++) {
    let count = 0;
    let max = 1; // the bias's coefficient
    for (let i = 0; i < nIn; i++) {
      const c = input[s * nIn + i]!;
      if (c === 0) continue;
      nonZero[s * nIn + count++] = i;
      max = Math.max(max, Math.abs(c));
    }
    nonZeroCount[s] = count;
    inputMax[s] = max;
  }
  // How far unit j's output can move per unit of pre-activation change (Lipschitz constant).
  const slope = { sigmoid: 0.25, relu: 1, tanh: 1, step: Infinity }[net.activation];
  const sigmoid = net.activation === "sigmoid";
  const sums = new Float64Array(nIn);
  // The steps the naive method really takes for unit j's weights: fl(p ± h) - p.
  const up = new Float64Array(nIn);
  const down = new Float64Array(nIn);
  const generic = (
    s: number,
    j: number,
    delta: number,
    base: number,
    zOld: number,
    mask: number,
  ) => {
    const change = f(base + delta) * mask - zOld;
    const o = s * m;
    const wj = j * m;
    for (let k = 0; k < m; k++) out[k] = aOut[o + k]! + change * wOut[wj + k]!;
    return outputLoss(ctx, out, s);
  };
  for (let j = j0; j < j1; j++) {
    sums.fill(0);
    for (let i = 0; i < nIn; i++) {
      const p = wIn[i * n + j]!;
      up[i] = (p + h) - p;
      down[i] = (p - h) - p;
    }
    let biasSum = 0;
    const bUp = (bIn[j]! + h) - bIn[j]!;
    const bDown = (bIn[j]! - h) - bIn[j]!;
    let wMax = 0;
    for (let k = 0; k < m; k++) wMax = Math.max(wMax, Math.abs(wOut[j * m + k]!));
    for (let s = 0; s < B; s++) {
      const base = aL[s * n + j]!;
      const zOld = zL[s * n + j]!;
      const mask = masks ? masks[l - 1]![s * n + j]! : 1;
      const row = s * nIn;
      const count = nonZeroCount[s]!;
      // |δ| ≤ 2h·|input|, so |Δz| ≤ slope·mask·2h·|input| and every output moves by at most
      // that times max|W[j][k]|. Below 1e-3 the series below are exact to double precision.
      const deltaMax = 2 * h * inputMax[s]!;
      const uMax = slope * mask * deltaMax * wMax;
      if (!softmax || !(uMax < 1e-3) || (sigmoid && !(deltaMax < 1e-3))) {
        for (let q = 0; q < count; q++) {
          const i = nonZero[row + q]!;
          const c = input[row + i]!;
          sums[i]! += generic(s, j, up[i]! * c, base, zOld, mask) -
            generic(s, j, down[i]! * c, base, zOld, mask);
        }
        biasSum += generic(s, j, bUp, base, zOld, mask) - generic(s, j, bDown, base, zOld, mask);
        continue;
      }
      // The perturbed sum of exponentials is Σ_k E_k·exp(Δz·W_k): expanding each exp to its
      // fourth power (the next term is below 1e-3⁵/120 ≈ 8e-18 relative) and regrouping by
      // powers of Δz gives S + Δz·M1 + Δz²·M2/2 + Δz³·M3/6 + Δz⁴·M4/24 with the moments
      // M_p = Σ_k E_k·W_kᵖ, which depend only on (j, s): 4 multiply-adds per evaluation
      // instead of 10 exponentials. The label's own term keeps its exponential, by series.
      const o = s * m;
      const wj = j * m;
      let m1 = 0, m2 = 0, m3 = 0, m4 = 0;
      for (let k = 0; k < m; k++) {
        const w = wOut[wj + k]!;
        const e1 = softmax.E[o + k]! * w;
        const e2 = e1 * w;
        const e3 = e2 * w;
        m1 += e1;
        m2 += e2;
        m3 += e3;
        m4 += e3 * w;
      }
      m2 *= 0.5;
      m3 /= 6;
      m4 /= 24;
      const S = softmax.S[s]!;
      const label = softmax.labels[s]!;
      const top = softmax.E[o + label]!;
      const wTop = wOut[wj + label]!;
      // The sigmoid of base + δ as exp(∓base)·exp(∓δ), the second factor by series.
      const positive = base >= 0;
      const eBase = Math.exp(positive ? -base : base);
      const sign = positive ? -1 : 1;
      for (let q = 0; q <= count; q++) {
        // The count-th entry is the bias, whose coefficient is 1.
        const bias = q === count;
        const i = bias ? 0 : nonZero[row + q]!;
        const c = bias ? 1 : input[row + i]!;
        const dUp = bias ? bUp : up[i]! * c;
        const dDown = bias ? bDown : down[i]! * c;
        let changeUp: number, changeDown: number;
        if (sigmoid) {
          // σ = 1/(1 + e) (base ≥ 0) or e/(1 + e), both sides over one common denominator.
          const eUp = eBase * expSmall(sign * dUp);
          const eDown = eBase * expSmall(sign * dDown);
          const inverse = mask / ((1 + eUp) * (1 + eDown));
          changeUp = (positive ? 1 + eDown : eUp * (1 + eDown)) * inverse - zOld;
          changeDown = (positive ? 1 + eUp : eDown * (1 + eUp)) * inverse - zOld;
        } else {
          changeUp = f(base + dUp) * mask - zOld;
          changeDown = f(base + dDown) * mask - zOld;
        }
        const sumUp = S + changeUp * (m1 + changeUp * (m2 + changeUp * (m3 + changeUp * m4)));
        const sumDown = S +
          changeDown * (m1 + changeDown * (m2 + changeDown * (m3 + changeDown * m4)));
        const difference = lossDifference(
          top * expSmall(changeUp * wTop),
          sumUp,
          top * expSmall(changeDown * wTop),
          sumDown,
        );
        if (bias) biasSum += difference;
        else sums[i]! += difference;
      }
    }
    const lambda = net.weightDecay;
    for (let i = 0; i < nIn; i++) {
      gW.data[i * n + j] = quotient(sums[i]!, B, wIn[i * n + j]!, h, lambda);
    }
    gb.data[j] = quotient(biasSum, B, bIn[j]!, h, 0);
  }
}

/**
 * The output layer under softmax with cross-entropy: perturbing W[i][k] moves only output
 * k's pre-activation, by u = δ·z[s][i], so the sum of exponentials becomes S + E_k·(exp(u) - 1)
 * and the label's term changes only when k is the label.
 */
function outputLayer(
  ctx: Context,
  softmax: SoftmaxCache,
  input: Float64Array,
  h: number,
  gW: Matrix,
  gb: Matrix,
  k0: number,
  k1: number,
): void {
  const { net, sizes, B } = ctx;
  const L = net.layerCount;
  const nIn = sizes[L - 1]!;
  const m = sizes[L]!;
  const w = net.params[`W${L}`]!.data;
  const b = net.params[`b${L}`]!.data;
  const { E, S, labels } = softmax;
  const lambda = net.weightDecay;
  /** Σ_s of sample s's loss difference when output k moves by up·c(s) and down·c(s). */
  const differences = (k: number, up: number, down: number, i: number): number => {
    let sum = 0;
    for (let s = 0; s < B; s++) {
      const c = i < 0 ? 1 : input[s * nIn + i]!;
      if (c === 0) continue;
      const e = E[s * m + k]!;
      const top = E[s * m + labels[s]!]!;
      const isLabel = labels[s] === k;
      const uUp = up * c;
      const uDown = down * c;
      const gUp = expm1(uUp);
      const gDown = expm1(uDown);
      sum += lossDifference(
        isLabel ? top * (1 + gUp) : top,
        S[s]! + e * gUp,
        isLabel ? top * (1 + gDown) : top,
        S[s]! + e * gDown,
      );
    }
    return sum;
  };
  for (let k = k0; k < k1; k++) {
    for (let i = 0; i < nIn; i++) {
      const p = w[i * m + k]!;
      gW.data[i * m + k] = quotient(differences(k, (p + h) - p, (p - h) - p, i), B, p, h, lambda);
    }
    const p = b[k]!;
    gb.data[k] = quotient(differences(k, (p + h) - p, (p - h) - p, -1), B, p, h, 0);
  }
}

/**
 * A sample's loss at the + step minus at the - step, from its label's probability at each,
 * p = top/sum: -log(p₊ + 1e-7) + log(p₋ + 1e-7) = -log1p(r) with
 * r = (p₊ - p₋)/(p₋ + 1e-7) = (top₊·sum₋ - top₋·sum₊) / (sum₊·(top₋ + 1e-7·sum₋)), one
 * division instead of three. The 1e-7 is crossEntropyError's, so this is the same loss. r is
 * tiny, so log1p comes from its series.
 */
function lossDifference(topUp: number, sumUp: number, topDown: number, sumDown: number): number {
  const r = (topUp * sumDown - topDown * sumUp) / (sumUp * (topDown + 1e-7 * sumDown));
  // Next term r⁶/6 < 2e-19 for |r| < 1e-3.
  if (Math.abs(r) < 1e-3) return -r * (1 - r * (0.5 - r * (1 / 3 - r * (0.25 - r * 0.2))));
  return -Math.log1p(r);
}

/** exp(u) - 1, by series for |u| < 1e-3 (next term u⁵/120 < 1e-17 absolute). */
function expm1(u: number): number {
  if (Math.abs(u) < 1e-3) return u * (1 + u * (0.5 + u * (1 / 6 + u * (1 / 24))));
  return Math.expm1(u);
}

/**
 * exp(u) for |u| < 1e-3 from its Taylor series to u⁴/24: the first term left out is below
 * (1e-3)⁵/120 ≈ 8e-18, under double precision's 1.1e-16 relative to exp(u) ≈ 1, so this is
 * exp(u) correctly rounded to within an ulp, at a fraction of Math.exp's cost. Callers
 * guarantee the bound.
 */
export function expSmall(u: number): number {
  return 1 + u * (1 + u * (0.5 + u * (1 / 6 + u * (1 / 24))));
}

/** The label of each row when every target row is exactly one-hot, else null. */
function oneHotLabels(oneHot: ArrayLike<number>, rows: number, cols: number): Int32Array | null {
  const labels = new Int32Array(rows);
  for (let s = 0; s < rows; s++) {
    let ones = 0;
    for (let k = 0; k < cols; k++) {
      const v = oneHot[s * cols + k]!;
      if (v === 1) {
        ones++;
        labels[s] = k;
      } else if (v !== 0) return null;
    }
    if (ones !== 1) return null;
  }
  return labels;
}

/** The loss of one sample from its output pre-activations (the net's output and loss). */
function outputLoss(ctx: Context, aOut: Float64Array, s: number): number {
  const { net, oneHot } = ctx;
  const nOut = aOut.length;
  const y = ctx.scratch.z[net.layerCount - 1]!;
  if (net.output === "softmax") {
    softmaxRows(aOut, y, 1, nOut);
  } else if (net.output === "sigmoid") {
    for (let k = 0; k < nOut; k++) y[k] = 1 / (1 + Math.exp(-aOut[k]!));
  } else y.set(aOut);
  let loss = 0;
  for (let k = 0; k < nOut; k++) {
    const t = oneHot[s * nOut + k]!;
    if (net.lossName === "cross-entropy") {
      // The 1e-7 of crossEntropyError, so this is the same loss.
      if (t !== 0) loss -= t * Math.log(y[k]! + 1e-7);
    } else loss += 0.5 * (y[k]! - t) ** 2;
  }
  return loss;
}
