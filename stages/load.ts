/**
 * Stage `load`: a data source config in, the train and test splits out.
 * @module
 */
import { concatMap, type OperatorFunction } from "rxjs";
import { encodeLabels } from "../data/csv.ts";
import {
  type Dataset,
  partitionInPlace,
  stratifiedSplit,
  subset,
  type TargetScaling,
} from "../data/dataset.ts";
import { splitRows } from "../data/split.ts";
import { quote, readTable, type Table } from "../data/table.ts";
import {
  encodedFeatureCount,
  encodeTable,
  fitEncoding,
  type TableEncoding,
  unseenWarning,
} from "../data/tabular.ts";
import { loadIdx } from "../data/idx.ts";
import { loadMnistDigits } from "../data/mnist_digits.ts";
import { deriveSeed, Random } from "../nn/random.ts";
import type { Config } from "../config/config.ts";

/** A data source as the config describes it (paths already resolved). */
export type SourceConfig = Config["data"]["source"];

/** How many rows went where, and how many were left out. */
export interface RowCounts {
  train: number;
  validation: number;
  test: number;
  droppedMissingLabel: number;
  droppedMissingValues: number;
}

/** The splits every later stage works on; `validation` when the config asks for one. */
export interface Splits {
  train: Dataset;
  test: Dataset;
  validation?: Dataset;
  /** Tabular sources: how raw rows become features (fitted on the training rows). */
  encoding?: TableEncoding;
  rows?: RowCounts;
  /** Things a person should know (dropped rows, unseen categories), one line each. */
  warnings?: string[];
}

/** What the load stage needs besides the source. */
export interface LoadOptions {
  seed: number;
  task?: Config["task"];
  split?: Config["data"]["split"];
  columns?: Config["data"]["columns"];
  missing?: Config["data"]["missing"];
  /** A saved model's encoding and target scaling, used instead of fitting them again. */
  encoding?: TableEncoding;
  target?: TargetScaling;
}

/** The load options a config implies. */
export function loadOptions(config: Config): LoadOptions {
  return {
    // The parts follow data.split.seed when given, so that a sweep's trials share them.
    seed: config.data.split?.seed ?? config.seed,
    task: config.task,
    missing: config.data.missing,
    ...(config.data.split ? { split: config.data.split } : {}),
    ...(config.data.columns ? { columns: config.data.columns } : {}),
  };
}

/**
 * Read each source config that arrives and emit its splits. The npm digits are split by a
 * seeded stratified split; IDX files and CSV pairs come with their own train and test files;
 * a single CSV file is split by `split.test`. `split.validation` is then carved out of the
 * training rows, for every source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, of } from "rxjs";
 * import { load } from "./load.ts";
 * const { train, test } = await lastValueFrom(
 *   of({ kind: "mnist-digits" as const, trainSize: 800, testSize: 200 }).pipe(load({ seed: 1 })),
 * );
 * assert.ok(train.count === 800 && test.count === 200);
 * ```
 */
export function load(options: LoadOptions): OperatorFunction<SourceConfig, Splits> {
  return concatMap((source) => loadSplits(source, options));
}

/** The splits of one source. */
export async function loadSplits(source: SourceConfig, options: LoadOptions): Promise<Splits> {
  const { seed } = options;
  switch (source.kind) {
    case "mnist-digits": {
      const all = await loadMnistDigits();
      const { train, test } = stratifiedSplit(
        all.labels,
        all.classes,
        source.trainSize,
        source.testSize,
        new Random(deriveSeed(seed, "split")),
      );
      // The digits' own rows, rearranged: a copy per split held 31 MB more at the peak.
      const [trainRows, testRows] = partitionInPlace(all, [train, test]) as [Dataset, Dataset];
      return withValidation({ train: trainRows, test: testRows }, options);
    }
    case "idx": {
      const idxOptions = {
        classes: source.classes,
        ...(source.classNames ? { classNames: source.classNames } : {}),
      };
      // One after the other: side by side, their decompression buffers left the allocator
      // holding more at the peak.
      const train = await loadIdx(source.trainImages, source.trainLabels, idxOptions);
      const test = await loadIdx(source.testImages, source.testLabels, idxOptions);
      checkSameShape(train, test);
      return withValidation({ train, test }, options);
    }
    case "csv":
      return await loadTable(source, options);
  }
}

/** Carve `split.validation` out of the training rows (stratified for classification). */
function withValidation(splits: Splits, options: LoadOptions): Splits {
  if (options.split?.validation === undefined) return splits;
  const { train } = splits;
  const parts = validationRows(train.count, train.labels, options);
  return {
    ...splits,
    train: subset(train, parts.train),
    validation: subset(train, parts.validation),
  };
}

/**
 * Which of `count` training rows stay for training and which become validation rows, drawn by
 * the seed (stratified by `labels` for classification). Without a validation split every row
 * stays, in its order.
 */
function validationRows(
  count: number,
  labels: Int32Array,
  options: LoadOptions,
): { train: Int32Array; validation: Int32Array } {
  const fraction = options.split?.validation;
  if (fraction === undefined) {
    return {
      train: Int32Array.from({ length: count }, (_, i) => i),
      validation: new Int32Array(0),
    };
  }
  return splitRows(
    count,
    { test: 0, validation: Math.round(count * fraction) },
    new Random(deriveSeed(options.seed, "validation")),
    stratifies(options) ? labels : null,
  );
}

function stratifies(options: LoadOptions): boolean {
  return options.split?.stratify ?? options.task !== "regression";
}

type CsvSource = Extract<SourceConfig, { kind: "csv" }>;

/**
 * A CSV source: raw tables in, encoded splits out. Rows with a blank label are dropped; the
 * rows are split (one file) or the validation rows carved out (two files); then the column
 * encoding, fill values and target scaling are fitted on the training rows and applied to all.
 */
async function loadTable(source: CsvSource, options: LoadOptions): Promise<Splits> {
  const read = {
    labelColumn: source.labelColumn,
    header: source.header,
    delimiter: source.delimiter,
  };
  const regression = options.task === "regression";
  const warnings: string[] = [];
  const tables = source.file !== undefined
    ? [await readTable(source.file, read)]
    : await Promise.all([readTable(source.train!, read), readTable(source.test!, read)]);
  // Rows with a blank label can be neither trained on nor scored.
  let droppedMissingLabel = 0;
  const labelled = tables.map((table) => {
    const rows = Int32Array.from(
      { length: table.rows },
      (_, i) => i,
    ).filter((i) => table.labels[i] !== "");
    const dropped = table.rows - rows.length;
    if (dropped > 0) {
      droppedMissingLabel += dropped;
      warnings.push(
        `${table.path}: ${dropped} row${dropped === 1 ? "" : "s"} with a blank label dropped`,
      );
    }
    return rows;
  });
  if (tables.length === 2) checkSameColumns(tables[0]!, tables[1]!);
  // Classes come from every labelled row of the file(s) (a class is a class wherever it is);
  // with two files the test file must use the training file's classes.
  const labelsOf = (t: number) => Array.from(labelled[t]!, (i) => tables[t]!.labels[i]!);
  const linesOf = (t: number) => Array.from(labelled[t]!, (i) => tables[t]!.lines[i]!);
  const targetsOf = (t: number) => {
    const values = labelsOf(t).map(Number);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new TypeError(
        `${tables[t]!.path}: line ${
          linesOf(t)[bad]
        }: task "regression" needs a numeric label but found ${quote(labelsOf(t)[bad]!)}`,
      );
    }
    return Float64Array.from(values);
  };
  let classes = 1;
  let classNames: string[] | undefined;
  const encoded = tables.map((table, t) => {
    if (regression) return { labels: new Int32Array(labelled[t]!.length), targets: targetsOf(t) };
    const declared = t === 0 ? source.classes : classNames ?? classes;
    const e = encodeLabels(labelsOf(t), linesOf(t), declared, table.path);
    if (t === 0) {
      classes = e.classes;
      classNames = e.classNames;
    }
    return { labels: e.labels, targets: null };
  });
  // Each part: which table, and positions within that table's `labelled` rows.
  let parts: { table: number; rows: Int32Array }[];
  if (tables.length === 1) {
    const n = labelled[0]!.length;
    const test = Math.round(n * (options.split?.test ?? DEFAULT_TEST_FRACTION));
    const validation = Math.round(n * (options.split?.validation ?? 0));
    const split = splitRows(
      n,
      { test, validation },
      new Random(deriveSeed(options.seed, "split")),
      stratifies(options) ? encoded[0]!.labels : null,
    );
    parts = [split.train, split.validation, split.test].map((rows) => ({ table: 0, rows }));
  } else {
    const split = validationRows(labelled[0]!.length, encoded[0]!.labels, options);
    parts = [
      { table: 0, rows: split.train },
      { table: 0, rows: split.validation },
      { table: 1, rows: Int32Array.from({ length: labelled[1]!.length }, (_, i) => i) },
    ];
  }
  const tableRows = (p: { table: number; rows: Int32Array }) =>
    Int32Array.from(p.rows, (i) => labelled[p.table]![i]!);
  const encoding = options.encoding ?? fitEncoding(tables[0]!, tableRows(parts[0]!), {
    ...(options.columns ? options.columns : {}),
    ...(options.missing ? { missing: options.missing } : {}),
  });
  const width = encodedFeatureCount(encoding);
  let droppedMissingValues = 0;
  const names = ["train", "validation", "test"] as const;
  const datasets = parts.map((part, k) => {
    const table = tables[part.table]!;
    const { x, kept, report } = encodeTable(table, tableRows(part), encoding);
    droppedMissingValues += report.dropped;
    if (report.dropped > 0) {
      warnings.push(
        `${names[k]} rows: ${report.dropped} dropped for a blank value (missing: drop-row)`,
      );
    }
    const unseen = unseenWarning(report, `${names[k]} rows`);
    if (unseen) warnings.push(unseen);
    // `kept` holds positions in the part's rows; those index the encoded labels.
    const at = Array.from(kept, (k) => part.rows[k]!);
    const e = encoded[part.table]!;
    const ds: Dataset = {
      x,
      labels: Int32Array.from(at, (i) => e.labels[i]!),
      count: kept.length,
      features: width,
      shape: [width],
      classes,
      ...(classNames ? { classNames } : {}),
      ...(e.targets ? { targets: Float64Array.from(at, (i) => e.targets![i]!) } : {}),
      origin: table.path,
    };
    return ds;
  });
  const [train, validation, test] = datasets as [Dataset, Dataset, Dataset];
  if (train.count === 0) {
    throw new RangeError(`${tables[0]!.path}: no training rows are left after dropping blanks`);
  }
  if (regression) {
    const target = options.target ?? fitTargetScaling(train.targets!);
    for (const ds of datasets) ds.target = target;
  }
  const hasValidation = options.split?.validation !== undefined;
  return {
    train,
    test,
    ...(hasValidation ? { validation } : {}),
    encoding,
    rows: {
      train: train.count,
      validation: validation.count,
      test: test.count,
      droppedMissingLabel,
      droppedMissingValues,
    },
    warnings,
  };
}

/** The test fraction of a single file when `data.split.test` is not given. */
export const DEFAULT_TEST_FRACTION = 0.2;

/** Mean and standard deviation (1 where the targets are constant) of training targets. */
export function fitTargetScaling(targets: Float64Array): TargetScaling {
  let mean = 0;
  for (const v of targets) mean += v;
  mean /= Math.max(targets.length, 1);
  let squares = 0;
  for (const v of targets) squares += (v - mean) ** 2;
  const std = Math.sqrt(squares / Math.max(targets.length, 1));
  return { mean, std: std > 0 ? std : 1 };
}

function checkSameColumns(train: Table, test: Table): void {
  const missing = train.names.filter((n) => !test.names.includes(n));
  if (missing.length > 0 || train.names.length !== test.names.length) {
    throw new RangeError(
      `${test.path}: ${test.names.length} columns but ${train.path} has ${train.names.length}; expected the same columns${
        missing.length > 0 ? ` (missing: ${missing.slice(0, 5).map(quote).join(", ")})` : ""
      }`,
    );
  }
}

function checkSameShape(train: Dataset, test: Dataset): void {
  if (train.features !== test.features) {
    throw new RangeError(
      `${test.origin}: ${test.features} features per sample but ${train.origin} has ${train.features}; expected the same`,
    );
  }
}
