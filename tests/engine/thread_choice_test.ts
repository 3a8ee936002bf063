import assert from "node:assert/strict";
import {
  FIRST_RECHECK_STEPS,
  RECHECK_MIN_MS,
  RECHECK_SLOWER,
  RECHECK_STEPS,
  ThreadChoice,
  TIMED_STEPS,
  WARM_UP,
  WINDOW_STEPS,
} from "../../engine/trainer/thread_choice.ts";

/** `steps` steps on the count the choice wants, each taking `ms(threads)`; the counts run. */
function run(choice: ThreadChoice, steps: number, ms: (threads: 1 | 2) => number): (1 | 2)[] {
  const ran: (1 | 2)[] = [];
  for (let i = 0; i < steps; i++) {
    const threads = choice.wanted();
    ran.push(threads);
    choice.record(threads, ms(threads));
  }
  return ran;
}

const FIRST_CHOICE = WARM_UP[1] + TIMED_STEPS + WARM_UP[2] + TIMED_STEPS;
const IDLE = (threads: 1 | 2) => (threads === 1 ? 1 : 0.6);

Deno.test("ThreadChoice: a fixed count is never timed, however slow its steps", () => {
  for (const threads of [1, 2] as const) {
    const choice = new ThreadChoice(threads);
    const ran = run(choice, RECHECK_STEPS + 100, () => 50);
    assert.ok(ran.every((t) => t === threads));
    assert.equal(choice.current, threads);
    assert.equal(choice.choices, 0);
  }
});

Deno.test("ThreadChoice: auto times one thread, then two, each after its warm-up, and keeps the faster", () => {
  const choice = new ThreadChoice("auto");
  assert.equal(choice.current, "auto");
  const ran = run(choice, FIRST_CHOICE, IDLE);
  assert.deepEqual(ran.slice(0, WARM_UP[1] + TIMED_STEPS), Array(WARM_UP[1] + TIMED_STEPS).fill(1));
  assert.deepEqual(ran.slice(WARM_UP[1] + TIMED_STEPS), Array(WARM_UP[2] + TIMED_STEPS).fill(2));
  assert.equal(choice.current, 2);
  assert.equal(choice.choices, 1);
  // Slower two-thread steps: one thread.
  const busy = new ThreadChoice("auto");
  run(busy, FIRST_CHOICE, (threads) => (threads === 1 ? 0.7 : 1));
  assert.equal(busy.current, 1);
  // Steps on one thread while the Worker loads are not two-thread steps.
  const loading = new ThreadChoice("auto");
  for (let i = 0; i < FIRST_CHOICE; i++) loading.record(1, 1);
  assert.equal(loading.current, "auto");
  assert.equal(loading.wanted(), 2);
});

Deno.test("ThreadChoice: auto chooses again FIRST_RECHECK_STEPS after its first choice, then every RECHECK_STEPS", () => {
  const choice = new ThreadChoice("auto");
  run(choice, FIRST_CHOICE, IDLE);
  const early = run(choice, FIRST_RECHECK_STEPS, IDLE);
  assert.ok(early.every((t) => t === 2), "two threads throughout");
  assert.equal(choice.current, "auto", "timing again");
  run(choice, FIRST_CHOICE, IDLE);
  assert.equal(choice.current, 2);
  assert.equal(choice.choices, 2);
  const steady = run(choice, RECHECK_STEPS - 1, IDLE);
  assert.ok(steady.every((t) => t === 2));
  assert.equal(choice.current, 2, "not before RECHECK_STEPS");
  choice.record(2, 0.6);
  assert.equal(choice.current, "auto", "timing again");
  // The machine changed meanwhile: one thread is faster now.
  const ran = run(choice, FIRST_CHOICE, (threads) => (threads === 1 ? 0.5 : 0.9));
  assert.equal(ran.filter((t) => t === 1).length, WARM_UP[1] + TIMED_STEPS);
  assert.equal(choice.current, 1);
  assert.equal(choice.choices, 3);
});

Deno.test("ThreadChoice: auto chooses again once its steps are RECHECK_SLOWER times as slow, and not for one stall", () => {
  // One stall of 5 ms among steps of 0.6: the window's mean stays under 1.5 × 0.6.
  const steady = new ThreadChoice("auto");
  run(steady, FIRST_CHOICE, IDLE);
  const STALL_MS = 5;
  let k = 0;
  run(steady, 3 * WINDOW_STEPS, () => (k++ === WINDOW_STEPS ? STALL_MS : 0.6));
  assert.equal(steady.current, 2, "kept through a stall");
  assert.equal(steady.choices, 1);
  // A process takes one of the cores after the choice: two-thread steps are twice as slow.
  const choice = new ThreadChoice("auto");
  run(choice, FIRST_CHOICE, IDLE);
  const slow = 0.6 * RECHECK_SLOWER * 1.4;
  const ran = run(choice, WINDOW_STEPS - 1, () => slow);
  assert.ok(ran.every((t) => t === 2));
  assert.equal(choice.current, 2, "a window's worth of steps first");
  choice.record(2, slow);
  assert.equal(choice.current, "auto", "timing again");
  run(choice, FIRST_CHOICE, (threads) => (threads === 1 ? 1 : slow));
  assert.equal(choice.current, 1);
  assert.equal(choice.choices, 2);
  // Tiny steps twice as slow, but by less than RECHECK_MIN_MS: kept.
  const tiny = new ThreadChoice("auto");
  const TINY_MS = RECHECK_MIN_MS / 2;
  run(tiny, FIRST_CHOICE, (threads) => (threads === 1 ? 2 * TINY_MS : TINY_MS));
  run(tiny, 4 * WINDOW_STEPS, () => 1.9 * TINY_MS);
  assert.equal(tiny.current, 2);
  assert.equal(tiny.choices, 1);
});

Deno.test("ThreadChoice.fixOne() stops choosing", () => {
  const choice = new ThreadChoice("auto");
  run(choice, 5, IDLE);
  choice.fixOne();
  const ran = run(choice, RECHECK_STEPS + 100, () => 9);
  assert.ok(ran.every((t) => t === 1));
  assert.equal(choice.choosing, false);
  assert.equal(choice.choices, 0);
});
