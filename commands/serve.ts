/**
 * `deno task serve <run dir|model.json|<dir>/<name>/current> [--port 8080] [--host 127.0.0.1]`.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../pipeline/errors.ts";
import { startServer } from "../serve/server.ts";
import { integerOption, print, printError, USAGE, usage } from "./cli.ts";

/** Serve predictions until SIGINT or SIGTERM, which finish the requests in flight (exit 0). */
export async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "max-body-bytes": { type: "string" },
        "max-rows": { type: "string" },
      },
    })
  );
  if (positionals.length !== 1) {
    throw new UsageError(`serve takes a run directory, a model.json or a current link\n${USAGE}`);
  }
  const port = integerOption("port", values.port, 0);
  const maxBodyBytes = integerOption("max-body-bytes", values["max-body-bytes"], 1);
  const maxRows = integerOption("max-rows", values["max-rows"], 1);
  const server = await startServer({
    target: positionals[0]!,
    ...(port !== undefined ? { port } : {}),
    ...(values.host ? { hostname: values.host } : {}),
    ...(maxBodyBytes ? { maxBodyBytes } : {}),
    ...(maxRows ? { maxRows } : {}),
    log: (line) => printError(`${line}\n`),
  });
  print(`serving ${server.model().path} (model ${server.model().id}) at ${server.url}\n`);
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, resolve);
  });
  await server.close();
  print("stopped: every request in flight was answered\n");
  return 0;
}
