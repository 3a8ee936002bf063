/**
 * The prediction server: `POST /v1/predict`, `GET /v1/model`, `GET /healthz` and Prometheus
 * `GET /metrics`, on 127.0.0.1 unless told otherwise. Bad input is a JSON error with a 4xx
 * status and a path, never a crash or a stack trace. Serving a link such as
 * `<output.dir>/<name>/current`, it follows promotions: a new target is loaded and checked
 * before use, and a target that fails to load leaves the old model serving.
 * @module
 */
import { dirname, join } from "node:path";
import { modelPathOf, type OpenModel, openModel } from "../pipeline/model_file.ts";
import { predictRows, RowError } from "../pipeline/predict_rows.ts";

/** Options of {@linkcode startServer}. */
export interface ServeOptions {
  /** A run directory, a model.json, or a link to a run directory (`…/current`). */
  target: string;
  /** [8080]; 0 picks a free port. */
  port?: number;
  /** ["127.0.0.1"] */
  hostname?: string;
  /** Request bodies above this are refused with 413 [10 MB]. */
  maxBodyBytes?: number;
  /** Rows per request above this are refused with 413 [10,000]. */
  maxRows?: number;
  /** How often the target is checked for a new model, in ms [250]. */
  pollMs?: number;
  /** Where the server reports a model change or a failed load. */
  log?: (line: string) => void;
}

/** A running server. */
export interface PredictionServer {
  url: string;
  /** The model in use: its id (a hash of the weights) and where it came from. */
  model(): { id: string; path: string };
  /** Stop taking requests, finish those in flight, stop watching the target. */
  close(): Promise<void>;
}

const DEFAULT_PORT = 8080;
const DEFAULT_MAX_BODY = 10 * 1024 * 1024;
const DEFAULT_MAX_ROWS = 10_000;
const DEFAULT_POLL_MS = 250;
/** Latency histogram buckets, in seconds (Prometheus `le`). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A loaded model with what the API reports about it. */
interface Serving {
  model: OpenModel;
  id: string;
  /** The real path of the model.json. */
  path: string;
  loadedAt: number;
  info: Record<string, unknown>;
}

/** Start serving; rejects when the first model cannot be loaded. */
export async function startServer(options: ServeOptions): Promise<PredictionServer> {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const log = options.log ?? (() => {});
  let serving = await load(options.target);
  const metrics = new Metrics();

  // Follow the target: a promotion swaps the `current` link; requests in flight keep the model
  // they started with (each request reads `serving` once).
  let failedPath: string | null = null;
  let checking = false;
  const watch = setInterval(async () => {
    if (checking) return;
    checking = true;
    try {
      const path = await Deno.realPath(await modelPathOf(options.target));
      if (path === serving.path || path === failedPath) return;
      try {
        const next = await load(options.target);
        const previous = serving.id;
        serving = next;
        failedPath = null;
        log(`serving model ${next.id} from ${next.path} (was ${previous})`);
      } catch (error) {
        failedPath = path;
        log(
          `error: the new model at ${path} did not load, still serving ${serving.id}: ${
            (error as Error).message
          }`,
        );
      }
    } catch (error) {
      log(
        `error: cannot read ${options.target}: ${
          (error as Error).message
        }; still serving ${serving.id}`,
      );
    } finally {
      checking = false;
    }
  }, options.pollMs ?? DEFAULT_POLL_MS);

  const handle = async (request: Request): Promise<{ route: string; response: Response }> => {
    const path = new URL(request.url).pathname;
    const route = ROUTES[path];
    if (!route) return { route: "other", response: json(404, { error: `no such path ${path}` }) };
    if (request.method !== route.method) {
      return {
        route: path,
        response: json(405, { error: `${path} takes ${route.method}` }, { allow: route.method }),
      };
    }
    const current = serving;
    if (path === "/healthz") {
      return { route: path, response: json(200, { status: "ok", model: current.id }) };
    }
    if (path === "/metrics") {
      return {
        route: path,
        response: new Response(metrics.text(current), {
          headers: { "content-type": "text/plain; version=0.0.4" },
        }),
      };
    }
    if (path === "/v1/model") return { route: path, response: json(200, current.info) };
    // POST /v1/predict
    const body = await readBody(request, maxBody);
    if (body === null) {
      return { route: path, response: json(413, { error: `the body is over ${maxBody} bytes` }) };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return { route: path, response: json(400, { error: "the body is not JSON", path: "" }) };
    }
    const rows = (parsed as { rows?: unknown })?.rows;
    if (!Array.isArray(rows)) {
      return {
        route: path,
        response: json(400, { error: 'expected {"rows": [...]}', path: "rows" }),
      };
    }
    if (rows.length > maxRows) {
      return {
        route: path,
        response: json(413, {
          error: `${rows.length} rows; at most ${maxRows} per request`,
          path: "rows",
        }),
      };
    }
    try {
      const { predictions, warnings } = predictRows(current.model, rows);
      metrics.rows += rows.length;
      return {
        route: path,
        response: json(200, {
          model: { name: current.model.file.name, id: current.id },
          predictions,
          ...(warnings.length > 0 ? { warnings } : {}),
        }),
      };
    } catch (error) {
      if (error instanceof RowError) {
        return { route: path, response: json(400, { error: error.message, path: error.path }) };
      }
      throw error;
    }
  };

  const server = Deno.serve({
    port: options.port ?? DEFAULT_PORT,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, async (request) => {
    const started = performance.now();
    let route = "other";
    let response: Response;
    try {
      ({ route, response } = await handle(request));
    } catch (error) {
      log(`error: ${(error as Error).message}`);
      response = json(500, { error: "the server failed on this request" });
    }
    metrics.observe(route, response.status, (performance.now() - started) / 1000);
    return response;
  });
  const address = server.addr as Deno.NetAddr;
  return {
    url: `http://${address.hostname}:${address.port}/`,
    model: () => ({ id: serving.id, path: serving.path }),
    async close() {
      clearInterval(watch);
      await server.shutdown();
    },
  };
}

const ROUTES: Record<string, { method: string }> = {
  "/v1/predict": { method: "POST" },
  "/v1/model": { method: "GET" },
  "/healthz": { method: "GET" },
  "/metrics": { method: "GET" },
};

/** Load and check the target's model, and describe it. */
async function load(target: string): Promise<Serving> {
  const path = await Deno.realPath(await modelPathOf(target));
  const model = await openModel(path);
  // A model must answer before it serves: one row of zeros through the whole path.
  model.predictor.predict({
    rows: 1,
    cols: model.net.sizes[0]!,
    data: new Float32Array(model.net.sizes[0]!),
  });
  const bytes = new TextEncoder().encode(JSON.stringify(model.file.params));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const id = Array.from(hash.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  const runDir = dirname(path);
  const summary = await Deno.readTextFile(join(runDir, "summary.json")).then(
    JSON.parse,
    () => null,
  );
  const created = (await Deno.stat(path)).mtime?.toISOString() ?? null;
  const { file } = model;
  const table = file.data.table;
  return {
    model,
    id,
    path,
    loadedAt: Date.now(),
    info: {
      name: file.name,
      id,
      runDir,
      created,
      task: file.task,
      metrics: summary ? scores(summary) : null,
      input: table
        ? {
          columns: table.columns.map((c) =>
            c.kind === "numeric"
              ? { name: c.name, type: "number", trainingRange: [c.min, c.max] }
              : { name: c.name, type: "category", categories: c.categories }
          ),
        }
        : {
          features: model.net.sizes[0],
          shape: file.data.featureShape,
          ...(file.data.inputRange ? { normalizedRange: file.data.inputRange } : {}),
        },
      ...(file.task === "classification"
        ? {
          classes: file.data.classNames ??
            Array.from({ length: file.data.classes }, (_, i) => String(i)),
        }
        : {}),
    },
  };
}

/** The summary's scores (numbers only). */
function scores(summary: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(summary).filter(([k, v]) =>
      typeof v === "number" && /^(test|validation|train)/.test(k)
    ) as [string, number][],
  );
}

/** The body as text, or null when it is over `max` bytes (stopping at the first byte over). */
async function readBody(request: Request, max: number): Promise<string | null> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > max) return null;
  // A declared length within the limit is all the body can hold: read it at once.
  if (Number.isFinite(declared)) return await request.text();
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of request.body) {
    length += chunk.length;
    if (length > max) return null;
    chunks.push(chunk);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(out);
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Request counts, latencies and rows predicted, as Prometheus text. */
class Metrics {
  rows = 0;
  #requests = new Map<string, number>();
  #buckets = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  #count = 0;
  #sum = 0;

  observe(route: string, status: number, seconds: number): void {
    const key = `route="${route}",status="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.#buckets[i]!++;
    });
    this.#count++;
    this.#sum += seconds;
  }

  text(serving: Serving): string {
    const lines = [
      "# HELP gradstream_requests_total Requests answered, by route and status.",
      "# TYPE gradstream_requests_total counter",
      ...[...this.#requests].map(([labels, n]) => `gradstream_requests_total{${labels}} ${n}`),
      "# HELP gradstream_request_seconds Time to answer a request.",
      "# TYPE gradstream_request_seconds histogram",
      ...LATENCY_BUCKETS.map((le, i) =>
        `gradstream_request_seconds_bucket{le="${le}"} ${this.#buckets[i]}`
      ),
      `gradstream_request_seconds_bucket{le="+Inf"} ${this.#count}`,
      `gradstream_request_seconds_sum ${this.#sum}`,
      `gradstream_request_seconds_count ${this.#count}`,
      "# HELP gradstream_rows_predicted_total Rows predicted.",
      "# TYPE gradstream_rows_predicted_total counter",
      `gradstream_rows_predicted_total ${this.rows}`,
      "# HELP gradstream_model_info The model in use.",
      "# TYPE gradstream_model_info gauge",
      `gradstream_model_info{id="${serving.id}",name="${serving.model.file.name}"} 1`,
      "# HELP gradstream_model_loaded_timestamp_seconds When the model in use was loaded.",
      "# TYPE gradstream_model_loaded_timestamp_seconds gauge",
      `gradstream_model_loaded_timestamp_seconds ${serving.loadedAt / 1000}`,
    ];
    return lines.join("\n") + "\n";
  }
}
