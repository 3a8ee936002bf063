/**
 * The resident WebAssembly trainer: a network's parameters, gradients, optimizer state and
 * activations live in one WebAssembly module's memory as float32, and a whole training step
 * (forward, softmax with cross-entropy, backward, weight decay, clipping, the optimizer's
 * update) runs there, in the SIMD kernels of nn/wasm/train_step.wat. Nothing is converted
 * per step except the batch going in.
 *
 * The network and the optimizer stay the source of truth for everything else: after a step
 * their values are marked stale, and the first read of `net.params` or `optimizer.state()`
 * copies the trainer's values back (exactly: every float32 is a float64). Evaluation,
 * checkpoints and the model file therefore see the trained values without knowing about the
 * trainer. After writing parameters or optimizer state on the host, call
 * {@linkcode WasmTrainer.push}.
 *
 * It handles what the book trains (softmax output with cross-entropy against class labels,
 * any hidden activation, dropout, weight decay, all four optimizers); other outputs and
 * losses use the kernel backends ({@linkcode WasmTrainer.supports} says why not).
 * @module
 */
import { Matrix } from "./matrix.ts";
import type { MultiLayerNet, Params, Targets } from "./network.ts";
import { AdaGrad, Adam, Momentum, type Optimizer, type OptimizerState } from "./optimizers.ts";
import { TRAIN_STEP_WASM } from "./wasm/train_step_binary.ts";

interface Exports {
  memory: WebAssembly.Memory;
  gather_rows(x: number, rows: number, nIn: number, pos: number, val: number, counts: number): void;
  dense_forward(
    pos: number,
    val: number,
    counts: number,
    rows: number,
    nIn: number,
    w: number,
    n: number,
    bias: number,
    out: number,
  ): void;
  weight_grad(
    pos: number,
    val: number,
    counts: number,
    rows: number,
    nIn: number,
    da: number,
    n: number,
    dW: number,
    colPos: number,
    colVal: number,
    starts: number,
  ): void;
  input_grad(da: number, rows: number, n: number, w: number, nIn: number, dz: number): void;
  activate(kind: number, a: number, h: number, count: number): void;
  activate_backward(
    kind: number,
    a: number,
    h: number,
    dz: number,
    da: number,
    count: number,
  ): void;
  multiply(a: number, b: number, out: number, count: number): void;
  clear_columns(z: number, rows: number, from: number, stride: number): void;
  softmax_cross_entropy(
    a: number,
    rows: number,
    n: number,
    stride: number,
    labels: number,
    picked: number,
    da: number,
    scale: number,
  ): void;
  sum_rows(a: number, rows: number, n: number, out: number): void;
  axpy(y: number, x: number, count: number, alpha: number): void;
  sum_squares(x: number, count: number): number;
  scale(x: number, count: number, factor: number): void;
  non_finite(x: number, count: number): number;
  sgd(p: number, g: number, count: number, lr: number): void;
  momentum(p: number, g: number, v: number, count: number, lr: number, mu: number): void;
  adagrad(p: number, g: number, h: number, count: number, lr: number): void;
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    count: number,
    lrT: number,
    beta1: number,
    beta2: number,
  ): void;
}

const ACTIVATION_KIND = { sigmoid: 0, relu: 1, tanh: 2, step: 3 } as const;

let compiled: WebAssembly.Module | null = null;

function module(): WebAssembly.Module {
  if (!compiled) {
    const binary = atob(TRAIN_STEP_WASM);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

const pad4 = (n: number) => Math.ceil(n / 4) * 4;

/** One parameter's place: host shape, padded shape, float offset inside the parameter block. */
interface Slot {
  name: string;
  rows: number;
  cols: number;
  paddedRows: number;
  stride: number;
  offset: number;
  isWeight: boolean;
}

/** Byte offsets of the per-batch arrays; they depend on the batch capacity. */
interface Workspace {
  capacity: number;
  x: number;
  labels: number;
  picked: number;
  /** Each layer's input, gathered: non-zero positions and values per row, and their count. */
  pos: number[];
  val: number[];
  counts: number[];
  /** The same, by column, for the weight gradient. */
  colPos: number;
  colVal: number;
  starts: number;
  a: number[];
  h: number[];
  z: number[];
  masks: number[];
  da: number[];
  dz: number[];
}

/**
 * A network and its optimizer, trained in WebAssembly memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Matrix, SGD, TwoLayerNet } from "../mod.ts";
 * import { WasmTrainer } from "./wasm_trainer.ts";
 * const net = new TwoLayerNet(4, 5, 3, { seed: 1 });
 * const trainer = new WasmTrainer(net, new SGD(0.5));
 * const x = Matrix.from([[1, 0, 0.5, 0], [0, 1, 0, 0.5]]);
 * const before = trainer.gradientAndLoss(x, [2, 0]);
 * trainer.update();
 * assert.ok(trainer.gradientAndLoss(x, [2, 0]) < before);
 * assert.ok(net.params.W1!.rows === 4); // reading params copies the trained values back
 * ```
 */
export class WasmTrainer {
  readonly net: MultiLayerNet;
  readonly optimizer: Optimizer;
  #wasm: Exports;
  #slots: Slot[];
  /** Floats in the parameter block (and in the gradient and each state block). */
  #total: number;
  #params: number;
  #grads: number;
  #state: [number, number];
  #ws: Workspace;
  #strides: number[];
  #kind: number;
  #step = 0;
  #rows = 0;
  #dropped = false;

  /** Why this network cannot be trained here, or null when it can. */
  static supports(net: MultiLayerNet): string | null {
    if (net.output !== "softmax" || net.lossName !== "cross-entropy") {
      return `the WebAssembly trainer handles softmax with cross-entropy, not ${net.output} with ${net.lossName}`;
    }
    return null;
  }

  constructor(net: MultiLayerNet, optimizer: Optimizer, capacity = 128) {
    const unsupported = WasmTrainer.supports(net);
    if (unsupported) throw new TypeError(unsupported);
    this.net = net;
    this.optimizer = optimizer;
    this.#kind = ACTIVATION_KIND[net.activation];
    const sizes = net.sizes;
    const L = net.layerCount;
    this.#strides = sizes.map((n, l) => (l === 0 ? n : pad4(n)));
    this.#slots = [];
    let at = 0;
    for (let l = 1; l <= L; l++) {
      const stride = this.#strides[l]!;
      const paddedRows = this.#strides[l - 1]!;
      this.#slots.push({
        name: `W${l}`,
        rows: sizes[l - 1]!,
        cols: sizes[l]!,
        paddedRows,
        stride,
        offset: at,
        isWeight: true,
      });
      at += pad4(paddedRows * stride);
      this.#slots.push({
        name: `b${l}`,
        rows: 1,
        cols: sizes[l]!,
        paddedRows: 1,
        stride,
        offset: at,
        isWeight: false,
      });
      at += stride;
    }
    this.#total = at;
    this.#wasm = new WebAssembly.Instance(module(), {}).exports as unknown as Exports;
    // Byte 0..15 stay unused so that pointer 0 can mean "none" (no bias to start from).
    this.#params = 16;
    this.#grads = this.#params + at * 4;
    this.#state = [this.#grads + at * 4, this.#grads + at * 8];
    this.#ws = this.#layout(capacity);
    this.push();
  }

  /** Copy the network's parameters and the optimizer's state into the trainer. */
  push(): void {
    const params = this.#f32(this.#params, this.#total);
    params.fill(0);
    this.#f32(this.#grads, this.#total * 3).fill(0);
    // Read around the hooks: the host values are the current ones here.
    const hostParams = this.net.params;
    for (const slot of this.#slots) {
      const host = hostParams[slot.name]!.data;
      for (let i = 0; i < slot.rows; i++) {
        params.set(
          host.subarray(i * slot.cols, (i + 1) * slot.cols),
          slot.offset + i * slot.stride,
        );
      }
    }
    const state = this.optimizer.state();
    this.#step = state.step;
    const keys = stateKeys(this.optimizer);
    keys.forEach((suffix, k) => {
      const block = this.#f32(this.#state[k]!, this.#total);
      for (const slot of this.#slots) {
        const values = state.buffers[`${slot.name}.${suffix}`];
        if (!values) continue;
        for (let i = 0; i < slot.rows; i++) {
          for (let j = 0; j < slot.cols; j++) {
            block[slot.offset + i * slot.stride + j] = values[i * slot.cols + j]!;
          }
        }
      }
    });
  }

  /**
   * Forward and backward pass on a batch (dropout on when `train`): returns the loss, as
   * `net.loss` defines it; the gradient stays in the trainer for {@linkcode update}.
   * Rows of x may be float64 (a Matrix) or float32.
   */
  gradientAndLoss(
    x: Matrix | { rows: number; cols: number; data: Float32Array },
    t: Targets,
    options: { train?: boolean } = {},
  ): number {
    const net = this.net;
    const sizes = net.sizes;
    const L = net.layerCount;
    const B = x.rows;
    if (x.cols !== sizes[0]) {
      throw new RangeError(`Expected inputs with ${sizes[0]} features but found ${x.cols}`);
    }
    if (B === 0) throw new RangeError("Expected a batch of at least one sample");
    if (B > this.#ws.capacity) this.#ws = this.#layout(Math.max(B, this.#ws.capacity * 2));
    const ws = this.#ws;
    const w = this.#wasm;
    this.#f32(ws.x, B * sizes[0]!).set(x.data.subarray(0, B * sizes[0]!));
    this.#writeLabels(t, B);
    const dropping = options.train === true && net.dropout > 0;
    // Forward.
    let input = ws.x;
    let nIn = sizes[0]!;
    for (let l = 1; l <= L; l++) {
      const stride = this.#strides[l]!;
      const W = this.#slot(`W${l}`);
      const b = this.#slot(`b${l}`);
      const [pos, val, counts] = [ws.pos[l - 1]!, ws.val[l - 1]!, ws.counts[l - 1]!];
      w.gather_rows(input, B, nIn, pos, val, counts);
      w.dense_forward(pos, val, counts, B, nIn, W, stride, b, ws.a[l - 1]!);
      if (l === L) break;
      w.activate(this.#kind, ws.a[l - 1]!, ws.h[l - 1]!, B * stride);
      // sigmoid(0) = 0.5 would leak into the padding; the other activations keep it 0.
      if (this.#kind === 0 && stride !== sizes[l]) {
        w.clear_columns(ws.h[l - 1]!, B, sizes[l]!, stride);
      }
      if (dropping) {
        net.drawDropoutMask(this.#f32(ws.masks[l - 1]!, B * stride), B, sizes[l]!, stride);
        w.multiply(ws.h[l - 1]!, ws.masks[l - 1]!, ws.z[l - 1]!, B * stride);
        input = ws.z[l - 1]!;
      } else input = ws.h[l - 1]!;
      nIn = stride;
    }
    const nOut = sizes[L]!;
    w.softmax_cross_entropy(
      ws.a[L - 1]!,
      B,
      nOut,
      this.#strides[L]!,
      ws.labels,
      ws.picked,
      ws.da[L - 1]!,
      1 / B,
    );
    // The loss in float64 from each sample's probability of its label, the 1e-7 included.
    const picked = this.#f32(ws.picked, B);
    let loss = 0;
    for (let i = 0; i < B; i++) loss -= Math.log(picked[i]! + 1e-7);
    loss /= B;
    // Backward.
    for (let l = L; l >= 1; l--) {
      const stride = this.#strides[l]!;
      const width = this.#strides[l - 1]!;
      const W = this.#slot(`W${l}`);
      const dW = W - this.#params + this.#grads;
      w.weight_grad(
        ws.pos[l - 1]!,
        ws.val[l - 1]!,
        ws.counts[l - 1]!,
        B,
        width,
        ws.da[l - 1]!,
        stride,
        dW,
        ws.colPos,
        ws.colVal,
        ws.starts,
      );
      if (net.weightDecay > 0) {
        w.axpy(dW, W, this.#strides[l - 1]! * stride, net.weightDecay);
      }
      w.sum_rows(ws.da[l - 1]!, B, stride, this.#slot(`b${l}`) - this.#params + this.#grads);
      if (l > 1) {
        const dz = ws.dz[l - 2]!;
        w.input_grad(ws.da[l - 1]!, B, stride, W, width, dz);
        if (dropping) w.multiply(dz, ws.masks[l - 2]!, dz, B * width);
        w.activate_backward(this.#kind, ws.a[l - 2]!, ws.h[l - 2]!, dz, ws.da[l - 2]!, B * width);
      }
    }
    if (net.weightDecay > 0) {
      let squares = 0;
      for (const slot of this.#slots) {
        if (slot.isWeight) {
          squares += w.sum_squares(this.#params + slot.offset * 4, slot.paddedRows * slot.stride);
        }
      }
      loss += 0.5 * net.weightDecay * squares;
    }
    this.#rows = B;
    this.#dropped = dropping;
    return loss;
  }

  /** The last gradient as float64 matrices shaped like the parameters (copies). */
  gradients(): Params {
    const g = this.#f32(this.#grads, this.#total);
    const out: Params = {};
    for (const slot of this.#slots) out[slot.name] = this.#unpad(g, slot);
    return out;
  }

  /** Scale the gradient to norm maxNorm when its L2 norm is larger; returns the norm. */
  clipGradient(maxNorm: number): number {
    const norm = Math.sqrt(this.#wasm.sum_squares(this.#grads, this.#total));
    if (norm > maxNorm) this.#wasm.scale(this.#grads, this.#total, maxNorm / norm);
    return norm;
  }

  /** Apply the optimizer (its current learning rate) to the last gradient. */
  update(): void {
    const o = this.optimizer;
    const w = this.#wasm;
    const [s1, s2] = this.#state;
    this.#step++;
    if (o instanceof Adam) {
      const lrT = (o.learningRate * Math.sqrt(1 - o.beta2 ** this.#step)) /
        (1 - o.beta1 ** this.#step);
      w.adam(this.#params, this.#grads, s1, s2, this.#total, lrT, o.beta1, o.beta2);
    } else if (o instanceof Momentum) {
      w.momentum(this.#params, this.#grads, s1, this.#total, o.learningRate, o.momentum);
    } else if (o instanceof AdaGrad) {
      w.adagrad(this.#params, this.#grads, s1, this.#total, o.learningRate);
    } else w.sgd(this.#params, this.#grads, this.#total, o.learningRate);
    this.net.markStale(() => this.#pullParams());
    this.optimizer.markStale(() => this.#pullState());
  }

  /** The first parameter (W1, b1, …) holding NaN or ±Infinity, if any. */
  firstNonFinite(): string | undefined {
    for (const slot of this.#slots) {
      const size = slot.paddedRows * slot.stride;
      if (this.#wasm.non_finite(this.#params + slot.offset * 4, size)) return slot.name;
    }
    return undefined;
  }

  /** Release the trainer's resources (its Worker, when it has one). */
  dispose(): void {}

  /** Rows in the last batch, and whether its pass dropped units. */
  get lastBatch(): { rows: number; dropped: boolean } {
    return { rows: this.#rows, dropped: this.#dropped };
  }

  #pullParams(): void {
    const p = this.#f32(this.#params, this.#total);
    const host = this.net.params;
    for (const slot of this.#slots) {
      const data = host[slot.name]!.data;
      for (let i = 0; i < slot.rows; i++) {
        for (let j = 0; j < slot.cols; j++) {
          data[i * slot.cols + j] = p[slot.offset + i * slot.stride + j]!;
        }
      }
    }
  }

  #pullState(): void {
    const buffers: Record<string, number[]> = {};
    stateKeys(this.optimizer).forEach((suffix, k) => {
      const block = this.#f32(this.#state[k]!, this.#total);
      for (const slot of this.#slots) {
        buffers[`${slot.name}.${suffix}`] = Array.from(this.#unpad(block, slot).data);
      }
    });
    const state: OptimizerState = { kind: this.optimizer.kind, step: this.#step, buffers };
    this.optimizer.setState(state);
  }

  #unpad(block: Float32Array, slot: Slot): Matrix {
    const m = new Matrix(slot.rows, slot.cols);
    for (let i = 0; i < slot.rows; i++) {
      for (let j = 0; j < slot.cols; j++) {
        m.data[i * slot.cols + j] = block[slot.offset + i * slot.stride + j]!;
      }
    }
    return m;
  }

  #writeLabels(t: Targets, B: number): void {
    const nOut = this.net.sizes.at(-1)!;
    const labels = new Int32Array(this.#wasm.memory.buffer, this.#ws.labels, B);
    if (t instanceof Matrix) {
      if (t.rows !== B || t.cols !== nOut) {
        throw new RangeError(`Expected ${B}×${nOut} one-hot targets but found ${t.rows}×${t.cols}`);
      }
      for (let i = 0; i < B; i++) {
        let label = -1;
        for (let k = 0; k < nOut; k++) {
          const v = t.data[i * nOut + k]!;
          if (v === 1 && label < 0) label = k;
          else if (v !== 0) label = -2;
        }
        if (label < 0) {
          throw new RangeError(
            `Expected one-hot target rows (a single 1) but row ${i} is not; the WebAssembly ` +
              "trainer needs class labels (use backend: js for soft targets)",
          );
        }
        labels[i] = label;
      }
      return;
    }
    if (t.length !== B) throw new RangeError(`Expected ${B} labels but found ${t.length}`);
    for (let i = 0; i < B; i++) {
      const label = t[i]!;
      if (!Number.isInteger(label) || label < 0 || label >= nOut) {
        throw new RangeError(`Expected labels in 0..${nOut - 1} but found ${label} at row ${i}`);
      }
      labels[i] = label;
    }
  }

  #slot(name: string): number {
    return this.#params + this.#slots.find((s) => s.name === name)!.offset * 4;
  }

  #f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.#wasm.memory.buffer, offset, length);
  }

  /** Place the per-batch arrays after the state blocks, growing memory to fit. */
  #layout(capacity: number): Workspace {
    let at = this.#state[1] + this.#total * 4;
    // Each array starts one cache line further from a 4 KiB boundary than the previous one:
    // arrays whose sizes are multiples of 4 KiB (784 floats × 128 rows is) would otherwise
    // alias in the store buffer and stall loads on unrelated stores.
    let line = 0;
    const take = (floats: number) => {
      at = Math.ceil(at / 4096) * 4096 + (line++ % 64) * 64;
      const offset = at;
      at += pad4(floats) * 4;
      return offset;
    };
    const sizes = this.net.sizes;
    const layers = this.#strides.slice(1);
    const inputs = this.#strides.slice(0, -1);
    const widest = Math.max(...inputs);
    const ws: Workspace = {
      capacity,
      x: take(capacity * sizes[0]!),
      labels: take(capacity),
      picked: take(capacity),
      pos: inputs.map((n) => take(capacity * n)),
      val: inputs.map((n) => take(capacity * n)),
      counts: inputs.map(() => take(capacity)),
      colPos: take(capacity * widest),
      colVal: take(capacity * widest),
      starts: take(widest + 1),
      a: layers.map((n) => take(capacity * n)),
      h: layers.map((n) => take(capacity * n)),
      z: layers.map((n) => take(capacity * n)),
      masks: layers.map((n) => take(capacity * n)),
      da: layers.map((n) => take(capacity * n)),
      dz: layers.map((n) => take(capacity * n)),
    };
    const needed = at - this.#wasm.memory.buffer.byteLength;
    if (needed > 0) this.#wasm.memory.grow(Math.ceil(needed / 65536));
    return ws;
  }
}

/** The optimizer's state buffers, by key suffix, in the order of the trainer's state blocks. */
function stateKeys(optimizer: Optimizer): string[] {
  switch (optimizer.kind) {
    case "adam":
      return ["m", "v"];
    case "momentum":
      return ["v"];
    case "adagrad":
      return ["h"];
    case "sgd":
      return [];
  }
}
