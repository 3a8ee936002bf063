/** Shared helpers of the end-to-end tests: run the CLI, use a temporary folder. */
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { RUN_PERMISSIONS, RUN_V8_FLAGS } from "../main.ts";

/** The repository root. */
export const root = join(import.meta.dirname!, "..");
/** The tiny IDX fixture's config. */
export const tiny = join(root, "fixtures", "configs", "tiny.yaml");

/** `deno run main.ts …args` with the V8 flags and permissions the tasks give, and `env` added. */
export function command(args: string[], env: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_V8_FLAGS, ...RUN_PERMISSIONS, join(root, "main.ts"), ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  });
}

/** Run the CLI to completion (with `env` added to the environment). */
export async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const o = await command(args, env).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: o.code, stdout: decode(o.stdout), stderr: decode(o.stderr) };
}

/** The run directory a train or retrain command printed. */
export function runDirOf(stdout: string): string {
  const match = stdout.match(/^run directory: (.*)$/m);
  if (!match) throw new Error(`no run directory in:\n${stdout}`);
  return match[1]!;
}

/** Train `config` into `dir` with these overrides; returns the run directory. */
export async function trainConfig(
  config: string,
  dir: string,
  ...overrides: string[]
): Promise<string> {
  const sets = overrides.flatMap((s) => ["--set", s]);
  const run = await cli(["train", config, "--set", `output.dir=${dir}`, ...sets]);
  if (run.code !== 0) throw new Error(run.stderr);
  return runDirOf(run.stdout);
}

/** Train the tiny fixture into `dir` for a couple of epochs; returns the run directory. */
export function trainTiny(dir: string, ...overrides: string[]): Promise<string> {
  return trainConfig(tiny, dir, "training.epochs=2", ...overrides);
}

/** `retrain` of the tiny fixture into `dir` with a validation split (what the gate compares on). */
export function retrainTinyArgs(dir: string): string[] {
  return ["retrain", tiny, "--set", `output.dir=${dir}`, "--set", "data.split={ validation: 0.2 }"];
}

/** Call `f` with a fresh temporary folder, removed afterwards. */
export async function withTempDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "gradstream-test-" });
  try {
    return await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The flags a deno.json task runs main.ts with (V8 flags and permissions, before main.ts). */
export function taskPermissions(task: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
  const line: string = config.tasks[task].command;
  const words = line.split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
}

/** `deno run <the task's permissions> main.ts <task> …args`, not yet started. */
export function taskCommand(task: string, args: string[], stdout: "piped" | "null" = "piped") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskPermissions(task), join(root, "main.ts"), task, ...args],
    cwd: root,
    stdin: "null",
    stdout,
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** Run a task's command to completion. */
export async function task(
  name: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const o = await taskCommand(name, args).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: o.code, stdout: decode(o.stdout), stderr: decode(o.stderr) };
}

/** Debian's redis-server, when installed (.ci/run installs it). */
export const REDIS_SERVER = "/usr/bin/redis-server";

/** Whether the real Redis server is here; tests that need it are skipped (with a message) otherwise. */
export function haveRedis(): boolean {
  try {
    Deno.statSync(REDIS_SERVER);
    return true;
  } catch {
    console.warn(`skipped: ${REDIS_SERVER} is missing (apt-get install redis-server)`);
    return false;
  }
}

/** A real Redis server on a free loopback port, no persistence; stopped by `stop()`. */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command(REDIS_SERVER, {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Ready when it accepts a connection (it starts in milliseconds).
  for (let tries = 0;; tries++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (error) {
      if (tries > 100) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

/** trials.csv's rows without the columns that depend on time (seconds, the run folder's stamp). */
export function trialsWithoutTime(csv: string): string[][] {
  const rows = parse(csv) as string[][];
  const keep = rows[0]!.map((n) => n !== "seconds" && n !== "runDir");
  return rows.map((row) => row.filter((_, i) => keep[i]));
}
