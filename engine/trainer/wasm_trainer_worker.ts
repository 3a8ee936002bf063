/**
 * The WasmTrainer's second thread: an instance of the training-step module on the trainer's
 * shared memory that computes the second half of every batch. It blocks on the plan's
 * control words (Atomics.wait), so a step costs no message passing: the trainer writes the
 * batch size, bumps the request counter and computes the first half meanwhile.
 * @module
 */
import { computeHalf, CONTROL, instantiate, PASS, type WorkerStart } from "./wasm_step.ts";

const scope = self as unknown as {
  onmessage: (event: MessageEvent<WorkerStart>) => void;
};

scope.onmessage = (event) => {
  const { memory, plan, generation } = event.data;
  const control = new Int32Array(memory.buffer, plan.control, 8);
  const fail = () => {
    Atomics.store(control, CONTROL.failed, generation);
    Atomics.notify(control, CONTROL.done);
  };
  let wasm;
  try {
    wasm = instantiate(memory);
  } catch {
    return fail();
  }
  Atomics.store(control, CONTROL.ready, generation);
  Atomics.notify(control, CONTROL.ready);
  const stopped = () => Atomics.load(control, CONTROL.stop) >= generation;
  let seen = event.data.seen;
  while (!stopped()) {
    // Steps usually follow each other within a fraction of a millisecond: watch for the next
    // request for about 0.2 ms before sleeping, since waking a sleeping thread costs tens of
    // microseconds. The wait's timeout is a safety net only: requests and stops also notify.
    const until = performance.now() + 0.2;
    while (Atomics.load(control, CONTROL.request) === seen && performance.now() < until);
    Atomics.wait(control, CONTROL.request, seen, 1000);
    if (stopped()) return;
    const request = Atomics.load(control, CONTROL.request);
    if (request === seen) continue;
    seen = request;
    try {
      const pass = control[CONTROL.pass] === PASS.inference ? PASS.inference : PASS.training;
      computeHalf(wasm, plan, 1, control[CONTROL.rows]!, control[CONTROL.dropping] === 1, pass);
    } catch {
      return fail();
    }
    Atomics.store(control, CONTROL.done, request);
    Atomics.notify(control, CONTROL.done);
  }
};
