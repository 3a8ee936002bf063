/**
 * The live dashboard: a small HTTP server on 127.0.0.1 serving one page and a Server-Sent
 * Events stream of the run's own events. Publishing never blocks a training step: events
 * are appended to a history and queued on each open stream. Step events are sampled (at
 * most five a second); a page that opens later, or reconnects, gets the history replayed.
 * A page that stops reading loses step events, not the run: its backlog is bounded and the
 * end of the run closes every stream after a short grace (report/http.ts).
 * @module
 */
import type { EvaluatedStep } from "../stages/evaluate.ts";
import type { Progress } from "../pipeline/progress.ts";
import { dashboardPage } from "./dashboard_page.ts";
import {
  type HttpOptions,
  type HttpReply,
  type HttpServer,
  serveHttp,
  type StreamClient,
} from "./http.ts";

/** Options of {@linkcode startDashboard}. */
export interface DashboardOptions {
  /** [8787]; 0 picks a free port. */
  port?: number;
  /** ["127.0.0.1"]; any other address must be asked for explicitly. */
  hostname?: string;
  title?: string;
  /** Minimum milliseconds between two published step events [200]. */
  stepInterval?: number;
  /** Connection limits (header timeout, backlog bounds): report/http.ts's defaults. */
  limits?: Omit<HttpOptions, "hostname" | "port">;
}

/** The dashboard's port is taken: say which, and how to get a free one. */
export class DashboardPortError extends Error {
  constructor(hostname: string, port: number) {
    super(
      `the dashboard cannot listen on ${hostname}:${port}: the port is in use; give another port (--dashboard <port>) or --dashboard 0 for any free one`,
    );
    this.name = "DashboardPortError";
  }
}

/** A running dashboard. */
export interface Dashboard {
  url: string;
  /** Publish one event to every open page (and to the history). */
  publish(event: Record<string, unknown>): void;
  /** A progress receiver that publishes the run's start and sampled step events. */
  progress(meta: { name: string; seed: number }): Progress;
  /** Stop serving: streams flush for a short grace, then every connection closes. */
  close(): Promise<void>;
  /** The HTTP server (its open streams, for diagnostics). */
  server: HttpServer;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

const encoder = new TextEncoder();
const MAX_STEPS = 4000;
const DEFAULT_PORT = 8787;

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
  const streams = new Set<StreamClient>();
  const page = dashboardPage(options.title ?? "gradstream dashboard");
  const frame = (event: Record<string, unknown>) =>
    encoder.encode(`data: ${JSON.stringify(event)}\n\n`);

  const port = options.port ?? DEFAULT_PORT;
  let server: HttpServer;
  try {
    server = serveHttp({ ...options.limits, hostname, port }, (request): HttpReply => {
      if (request.method !== "GET") return { status: 405, body: "only GET\n" };
      if (request.path === "/") {
        return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: page };
      }
      if (request.path === "/events") {
        return {
          headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
          stream: (client) => {
            client.send(frame({ event: "hello" }));
            for (const event of history) client.send(frame(event));
            streams.add(client);
          },
        };
      }
      return { status: 404, body: "not found\n" };
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw new DashboardPortError(hostname, port);
    throw error;
  }
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
    // A slow page misses step events (the curve has fewer points), never the others.
    const droppable = event.event === "step";
    for (const stream of streams) {
      if (stream.closed) streams.delete(stream);
      else stream.send(bytes, droppable);
    }
  };
  return {
    url: `http://${server.hostname}:${server.port}/`,
    server,
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
      streams.clear();
      await server.close();
    },
    finished: server.finished,
  };
}
