/**
 * The run directory `<output.dir>/<name>/<timestamp>/` and its files. Whole files
 * (config, model, summary) are written to a temporary name and renamed into place, so a
 * reader never sees half a file; metrics and events are appended as training goes.
 * @module
 */
import { join } from "node:path";
import { alive } from "./lock.ts";
import { stringify } from "csv-stringify/sync";

/** The columns of `metrics.csv` for classification without a validation split, in order. */
export const METRIC_COLUMNS = [
  "iteration",
  "epoch",
  "loss",
  "trainAccuracy",
  "testAccuracy",
  "learningRate",
  "elapsedSeconds",
] as const;

/** Every column `metrics.csv` can have. */
export type MetricColumn =
  | (typeof METRIC_COLUMNS)[number]
  | "validationLoss"
  | "validationAccuracy"
  | "trainRmse"
  | "validationRmse"
  | "testRmse";

/**
 * The columns of a run's `metrics.csv`: the book's for classification, validation loss and
 * accuracy when there is a validation split, and RMSEs in place of accuracies for regression.
 */
export function metricColumns(
  task: "classification" | "regression",
  validation: boolean,
): MetricColumn[] {
  const scores: MetricColumn[] = task === "regression"
    ? ["trainRmse", ...(validation ? ["validationRmse" as const] : []), "testRmse"]
    : ["trainAccuracy", "testAccuracy", ...(validation ? ["validationAccuracy" as const] : [])];
  return [
    "iteration",
    "epoch",
    "loss",
    ...scores,
    ...(validation ? ["validationLoss" as const] : []),
    "learningRate",
    "elapsedSeconds",
  ];
}

/** One row of `metrics.csv`; scores are present on evaluation rows only. */
export type MetricRow = Partial<Record<MetricColumn, number>> & {
  iteration: number;
  epoch: number;
  loss: number;
  learningRate: number;
  elapsedSeconds: number;
};

const encoder = new TextEncoder();

/** Write a file atomically: temporary name, flush, rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}${TEMP_MARK}${Deno.pid}`;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    // A failed write (a full disk) must not leave its temporary file behind to fill it more.
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Metric rows held before one write (at most; events and checkpoints write them sooner). */
const METRIC_ROWS_PER_WRITE = 500;

/** What marks a temporary file of writeFileAtomic: `<file>.tmp-<pid>`. */
const TEMP_MARK = ".tmp-";

/**
 * Create `<root>/<timestamp>/` (with `-2`, `-3`, … when that exists already: two runs in the
 * same millisecond); returns its path. `what` names the folder in an error.
 */
export async function makeStampedDir(root: string, now: Date, what: string): Promise<string> {
  const stamp = now.toISOString().replace(/:/g, "-");
  let path = join(root, stamp);
  for (let n = 2;; n++) {
    try {
      await Deno.mkdir(path);
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw new Error(`cannot create the ${what} ${path}: ${(error as Error).message}`);
      }
      path = join(root, `${stamp}-${n}`);
    }
  }
}

/**
 * Remove temporary files that earlier processes left in `dir` (killed mid-write): they are
 * never read, and on a full disk they are what keeps it full. A file whose writer is still
 * running (its pid is in the name) is left alone. Returns the names removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const pattern = new RegExp(`\\${TEMP_MARK}(\\d+)$`);
  for await (const entry of Deno.readDir(dir)) {
    const pid = entry.isFile ? pattern.exec(entry.name)?.[1] : undefined;
    if (pid === undefined || (Number(pid) !== Deno.pid && await alive(Number(pid)))) continue;
    await Deno.remove(join(dir, entry.name)).catch(() => {});
    removed.push(entry.name);
  }
  return removed;
}

/**
 * Fail before training when `<root>/latest` is something a finished run could not replace (a
 * real directory or file rather than a link).
 */
export async function checkLatest(root: string): Promise<void> {
  const link = join(root, "latest");
  try {
    const info = await Deno.lstat(link);
    if (!info.isSymlink) {
      throw new Error(
        `${link} is a ${
          info.isDirectory ? "directory" : "file"
        }, not the link to the newest run that gradstream keeps there; move it away first`,
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** A run's directory with its appending writers. */
export class RunDirectory {
  readonly path: string;
  readonly root: string;
  readonly columns: readonly MetricColumn[];
  #metrics: Deno.FsFile;
  /**
   * Metric rows not written yet, as numbers (each row's cells in column order, and whether
   * each is present): held as strings, every row was a few objects that lived long enough to
   * survive the garbage collector's young generation.
   */
  #cells: Float64Array;
  #present: Uint8Array;
  #held = 0;
  #events: Deno.FsFile;

  private constructor(
    root: string,
    path: string,
    metrics: Deno.FsFile,
    events: Deno.FsFile,
    columns: readonly MetricColumn[],
  ) {
    this.columns = columns;
    this.#cells = new Float64Array(METRIC_ROWS_PER_WRITE * columns.length);
    this.#present = new Uint8Array(METRIC_ROWS_PER_WRITE * columns.length);
    this.root = root;
    this.path = path;
    this.#metrics = metrics;
    this.#events = events;
  }

  /**
   * Create `<outputDir>/<name>/<timestamp>/`; fails early (before any training) when the
   * output folder cannot be written.
   */
  static async create(
    outputDir: string,
    name: string,
    now = new Date(),
    columns: readonly MetricColumn[] = METRIC_COLUMNS,
  ): Promise<RunDirectory> {
    const root = join(outputDir, name);
    try {
      await Deno.mkdir(root, { recursive: true });
    } catch (error) {
      throw new Error(
        `cannot create the output directory ${root}: ${(error as Error).message}`,
      );
    }
    await checkLatest(root);
    const path = await makeStampedDir(root, now, "run directory");
    const metrics = await Deno.open(join(path, "metrics.csv"), { write: true, createNew: true });
    const events = await Deno.open(join(path, "events.jsonl"), { write: true, createNew: true });
    metrics.writeSync(encoder.encode(stringify([[...columns]])));
    return new RunDirectory(root, path, metrics, events, columns);
  }

  /**
   * Reopen an existing run directory to continue it: `metrics.csv` keeps its header and the
   * complete rows up to `iterations` (1-based), dropping what a killed process left beyond
   * its last checkpoint, including a half-written last line.
   */
  static async reopen(path: string, iterations: number): Promise<RunDirectory> {
    const metricsPath = join(path, "metrics.csv");
    const lines = (await Deno.readTextFile(metricsPath)).split("\n");
    const kept = [lines[0]!];
    const columns = lines[0]!.split(",") as MetricColumn[];
    for (const line of lines.slice(1)) {
      const cells = line.split(",");
      if (cells.length !== columns.length || !/^\d+$/.test(cells[0]!)) break;
      if (Number(cells[0]) > iterations) break;
      kept.push(line);
    }
    await writeFileAtomic(metricsPath, kept.join("\n") + "\n");
    const metrics = await Deno.open(metricsPath, { append: true });
    const events = await Deno.open(join(path, "events.jsonl"), { append: true, create: true });
    const root = join(path, "..");
    return new RunDirectory(root, path, metrics, events, columns);
  }

  /**
   * Append one row to `metrics.csv`. Its cells are numbers or empty, which CSV never quotes:
   * the lines are joined here rather than by a CSV writer (7 µs a step of a 0.3 ms step).
   */
  metric(row: MetricRow): void {
    const columns = this.columns;
    const at = this.#held * columns.length;
    for (let c = 0; c < columns.length; c++) {
      const value = row[columns[c]!];
      this.#present[at + c] = value === undefined ? 0 : 1;
      if (value !== undefined) this.#cells[at + c] = value;
    }
    if (++this.#held >= METRIC_ROWS_PER_WRITE) this.flush();
  }

  /**
   * Write the metric rows held back. Rows are written in blocks (and before every event and
   * checkpoint), not one system call a step: a row a step cost 3 % of a small net's run.
   */
  flush(): void {
    if (this.#held === 0) return;
    const width = this.columns.length;
    const lines: string[] = [];
    const cells: string[] = new Array(width);
    for (let r = 0; r < this.#held; r++) {
      for (let c = 0; c < width; c++) {
        const at = r * width + c;
        cells[c] = this.#present[at] ? String(this.#cells[at]) : "";
      }
      lines.push(cells.join(","));
    }
    this.#held = 0;
    writeAll(this.#metrics, lines.join("\n") + "\n");
  }

  /** Append one event to `events.jsonl` (after the metric rows before it). */
  event(event: Record<string, unknown>): void {
    this.flush();
    writeAll(this.#events, JSON.stringify(event) + "\n");
  }

  /** Write a JSON file of the run atomically. */
  async writeJson(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(join(this.path, name), JSON.stringify(value, null, 2) + "\n");
  }

  /** Point `<output.dir>/<name>/latest` at this run (a relative symlink, swapped atomically). */
  async markLatest(): Promise<void> {
    const link = join(this.root, "latest");
    const tmp = `${link}.tmp-${Deno.pid}`;
    await Deno.remove(tmp).catch(() => {});
    await Deno.symlink(this.path.slice(this.root.length + 1), tmp);
    await Deno.rename(tmp, link);
  }

  /** Flush and close the appending files. */
  close(): void {
    try {
      this.flush();
    } catch {
      // already closed
    }
    for (const f of [this.#metrics, this.#events]) {
      try {
        f.syncSync();
        f.close();
      } catch {
        // already closed
      }
    }
  }
}

function writeAll(file: Deno.FsFile, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
}
