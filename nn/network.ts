/**
 * A fully connected feed-forward network of any depth: the book's `TwoLayerNet` generalised.
 * Layer l computes a_l = z_{l-1}·W_l + b_l, then z_l = h(a_l) for hidden layers and
 * y = σ(a_L) at the output. Parameters are named W1, b1, W2, b2, … as in the book.
 * @module
 */
import {
  activationKernels,
  type HiddenActivation,
  sigmoidInPlace,
  softmaxRows,
} from "./activations.ts";
import { jsKernels, type Kernels } from "./kernels.ts";
import { crossEntropyError, meanSquaredError, targetsAsOneHot } from "./losses.ts";
import { argmax, Matrix } from "./matrix.ts";
import { numericalGradient } from "./numerical_gradient.ts";
import { Random, type RandomState } from "./random.ts";

/** The output layer's activation. */
export type OutputActivation = "softmax" | "identity" | "sigmoid";
/** The loss the network minimises. */
export type LossName = "cross-entropy" | "mse";
/** How weights are drawn: N(0, std²), Xavier (std √(1/n_in)) or He (std √(2/n_in)). */
export type WeightInit = { kind: "normal"; std: number } | { kind: "xavier" } | { kind: "he" };

/** Options of {@linkcode MultiLayerNet}; every one has a default. */
export interface NetworkOptions {
  /** Hidden activation [sigmoid]. */
  activation?: HiddenActivation;
  /** Output activation [softmax]. */
  output?: OutputActivation;
  /** Loss [cross-entropy]. */
  loss?: LossName;
  /** Weight initialisation [normal, std 0.01]. */
  weightInit?: WeightInit;
  /** L2 penalty λ: the loss gains ½λΣW², weights only, not biases [0]. */
  weightDecay?: number;
  /** Probability of dropping a hidden unit while training (inverted dropout) [0]. */
  dropout?: number;
  /** Seed of weight init and dropout masks [0]. */
  seed?: number;
}

/** Parameters or gradients by name: W1, b1, W2, b2, … (biases are 1×n matrices). */
export type Params = Record<string, Matrix>;

/** Samples as float32 rows, as datasets store them. */
export interface Float32Rows {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Targets of a batch: one-hot rows (a matrix) or one class index per sample. */
export type Targets = Matrix | ArrayLike<number>;

const PREDICT_CHUNK = 512;

/** How to run a pass. */
export interface PassOptions {
  /** As in training (dropout on) or inference [false]. */
  train?: boolean;
  /** The dense-layer kernels that compute it [jsKernels, float64]. */
  kernels?: Kernels;
}

interface Workspace {
  batch: number;
  a: Float64Array[]; // pre-activations, per layer
  z: Float64Array[]; // outputs, per layer (z[L-1] is y)
  h: Float64Array[]; // hidden activations before dropout (z = h·mask while dropping)
  masks: Float64Array[]; // dropout multipliers of hidden layers: 0 or 1/(1-p)
  dropped: boolean; // whether the last forward pass applied masks
  da: Float64Array[];
  dz: Float64Array[];
}

/**
 * A multi-layer network with seeded init, backprop and the numerical gradient.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Matrix, MultiLayerNet } from "../mod.ts";
 * const net = new MultiLayerNet([4, 8, 3], { activation: "relu", weightInit: { kind: "he" }, seed: 1 });
 * const x = Matrix.from([[1, 0, 0.5, 0.2], [0, 1, 0.1, 0.9]]);
 * const grads = net.gradient(x, [0, 2]);
 * assert.ok(grads.W1!.rows === 4 && grads.b2!.cols === 3);
 * ```
 */
export class MultiLayerNet {
  /** Layer sizes: input, hidden…, output. */
  readonly sizes: readonly number[];
  readonly activation: HiddenActivation;
  readonly output: OutputActivation;
  readonly lossName: LossName;
  readonly weightInit: WeightInit;
  readonly weightDecay: number;
  readonly dropout: number;
  readonly seed: number;
  #params: Params;
  #rng: Random;
  #workspace: Workspace | null = null;
  #rowsChunk = new Float64Array(0);

  constructor(sizes: readonly number[], options: NetworkOptions = {}) {
    if (sizes.length < 2) {
      throw new RangeError(
        `Expected at least two layer sizes (input and output) but found ${sizes.length}`,
      );
    }
    for (const [i, n] of sizes.entries()) {
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`Expected layer size ${i} to be a positive integer but found ${n}`);
      }
    }
    this.sizes = [...sizes];
    this.activation = options.activation ?? "sigmoid";
    this.output = options.output ?? "softmax";
    this.lossName = options.loss ?? "cross-entropy";
    this.weightInit = options.weightInit ?? { kind: "normal", std: 0.01 };
    this.weightDecay = options.weightDecay ?? 0;
    this.dropout = options.dropout ?? 0;
    this.seed = options.seed ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) {
      throw new RangeError(`Expected dropout to be in [0, 1) but found ${this.dropout}`);
    }
    if (!(this.weightDecay >= 0)) {
      throw new RangeError(`Expected weightDecay to be >= 0 but found ${this.weightDecay}`);
    }
    this.#rng = new Random(this.seed);
    this.#params = {};
    for (let l = 1; l < this.sizes.length; l++) {
      const nIn = this.sizes[l - 1]!;
      const nOut = this.sizes[l]!;
      const std = this.weightInit.kind === "normal"
        ? this.weightInit.std
        : Math.sqrt((this.weightInit.kind === "he" ? 2 : 1) / nIn);
      const w = new Matrix(nIn, nOut);
      for (let i = 0; i < w.data.length; i++) w.data[i] = std * this.#rng.normal();
      this.#params[`W${l}`] = w;
      this.#params[`b${l}`] = new Matrix(1, nOut);
    }
  }

  /** W1, b1, …: updated in place by optimizers (or an engine writing its values back). */
  get params(): Params {
    return this.#params;
  }

  /**
   * Draw dropout multipliers (0, or 1/(1 - p) for a kept unit) for rows×n hidden units into
   * `out`, row i at i·stride: the same draws, in the same order, as a training pass makes.
   */
  drawDropoutMask(out: Float32Array | Float64Array, rows: number, n: number, stride: number): void {
    const keep = 1 / (1 - this.dropout);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < n; j++) {
        out[i * stride + j] = this.#rng.random() >= this.dropout ? keep : 0;
      }
    }
  }

  /** Number of weight layers (2 for `TwoLayerNet`). */
  get layerCount(): number {
    return this.sizes.length - 1;
  }

  /** The dropout generator's state, for checkpoints. */
  randomState(): RandomState {
    return this.#rng.state();
  }

  /** Continue dropout masks from a saved state. */
  setRandomState(state: RandomState): void {
    this.#rng = Random.fromState(state);
  }

  /** The network's output for a batch x (one sample per row). */
  predict(x: Matrix, options: PassOptions = {}): Matrix {
    const nOut = this.sizes.at(-1)!;
    const out = new Matrix(x.rows, nOut);
    // Large inputs (a whole test set) go through in chunks so the workspace stays small.
    for (let start = 0; start < x.rows; start += PREDICT_CHUNK) {
      const rows = Math.min(PREDICT_CHUNK, x.rows - start);
      const chunk = new Matrix(
        rows,
        x.cols,
        x.data.subarray(start * x.cols, (start + rows) * x.cols),
      );
      const ws = this.#forward(chunk, options);
      out.data.set(ws.z[this.layerCount - 1]!.subarray(0, rows * nOut), start * nOut);
    }
    return out;
  }

  /**
   * predict() for float32 rows (a dataset's own storage), widened to float64 a chunk at a
   * time, so a whole split never needs a float64 copy.
   */
  predictRows(x: Float32Rows, options: { kernels?: Kernels } = {}): Matrix {
    const nOut = this.sizes.at(-1)!;
    const out = new Matrix(x.rows, nOut);
    // Kept from call to call: an evaluation predicts a split in several calls, and a fresh
    // 3.2 MB chunk each time (784 features) added to what the allocator held at the peak.
    const length = Math.min(PREDICT_CHUNK, x.rows) * x.cols;
    if (this.#rowsChunk.length < length) this.#rowsChunk = new Float64Array(length);
    const chunk = this.#rowsChunk;
    for (let start = 0; start < x.rows; start += PREDICT_CHUNK) {
      const rows = Math.min(PREDICT_CHUNK, x.rows - start);
      const values = chunk.subarray(0, rows * x.cols);
      values.set(x.data.subarray(start * x.cols, (start + rows) * x.cols));
      out.data.set(this.predict(new Matrix(rows, x.cols, values), options).data, start * nOut);
    }
    return out;
  }

  /** The loss of a batch, including the weight-decay penalty. */
  loss(x: Matrix, t: Targets, options: PassOptions = {}): number {
    const ws = this.#forward(x, options);
    return this.#lossFrom(ws, t, x.rows);
  }

  /** The fraction of samples whose largest output is the target class. */
  accuracy(x: Matrix, t: Targets, options: { kernels?: Kernels } = {}): number {
    if (x.rows === 0) return 0;
    const labels = this.#labels(t, x.rows);
    return countCorrect(this.predict(x, options), labels) / x.rows;
  }

  /**
   * One forward pass, exposing each layer's pre-activations `a`, outputs `z` (z[L-1] is the
   * network's output) and, when dropout was applied, the masks. The arrays are views into the
   * network's workspace, valid until its next pass; rows beyond `x.rows` are stale.
   */
  activations(x: Matrix, options: PassOptions = {}): {
    a: Float64Array[];
    z: Float64Array[];
    h: Float64Array[];
    masks: Float64Array[] | null;
  } {
    const ws = this.#forward(x, options);
    return { a: ws.a, z: ws.z, h: ws.dropped ? ws.h : ws.z, masks: ws.dropped ? ws.masks : null };
  }

  /**
   * The loss, as {@linkcode loss} computes it, of the outputs of the last forward pass (made
   * by {@linkcode activations} on `rows` samples): one pass serves the caller's own use of the
   * activations and the loss.
   */
  lossOfLastPass(t: Targets, rows: number): number {
    if (!this.#workspace) throw new Error("lossOfLastPass() needs a forward pass first");
    return this.#lossFrom(this.#workspace, t, rows);
  }

  /** The loss's gradient by central differences (the book's method), dropout masks held fixed. */
  numericalGradient(x: Matrix, t: Targets, options: PassOptions & { h?: number } = {}): Params {
    const train = options.train === true && this.dropout > 0;
    const pass = { ...options, train };
    if (train) this.#forward(x, pass); // draws the masks once
    const lossFn = () => this.#lossFrom(this.#forward(x, pass, train), t, x.rows);
    const grads: Params = {};
    for (const [name, p] of Object.entries(this.params)) {
      grads[name] = numericalGradient(lossFn, p, { h: options.h ?? 1e-4 });
    }
    return grads;
  }

  /** The loss's gradient by backpropagation. */
  gradient(x: Matrix, t: Targets, options: PassOptions = {}): Params {
    return this.gradientAndLoss(x, t, options).grads;
  }

  /** Backprop gradient and the batch loss from the same forward pass. */
  gradientAndLoss(x: Matrix, t: Targets, options: PassOptions = {}): {
    grads: Params;
    loss: number;
  } {
    const k = options.kernels ?? jsKernels;
    const L = this.layerCount;
    const B = x.rows;
    const ws = this.#forward(x, options);
    const loss = this.#lossFrom(ws, t, B);
    const nOut = this.sizes[L]!;
    const y = ws.z[L - 1]!;
    const oneHot = targetsAsOneHot(t, B, nOut);
    // dL/dy for the loss exactly as defined (the 1e-7 included), then through the output.
    const dy = ws.dz[L - 1]!;
    for (let i = 0; i < B * nOut; i++) {
      dy[i] = this.lossName === "cross-entropy"
        ? -oneHot[i]! / (y[i]! + 1e-7) / B
        : (y[i]! - oneHot[i]!) / B;
    }
    const daOut = ws.da[L - 1]!;
    if (this.output === "softmax") {
      for (let i = 0; i < B; i++) {
        const o = i * nOut;
        let dot = 0;
        for (let j = 0; j < nOut; j++) dot += dy[o + j]! * y[o + j]!;
        for (let j = 0; j < nOut; j++) daOut[o + j] = y[o + j]! * (dy[o + j]! - dot);
      }
    } else if (this.output === "sigmoid") {
      for (let i = 0; i < B * nOut; i++) daOut[i] = dy[i]! * y[i]! * (1 - y[i]!);
    } else {
      daOut.set(dy.subarray(0, B * nOut));
    }
    const grads: Params = {};
    const act = activationKernels[this.activation];
    for (let l = L; l >= 1; l--) {
      const nIn = this.sizes[l - 1]!;
      const n = this.sizes[l]!;
      const input = l === 1 ? x.data : ws.z[l - 2]!;
      const da = ws.da[l - 1]!;
      const w = this.params[`W${l}`]!;
      const dW = new Matrix(nIn, n);
      k.matmulTransA(input, da, dW.data, B, nIn, n);
      if (this.weightDecay > 0) {
        for (let i = 0; i < dW.data.length; i++) dW.data[i]! += this.weightDecay * w.data[i]!;
      }
      const db = new Matrix(1, n);
      k.sumRows(da, db.data, B, n);
      grads[`W${l}`] = dW;
      grads[`b${l}`] = db;
      if (l > 1) {
        const dz = ws.dz[l - 2]!;
        k.matmulTransB(da, w.data, dz, B, n, nIn);
        if (ws.dropped) {
          const mask = ws.masks[l - 2]!;
          for (let i = 0; i < B * nIn; i++) dz[i]! *= mask[i]!;
        }
        // The activation's derivative is taken at its output before dropout.
        act.backward(
          ws.a[l - 2]!.subarray(0, B * nIn),
          (ws.dropped ? ws.h : ws.z)[l - 2]!.subarray(0, B * nIn),
          dz.subarray(0, B * nIn),
          ws.da[l - 2]!.subarray(0, B * nIn),
        );
      }
    }
    // Keep the book's key order: W1, b1, W2, b2, …
    const ordered: Params = {};
    for (const name of Object.keys(this.params)) ordered[name] = grads[name]!;
    return { grads: ordered, loss };
  }

  #workspaceFor(batch: number): Workspace {
    if (this.#workspace && this.#workspace.batch >= batch) return this.#workspace;
    const layers = this.sizes.slice(1);
    const make = () => layers.map((n) => new Float64Array(batch * n));
    this.#workspace = {
      batch,
      a: make(),
      z: make(),
      da: make(),
      dz: make(),
      h: make(),
      masks: layers.slice(0, -1).map((n) => new Float64Array(batch * n)),
      dropped: false,
    };
    return this.#workspace;
  }

  #forward(x: Matrix, options: PassOptions, keepMasks = false): Workspace {
    if (x.cols !== this.sizes[0]) {
      throw new RangeError(
        `Expected inputs with ${this.sizes[0]} features but found ${x.cols}`,
      );
    }
    const k = options.kernels ?? jsKernels;
    const B = x.rows;
    const ws = this.#workspaceFor(B);
    const L = this.layerCount;
    const act = activationKernels[this.activation];
    const dropping = options.train === true && this.dropout > 0;
    let input = x.data;
    for (let l = 1; l <= L; l++) {
      const nIn = this.sizes[l - 1]!;
      const n = this.sizes[l]!;
      const a = ws.a[l - 1]!.subarray(0, B * n);
      const z = ws.z[l - 1]!.subarray(0, B * n);
      k.matmul(input, this.params[`W${l}`]!.data, a, B, nIn, n);
      k.addRowVector(a, this.params[`b${l}`]!.data, B, n);
      if (l < L) {
        if (!dropping) act.forward(a, z);
        else {
          const h = ws.h[l - 1]!.subarray(0, B * n);
          act.forward(a, h);
          const mask = ws.masks[l - 1]!;
          if (!keepMasks) this.drawDropoutMask(mask, B, n, n);
          for (let i = 0; i < B * n; i++) z[i] = h[i]! * mask[i]!;
        }
      } else if (this.output === "softmax") {
        softmaxRows(a, z, B, n);
      } else if (this.output === "sigmoid") {
        sigmoidInPlace(a, z);
      } else {
        z.set(a);
      }
      input = z;
    }
    ws.dropped = dropping;
    return ws;
  }

  #lossFrom(ws: Workspace, t: Targets, B: number): number {
    const nOut = this.sizes.at(-1)!;
    const y = new Matrix(B, nOut, ws.z[this.layerCount - 1]!.subarray(0, B * nOut));
    let loss = this.lossName === "cross-entropy" ? crossEntropyError(y, t) : meanSquaredError(y, t);
    if (this.weightDecay > 0) {
      let squares = 0;
      for (let l = 1; l <= this.layerCount; l++) {
        for (const w of this.params[`W${l}`]!.data) squares += w * w;
      }
      loss += 0.5 * this.weightDecay * squares;
    }
    return loss;
  }

  #labels(t: Targets, rows: number): ArrayLike<number> {
    if (!(t instanceof Matrix) && t.length === rows) return t;
    const m = t instanceof Matrix ? t : new Matrix(rows, t.length / rows, Float64Array.from(t));
    return Int32Array.from({ length: rows }, (_, i) => argmax(m.data, i * m.cols, m.cols));
  }
}

/** How many rows of `y` have their largest value at the label's index. */
export function countCorrect(y: Matrix, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < y.rows; i++) {
    if (argmax(y.data, i * y.cols, y.cols) === labels[i]) correct++;
  }
  return correct;
}
