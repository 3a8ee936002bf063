import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { map } from "rxjs";
import { runLoop } from "../../pipeline/training_loop.ts";

/** Steps that take no time, and how many macrotasks a ticker ran before each step's end. */
async function ticksSeen(busy?: () => boolean): Promise<number[]> {
  let ticks = 0;
  let running = true;
  const tick = () => {
    ticks++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const seen: number[] = [];
  await runLoop(
    0,
    20,
    map((iteration) => ({ iteration, epoch: 0, loss: 1, learningRate: 0.1, batchSize: 1 })),
    () => {
      seen.push(ticks);
      return false;
    },
    busy,
  );
  running = false;
  return seen;
}

Deno.test("runLoop gives the event loop a turn after every step while busy(), and not between quick steps otherwise", async () => {
  // 20 steps take far less than the 50 ms between turns: no macrotask runs among them.
  const idle = await ticksSeen();
  assert.deepEqual(new Set(idle).size, 1, `ticks seen: ${idle}`);
  // While busy (a checkpoint being written), a macrotask runs between every two steps.
  let busySteps = 0;
  const busy = await ticksSeen(() => ++busySteps > 0);
  for (let i = 1; i < busy.length; i++) {
    assert.ok(busy[i]! > busy[i - 1]!, `ticks seen: ${busy}`);
  }
  assert.ok(busySteps >= 19);
});
