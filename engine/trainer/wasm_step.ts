/**
 * The shared part of the resident WebAssembly trainer: the memory layout of one network
 * (a {@linkcode StepPlan}, plain data that a Worker can be sent) and the forward and backward
 * pass over one half of a batch ({@linkcode runHalf}), which the trainer's thread and its
 * Worker run on the same shared memory.
 *
 * Every batch is split in two halves, and the gradient is always the sum of the two halves'
 * gradients in the same order, whether one thread computes both or two threads compute one
 * each: the result does not depend on the number of threads.
 * @module
 */
import { TRAIN_STEP_WASM } from "./train_step_binary.ts";
import { moduleBytes } from "../kernels/wasm_kernels.ts";

/** The exports of engine/trainer/train_step.wat (pointers are byte offsets). */
export interface StepExports {
  copy_rows(base: number, indices: number, count: number, bytes: number, out: number): void;
  repeat_row(row: number, bytes: number, count: number, out: number): void;
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
  activate(kind: ActivationKind, a: number, h: number, count: number): void;
  activate_backward(
    kind: ActivationKind,
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

/**
 * Dense single-precision products on the shared memory (pointers are byte offsets), as BLAS's
 * sgemm computes them for row-major matrices: C = op(A)·op(B) + beta·C, op transposing or not.
 * A step hands a layer's products to them when its plan says so ({@linkcode StepPlan.blas}).
 */
export interface DenseProducts {
  readonly gemm: Gemm;
}

/** C = op(A)·op(B) + beta·C for row-major A (m×k after op), B (k×n) and C (m×n). */
export type Gemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  beta: 0 | 1,
  c: number,
  ldc: number,
) => void;

/** The hidden activations as the module numbers them. */
export const ACTIVATION_KIND = { sigmoid: 0, relu: 1, tanh: 2, step: 3 } as const;
/** One of the module's activation numbers. */
export type ActivationKind = (typeof ACTIVATION_KIND)[keyof typeof ACTIVATION_KIND];

/** What a request asks of a half of a batch (the control word `pass`). */
export const PASS = {
  /** The training step's forward and backward pass. */
  training: 0,
  /** The forward pass only: inference, no dropout. */
  inference: 1,
} as const;
/** A value of {@linkcode PASS}. */
export type Pass = (typeof PASS)[keyof typeof PASS];

/**
 * How long a thread watches a control word before it sleeps, in milliseconds. Waking a
 * sleeping thread costs far more here than a step's work: on a 2-vCPU virtual machine the
 * Worker's half of a 784-50-10 step finished 175 µs after the main thread's when it had slept
 * (0.2 ms of watching, which the CLI's 0.14–0.2 ms between steps outlasted), and 35 µs after
 * with 1 ms of watching, for 0.26 ms steps instead of 0.40 ms.
 */
export const WATCH_MS = 1;
/**
 * Reads of the word between two reads of the clock while watching: `performance.now()` is a
 * call into the runtime, and reading it on every turn took 4 % of a CLI run's profile.
 */
const TURNS_PER_CLOCK_READ = 256;

/**
 * Watch `control[index]` until it is no longer `value` or `ms` have passed, reading the clock
 * every TURNS_PER_CLOCK_READ turns; whether it changed.
 */
export function watch(control: Int32Array, index: number, value: number, ms: number): boolean {
  const until = performance.now() + ms;
  for (let turn = 1; Atomics.load(control, index) === value; turn++) {
    if (turn % TURNS_PER_CLOCK_READ === 0 && performance.now() > until) return false;
  }
  return true;
}

/**
 * The Int32 control words, indices into the plan's control area. Every Worker the trainer
 * starts has a generation number; the words that name one (ready, failed, stop) hold it, so a
 * stopped Worker that is still waking up can never take a request meant for its successor.
 */
export const CONTROL = {
  /** The trainer's request counter: only ever increases. */
  request: 0,
  rows: 1,
  dropping: 2,
  /** The last request the worker finished. */
  done: 3,
  /** The generation of a worker that could not start, or whose half failed. */
  failed: 4,
  /** The generation of the worker that is ready. */
  ready: 5,
  /** Workers of this generation and older stop. */
  stop: 6,
  /** What a request asks for: a {@linkcode PASS}. */
  pass: 7,
  /** 1 when the batch's inputs are held rows named by the plan's `indices`, 0 for `x`. */
  byIndex: 8,
  /**
   * The last request whose second half a thread took on: the Worker, or the trainer when the
   * Worker had not started on it by the time the first half was done. It only increases.
   */
  claimed: 9,
  /**
   * Milliseconds the Worker waits after taking on a request (a half, or a share of an update)
   * before reading what it asks (0: none), as a Worker set aside by the scheduler would: for
   * tests of the hand-off only.
   */
  holdMs: 10,
  /**
   * The last request that asks for the second share of an update (see
   * {@linkcode updateShare}); any other request asks for a half. A thread tells the two apart
   * by the request it claimed, never by a word the trainer may have rewritten for a later one.
   */
  update: 11,
  /** The byte offset of the second half's gradient that an update share adds first (0: none). */
  sumFrom: 12,
  /** 1 when the Worker's update share left a parameter NaN or ±Infinity, else 0. */
  nonFinite: 13,
} as const;

/** The optimizers of an update share, as the `kind` argument numbers them. */
export const OPTIMIZER = { sgd: 0, momentum: 1, adagrad: 2, adam: 3 } as const;

/**
 * The float64 arguments of an update, in the plan's `args` area: the optimizer's kind
 * ({@linkcode OPTIMIZER}), its step's learning rate (Adam's with the bias corrections), and
 * momentum's μ or Adam's β1 and β2.
 */
export const ARG = { kind: 0, rate: 1, first: 2, second: 3 } as const;

/** Float64 values in the plan's `args` area. */
export const ARG_VALUES = 8;

/**
 * Floats a share of an update starts on a multiple of: 16 float32 are a 64-byte cache line, so
 * the two threads never write the same line (the parameter block starts on one).
 */
const SHARE_ALIGN = 16;

/** The first float of the second share of an update of `total` floats. */
export function shareSplit(total: number): number {
  return Math.round(total / 2 / SHARE_ALIGN) * SHARE_ALIGN;
}

/**
 * One thread's share of an update, after both halves of the batch: the second half's gradient
 * (at byte `sumFrom`; 0 when there is none to add) added into the first half's, and the
 * optimizer's step on those parameters, share 0 the floats before {@linkcode shareSplit},
 * share 1 the rest. Every kernel works float by float, so shares give the bits of the whole.
 * Returns whether the share's parameters are all finite afterwards.
 *
 * Why shares: the Worker reads every parameter in its half, so the trainer's thread writing
 * them all invalidates a copy in the other core's cache line by line. An SGD update of
 * 784-100-10 took 50 µs on two threads against 21 µs on one (2-vCPU AMD EPYC).
 */
export function updateShare(
  wasm: StepExports,
  plan: StepPlan,
  args: Float64Array,
  share: 0 | 1,
  sumFrom: number,
): boolean {
  const split = shareSplit(plan.total);
  const from = share === 0 ? 0 : split;
  const count = (share === 0 ? split : plan.total) - from;
  if (count === 0) return true;
  const p = plan.params + from * 4;
  const g = plan.halves[0].grads + from * 4;
  const s1 = plan.state[0] + from * 4;
  const s2 = plan.state[1] + from * 4;
  if (sumFrom !== 0) wasm.axpy(g, sumFrom + from * 4, count, 1);
  const rate = args[ARG.rate]!;
  switch (args[ARG.kind]) {
    case OPTIMIZER.adam:
      wasm.adam(p, g, s1, s2, count, rate, args[ARG.first]!, args[ARG.second]!);
      break;
    case OPTIMIZER.momentum:
      wasm.momentum(p, g, s1, count, rate, args[ARG.first]!);
      break;
    case OPTIMIZER.adagrad:
      wasm.adagrad(p, g, s1, count, rate);
      break;
    default:
      wasm.sgd(p, g, count, rate);
  }
  return wasm.non_finite(p, count) === 0;
}

/** Int32 words in the plan's control area. */
export const CONTROL_WORDS = 16;

/**
 * Take on `request` (a batch's second half, or an update's second share) for this thread:
 * whether it is this thread's to compute (false when the other thread took it on first, or a
 * later request is already out).
 */
export function claim(control: Int32Array, request: number): boolean {
  const last = Atomics.load(control, CONTROL.claimed);
  return last < request &&
    Atomics.compareExchange(control, CONTROL.claimed, last, request) === last;
}

/** What the trainer sends a new Worker. */
export interface WorkerStart {
  memory: WebAssembly.Memory;
  /**
   * The trainer's compiled module: a Worker that compiled its own started in the baseline
   * compiler, and its first two-thread steps of 784-100-10 averaged 0.45–0.66 ms where later
   * ones took 0.35. Sent, it is one module in both threads, with the code the trainer's
   * steps have optimised already.
   */
  module: WebAssembly.Module;
  plan: StepPlan;
  generation: number;
  /** The request counter when it starts: it serves the requests after it. */
  seen: number;
}

/** Pages of 64 KiB the shared memory may grow to (1 GiB). */
export const MAX_PAGES = 16384;

let compiled: WebAssembly.Module | null = null;

function stepBytes(): Uint8Array<ArrayBuffer> {
  return moduleBytes(TRAIN_STEP_WASM);
}

/** The compiled module (compiled once per thread). */
export function stepModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(stepBytes());
  return compiled;
}

let available: boolean | null = null;

/**
 * Whether this runtime runs the training-step module: SIMD with its relaxed instructions, and
 * shared memory.
 */
export function stepModuleAvailable(): boolean {
  if (available === null) {
    try {
      available = WebAssembly.validate(stepBytes()) &&
        new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof
          SharedArrayBuffer;
    } catch {
      available = false;
    }
  }
  return available;
}

/** An instance of the module (this thread's own compiled one unless given) on the memory. */
export function instantiate(
  memory: WebAssembly.Memory,
  module: WebAssembly.Module = stepModule(),
): StepExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as StepExports;
}

/** One parameter's place: host shape, padded shape, float offset inside a parameter block. */
export interface Slot {
  name: string;
  rows: number;
  cols: number;
  paddedRows: number;
  stride: number;
  offset: number;
  isWeight: boolean;
}

/** The per-half arrays: its gradient block and its workspace (byte offsets). */
export interface Half {
  grads: number;
  /**
   * Each of its rows' probability of its label (float32): per half, not one array for the
   * batch, so that a Worker still on an earlier batch's half (of another size) never writes
   * rows the trainer's thread is reading.
   */
  picked: number;
  /** Each layer's input, gathered: non-zero positions and values per row, and their count. */
  pos: number[];
  val: number[];
  counts: number[];
  /** The same by column, for the weight gradient. */
  colPos: number;
  colVal: number;
  starts: number;
  a: number[];
  h: number[];
  z: number[];
  da: number[];
  dz: number[];
}

/** Where everything lives for one network and batch capacity. */
export interface StepPlan {
  sizes: number[];
  /** Row widths: the input as is, every layer padded to a multiple of 4. */
  strides: number[];
  kind: ActivationKind;
  /** Per layer l (from 0 for W1, b1): where its weights and bias start in a block, in floats. */
  weights: number[];
  biases: number[];
  /**
   * Per layer: whether its products go to the dense products (OpenBLAS) instead of the
   * module's, which skip the zeros of the layer's input. Both threads follow it.
   */
  blas: boolean[];
  slots: Slot[];
  /** Floats in a parameter (or gradient, or state) block. */
  total: number;
  params: number;
  state: [number, number];
  capacity: number;
  /** Whole-batch arrays. */
  x: number;
  /** The batch's row numbers in the held rows, when it names them instead of filling x. */
  indices: number;
  labels: number;
  masks: number[];
  halves: [Half, Half];
  /**
   * A second workspace for the batch's second half: where the trainer's thread computes that
   * half when the Worker is late with it (the Worker may still be writing its own).
   */
  spare: Half;
  /** Int32 words for the two threads to signal each other. */
  control: number;
  /** Float64 arguments of an update shared by the two threads ({@linkcode ARG}). */
  args: number;
  /**
   * Rows held in the trainer's memory for steps that name their rows (at `held`, before the
   * layout; 0: none), and how many.
   */
  held: number;
  heldRows: number;
  /** Bytes the layout needs. */
  bytes: number;
}

const pad4 = (n: number) => Math.ceil(n / 4) * 4;

/** The first byte a layout uses: the first 4 KiB stay unused so that pointer 0 means none. */
export const FIRST_BYTE = 4096;

/** Rows of the batch that half `half` of B rows takes: [from, to). */
export function halfRows(half: 0 | 1, B: number): [number, number] {
  const from = firstRow(half, B);
  return [from, from + rowsOf(half, B)];
}

/**
 * The layout of a network with these sizes and activation for batches of up to `capacity`,
 * after `heldRows` input rows held at byte `held` (0: none), with the layers that `blas`
 * marks computing their products by dense products.
 */
export function planStep(
  sizes: readonly number[],
  kind: ActivationKind,
  capacity: number,
  held = { at: 0, rows: 0 },
  blas: readonly boolean[] = [],
): StepPlan {
  const L = sizes.length - 1;
  const strides = sizes.map((n, l) => (l === 0 ? n : pad4(n)));
  const slots: Slot[] = [];
  let total = 0;
  for (let l = 1; l <= L; l++) {
    const stride = strides[l]!;
    const paddedRows = strides[l - 1]!;
    slots.push({
      name: `W${l}`,
      rows: sizes[l - 1]!,
      cols: sizes[l]!,
      paddedRows,
      stride,
      offset: total,
      isWeight: true,
    });
    total += paddedRows * stride;
    slots.push({
      name: `b${l}`,
      rows: 1,
      cols: sizes[l]!,
      paddedRows: 1,
      stride,
      offset: total,
      isWeight: false,
    });
    total += stride;
  }
  // Each array starts one cache line further from a 4 KiB boundary than the previous one:
  // arrays whose sizes are multiples of 4 KiB (784 floats × 128 rows is) would otherwise
  // alias in the store buffer and stall loads on unrelated stores. The layout starts after
  // the held rows, and never in the first 4 KiB (pointer 0 means "none": no bias, no rows).
  let at = Math.max(FIRST_BYTE, held.at + held.rows * sizes[0]! * 4);
  let line = 0;
  const take = (floats: number) => {
    at = Math.ceil(at / 4096) * 4096 + (line++ % 64) * 64;
    const offset = at;
    at += pad4(floats) * 4;
    return offset;
  };
  const control = take(CONTROL_WORDS);
  const params = take(total);
  const state: [number, number] = [take(total), take(total)];
  const layers = strides.slice(1);
  const inputs = strides.slice(0, -1);
  const widest = Math.max(...inputs);
  const x = take(capacity * sizes[0]!);
  const indices = take(capacity);
  const labels = take(capacity);
  const masks = layers.map((n) => take(capacity * n));
  const rows = Math.ceil(capacity / 2);
  const half = (): Half => ({
    grads: take(total),
    pos: inputs.map((n) => take(rows * n)),
    val: inputs.map((n) => take(rows * n)),
    counts: inputs.map(() => take(rows)),
    colPos: take(rows * widest),
    colVal: take(rows * widest),
    starts: take(widest + 1),
    a: layers.map((n) => take(rows * n)),
    h: layers.map((n) => take(rows * n)),
    z: layers.map((n) => take(rows * n)),
    da: layers.map((n) => take(rows * n)),
    dz: layers.map((n) => take(rows * n)),
    picked: take(rows),
  });
  const halves: [Half, Half] = [half(), half()];
  const spare = half();
  const args = take(ARG_VALUES * 2);
  return {
    sizes: [...sizes],
    strides,
    kind,
    weights: slots.filter((s) => s.isWeight).map((s) => s.offset),
    biases: slots.filter((s) => !s.isWeight).map((s) => s.offset),
    blas: sizes.slice(1).map((_, l) => blas[l] ?? false),
    slots,
    total,
    params,
    state,
    capacity,
    x,
    labels,
    masks,
    halves,
    spare,
    control,
    args,
    held: held.at,
    heldRows: held.rows,
    indices,
    bytes: at,
  };
}

/** The first row of half `half` of a batch of B rows (a number, not halfRows' pair: per step). */
export function firstRow(half: 0 | 1, B: number): number {
  return half === 0 ? 0 : Math.ceil(B / 2);
}

/** The rows in half `half` of a batch of B rows. */
function rowsOf(half: 0 | 1, B: number): number {
  return half === 0 ? Math.ceil(B / 2) : B - Math.ceil(B / 2);
}

/**
 * Whether layer l's products go to `products`: the plan says which, and a thread that should
 * have them but has none fails rather than computing other numbers than its partner.
 */
function dense(
  plan: StepPlan,
  l: number,
  products: DenseProducts | null,
): products is DenseProducts {
  if (!plan.blas[l - 1]) return false;
  if (!products) throw new Error(`Layer ${l} computes by dense products, and this thread has none`);
  return true;
}

/**
 * Where layer l's input rows for half `half` are, one after another: x's rows or, for rows
 * named by index, their copy in the half's workspace (made by a dense layer 1's forward pass);
 * a hidden layer's output, masked when dropping.
 */
function denseInput(
  plan: StepPlan,
  ws: Half,
  l: number,
  from: number,
  dropping: boolean,
  byIndex: boolean,
): number {
  if (l > 1) return dropping ? ws.z[l - 2]! : ws.h[l - 2]!;
  return byIndex ? ws.val[0]! : plan.x + from * plan.sizes[0]! * 4;
}

/**
 * The forward pass over half `half` of a batch of B rows, up to the output layer's
 * pre-activations (in the half's `a[L - 1]`, rows padded to the output stride). The inputs
 * are x's rows, or the held rows that `indices` (the whole batch's) names: each thread then
 * reads its own rows straight from where they are held, and no thread copies the batch
 * (unless its first layer computes by dense products, which want the rows side by side).
 */
export function forward(
  wasm: StepExports,
  plan: StepPlan,
  half: 0 | 1,
  B: number,
  dropping: boolean,
  indices: Int32Array | null = null,
  products: DenseProducts | null = null,
  race: Race | null = null,
): boolean {
  // No objects made here: this runs twice a step, and every allocation of a step is garbage
  // collection a thousand steps later (12 µs a step of 784-50-10 through the CLI).
  const from = firstRow(half, B);
  const rows = rowsOf(half, B);
  if (rows === 0) return true;
  const ws = race ? plan.spare : plan.halves[half];
  const { sizes, strides, kind } = plan;
  const L = sizes.length - 1;
  let nIn = sizes[0]!;
  for (let l = 1; l <= L; l++) {
    if (race && workerDone(race)) return false;
    const stride = strides[l]!;
    const W = plan.params + plan.weights[l - 1]! * 4;
    const b = plan.params + plan.biases[l - 1]! * 4;
    const a = ws.a[l - 1]!;
    if (dense(plan, l, products)) {
      const bytes = nIn * 4;
      const input = denseInput(plan, ws, l, from, dropping, indices !== null);
      if (l === 1 && indices) {
        wasm.copy_rows(plan.held, plan.indices + from * 4, rows, bytes, input);
      }
      // The bias in every row, and the product added to it. (Copies in the module: a typed
      // array's copyWithin on shared memory took 55 µs of a 784-50-10 step's 0.3 ms.)
      wasm.repeat_row(b, stride * 4, rows, a);
      products.gemm(false, false, rows, stride, nIn, input, nIn, W, stride, 1, a, stride);
    } else {
      const pos = ws.pos[l - 1]!;
      const val = ws.val[l - 1]!;
      const counts = ws.counts[l - 1]!;
      if (l === 1 && indices) {
        const bytes = nIn * 4;
        for (let i = 0; i < rows; i++) {
          const row = plan.held + indices[from + i]! * bytes;
          wasm.gather_rows(row, 1, nIn, pos + i * bytes, val + i * bytes, counts + i * 4);
        }
      } else {
        const input = denseInput(plan, ws, l, from, dropping, false);
        wasm.gather_rows(input, rows, nIn, pos, val, counts);
      }
      wasm.dense_forward(pos, val, counts, rows, nIn, W, stride, b, a);
    }
    if (l === L) break;
    wasm.activate(kind, a, ws.h[l - 1]!, rows * stride);
    // sigmoid(0) = 0.5 would leak into the padding; the other activations keep it 0.
    if (kind === ACTIVATION_KIND.sigmoid && stride !== sizes[l]) {
      wasm.clear_columns(ws.h[l - 1]!, rows, sizes[l]!, stride);
    }
    if (dropping) {
      wasm.multiply(
        ws.h[l - 1]!,
        plan.masks[l - 1]! + from * stride * 4,
        ws.z[l - 1]!,
        rows * stride,
      );
    }
    nIn = stride;
  }
  return true;
}

/**
 * The trainer's thread computing the second half in the plan's spare workspace while the
 * Worker computes it too: it stops between two layers once the Worker's `request` is done.
 */
export interface Race {
  control: Int32Array;
  request: number;
}

/** Whether the Worker finished the request raced for. */
function workerDone(race: Race): boolean {
  return Atomics.load(race.control, CONTROL.done) === race.request;
}

/**
 * What a request asks of a half: the training pass or the inference pass. With `race`, the
 * second half goes to the spare workspace; false when the Worker finished first.
 */
export function computeHalf(
  wasm: StepExports,
  plan: StepPlan,
  half: 0 | 1,
  B: number,
  dropping: boolean,
  pass: Pass,
  indices: Int32Array | null = null,
  products: DenseProducts | null = null,
  race: Race | null = null,
): boolean {
  return pass === PASS.inference
    ? forward(wasm, plan, half, B, false, indices, products, race)
    : runHalf(wasm, plan, half, B, dropping, indices, products, race);
}

/**
 * Forward and backward pass over half `half` of a batch of B rows (whose inputs, labels and
 * dropout masks are in place), leaving that half's gradient in its block. The softmax scale
 * is 1/B, so the two halves' gradients add up to the batch's.
 */
export function runHalf(
  wasm: StepExports,
  plan: StepPlan,
  half: 0 | 1,
  B: number,
  dropping: boolean,
  indices: Int32Array | null = null,
  products: DenseProducts | null = null,
  race: Race | null = null,
): boolean {
  const from = firstRow(half, B);
  const rows = rowsOf(half, B);
  if (rows === 0) return true;
  const ws = race ? plan.spare : plan.halves[half];
  const { sizes, strides, kind } = plan;
  const L = sizes.length - 1;
  if (!forward(wasm, plan, half, B, dropping, indices, products, race)) return false;
  wasm.softmax_cross_entropy(
    ws.a[L - 1]!,
    rows,
    sizes[L]!,
    strides[L]!,
    plan.labels + from * 4,
    ws.picked,
    ws.da[L - 1]!,
    1 / B,
  );
  for (let l = L; l >= 1; l--) {
    if (race && workerDone(race)) return false;
    const stride = strides[l]!;
    const width = strides[l - 1]!;
    const W = plan.params + plan.weights[l - 1]! * 4;
    const dW = ws.grads + plan.weights[l - 1]! * 4;
    const da = ws.da[l - 1]!;
    const byProducts = dense(plan, l, products);
    if (byProducts) {
      const input = denseInput(plan, ws, l, from, dropping, indices !== null);
      products.gemm(true, false, width, stride, rows, input, width, da, stride, 0, dW, stride);
    } else {
      const pos = ws.pos[l - 1]!;
      const val = ws.val[l - 1]!;
      const counts = ws.counts[l - 1]!;
      wasm.weight_grad(
        pos,
        val,
        counts,
        rows,
        width,
        da,
        stride,
        dW,
        ws.colPos,
        ws.colVal,
        ws.starts,
      );
    }
    wasm.sum_rows(da, rows, stride, ws.grads + plan.biases[l - 1]! * 4);
    if (l > 1) {
      const dz = ws.dz[l - 2]!;
      if (byProducts) {
        products.gemm(false, true, rows, width, stride, da, stride, W, stride, 0, dz, width);
      } else wasm.input_grad(da, rows, stride, W, width, dz);
      if (dropping) wasm.multiply(dz, plan.masks[l - 2]! + from * width * 4, dz, rows * width);
      wasm.activate_backward(kind, ws.a[l - 2]!, ws.h[l - 2]!, dz, ws.da[l - 2]!, rows * width);
    }
  }
  return true;
}
