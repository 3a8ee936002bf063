/**
 * The central-difference gradient, computed exactly as the book defines it —
 * (L(θ + h·eᵢ) - L(θ - h·eᵢ)) / 2h for every parameter, with the same h — but re-evaluating
 * only what a perturbation changes.
 *
 * Perturbing W_l[i][j] changes only unit j's pre-activation a_l[n][j], by δ·z_{l-1}[n][i]
 * (δ = fl(w ± h) - w, the step the naive method really takes), and nothing at all for
 * samples where z_{l-1}[n][i] = 0 — most MNIST pixels. So each affected sample's loss is
 * recomputed from layer l on, from the cached forward pass, and the loss difference is summed
 * per sample, which is also more precise than subtracting two whole-batch sums. For the last
 * two layers under softmax cross-entropy (the book's net) the per-sample loss is a series in
 * the shift, expanded once per (unit, sample), and every parameter's difference comes from two
 * sparse sums over the samples (`lastHiddenLayer`); earlier layers and other losses
 * evaluate each perturbed loss.
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
import { createSeriesSums, type SeriesSums, type SeriesWorkspace } from "./series_sums.ts";

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
 * `net.numericalGradient(x, t)` up to rounding (within 1e-9), thousands of times faster.
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
  return gradientOf(net, x, t, options, null);
}

/**
 * {@linkcode fastNumericalGradient} and the batch's loss as `net.loss(x, t)` computes it
 * (without dropout), bit for bit: from the gradient's own forward pass when that pass has no
 * dropout, which saves a pass (~0.6 ms of a 784-50-10 batch of 100), else from one more.
 */
export function fastNumericalGradientAndLoss(
  net: MultiLayerNet,
  x: Matrix,
  t: Targets,
  options: FastNumericalGradientOptions = {},
): { grads: Params; loss: number } {
  if (options.train === true && net.dropout > 0) {
    const grads = gradientOf(net, x, t, options, null);
    return { grads, loss: net.loss(x, t) };
  }
  let loss = NaN;
  const grads = gradientOf(net, x, t, options, () => (loss = net.lossOfLastPass(t, x.rows)));
  return { grads, loss };
}

function gradientOf(
  net: MultiLayerNet,
  x: Matrix,
  t: Targets,
  options: FastNumericalGradientOptions,
  afterPass: (() => void) | null,
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
  afterPass?.();
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
 * Where a perturbation's central difference comes from a series (see `lastHiddenLayer`),
 * the odd coefficients ℓ₁ and ℓ₃ of each sample's loss in its shift δ are kept, per (sample,
 * unit of the layer's slice); zero where the sample is evaluated directly.
 */
const SERIES_TERMS = 2;

/**
 * Shifts below this keep the series exact: the first odd term left out adds at most
 * |δ|⁵/h·ℓ₅ ≤ (1e-3)⁵/1e-4·ℓ₅ = 1e-11·ℓ₅ to a quotient, and for normalized inputs (|x| ≤ 1,
 * |δ| ≤ 2e-4) 3e-15·ℓ₅.
 */
const SERIES_BOUND = 1e-3;

/** Each Worker (and the main thread) has its own module instance and buffers. */
let sharedSums: SeriesSums | null = null;

/** The sums' implementation: WebAssembly SIMD where it validates (override for tests). */
export function useSeriesSums(sums: SeriesSums): void {
  sharedSums = sums;
}

/** Per-call scratch of the directly evaluated differences, reused (per-call garbage was 1.2 MB). */
const scratchArrays = new Map<string, Float64Array>();

function zeroed(name: string, length: number): Float64Array {
  let b = scratchArrays.get(name);
  if (!b || b.length < length) scratchArrays.set(name, b = new Float64Array(length));
  return b.subarray(0, length).fill(0);
}

/** What a layer slice's differences accumulate in, by series and directly. */
interface LayerSums {
  sums: SeriesSums;
  ws: SeriesWorkspace;
  /** max(1, max |input|) per sample: bounds how far a perturbation moves a unit (1: bias). */
  max: Float64Array;
  /** Directly evaluated differences per (input, unit) and per unit's bias, summed over samples. */
  direct: Float64Array;
  directBias: Float64Array;
}

/**
 * A layer slice's sums, zero, with each sample's non-zero inputs gathered into the series
 * workspace (a zero input's weight changes nothing).
 */
function layerSums(input: Float64Array, B: number, nIn: number, width: number): LayerSums {
  const sums = sharedSums ??= createSeriesSums();
  const ws = sums.workspace(B, nIn, width);
  const max = zeroed("inputMax", B);
  for (let s = 0; s < B; s++) {
    let at = s * nIn;
    let largest = 1;
    for (let i = 0; i < nIn; i++) {
      const v = input[s * nIn + i]!;
      if (v === 0) continue;
      ws.index[at] = i;
      ws.value[at++] = v;
      largest = Math.max(largest, Math.abs(v));
    }
    ws.count[s] = at - s * nIn;
    max[s] = largest;
  }
  return {
    sums,
    ws,
    max,
    direct: zeroed("direct", nIn * width),
    directBias: zeroed("directBias", width),
  };
}

/**
 * (up - down)·Σℓ₁ + (up³ - down³)·Σℓ₃: the series' central difference at the steps up and down.
 * The even orders add (upᵖ - downᵖ)·Σℓ_p with upᵖ - downᵖ = (up - down)·(up + down)·…, where
 * up + down = (fl(p + h) - p) + (fl(p - h) - p) is only the rounding of p ± h: at most
 * 2 ulp(p + h), 3.5e-18 for a weight of 0.01, so they change a quotient by less than
 * 1e-15·Σℓ_p/B, a thousandth of the naive method's own rounding (~1e-12), and are left out.
 */
function seriesDifference(c: Float64Array, o: number, up: number, down: number): number {
  return (up - down) * c[o]! + (up * up * up - down * down * down) * c[o + 1]!;
}

/**
 * Sum the series over the samples, then write every gradient entry of a layer slice: W[i][j]
 * (and b[j]) is the quotient of the directly evaluated differences plus the series' difference
 * at its own steps.
 */
function writeQuotients(
  layer: LayerSums,
  w: Float64Array,
  b: Float64Array,
  j0: number,
  h: number,
  lambda: number,
  gW: Matrix,
  gb: Matrix,
): void {
  layer.sums.sum();
  const { direct, directBias } = layer;
  const { sums, biasSums, rows: B, inputs: nIn, width } = layer.ws;
  const n = gW.cols;
  for (let u = 0; u < width; u++) {
    const j = j0 + u;
    for (let i = 0; i < nIn; i++) {
      const p = w[i * n + j]!;
      const difference = direct[i * width + u]! +
        seriesDifference(sums, (i * width + u) * SERIES_TERMS, (p + h) - p, (p - h) - p);
      gW.data[i * n + j] = quotient(difference, B, p, h, lambda);
    }
    const p = b[j]!;
    const difference = directBias[u]! +
      seriesDifference(biasSums, u * SERIES_TERMS, (p + h) - p, (p - h) - p);
    gb.data[j] = quotient(difference, B, p, h, 0);
  }
}

/**
 * The hot path: the weights into the last hidden layer (W1 of a two-layer net).
 *
 * Sample s's loss is a smooth function ℓ(δ) of the shift δ of unit j's pre-activation, and
 * every weight W[i][j] moves it by δ = step·x[s][i] with the same function ℓ. So where the
 * shifts are small (|δ| < 1e-3, and the outputs move by less than 1e-3) ℓ is expanded once
 * per (j, s) into its Taylor series ℓ(δ) - ℓ(0) = ℓ₁δ + ℓ₂δ² + ℓ₃δ³ + …, and the central
 * difference of every weight is
 *   Σ_s ℓ(up·x[s][i]) - ℓ(down·x[s][i]) = (up - down)·Σ_s x[s][i]·ℓ₁ + (up³ - down³)·Σ_s x[s][i]³·ℓ₃
 * up to terms far below the naive method's rounding (see `seriesDifference` and
 * SERIES_BOUND): two sums over the samples that cost one multiply-add each (784×50 weights ×
 * 100 samples, of which only the non-zero pixels count) instead of two loss evaluations per
 * weight and sample. The third-order term is what makes this the central difference rather
 * than the derivative: (up³ - down³)·ℓ₃ ≈ 2h³·ℓ₃ is its O(h²) truncation error, kept. Samples
 * outside the bounds, activations without a series here and losses other than softmax
 * cross-entropy evaluate each perturbed loss directly.
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
  const width = j1 - j0;
  const layer = layerSums(input, B, nIn, width);
  const { direct, directBias } = layer;
  const { series, index, value, count } = layer.ws;
  // How far unit j's output can move per unit of pre-activation change (Lipschitz constant).
  const slope = { sigmoid: 0.25, relu: 1, tanh: 1, step: Infinity }[net.activation];
  const activation = net.activation;
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
  // Unit j's output change mask·(σ(base + δ) - σ(base)) as d₁δ + d₂δ² + d₃δ³.
  const change = new Float64Array(3);
  for (let u = 0; u < width; u++) {
    const j = j0 + u;
    let wMax = 0;
    for (let k = 0; k < m; k++) wMax = Math.max(wMax, Math.abs(wOut[j * m + k]!));
    const bUp = (bIn[j]! + h) - bIn[j]!;
    const bDown = (bIn[j]! - h) - bIn[j]!;
    for (let s = 0; s < B; s++) {
      const base = aL[s * n + j]!;
      const zOld = zL[s * n + j]!;
      const mask = masks ? masks[l - 1]![s * n + j]! : 1;
      // |δ| ≤ 2h·|input|, so |Δz| ≤ slope·mask·2h·|input| and every output moves by at most
      // that times max|W[j][k]|.
      const deltaMax = 2 * h * layer.max[s]!;
      const uMax = slope * mask * deltaMax * wMax;
      const bounded = softmax !== null && uMax < SERIES_BOUND && deltaMax < SERIES_BOUND;
      if (bounded && activation === "sigmoid") {
        sigmoidSeries(base, mask, change);
      } else if (bounded && activation === "relu" && Math.abs(base) > deltaMax) {
        // Linear on this side of the kink, for every shift.
        change.fill(0);
        if (base > 0) change[0] = mask;
      } else {
        for (let q = s * nIn; q < s * nIn + count[s]!; q++) {
          const i = index[q]!;
          const c = value[q]!;
          const p = wIn[i * n + j]!;
          direct[i * width + u]! += generic(s, j, ((p + h) - p) * c, base, zOld, mask) -
            generic(s, j, ((p - h) - p) * c, base, zOld, mask);
        }
        directBias[u]! += generic(s, j, bUp, base, zOld, mask) -
          generic(s, j, bDown, base, zOld, mask);
        continue;
      }
      if (change[0] === 0 && change[1] === 0 && change[2] === 0) continue;
      hiddenUnitSeries(softmax!, s, wOut, j * m, m, change, series, (s * width + u) * SERIES_TERMS);
    }
  }
  writeQuotients(layer, wIn, bIn, j0, h, net.weightDecay, gW, gb);
}

/**
 * The Taylor coefficients of mask·σ(base + δ) - mask·σ(base) in δ, orders 1..3, from the
 * sigmoid's derivatives σ' = σ(1-σ), σ'' = σ'(1-2σ), σ''' = σ'(1-6σ(1-σ)), with σ and 1-σ
 * each computed without cancellation.
 */
function sigmoidSeries(base: number, mask: number, out: Float64Array): void {
  const e = Math.exp(-Math.abs(base));
  const big = 1 / (1 + e);
  const small = e / (1 + e);
  const sigma = base >= 0 ? big : small;
  const rest = base >= 0 ? small : big;
  const d1 = sigma * rest;
  out[0] = mask * d1;
  out[1] = mask * d1 * (rest - sigma) / 2;
  out[2] = mask * d1 * (1 - 6 * d1) / 6;
}

/**
 * Sample s's loss as a series in δ when the hidden unit's output moves by
 * Δz(δ) = d₁δ + d₂δ² + d₃δ³ and output k's pre-activation by Δz·w_k: the sum of exponentials
 * is Σ_k E_k·exp(Δz·w_k) = S + Σ_p M_p·Δzᵖ/p! with the moments M_p = Σ_k E_k·w_kᵖ, the
 * label's term E_t·exp(Δz·w_t).
 */
function hiddenUnitSeries(
  softmax: SoftmaxCache,
  s: number,
  w: Float64Array,
  wj: number,
  m: number,
  change: Float64Array,
  out: Float64Array,
  o: number,
): void {
  const d1 = change[0]!, d2 = change[1]!, d3 = change[2]!;
  // Powers of Δz (no constant term), to order 3: Δz² = d₁²δ² + 2d₁d₂δ³, Δz³ = d₁³δ³.
  const p22 = d1 * d1, p23 = 2 * d1 * d2, p33 = p22 * d1;
  const E = softmax.E;
  const e0 = s * m;
  let m1 = 0, m2 = 0, m3 = 0;
  for (let k = 0; k < m; k++) {
    const wk = w[wj + k]!;
    const e1 = E[e0 + k]! * wk;
    const e2 = e1 * wk;
    m1 += e1;
    m2 += e2;
    m3 += e2 * wk;
  }
  m2 /= 2;
  m3 /= 6;
  const top = E[e0 + softmax.labels[s]!]!;
  const w1 = w[wj + softmax.labels[s]!]!;
  const w2 = w1 * w1 / 2, w3 = w1 * w1 * w1 / 6;
  crossEntropySeries(
    softmax.S[s]!,
    m1 * d1,
    m1 * d2 + m2 * p22,
    m1 * d3 + m2 * p23 + m3 * p33,
    top,
    top * w1 * d1,
    top * (w1 * d2 + w2 * p22),
    top * (w1 * d3 + w2 * p23 + w3 * p33),
    out,
    o,
  );
}

/**
 * -log(top/sum + 1e-7) as a series, from the series of sum (S + s₁δ + s₂δ² + s₃δ³) and of top:
 * truncated power-series arithmetic, a quotient q = top/sum, q_k = (t_k - Σ_{i=1..k} s_i·q_{k-i})/S,
 * then a logarithm, L_k = (b_k - Σ_{i=1..k-1} (i/k)·L_i·b_{k-i})/b₀ for b = q + 1e-7.
 * ℓ₁ and ℓ₃ go to out[o] and out[o + 1]. The 1e-7 is crossEntropyError's, so this is the same
 * loss.
 */
function crossEntropySeries(
  S: number,
  s1: number,
  s2: number,
  s3: number,
  top: number,
  t1: number,
  t2: number,
  t3: number,
  out: Float64Array,
  o: number,
): void {
  const q0 = top / S;
  const q1 = (t1 - s1 * q0) / S;
  const q2 = (t2 - s1 * q1 - s2 * q0) / S;
  const q3 = (t3 - s1 * q2 - s2 * q1 - s3 * q0) / S;
  const b0 = q0 + 1e-7;
  const l1 = q1 / b0;
  const l2 = (q2 - l1 * q1 / 2) / b0;
  const l3 = (q3 - (l1 * q2 + 2 * l2 * q1) / 3) / b0;
  out[o] = -l1;
  out[o + 1] = -l3;
}

/**
 * The output layer under softmax with cross-entropy: perturbing W[i][k] moves only output
 * k's pre-activation, by u = δ·z[s][i], so the sum of exponentials becomes S + E_k·(exp(u) - 1)
 * and the label's term top·exp(u) when k is the label, else top. As for the hidden layer, the
 * loss is a series in u per (sample, output) where |u| < 1e-3, and evaluated directly elsewhere.
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
  const width = k1 - k0;
  const layer = layerSums(input, B, nIn, width);
  const { direct, directBias } = layer;
  const { series, index, value, count } = layer.ws;
  /** Sample s's loss difference when output k moves by up and by down. */
  const difference = (s: number, k: number, up: number, down: number): number => {
    const e = E[s * m + k]!;
    const top = E[s * m + labels[s]!]!;
    const isLabel = labels[s] === k;
    const gUp = Math.expm1(up);
    const gDown = Math.expm1(down);
    return lossDifference(
      isLabel ? top * (1 + gUp) : top,
      S[s]! + e * gUp,
      isLabel ? top * (1 + gDown) : top,
      S[s]! + e * gDown,
    );
  };
  for (let s = 0; s < B; s++) {
    const top = E[s * m + labels[s]!]!;
    if (2 * h * layer.max[s]! < SERIES_BOUND) {
      for (let u = 0; u < width; u++) {
        const k = k0 + u;
        const e = E[s * m + k]!;
        // exp(u) - 1 = u + u²/2 + u³/6 + …
        const t = labels[s] === k ? top : 0;
        crossEntropySeries(
          S[s]!,
          e,
          e / 2,
          e / 6,
          top,
          t,
          t / 2,
          t / 6,
          series,
          (s * width + u) * SERIES_TERMS,
        );
      }
      continue;
    }
    for (let u = 0; u < width; u++) {
      const k = k0 + u;
      for (let q = s * nIn; q < s * nIn + count[s]!; q++) {
        const i = index[q]!;
        const c = value[q]!;
        const p = w[i * m + k]!;
        direct[i * width + u]! += difference(s, k, ((p + h) - p) * c, ((p - h) - p) * c);
      }
      const p = b[k]!;
      directBias[u]! += difference(s, k, (p + h) - p, (p - h) - p);
    }
  }
  writeQuotients(layer, w, b, k0, h, net.weightDecay, gW, gb);
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
