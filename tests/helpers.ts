/** Shared helpers of the end-to-end tests: run the CLI, use a temporary folder. */
import { join } from "node:path";
import { RUN_PERMISSIONS } from "../main.ts";

/** The repository root. */
export const root = join(import.meta.dirname!, "..");
/** The tiny IDX fixture's config. */
export const tiny = join(root, "fixtures", "configs", "tiny.yaml");

/** `deno run main.ts …args` with the permissions the tasks give. */
export function command(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_PERMISSIONS, join(root, "main.ts"), ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** Run the CLI to completion. */
export async function cli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const o = await command(args).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: o.code, stdout: decode(o.stdout), stderr: decode(o.stderr) };
}

/** The run directory a train or retrain command printed. */
export function runDirOf(stdout: string): string {
  const match = stdout.match(/^run directory: (.*)$/m);
  if (!match) throw new Error(`no run directory in:\n${stdout}`);
  return match[1]!;
}

/** Train the tiny fixture into `dir` for a couple of epochs; returns the run directory. */
export async function trainTiny(dir: string, ...overrides: string[]): Promise<string> {
  const sets = ["training.epochs=2", ...overrides].flatMap((s) => ["--set", s]);
  const run = await cli(["train", tiny, "--set", `output.dir=${dir}`, ...sets]);
  if (run.code !== 0) throw new Error(run.stderr);
  return runDirOf(run.stdout);
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
