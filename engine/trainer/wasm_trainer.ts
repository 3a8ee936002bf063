/**
 * The resident WebAssembly trainer: a network's parameters, gradients, optimizer state and
 * activations live in one WebAssembly memory as float32, and a whole training step (forward,
 * softmax with cross-entropy, backward, weight decay, clipping, the optimizer's update) runs
 * there, in the SIMD kernels of engine/trainer/train_step.wat. Nothing is converted per step except
 * the batch going in.
 *
 * Each batch is split in two halves (engine/trainer/wasm_step.ts). With `threads: 2` a Worker computes the
 * second half on the same shared memory while this thread computes the first; with 1, this
 * thread computes both. The gradient is the same sum either way, so the choice changes the
 * speed and never the numbers; `auto` (the default) times both on the first steps and keeps
 * the faster, since two vCPUs are not always two real cores, and times them again now and
 * then (engine/trainer/thread_choice.ts). A Worker that the scheduler sets aside does not
 * hold a step up: this thread computes a second half the Worker has not started, and races
 * one it is late with in a spare workspace; the same numbers again. After a two-thread step,
 * the update is shared the same way: each thread adds the halves' gradients and applies the
 * optimizer on half of the parameters.
 *
 * It implements the {@linkcode Engine} interface. The network and the optimizer stay plain
 * values: the trainer copies its parameters back into `net.params` on `readParams()`, and
 * `optimizerState()` reads its optimizer state from its own memory (exactly: every float32 is
 * a float64); the optimizer itself is brought up to date on `dispose()`. Evaluation predicts
 * through the trainer.
 *
 * With `products: "openblas"` the dense products of a step (every layer's, except a first layer
 * whose input is mostly zeros and wide enough for the module's zero-skipping products to win)
 * go to the system's OpenBLAS (engine/trainer/openblas.ts), each thread calling it for its
 * own half. The numbers then differ from the module's alone in the last bits of float32, and
 * stay the same from run to run, thread count to thread count, on one machine.
 *
 * It handles what the book trains (softmax output with cross-entropy against class labels,
 * any hidden activation, dropout, weight decay, all four optimizers); other outputs and
 * losses use the kernel backends ({@linkcode WasmTrainer.supports} says why not).
 * @module
 */
import { softmaxRows } from "../../nn/activations.ts";
import { BlasProducts, openBlas } from "./openblas.ts";
import { ThreadChoice } from "./thread_choice.ts";
import type { Engine } from "../engine.ts";
import { copyInto } from "../engine.ts";
import { Matrix } from "../../nn/matrix.ts";
import type { Float32Rows, MultiLayerNet, Params, Targets } from "../../nn/network.ts";
import {
  AdaGrad,
  Adam,
  Momentum,
  type Optimizer,
  type OptimizerState,
} from "../../nn/optimizers.ts";
import {
  ACTIVATION_KIND,
  ARG,
  ARG_VALUES,
  claim,
  computeHalf,
  CONTROL,
  CONTROL_WORDS,
  type DenseProducts,
  FIRST_BYTE,
  firstRow,
  halfRows,
  instantiate,
  MAX_PAGES,
  OPTIMIZER,
  PASS,
  type Pass,
  planStep,
  type Race,
  type Slot,
  type StepExports,
  stepModule,
  stepModuleAvailable,
  type StepPlan,
  updateShare,
  watch,
  WATCH_MS,
  type WorkerStart,
} from "./wasm_step.ts";

/** What the trainer's thread does when its half is done before the Worker's (testHandOff). */
export type HandOff = "auto" | "race" | "wait";

/** Options of {@linkcode WasmTrainer}. */
export interface WasmTrainerOptions {
  /** Rows the workspace holds at first; larger batches grow it [128]. */
  capacity?: number;
  /** 1: this thread only; 2: a Worker takes half of each batch; auto: time both [auto]. */
  threads?: 1 | 2 | "auto";
  /** Where a step's dense products run: the module only, or the system's OpenBLAS [wasm]. */
  products?: Products;
  /**
   * The share of non-zero values in the training rows, which decides whether layer 1 computes
   * by OpenBLAS's dense products or by the module's zero-skipping ones [1].
   */
  inputDensity?: number;
}

/** Where a step's dense products run. */
export type Products = "wasm" | "openblas";

/**
 * A first layer whose input has fewer non-zeros than this share, and at least
 * SPARSE_MIN_WIDTH outputs, keeps the module's zero-skipping products. Timed per half batch
 * (50 rows, forward and weight gradient, one thread, 2-vCPU AMD EPYC, OpenBLAS 0.3.21):
 * on the digits (19 % non-zero) the module took 161 µs against OpenBLAS's 175 µs at 100
 * outputs, 333 against 420 µs at 256, 111 against 110 µs at 64, but 114 against 97 µs at 50;
 * at 50 % non-zero OpenBLAS was 2.1–4.7 times faster at every width from 16 to 256.
 */
const SPARSE_INPUT_DENSITY = 0.3;
const SPARSE_MIN_WIDTH = 64;

/**
 * Which layers of a net with these sizes compute by OpenBLAS: all but a first layer that
 * SPARSE_INPUT_DENSITY and SPARSE_MIN_WIDTH leave to the module.
 */
export function blasLayers(sizes: readonly number[], inputDensity: number): boolean[] {
  return sizes.slice(1).map((n, l) =>
    l > 0 || !(inputDensity < SPARSE_INPUT_DENSITY && n >= SPARSE_MIN_WIDTH)
  );
}

/** The share of non-zero values among the first `count` of `values`. */
export function density(values: ArrayLike<number>, count = values.length): number {
  let nonZero = 0;
  for (let i = 0; i < count; i++) if (values[i] !== 0) nonZero++;
  return count === 0 ? 1 : nonZero / count;
}

/**
 * How long the Worker may take to start, and a half batch at most, in milliseconds. Starting
 * can be slow: under `deno test` the Worker's modules are type-checked on first load, about
 * 20 s with an empty cache. Steps do not wait for it meanwhile.
 */
const WORKER_START_MS = 120_000;
const HALF_STEP_MS = 120_000;
/** Bytes in a page of WebAssembly memory. */
const PAGE_BYTES = 65536;
/**
 * The largest set of rows {@linkcode WasmTrainer.holdRows} copies in (64 MiB): the 8,000
 * training digits of the default run are 25 MB, and held rows took a 784-50-10 step through
 * the CLI from 0.44 to 0.40 ms; Fashion-MNIST's 188 MB of training rows would have raised its
 * peak memory by as much.
 */
const HELD_ROWS_MAX_BYTES = 64 * 1024 * 1024;
/** How often a thread that waits for the Worker's half looks for its failure, in ms. */
const FAILURE_CHECK_MS = 20;
/**
 * How long this thread waits for a Worker that has its half in hand before racing it, as a
 * share of this thread's own half: the Worker's half of a 784-50-10 step through the CLI
 * usually ended 1–46 µs (medians of four runs) after this thread's, which took about 130 µs,
 * so half as long again outlasts that lag; a Worker later than that had mostly been set aside
 * by the scheduler, for up to 7 ms.
 */
const RACE_AFTER = 0.5;

/**
 * A network and its optimizer, trained in WebAssembly memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Matrix, SGD, TwoLayerNet, WasmTrainer } from "../../mod.ts";
 * const net = new TwoLayerNet(4, 5, 3, { seed: 1 });
 * const trainer = new WasmTrainer(net, new SGD(0.5), { threads: 1 });
 * const x = Matrix.from([[1, 0, 0.5, 0], [0, 1, 0, 0.5]]);
 * const before = trainer.gradientAndLoss(x, [2, 0]);
 * trainer.update();
 * assert.ok(trainer.gradientAndLoss(x, [2, 0]) < before);
 * assert.equal(trainer.readParams(), net.params); // the trained values, copied back
 * ```
 */
export class WasmTrainer implements Engine {
  readonly name = "wasm-trainer";
  readonly net: MultiLayerNet;
  readonly optimizer: Optimizer;
  #memory: WebAssembly.Memory;
  #wasm: StepExports;
  #products: DenseProducts | null;
  /**
   * Views of the arrays every step reads or writes, made again whenever the trainer is laid
   * out: a step that made its own allocated a kilobyte and a half of views.
   */
  #views!: {
    control: Int32Array;
    indices: Int32Array;
    labels: Int32Array;
    /** Each row's probability of its label: the first half's, the second's, the spare's. */
    picked: [Float32Array, Float32Array, Float32Array];
    /** The update's arguments, for both threads' shares. */
    args: Float64Array;
  };
  /** The trainer and where its dense products run, as summary.json reports it. */
  readonly description: string;
  #plan: StepPlan;
  #step = 0;
  /** The thread count of the steps: fixed, or chosen by timing them. */
  #choice: ThreadChoice;
  #worker: Worker | null = null;
  #request = 0;
  #generation = 0;
  #workerStarted = 0;
  /**
   * The last request whose second half this thread computed in the spare workspace while the
   * Worker had it in hand: until the Worker's `done` reaches it, the Worker may still be
   * writing its own workspace, which nothing may read or write meanwhile.
   */
  #abandoned = 0;
  /** Whether the last request's second half is in the spare workspace. */
  #spareUsed = false;
  /**
   * Where the second halves of two-thread requests were computed: by the Worker, here because
   * the Worker had not started on them, or here in a race the Worker lost.
   */
  #secondHalves = { worker: 0, taken: 0, raced: 0 };
  /** Where the second shares of shared updates were computed: by the Worker, or here. */
  #updateShares = { worker: 0, taken: 0 };
  /**
   * The byte offset of the last training pass's second-half gradient while it is not yet added
   * into the first half's (0: added, or none): the update adds it, each thread its share.
   */
  #unsummed = 0;
  /** Whether the last training pass ran on two threads: its update is shared with the Worker. */
  #shareUpdate = false;
  /** What this thread does when its half is done before the Worker's (see testHandOff). */
  #handOff: HandOff = "auto";
  /** The request raced for: one object a layout (with its control view), not one a step. */
  #race!: Race;
  /** Whether a step changed the parameters (and optimizer state) since the host last read them. */
  #paramsAhead = false;
  /** Whether the last update's look found every parameter finite (and none changed since). */
  #finite = false;
  #stateAhead = false;

  /** Why this network cannot be trained here, or null when it can. */
  static supports(net: MultiLayerNet): string | null {
    if (!stepModuleAvailable()) {
      return "this runtime lacks WebAssembly relaxed SIMD or shared memory";
    }
    if (net.output !== "softmax" || net.lossName !== "cross-entropy") {
      return `the WebAssembly trainer handles softmax with cross-entropy, not ${net.output} with ${net.lossName}`;
    }
    return null;
  }

  constructor(net: MultiLayerNet, optimizer: Optimizer, options: WasmTrainerOptions = {}) {
    const unsupported = WasmTrainer.supports(net);
    if (unsupported) throw new TypeError(unsupported);
    this.net = net;
    this.optimizer = optimizer;
    const cores = navigator.hardwareConcurrency ?? 1;
    this.#choice = new ThreadChoice(cores < 2 ? 1 : options.threads ?? "auto");
    const blas = options.products === "openblas" ? openBlas() : null;
    if (typeof blas === "string") throw new Error(`OpenBLAS is not available: ${blas}`);
    this.#plan = planStep(
      net.sizes,
      ACTIVATION_KIND[net.activation],
      options.capacity ?? 128,
      undefined,
      blas ? blasLayers(net.sizes, options.inputDensity ?? 1) : [],
    );
    this.#memory = new WebAssembly.Memory({
      initial: Math.ceil(this.#plan.bytes / PAGE_BYTES),
      maximum: MAX_PAGES,
      shared: true,
    });
    this.#wasm = instantiate(this.#memory);
    this.#makeViews();
    this.#products = blas ? new BlasProducts(blas, this.#memory) : null;
    this.description = `${this.name}, dense products in ${
      blas ? blas.description : "WebAssembly SIMD"
    }`;
    this.push();
    // Started now, so that it has loaded by the time the first two-thread step wants it.
    if (this.#choice.current === 2) this.#startWorker();
  }

  /**
   * Where the second halves of the two-thread steps (and predictions) so far were computed:
   * by the Worker; on this thread, because the Worker had not started on them when this
   * thread's half was done; or on this thread, racing a Worker that was late with them.
   */
  get secondHalves(): { worker: number; taken: number; raced: number } {
    return { ...this.#secondHalves };
  }

  /**
   * Where the second shares of the updates after two-thread steps were computed: by the
   * Worker, or on this thread because the Worker had not started on them.
   */
  get updateShares(): { worker: number; taken: number } {
    return { ...this.#updateShares };
  }

  /**
   * For tests of the hand-off between the threads. `holdWorkerMs` makes the Worker wait that
   * long after taking on each half before computing it, as a Worker that the scheduler set
   * aside would (0: no wait). `handOff` is what this thread does when its half is done before
   * the Worker's: `auto` as in use, `race`: wait for the Worker to start (take on no half it
   * has not started) and race it when it is late, `wait`: always wait for the Worker, which
   * then computes every second half and every second share of an update.
   */
  testHandOff(options: { holdWorkerMs?: number; handOff?: HandOff }): void {
    if (options.holdWorkerMs !== undefined) {
      Atomics.store(this.#views.control, CONTROL.holdMs, options.holdWorkerMs);
    }
    if (options.handOff !== undefined) this.#handOff = options.handOff;
  }

  /** The thread count in use: 1 or 2, or "auto" while timing (at first, and now and then). */
  get threads(): 1 | 2 | "auto" {
    return this.#choice.current;
  }

  /** How many times `auto` chose the thread count so far (0 for a fixed one). */
  get threadChoices(): number {
    return this.#choice.choices;
  }

  /**
   * Resolves true once the Worker has started, false when there will be none (one thread);
   * rejects when `threads: 2` and the Worker could not start. Steps do not need this: until
   * the Worker is up they run on one thread. Benchmarks await it before timing.
   */
  async ready(): Promise<boolean> {
    while (this.#choice.current !== 1 || this.#worker) {
      if (this.#workerUp()) return true;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return false;
  }

  /** Copy the network's parameters and the optimizer's state into the trainer. */
  push(): void {
    const plan = this.#plan;
    for (const half of [...plan.halves, plan.spare]) this.#f32(half.grads, plan.total).fill(0);
    this.#unsummed = 0;
    this.#shareUpdate = false;
    this.#pushParams();
    this.#pushState();
  }

  readParams(): Params {
    if (this.#paramsAhead) {
      const plan = this.#plan;
      const p = this.#f32(plan.params, plan.total);
      const host = this.net.params;
      for (const slot of plan.slots) unpad(p, slot, host[slot.name]!.data);
      this.#paramsAhead = false;
    }
    return this.net.params;
  }

  writeParams(params: Params): void {
    copyInto(this.net.params, params);
    this.#pushParams();
  }

  optimizerState(into?: OptimizerState): OptimizerState {
    if (!this.#stateAhead) return this.optimizer.state(into);
    // Read straight from the trainer's memory, without bringing the float64 optimizer up to
    // date (two more copies of every buffer, 5 MB a checkpoint of 784-100-10 Adam): nothing
    // reads that optimizer while the trainer holds the state.
    const plan = this.#plan;
    const buffers: Record<string, Float64Array> = {};
    stateKeys(this.optimizer).forEach((suffix, k) => {
      const block = this.#f32(plan.state[k]!, plan.total);
      for (const slot of plan.slots) {
        const key = `${slot.name}.${suffix}`;
        const reuse = into?.buffers[key];
        // unpad makes a new array when given none.
        buffers[key] = unpad(
          block,
          slot,
          reuse?.length === slot.rows * slot.cols ? reuse : undefined,
        );
      }
    });
    return { kind: this.optimizer.kind, step: this.#step, buffers };
  }

  /** Bring the float64 optimizer up to date with the trainer's state. */
  #syncOptimizer(): void {
    if (!this.#stateAhead) return;
    const state = this.optimizerState();
    this.optimizer.setState(state);
    this.#stateAhead = false;
  }

  setOptimizerState(state: OptimizerState): void {
    this.optimizer.setState(state);
    this.#pushState();
  }

  setGradients(grads: Params): void {
    const plan = this.#plan;
    const block = this.#f32(plan.halves[0].grads, plan.total);
    this.#unsummed = 0;
    block.fill(0);
    for (const slot of plan.slots) pad(grads[slot.name]!.data, block, slot);
  }

  #pushParams(): void {
    this.#finite = false;
    const plan = this.#plan;
    const params = this.#f32(plan.params, plan.total);
    params.fill(0);
    const host = this.net.params;
    for (const slot of plan.slots) pad(host[slot.name]!.data, params, slot);
    this.#paramsAhead = false;
  }

  #pushState(): void {
    const plan = this.#plan;
    const state = this.optimizer.state();
    this.#step = state.step;
    stateKeys(this.optimizer).forEach((suffix, k) => {
      const block = this.#f32(plan.state[k]!, plan.total);
      block.fill(0);
      for (const slot of plan.slots) {
        const values = state.buffers[`${slot.name}.${suffix}`];
        if (values) pad(values, block, slot);
      }
    });
    this.#stateAhead = false;
  }

  /**
   * Forward and backward pass on a batch (dropout on when `train`): returns the loss, as
   * `net.loss` defines it; the gradient stays in the trainer for {@linkcode update}.
   * Rows of x may be float64 (a Matrix) or float32.
   */
  gradientAndLoss(
    x: Matrix | Float32Rows,
    t: Targets,
    options: { train?: boolean } = {},
  ): number {
    const sizes = this.net.sizes;
    const B = x.rows;
    if (x.cols !== sizes[0]) {
      throw new RangeError(`Expected inputs with ${sizes[0]} features but found ${x.cols}`);
    }
    this.#fit(B);
    this.#f32(this.#plan.x, B * sizes[0]!).set(x.data.subarray(0, B * sizes[0]!));
    return this.#pass(B, t, options, false);
  }

  /**
   * Keep these rows in the trainer's memory, so that steps can name their rows by number
   * ({@linkcode gradientAndLossOfRows}) instead of copying them in; true when they are kept.
   * Rows of more than HELD_ROWS_MAX_BYTES are not: the copy would double their memory.
   * Holding other rows replaces these. Parameters and optimizer state are kept as they are.
   */
  holdRows(rows: Float32Rows): boolean {
    const features = this.net.sizes[0]!;
    if (rows.cols !== features) {
      throw new RangeError(`Expected rows of ${features} features but found ${rows.cols}`);
    }
    const values = rows.rows * features;
    if (rows.data.length < values) {
      throw new RangeError(
        `Expected ${values} values for ${rows.rows} rows but found ${rows.data.length}`,
      );
    }
    if (values * 4 > HELD_ROWS_MAX_BYTES) return false;
    // The layout moves behind the rows.
    this.#relayout(
      this.#plan.capacity,
      { at: FIRST_BYTE, rows: rows.rows },
      () => this.#f32(FIRST_BYTE, values).set(rows.data.subarray(0, values)),
    );
    return true;
  }

  /**
   * {@linkcode gradientAndLoss} on the held rows numbered by `indices` (see
   * {@linkcode holdRows}): the same numbers as on a copy of those rows.
   */
  gradientAndLossOfRows(
    indices: Int32Array,
    t: Targets,
    options: { train?: boolean } = {},
  ): number {
    const held = this.#plan.heldRows;
    if (held === 0) throw new Error("No rows are held: call holdRows first");
    const B = indices.length;
    this.#fit(B);
    const at = this.#views.indices;
    for (let i = 0; i < B; i++) {
      const row = indices[i]!;
      if (!Number.isInteger(row) || row < 0 || row >= held) {
        throw new RangeError(`Expected row numbers in 0..${held - 1} but found ${row} at ${i}`);
      }
      at[i] = row;
    }
    return this.#pass(B, t, options, true);
  }

  /** Room for a batch of B rows. */
  #fit(B: number): void {
    if (B === 0) throw new RangeError("Expected a batch of at least one sample");
    if (B > this.#plan.capacity) this.#grow(Math.max(B, this.#plan.capacity * 2));
  }

  /** The step on B rows in place (in x, or named in indices `byIndex`): the loss. */
  #pass(B: number, t: Targets, options: { train?: boolean }, byIndex: boolean): number {
    const net = this.net;
    const sizes = net.sizes;
    const plan = this.#plan;
    const wasm = this.#wasm;
    this.#writeLabels(t, B);
    const dropping = options.train === true && net.dropout > 0;
    if (dropping) {
      // Drawn here, in one stream and in the float64 pass's order, whichever thread uses them.
      for (let l = 1; l < sizes.length - 1; l++) {
        const stride = plan.strides[l]!;
        net.drawDropoutMask(this.#f32(plan.masks[l - 1]!, B * stride), B, sizes[l]!, stride);
      }
    }
    // Choosing automatically: the Worker loads while the one-thread steps are timed.
    if (this.#choice.current === "auto" && !this.#worker) this.#startWorker();
    const started = performance.now();
    const threads = this.#threadsForStep();
    this.#runHalves(threads, B, dropping, PASS.training, byIndex);
    this.#choice.record(threads, performance.now() - started);
    const grads = plan.halves[0].grads;
    // The loss in float64 from each sample's probability of its label, the 1e-7 included.
    // Row by row in batch order, wherever the second half's rows are (no pair or iterator
    // made here: this runs every step).
    const picked = this.#views.picked;
    const firstHalf = picked[0];
    const second = picked[this.#spareUsed ? 2 : 1];
    const first = firstRow(1, B);
    let loss = 0;
    for (let i = 0; i < first; i++) loss -= Math.log(firstHalf[i]! + 1e-7);
    for (let i = first; i < B; i++) loss -= Math.log(second[i - first]! + 1e-7);
    loss /= B;
    if (net.weightDecay > 0) {
      this.#sumGradient();
      let squares = 0;
      for (const slot of plan.slots) {
        if (!slot.isWeight) continue;
        const size = slot.paddedRows * slot.stride;
        const W = plan.params + slot.offset * 4;
        wasm.axpy(grads + slot.offset * 4, W, size, net.weightDecay);
        squares += wasm.sum_squares(W, size);
      }
      loss += 0.5 * net.weightDecay * squares;
    }
    return loss;
  }

  /**
   * The network's output for x (inference: no dropout) from the parameters held here, in
   * batches of the trainer's capacity split over its threads; softmax in float64.
   */
  predict(x: Matrix | Float32Rows): Matrix {
    const sizes = this.net.sizes;
    if (x.cols !== sizes[0]) {
      throw new RangeError(`Expected inputs with ${sizes[0]} features but found ${x.cols}`);
    }
    const plan = this.#plan;
    const L = sizes.length - 1;
    const nOut = sizes[L]!;
    const stride = plan.strides[L]!;
    const out = new Matrix(x.rows, nOut);
    const threads = this.#choice.current === 2 && this.#workerUp() ? 2 : 1;
    for (let start = 0; start < x.rows; start += plan.capacity) {
      const B = Math.min(plan.capacity, x.rows - start);
      this.#f32(plan.x, B * sizes[0]!).set(
        x.data.subarray(start * sizes[0]!, (start + B) * sizes[0]!),
      );
      this.#runHalves(threads, B, false, PASS.inference);
      // The logits, unpadded, into the output rows.
      for (const half of [0, 1] as const) {
        const [from, to] = halfRows(half, B);
        const ws = half === 1 && this.#spareUsed ? plan.spare : plan.halves[half];
        const logits = this.#f32(ws.a[L - 1]!, (to - from) * stride);
        for (let i = from; i < to; i++) {
          const row = logits.subarray((i - from) * stride, (i - from) * stride + nOut);
          out.data.set(row, (start + i) * nOut);
        }
      }
    }
    softmaxRows(out.data, out.data, x.rows, nOut);
    return out;
  }

  /** The last gradient as float64 matrices shaped like the parameters (copies). */
  gradients(): Params {
    this.#sumGradient();
    const plan = this.#plan;
    const g = this.#f32(plan.halves[0].grads, plan.total);
    const out: Params = {};
    for (const slot of plan.slots) {
      out[slot.name] = new Matrix(slot.rows, slot.cols, unpad(g, slot));
    }
    return out;
  }

  /** Scale the gradient to norm maxNorm when its L2 norm is larger; returns the norm. */
  clipGradient(maxNorm: number): number {
    this.#sumGradient();
    const { total, halves } = this.#plan;
    const norm = Math.sqrt(this.#wasm.sum_squares(halves[0].grads, total));
    if (norm > maxNorm) this.#wasm.scale(halves[0].grads, total, maxNorm / norm);
    return norm;
  }

  /** Apply the optimizer (its current learning rate) to the last gradient. */
  update(): void {
    const o = this.optimizer;
    const wasm = this.#wasm;
    const plan = this.#plan;
    const args = this.#views.args;
    this.#step++;
    if (o instanceof Adam) {
      args[ARG.kind] = OPTIMIZER.adam;
      args[ARG.rate] = (o.learningRate * Math.sqrt(1 - o.beta2 ** this.#step)) /
        (1 - o.beta1 ** this.#step);
      args[ARG.first] = o.beta1;
      args[ARG.second] = o.beta2;
    } else if (o instanceof Momentum) {
      args[ARG.kind] = OPTIMIZER.momentum;
      args[ARG.rate] = o.learningRate;
      args[ARG.first] = o.momentum;
    } else {
      args[ARG.kind] = o instanceof AdaGrad ? OPTIMIZER.adagrad : OPTIMIZER.sgd;
      args[ARG.rate] = o.learningRate;
    }
    const sumFrom = this.#unsummed;
    this.#unsummed = 0;
    // Each share looks at its parameters while they are in the cache: firstNonFinite answers
    // from that.
    if (this.#shareUpdate && this.#worker) this.#sharedUpdate(sumFrom);
    else {
      const first = updateShare(wasm, plan, args, 0, sumFrom);
      this.#finite = updateShare(wasm, plan, args, 1, sumFrom) && first;
    }
    this.#shareUpdate = false;
    this.#paramsAhead = true;
    this.#stateAhead = true;
  }

  /** The first parameter (W1, b1, …) holding NaN or ±Infinity, if any. */
  firstNonFinite(): string | undefined {
    if (this.#finite) return undefined;
    for (const slot of this.#plan.slots) {
      const size = slot.paddedRows * slot.stride;
      if (this.#wasm.non_finite(this.#plan.params + slot.offset * 4, size)) return slot.name;
    }
    return undefined;
  }

  /** Stop the Worker, if there is one. The trainer still works, in this thread. */
  dispose(): void {
    this.#stopWorker();
    this.#choice.fixOne();
    this.#syncOptimizer();
  }

  /** Both halves of a batch, on one thread or two. */
  #runHalves(threads: 1 | 2, B: number, dropping: boolean, pass: Pass, byIndex = false): void {
    const indices = byIndex ? this.#views.indices : null;
    this.#spareUsed = false;
    if (threads === 2) this.#runBothThreads(B, dropping, pass, indices);
    else {
      // Both halves here, the second in the Worker's workspace: not while the Worker (still
      // there while `auto` times the threads) may be writing it for a request raced for.
      if (this.#worker) this.#settleWorker();
      computeHalf(this.#wasm, this.#plan, 0, B, dropping, pass, indices, this.#products);
      computeHalf(this.#wasm, this.#plan, 1, B, dropping, pass, indices, this.#products);
    }
    // The batch's gradient is the first half's plus the second's, always in that order (one
    // row leaves the second half empty): added by the update, each thread its share, or by
    // #sumGradient for whatever reads the gradient first.
    if (pass === PASS.training) {
      const { halves, spare } = this.#plan;
      this.#unsummed = B > 1 ? (this.#spareUsed ? spare : halves[1]).grads : 0;
      this.#shareUpdate = threads === 2;
    }
  }

  /** The second half's gradient added into the first's, if it is not yet (on this thread). */
  #sumGradient(): void {
    if (this.#unsummed === 0) return;
    const { halves, total } = this.#plan;
    this.#wasm.axpy(halves[0].grads, this.#unsummed, total, 1);
    this.#unsummed = 0;
  }

  /**
   * The update in two shares, the Worker's the second: as with a half, this thread takes it on
   * when the Worker has not started on it by the time the first is done, and otherwise waits
   * for it (a share is written in place: it cannot be raced for). With a busy process on one
   * of the two cores, `auto` chooses one thread (at first, or when it times the threads again),
   * and then no update is shared.
   */
  #sharedUpdate(sumFrom: number): void {
    const control = this.#views.control;
    const wasm = this.#wasm;
    const plan = this.#plan;
    const args = this.#views.args;
    control[CONTROL.sumFrom] = sumFrom;
    const request = ++this.#request;
    Atomics.store(control, CONTROL.update, request);
    Atomics.store(control, CONTROL.request, request);
    Atomics.notify(control, CONTROL.request);
    const first = updateShare(wasm, plan, args, 0, sumFrom);
    let second: boolean;
    if (this.#handOff !== "wait" && claim(control, request)) {
      second = updateShare(wasm, plan, args, 1, sumFrom);
      this.#updateShares.taken++;
    } else {
      this.#waitForWorker(CONTROL.done, request);
      second = control[CONTROL.nonFinite] === 0;
      this.#updateShares.worker++;
    }
    this.#finite = first && second;
  }

  /**
   * The thread count of the next step: the choice's, on one thread while the Worker loads.
   * Choosing, the one-thread steps come first; the Worker loads meanwhile. A Worker that
   * `auto` does not use for now stays, asleep, for the next choice.
   */
  #threadsForStep(): 1 | 2 {
    return this.#choice.wanted() === 2 && this.#workerUp() ? 2 : 1;
  }

  #startWorker(): void {
    this.#generation++;
    // A new layout's control words hold whatever was there before: the Worker starts with no
    // request done or claimed, and no hold.
    const control = this.#views.control;
    Atomics.store(control, CONTROL.done, this.#request);
    Atomics.store(control, CONTROL.claimed, this.#request);
    Atomics.store(control, CONTROL.holdMs, 0);
    this.#abandoned = 0;
    this.#workerStarted = performance.now();
    this.#worker = new Worker(new URL("./wasm_trainer_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const start: WorkerStart = {
      memory: this.#memory,
      module: stepModule(),
      plan: this.#plan,
      generation: this.#generation,
      seen: this.#request,
    };
    this.#worker.postMessage(start);
  }

  /**
   * Whether the Worker is up, without waiting: a Worker may need this thread's event loop to
   * load, so blocking on it could wait out the whole deadline. Until it is up, steps run on
   * one thread, which gives the same numbers. A Worker that failed, or did not start within
   * WORKER_START_MS, is stopped: an error with `threads: 2`, one thread from then on otherwise.
   */
  #workerUp(): boolean {
    if (!this.#worker) this.#startWorker();
    const control = this.#views.control;
    if (Atomics.load(control, CONTROL.ready) === this.#generation) return true;
    const failed = Atomics.load(control, CONTROL.failed) === this.#generation;
    if (failed || performance.now() - this.#workerStarted > WORKER_START_MS) {
      this.#stopWorker();
      if (!this.#choice.choosing) {
        throw new Error(
          "the WebAssembly trainer's Worker did not start; train with threads: 1 instead",
        );
      }
      this.#choice.fixOne();
    }
    return false;
  }

  /**
   * The second half in the Worker, the first here; returns when both are done. A Worker that
   * has not started on its half by the time this thread's is done (set aside by the scheduler,
   * or asleep) leaves it to this thread, and one that is late with it is raced for it in the
   * spare workspace: a 2-vCPU machine gives a third thread (V8 compiling, another process) one
   * of the two cores for up to milliseconds, and 31–105 of 2,283 requests of a 784-50-10 run
   * through the CLI waited 0.3 ms or more for the Worker, 44–148 ms in all, for steps of 0.2 ms.
   */
  #runBothThreads(B: number, dropping: boolean, pass: Pass, indices: Int32Array | null): void {
    const plan = this.#plan;
    const control = this.#views.control;
    control[CONTROL.rows] = B;
    control[CONTROL.dropping] = dropping ? 1 : 0;
    control[CONTROL.pass] = pass;
    control[CONTROL.byIndex] = indices ? 1 : 0;
    const request = ++this.#request;
    Atomics.store(control, CONTROL.request, request);
    Atomics.notify(control, CONTROL.request);
    const started = performance.now();
    computeHalf(this.#wasm, plan, 0, B, dropping, pass, indices, this.#products);
    const own = performance.now() - started;
    const done = Atomics.load(control, CONTROL.done);
    const counts = this.#secondHalves;
    if (done === request) {
      counts.worker++;
      return;
    }
    if (Atomics.load(control, CONTROL.failed) === this.#generation) this.#workerFailed();
    if (this.#handOff === "wait") {
      this.#waitForWorker(CONTROL.done, request);
      counts.worker++;
      return;
    }
    const race = this.#race;
    race.request = request;
    if (this.#handOff === "race") this.#waitForWorker(CONTROL.claimed, request);
    else if (claim(control, request)) {
      // Not started: this thread's, in the Worker's workspace unless the Worker is still
      // writing there for a request it was raced for (never done: it was claimed here).
      const behind = done < this.#abandoned;
      computeHalf(
        this.#wasm,
        plan,
        1,
        B,
        dropping,
        pass,
        indices,
        this.#products,
        behind ? race : null,
      );
      this.#spareUsed = behind;
      counts.taken++;
      return;
    }
    // The Worker has it in hand: give it half as long again as this thread took, then race it.
    const now = Atomics.load(control, CONTROL.done);
    if (
      now !== request && !watch(control, CONTROL.done, now, own * RACE_AFTER) &&
      computeHalf(this.#wasm, plan, 1, B, dropping, pass, indices, this.#products, race)
    ) {
      this.#spareUsed = true;
      this.#abandoned = request;
      counts.raced++;
    } else counts.worker++;
  }

  /**
   * Wait until the Worker's `word` (done, or claimed) is `request`, looking for its failure
   * meanwhile.
   */
  #waitForWorker(word: number, request: number): void {
    const control = this.#views.control;
    const deadline = performance.now() + HALF_STEP_MS;
    for (let seen; (seen = Atomics.load(control, word)) !== request;) {
      const failed = Atomics.load(control, CONTROL.failed) === this.#generation;
      if (failed || performance.now() > deadline) this.#workerFailed();
      if (!watch(control, word, seen, WATCH_MS)) {
        Atomics.wait(control, word, seen, FAILURE_CHECK_MS);
      }
    }
  }

  /** A failed Worker: stopped, and an error that says what to do. */
  #workerFailed(): never {
    this.#stopWorker();
    throw new Error("the WebAssembly trainer's Worker failed; train with threads: 1 instead");
  }

  #makeViews(): void {
    const { control, indices, labels, halves, spare, capacity } = this.#plan;
    const perHalf = Math.ceil(capacity / 2);
    const buffer = this.#memory.buffer;
    this.#views = {
      control: new Int32Array(buffer, control, CONTROL_WORDS),
      indices: new Int32Array(buffer, indices, capacity),
      labels: new Int32Array(buffer, labels, capacity),
      picked: [
        new Float32Array(buffer, halves[0].picked, perHalf),
        new Float32Array(buffer, halves[1].picked, perHalf),
        new Float32Array(buffer, spare.picked, perHalf),
      ],
      args: new Float64Array(buffer, this.#plan.args, ARG_VALUES),
    };
    this.#race = { control: this.#views.control, request: 0 };
  }

  /**
   * Wait for a Worker still on a request raced for: it writes its workspace until it is done,
   * and nothing may use that workspace (or lay the memory out anew) before. Returns at once
   * when it is not (a failed or hung Worker is not waited for).
   */
  #settleWorker(): void {
    const control = this.#views.control;
    const deadline = performance.now() + HALF_STEP_MS;
    for (let done; (done = Atomics.load(control, CONTROL.done)) < this.#abandoned;) {
      if (Atomics.load(control, CONTROL.failed) === this.#generation) break;
      if (performance.now() > deadline) break;
      Atomics.wait(control, CONTROL.done, done, FAILURE_CHECK_MS);
    }
  }

  #stopWorker(): void {
    if (!this.#worker) return;
    const control = this.#views.control;
    this.#shareUpdate = false;
    this.#settleWorker();
    // Stop, then a new request value so that a waiting Worker wakes and sees the stop.
    Atomics.store(control, CONTROL.stop, this.#generation);
    Atomics.store(control, CONTROL.request, ++this.#request);
    Atomics.notify(control, CONTROL.request);
    this.#worker.terminate();
    this.#worker = null;
  }

  /** A larger workspace: everything is copied back, laid out again and copied in. */
  #grow(capacity: number): void {
    const { held, heldRows } = this.#plan;
    this.#relayout(capacity, { at: held, rows: heldRows });
  }

  /**
   * Lay the trainer out again for `capacity` rows after these held rows: the parameters and
   * the optimizer's state go back to the network and optimizer (the copies read the old
   * layout), `fill` writes what the new layout leaves before it, and the state comes in again.
   */
  #relayout(capacity: number, held: { at: number; rows: number }, fill = () => {}): void {
    this.#stopWorker();
    this.readParams();
    this.#syncOptimizer();
    this.#plan = planStep(this.net.sizes, this.#plan.kind, capacity, held, this.#plan.blas);
    const needed = Math.ceil(this.#plan.bytes / PAGE_BYTES) -
      this.#memory.buffer.byteLength / PAGE_BYTES;
    if (needed > 0) this.#memory.grow(needed);
    this.#makeViews();
    fill();
    this.push();
  }

  #writeLabels(t: Targets, B: number): void {
    const nOut = this.net.sizes.at(-1)!;
    const labels = this.#views.labels;
    if (t instanceof Matrix) {
      if (t.rows !== B || t.cols !== nOut) {
        throw new RangeError(`Expected ${B}×${nOut} one-hot targets but found ${t.rows}×${t.cols}`);
      }
      for (let i = 0; i < B; i++) {
        let label = -1;
        for (let k = 0; k < nOut; k++) {
          const v = t.data[i * nOut + k]!;
          if (v === 1 && label === -1) label = k;
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

  #f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.#memory.buffer, offset, length);
  }
}

/** Row-major host values of a parameter into its padded place in a block. */
function pad(values: ArrayLike<number>, block: Float32Array, slot: Slot): void {
  for (let i = 0; i < slot.rows; i++) {
    for (let j = 0; j < slot.cols; j++) {
      block[slot.offset + i * slot.stride + j] = values[i * slot.cols + j]!;
    }
  }
}

/** A parameter's values from its padded place in a block, row-major (into `out` if given). */
function unpad(
  block: Float32Array,
  slot: Slot,
  out: Float64Array = new Float64Array(slot.rows * slot.cols),
): Float64Array {
  for (let i = 0; i < slot.rows; i++) {
    for (let j = 0; j < slot.cols; j++) {
      out[i * slot.cols + j] = block[slot.offset + i * slot.stride + j]!;
    }
  }
  return out;
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
