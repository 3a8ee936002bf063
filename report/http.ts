/**
 * A small HTTP/1.1 server for the dashboard, over plain TCP (`Deno.listen`), because what it
 * must guarantee is about connections, which `Deno.serve` does not expose (no header or write
 * timeouts):
 * - a request's head must arrive within `headerTimeoutMs` and `maxHeaderBytes`, or the
 *   connection is closed (a slowloris client cannot hold it);
 * - only requests whose `Host` is the bound address, an IP address or `localhost` are answered
 *   (a DNS name pointing here, as in DNS rebinding, gets 403);
 * - every response closes its connection; a stream's backlog is bounded per client: droppable
 *   chunks are dropped for a slow reader, and a client whose backlog still grows past the hard
 *   limit, or whose writes stall, is disconnected;
 * - `close()` lets streams flush for a grace period, then closes every connection: it always
 *   returns.
 * @module
 */

/** A parsed request. */
export interface HttpRequest {
  method: string;
  path: string;
  headers: Map<string, string>;
}

/** A whole response, or a stream of chunks (Server-Sent Events). */
export type HttpReply =
  | { status: number; headers?: Record<string, string>; body?: string | Uint8Array }
  | { status?: 200; headers?: Record<string, string>; stream: (client: StreamClient) => void };

/** Options of {@linkcode serveHttp}. */
export interface HttpOptions {
  hostname: string;
  port: number;
  /** The request line and headers must arrive within this many ms [10,000]. */
  headerTimeoutMs?: number;
  /** … and within this many bytes [16 KiB]. */
  maxHeaderBytes?: number;
  /** Queued bytes above which a stream drops droppable chunks [256 KiB]. */
  softBacklogBytes?: number;
  /** Queued bytes above which a stream's client is disconnected [4 MiB]. */
  hardBacklogBytes?: number;
  /** A write making no progress this long disconnects the client [30,000 ms]. */
  stallTimeoutMs?: number;
}

/** A running server. */
export interface HttpServer {
  readonly hostname: string;
  readonly port: number;
  /** Open stream clients (for diagnostics and tests). */
  readonly streams: ReadonlySet<StreamClient>;
  /** Stop accepting; streams flush for up to `graceMs` [2,000], then every connection closes. */
  close(graceMs?: number): Promise<void>;
  /** Resolves when the server has stopped and its connections are closed. */
  readonly finished: Promise<void>;
}

const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
const DEFAULT_SOFT_BACKLOG = 256 * 1024;
const DEFAULT_HARD_BACKLOG = 4 * 1024 * 1024;
const DEFAULT_STALL_MS = 30_000;
const DEFAULT_GRACE_MS = 2_000;

const encoder = new TextEncoder();
const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
};

/** One client of a streamed response: chunks are queued and written in order. */
export class StreamClient {
  /** Droppable chunks not sent because the client was not reading fast enough. */
  dropped = 0;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #pumping = false;
  #ending = false;
  #closed = false;
  readonly #conn: Deno.Conn;
  readonly #limits: { soft: number; hard: number; stallMs: number };
  readonly #onClose: () => void;

  constructor(
    conn: Deno.Conn,
    limits: { soft: number; hard: number; stallMs: number },
    onClose: () => void,
  ) {
    this.#conn = conn;
    this.#limits = limits;
    this.#onClose = onClose;
  }

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queue a chunk; a droppable one is skipped while the backlog is above the soft limit. */
  send(bytes: Uint8Array, droppable = false): void {
    if (this.#closed || this.#ending) return;
    if (droppable && this.#queued > this.#limits.soft) {
      this.dropped++;
      return;
    }
    if (this.#queued + bytes.length > this.#limits.hard) return this.close();
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (!this.#pumping) void this.#pump();
  }

  /** Close once what is queued has been written. */
  end(): void {
    this.#ending = true;
    if (!this.#pumping) this.close();
  }

  /** Close now, dropping anything unsent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
    this.#onClose();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const chunk = this.#queue.shift()!;
        await writeAll(this.#conn, chunk, this.#limits.stallMs);
        this.#queued -= chunk.length;
      }
    } catch {
      this.close();
    }
    this.#pumping = false;
    if (this.#ending) this.close();
  }
}

/**
 * Serve `handler` on `hostname:port` (port 0 picks a free one). Throws at once when the
 * address cannot be bound (`Deno.errors.AddrInUse`).
 */
export function serveHttp(
  options: HttpOptions,
  handler: (request: HttpRequest) => HttpReply,
): HttpServer {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const { hostname, port } = listener.addr as Deno.NetAddr;
  const headerTimeoutMs = options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const limits = {
    soft: options.softBacklogBytes ?? DEFAULT_SOFT_BACKLOG,
    hard: options.hardBacklogBytes ?? DEFAULT_HARD_BACKLOG,
    stallMs: options.stallTimeoutMs ?? DEFAULT_STALL_MS,
  };
  const connections = new Set<Deno.Conn>();
  const streams = new Set<StreamClient>();
  const handling = new Set<Promise<void>>();
  let closing = false;

  const respond = async (conn: Deno.Conn) => {
    const head = await readHead(conn, headerTimeoutMs, maxHeaderBytes);
    if (head === "too large") return await writeReply(conn, { status: 431, body: "" });
    if (head === null) return;
    const request = parseHead(head);
    if (!request) return await writeReply(conn, { status: 400, body: "bad request\n" });
    if (!hostAllowed(request.headers.get("host"), hostname, port)) {
      return await writeReply(conn, { status: 403, body: "this server answers its own address\n" });
    }
    const reply = handler(request);
    if (!("stream" in reply)) return await writeReply(conn, reply);
    await writeAll(conn, encoder.encode(statusHead(200, reply.headers ?? {})), limits.stallMs);
    let done: () => void;
    const ended = new Promise<void>((resolve) => (done = resolve));
    const client = new StreamClient(conn, limits, () => {
      streams.delete(client);
      done();
    });
    streams.add(client);
    if (closing) client.end();
    else reply.stream(client);
    await ended;
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        connections.add(conn);
        const task = respond(conn)
          .catch(() => {})
          .finally(() => {
            try {
              conn.close();
            } catch {
              // closed already
            }
            connections.delete(conn);
            handling.delete(task);
          });
        handling.add(task);
      }
    } catch {
      // the listener was closed
    }
  })();

  let finished: Promise<void> | null = null;
  const close = (graceMs = DEFAULT_GRACE_MS): Promise<void> => {
    if (finished) return finished;
    closing = true;
    try {
      listener.close();
    } catch {
      // closed already
    }
    for (const client of streams) client.end();
    finished = (async () => {
      await accepting;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.all([...handling]), grace]);
      clearTimeout(timer);
      // Whatever is still open (a client that stopped reading, a half-sent request) closes now.
      for (const client of streams) client.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch {
          // closed already
        }
      }
      await Promise.all([...handling]);
    })();
    return finished;
  };
  let stopped: () => void;
  const whenStopped = new Promise<void>((resolve) => (stopped = resolve));
  return {
    hostname,
    port,
    streams,
    close: (graceMs) => close(graceMs).then(() => stopped()),
    finished: whenStopped,
  };
}

/** Whether a Host header names this server: its bound address, an IP address, or localhost. */
export function hostAllowed(host: string | undefined, bound: string, port: number): boolean {
  if (!host) return false;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(host.trim());
  if (!match) return false;
  const [, name, hostPort] = match;
  if (hostPort !== undefined && Number(hostPort) !== port) return false;
  const bare = name!.toLowerCase();
  return bare === bound.toLowerCase() || bare === "localhost" || isIpAddress(bare);
}

function isIpAddress(name: string): boolean {
  if (/^\[[0-9a-f:.]+\]$/.test(name)) return true;
  const parts = name.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** Read up to the blank line ending a request head; null when it did not come in time. */
async function readHead(
  conn: Deno.Conn,
  timeoutMs: number,
  maxBytes: number,
): Promise<string | null | "too large"> {
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, timeoutMs);
  try {
    const buffer = new Uint8Array(maxBytes);
    let length = 0;
    while (length < maxBytes) {
      const n = await conn.read(buffer.subarray(length));
      if (n === null) return null;
      length += n;
      const text = new TextDecoder().decode(buffer.subarray(0, length));
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) return text.slice(0, end);
    }
    return "too large";
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

function parseHead(head: string): HttpRequest | null {
  const [line, ...fields] = head.split("\r\n");
  const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line ?? "");
  if (!match) return null;
  const headers = new Map<string, string>();
  for (const field of fields) {
    const colon = field.indexOf(":");
    if (colon <= 0) return null;
    headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
  }
  let path: string;
  try {
    path = new URL(match[2]!, "http://localhost").pathname;
  } catch {
    return null;
  }
  return { method: match[1]!, path, headers };
}

function statusHead(status: number, headers: Record<string, string>, length?: number): string {
  const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ""}`, "connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (length !== undefined) lines.push(`content-length: ${length}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

async function writeReply(
  conn: Deno.Conn,
  reply: { status: number; headers?: Record<string, string>; body?: string | Uint8Array },
): Promise<void> {
  const body = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
  const headers = { "content-type": "text/plain; charset=utf-8", ...reply.headers };
  const head = encoder.encode(statusHead(reply.status, headers, body?.length ?? 0));
  await writeAll(conn, head, DEFAULT_STALL_MS);
  if (body && body.length > 0) await writeAll(conn, body, DEFAULT_STALL_MS);
}

/** Write every byte, failing when a write makes no progress for `stallMs`. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array, stallMs: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("write stalled")), stallMs);
    });
    try {
      written += await Promise.race([conn.write(bytes.subarray(written)), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }
}
