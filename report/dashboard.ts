/**
 * The live dashboard: a small HTTP server on 127.0.0.1 serving one page and a Server-Sent
 * Events stream of the run's own events. Publishing never blocks a training step: events
 * are appended to a history and queued on each open stream. Step events are sampled (at
 * most five a second); a page that opens later, or reconnects, gets the history replayed.
 * @module
 */
import type { EvaluatedStep } from "../stages/evaluate.ts";
import type { Progress } from "../pipeline/progress.ts";
import { dashboardPage } from "./dashboard_page.ts";

/** Options of {@linkcode startDashboard}. */
export interface DashboardOptions {
  /** [8787]; 0 picks a free port. */
  port?: number;
  /** ["127.0.0.1"]; any other address must be asked for explicitly. */
  hostname?: string;
  title?: string;
  /** Minimum milliseconds between two published step events [200]. */
  stepInterval?: number;
}

/** A running dashboard. */
export interface Dashboard {
  url: string;
  /** Publish one event to every open page (and to the history). */
  publish(event: Record<string, unknown>): void;
  /** A progress receiver that publishes the run's start and sampled step events. */
  progress(meta: { name: string; seed: number }): Progress;
  /** Stop serving: close the streams and the server. */
  close(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

const encoder = new TextEncoder();
const MAX_STEPS = 4000;

/**
 * Start serving the dashboard.
 *
 * @example
 * ```ts ignore
 * import { startDashboard } from "./dashboard.ts";
 * const dashboard = startDashboard({ port: 0 });
 * console.log(dashboard.url);
 * await dashboard.close();
 * ```
 */
export function startDashboard(options: DashboardOptions = {}): Dashboard {
  const hostname = options.hostname ?? "127.0.0.1";
  const stepInterval = options.stepInterval ?? 200;
  const history: Record<string, unknown>[] = [];
  let steps = 0;
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const page = dashboardPage(options.title ?? "gradstream dashboard");
  const frame = (event: Record<string, unknown>) =>
    encoder.encode(`data: ${JSON.stringify(event)}\n\n`);

  const server = Deno.serve(
    { port: options.port ?? 8787, hostname, onListen: () => {} },
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/") {
        return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
      }
      if (path === "/events") {
        let self: ReadableStreamDefaultController<Uint8Array>;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            self = controller;
            controller.enqueue(frame({ event: "hello" }));
            for (const event of history) controller.enqueue(frame(event));
            streams.add(controller);
          },
          cancel() {
            streams.delete(self);
          },
        });
        return new Response(body, {
          headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
        });
      }
      return new Response("not found", { status: 404 });
    },
  );
  const address = server.addr as Deno.NetAddr;
  const publish = (event: Record<string, unknown>) => {
    if (event.event === "step" && ++steps > MAX_STEPS) {
      // Keep the history bounded on long runs: thin the step points by half.
      let keep = true;
      for (let i = history.length - 1; i >= 0; i--) {
        if (history[i]!.event === "step") {
          if (!keep) history.splice(i, 1);
          keep = !keep;
        }
      }
      steps = history.filter((e) => e.event === "step").length;
    }
    history.push(event);
    const bytes = frame(event);
    for (const stream of streams) {
      try {
        stream.enqueue(bytes);
      } catch {
        streams.delete(stream);
      }
    }
  };
  return {
    url: `http://${address.hostname}:${address.port}/`,
    publish,
    progress(meta) {
      let lastPublished = -Infinity;
      let total = 0;
      return {
        start(t) {
          total = t;
          publish({ event: "start", total, ...meta });
        },
        step(step: EvaluatedStep, elapsed: number, rate: number) {
          const now = performance.now();
          const last = step.iteration + 1 === total;
          if (now - lastPublished < stepInterval && !last) return;
          lastPublished = now;
          publish({
            event: "step",
            iteration: step.iteration + 1,
            epoch: step.epoch + 1,
            loss: step.loss,
            elapsed,
            samplesPerSecond: rate,
          });
        },
        line() {},
        done() {},
      };
    },
    async close() {
      for (const stream of streams) {
        try {
          stream.close();
        } catch {
          // already closed by the page
        }
      }
      streams.clear();
      await server.shutdown();
    },
    finished: server.finished,
  };
}
