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

/** A client that asks for the event stream and then never reads a byte. */
async function nonReadingClient(url: string): Promise<Deno.Conn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(
    new TextEncoder().encode(`GET /events HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`),
  );
  return conn;
}

/** Resolves to "timeout" if `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((
    resolve,
  ) => (timer = setTimeout(() => resolve("timeout"), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

Deno.test("a page that stops reading: its backlog stays bounded and the dashboard still closes", async () => {
  const hard = 1024 * 1024;
  const dashboard = startDashboard({
    port: 0,
    stepInterval: 0,
    limits: { softBacklogBytes: 64 * 1024, hardBacklogBytes: hard },
  });
  const conn = await nonReadingClient(dashboard.url);
  try {
    // Wait until the stream is open, then publish 30,000 step events of about 1 KB (30 MB,
    // far beyond the socket buffers) and a few evaluations.
    while (dashboard.server.streams.size === 0) await new Promise((r) => setTimeout(r, 5));
    const [client] = [...dashboard.server.streams];
    const padding = "x".repeat(1000);
    let largest = 0;
    for (let i = 0; i < 30_000; i++) {
      dashboard.publish({ event: "step", iteration: i + 1, loss: 1, padding });
      if (i % 3000 === 0) dashboard.publish({ event: "evaluation", iteration: i + 1 });
      largest = Math.max(largest, client!.queuedBytes);
      if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 0)); // let writes happen
    }
    assert.ok(largest <= hard, `backlog reached ${largest} bytes`);
    assert.ok(client!.dropped > 20_000, `${client!.dropped} step events dropped`);
    const started = performance.now();
    assert.notEqual(await within(dashboard.close(), 10_000), "timeout", "close() hung");
    assert.ok(performance.now() - started < 5_000);
  } finally {
    conn.close();
  }
});

Deno.test("the dashboard closes connections that never finish their request (slowloris)", async () => {
  const dashboard = startDashboard({ port: 0, limits: { headerTimeoutMs: 300 } });
  const { hostname, port } = new URL(dashboard.url);
  const conns = await Promise.all(
    Array.from({ length: 50 }, () => Deno.connect({ hostname, port: Number(port) })),
  );
  try {
    // Each sends half a request line and stops.
    await Promise.all(conns.map((c) => c.write(new TextEncoder().encode("GET / HT"))));
    const closed = await within(
      Promise.all(conns.map((c) => c.read(new Uint8Array(16)).catch(() => null))),
      5_000,
    );
    assert.notEqual(closed, "timeout", "connections were kept open");
    assert.ok((closed as (number | null)[]).every((n) => n === null), "closed without an answer");
    // A normal request still gets its answer.
    assert.equal((await fetch(dashboard.url).then((r) => r.text())).includes("EventSource"), true);
  } finally {
    for (const c of conns) c.close();
    await dashboard.close();
  }
});

Deno.test("the dashboard answers only requests addressed to it (no DNS rebinding)", async () => {
  const dashboard = startDashboard({ port: 0 });
  const { hostname, port } = new URL(dashboard.url);
  const ask = async (host: string) => {
    const conn = await Deno.connect({ hostname, port: Number(port) });
    try {
      await conn.write(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
      const buffer = new Uint8Array(64);
      const n = await conn.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0];
    } finally {
      conn.close();
    }
  };
  try {
    assert.equal(await ask(`evil.example:${port}`), "HTTP/1.1 403 Forbidden");
    assert.equal(await ask(`localhost:${port}`), "HTTP/1.1 200 OK");
    assert.equal(await ask(`127.0.0.1:${port}`), "HTTP/1.1 200 OK");
    assert.equal(await ask(`127.0.0.1:${Number(port) + 1}`), "HTTP/1.1 403 Forbidden");
  } finally {
    await dashboard.close();
  }
});

Deno.test("a busy dashboard port is named, with the way out", async () => {
  const first = startDashboard({ port: 0 });
  const { port } = new URL(first.url);
  try {
    assert.throws(() => startDashboard({ port: Number(port) }), {
      name: "DashboardPortError",
      message: new RegExp(
        `cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use; .*--dashboard 0`,
      ),
    });
  } finally {
    await first.close();
  }
});

Deno.test("the end of a run closes a stream whose page stopped reading, after a short grace", async () => {
  // Limits so high that nothing is dropped: 30 MB wait for a client that never reads.
  const limits = { softBacklogBytes: 64e6, hardBacklogBytes: 64e6 };
  const dashboard = startDashboard({ port: 0, stepInterval: 0, limits });
  const conn = await nonReadingClient(dashboard.url);
  try {
    while (dashboard.server.streams.size === 0) await new Promise((r) => setTimeout(r, 5));
    const padding = "x".repeat(1000);
    for (let i = 0; i < 30_000; i++) dashboard.publish({ event: "step", iteration: i, padding });
    await new Promise((r) => setTimeout(r, 100));
    const [client] = [...dashboard.server.streams];
    assert.ok(client!.queuedBytes > 10e6, "the backlog is stuck behind a full socket");
    const started = performance.now();
    assert.notEqual(await within(dashboard.close(), 10_000), "timeout", "close() hung");
    assert.ok(performance.now() - started < 5_000, "closed within the grace period");
  } finally {
    conn.close();
  }
});
