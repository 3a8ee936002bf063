/**
 * The WasmTrainer's second thread: an instance of the training-step module on the trainer's
 * shared memory that computes the second half of every batch. It blocks on the plan's
 * control words (Atomics.wait), so a step costs no message passing: the trainer writes the
 * batch size, bumps the request counter and computes the first half meanwhile. After both
 * halves, it computes the second share of the update the same way (see updateShare).
 * @module
 */
import {
  ARG_VALUES,
  claim,
  computeHalf,
  CONTROL,
  CONTROL_WORDS,
  instantiate,
  PASS,
  updateShare,
  watch,
  WATCH_MS,
  type WorkerStart,
} from "./wasm_step.ts";
import { BlasProducts, openBlas } from "./openblas.ts";

const scope = self as unknown as {
  onmessage: (event: MessageEvent<WorkerStart>) => void;
};

scope.onmessage = (event) => {
  const { memory, module, plan, generation } = event.data;
  const control = new Int32Array(memory.buffer, plan.control, CONTROL_WORDS);
  // The batch's row numbers, when it names held rows (a view made once: not per request).
  const named = new Int32Array(memory.buffer, plan.indices, plan.capacity);
  const args = new Float64Array(memory.buffer, plan.args, ARG_VALUES);
  const fail = () => {
    Atomics.store(control, CONTROL.failed, generation);
    Atomics.notify(control, CONTROL.done);
  };
  let wasm, products: BlasProducts | null = null;
  try {
    wasm = instantiate(memory, module);
    // The plan's dense layers need this thread's own OpenBLAS, or the half fails.
    if (plan.blas.some((b) => b)) {
      const blas = openBlas();
      if (typeof blas !== "string") products = new BlasProducts(blas, memory);
    }
  } catch {
    return fail();
  }
  Atomics.store(control, CONTROL.ready, generation);
  Atomics.notify(control, CONTROL.ready);
  const stopped = () => Atomics.load(control, CONTROL.stop) >= generation;
  let seen = event.data.seen;
  while (!stopped()) {
    // Steps usually follow each other within a fraction of a millisecond: watch for the next
    // request before sleeping (WATCH_MS). The wait's timeout is a safety net only: requests
    // and stops also notify.
    if (!watch(control, CONTROL.request, seen, WATCH_MS)) {
      Atomics.wait(control, CONTROL.request, seen, 1000);
    }
    if (stopped()) return;
    const request = Atomics.load(control, CONTROL.request);
    if (request === seen) continue;
    seen = request;
    // The trainer computes this half (or share) itself when it got to it first.
    if (!claim(control, request)) continue;
    // Before anything else is read: a Worker set aside here, after its claim, may find words
    // the trainer has since written for later requests.
    const hold = Atomics.load(control, CONTROL.holdMs);
    if (hold > 0) Atomics.wait(control, CONTROL.holdMs, hold, hold);
    try {
      if (Atomics.load(control, CONTROL.update) === request) {
        // The second share of an update: the trainer waits for it once claimed here.
        const finite = updateShare(wasm, plan, args, 1, control[CONTROL.sumFrom]!);
        control[CONTROL.nonFinite] = finite ? 0 : 1;
      } else {
        const pass = control[CONTROL.pass] === PASS.inference ? PASS.inference : PASS.training;
        const rows = control[CONTROL.rows]!;
        const indices = control[CONTROL.byIndex] === 1 ? named : null;
        computeHalf(
          wasm,
          plan,
          1,
          rows,
          control[CONTROL.dropping] === 1,
          pass,
          indices,
          products,
        );
      }
    } catch {
      return fail();
    }
    Atomics.store(control, CONTROL.done, request);
    Atomics.notify(control, CONTROL.done);
  }
};
