/**
 * A server for bench/serve_bench.ts, in its own process: `model <run dir>` serves predictions
 * (serve/server.ts); `bare` is the yardstick, a Deno.serve handler that parses the same JSON
 * body and answers a constant. Prints its URL, then serves until killed.
 * @module
 */
import { startServer } from "../serve/server.ts";

const [mode, runDir] = Deno.args;
if (mode === "model") {
  const server = await startServer({ target: runDir!, port: 0 });
  console.log(server.url);
} else {
  const answer = JSON.stringify({ predictions: [{ class: "0" }] });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (r) => {
    const body = await r.json();
    if (!Array.isArray(body.rows)) return new Response("{}", { status: 400 });
    return new Response(answer, { headers: { "content-type": "application/json" } });
  });
  console.log(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/`);
}
