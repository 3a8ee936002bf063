import assert from "node:assert/strict";
import { startDashboard } from "../../report/dashboard.ts";
import type { EvaluatedStep } from "../../stages/evaluate.ts";

/** Read SSE `data:` events from a response until `count` have arrived. */
async function readEvents(response: Response, count: number): Promise<Record<string, unknown>[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Record<string, unknown>[] = [];
  let buffer = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      events.push(JSON.parse(buffer.slice(0, end).replace(/^data: /, "")));
      buffer = buffer.slice(end + 2);
    }
  }
  await reader.cancel();
  return events;
}

const step = (iteration: number): EvaluatedStep => ({
  iteration,
  epoch: 0,
  loss: 1 / (iteration + 1),
  learningRate: 0.1,
  batchSize: 10,
});

Deno.test("startDashboard() serves its page on 127.0.0.1 by default", async () => {
  const dashboard = startDashboard({ port: 0 });
  try {
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(dashboard.url);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await page.text();
    assert.ok(html.includes('new EventSource("/events")'));
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "no CDN");
    const missing = await fetch(new URL("/nope", dashboard.url));
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await dashboard.close();
  }
});

Deno.test("startDashboard() replays what happened so far to a page that opens late", async () => {
  const dashboard = startDashboard({ port: 0, stepInterval: 0 });
  try {
    const progress = dashboard.progress({ name: "demo", seed: 3 });
    progress.start(10);
    progress.step(step(0), 0.1, 100);
    dashboard.publish({ event: "evaluation", iteration: 1, trainAccuracy: 0.5, testAccuracy: 0.4 });
    const first = await readEvents(await fetch(new URL("/events", dashboard.url)), 4);
    assert.deepEqual(first.map((e) => e.event), ["hello", "start", "step", "evaluation"]);
    assert.deepEqual(first[1], { event: "start", total: 10, name: "demo", seed: 3 });
    // A reopened page gets the history again, then live events.
    const response = await fetch(new URL("/events", dashboard.url));
    progress.step(step(1), 0.2, 100);
    const second = await readEvents(response, 5);
    assert.deepEqual(second.map((e) => e.event), ["hello", "start", "step", "evaluation", "step"]);
    assert.equal(second[4]!.iteration, 2);
  } finally {
    await dashboard.close();
  }
});

Deno.test("startDashboard() samples step events but always sends the last", async () => {
  const dashboard = startDashboard({ port: 0, stepInterval: 60_000 });
  try {
    const progress = dashboard.progress({ name: "demo", seed: 3 });
    progress.start(100);
    for (let i = 0; i < 100; i++) progress.step(step(i), i, 100);
    const events = await readEvents(await fetch(new URL("/events", dashboard.url)), 4);
    assert.deepEqual(events.map((e) => [e.event, e.iteration]), [
      ["hello", undefined],
      ["start", undefined],
      ["step", 1],
      ["step", 100],
    ]);
  } finally {
    await dashboard.close();
  }
});
