/**
 * One trial as an ordinary run in its own process: `train <base config> --set …` with the
 * trial's values, seed and run folder, its events read line by line (`--log json`). A
 * local sweep and a queue worker both run trials through {@linkcode runTrial}.
 * @module
 */
import type { Trial } from "./sample.ts";

/** The command that trains a config (the CLI's `train`), as an argument vector. */
export type TrainCommand = string[];

/** What a trial needs besides its values: the base config and where its run goes. */
export interface TrialSpec extends Trial {
  /** The base config file (the sweep's base.json). */
  base: string;
  /** output.dir of the trial's run. */
  outputDir: string;
  /** The seed of the data's parts, the same for every trial. */
  splitSeed: number;
  /** Continue this run directory from its checkpoint. */
  resume?: string;
}

/** How a trial's process ended, with what it reported. */
export interface TrialOutcome {
  code: number;
  runDir: string | null;
  /** The run's summary (the `finished` event), when it finished. */
  summary: Record<string, unknown> | null;
  /** Every evaluation event (iteration and metrics). */
  evaluations: Record<string, number>[];
  /** The last lines the process wrote to stderr (why it failed). */
  errorTail: string;
  seconds: number;
}

/** The run name of trial i: trial-000, trial-001, … (sorts in trial order). */
export function trialName(trial: number): string {
  return `trial-${String(trial).padStart(3, "0")}`;
}

/** The `--set` overrides that make the base config into trial i's config. */
export function trialOverrides(spec: TrialSpec): string[] {
  return [
    ...Object.entries(spec.values).map(([key, value]) => `${key}=${JSON.stringify(value)}`),
    `seed=${spec.seed}`,
    `data.split.seed=${spec.splitSeed}`,
    `name=${trialName(spec.trial)}`,
    `output.dir=${JSON.stringify(spec.outputDir)}`,
  ];
}

/** Lines of stderr kept for a failed trial's message. */
const ERROR_TAIL_LINES = 8;

/**
 * Run a trial to its end. `onEvent` sees each event as it comes (started, evaluation,
 * finished); `signal` asks the run to stop (SIGTERM: it checkpoints and exits 143).
 */
export async function runTrial(
  command: TrainCommand,
  spec: TrialSpec,
  options: { onEvent?: (event: Record<string, unknown>) => void; signal?: AbortSignal } = {},
): Promise<TrialOutcome> {
  const started = performance.now();
  const args = [
    ...command.slice(1),
    spec.base,
    ...trialOverrides(spec).flatMap((o) => ["--set", o]),
    "--log",
    "json",
    ...(spec.resume ? ["--resume", spec.resume] : []),
  ];
  const child = new Deno.Command(command[0]!, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stop = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already ended */ }
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  const outcome: TrialOutcome = {
    code: 1,
    runDir: spec.resume ?? null,
    summary: null,
    evaluations: [],
    errorTail: "",
    seconds: 0,
  };
  const errors: string[] = [];
  const readErrors = (async () => {
    for await (const line of lines(child.stderr)) {
      errors.push(line);
      if (errors.length > ERROR_TAIL_LINES) errors.shift();
    }
  })();
  for await (const line of lines(child.stdout)) {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line);
    } catch {
      continue; // not an event (a warning printed as text)
    }
    if (event.event === "started" || event.event === "resumed") {
      outcome.runDir = String(event.runDir);
    } else if (event.event === "evaluation") {
      outcome.evaluations.push(numbersOf(event));
    } else if (event.event === "finished") {
      outcome.summary = event;
    } else if (event.event === "error" && typeof event.message === "string") {
      errors.push(event.message);
    }
    options.onEvent?.(event);
  }
  await readErrors;
  outcome.code = (await child.status).code;
  options.signal?.removeEventListener("abort", stop);
  outcome.errorTail = errors.join("\n");
  outcome.seconds = (performance.now() - started) / 1000;
  return outcome;
}

function numbersOf(event: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(event).filter((e): e is [string, number] => typeof e[1] === "number"),
  );
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let at: number;
    while ((at = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, at);
      rest = rest.slice(at + 1);
    }
  }
  if (rest) yield rest;
}
