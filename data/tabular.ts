/**
 * From a raw table to numbers a network reads: numeric columns as they are (blanks filled),
 * categorical columns one-hot. Everything is fitted on the training rows only and returned as
 * plain data, so that a saved model encodes new raw rows exactly as it was trained.
 * @module
 */
import type { Table, TableColumn } from "./table.ts";
import { quote } from "./table.ts";

/** How blank numeric cells are handled. */
export type NumericMissing = "mean" | "median" | "zero" | "drop-row" | "error";
/** How blank categorical cells are handled. */
export type CategoricalMissing = "most-frequent" | "own-category" | "drop-row" | "error";

/** One feature column's encoding. `fill` is null where blanks drop the row or are an error. */
export type ColumnEncoding =
  | { name: string; kind: "numeric"; fill: number | null; min: number; max: number }
  | {
    name: string;
    kind: "categorical";
    /** One-hot slots in this order; `ownCategory` adds a last slot for blanks. */
    categories: string[];
    fill: string | null;
    ownCategory: boolean;
  };

/** A table's encoding: the feature columns in order, and how blanks were handled. */
export interface TableEncoding {
  columns: ColumnEncoding[];
  /** The label column's name in the training file. */
  label: string;
  ignored: string[];
  missing: { numeric: NumericMissing; categorical: CategoricalMissing };
}

/** Options of {@linkcode fitEncoding}. */
export interface EncodingOptions {
  ignore?: string[];
  categorical?: string[];
  missing?: { numeric: NumericMissing; categorical: CategoricalMissing };
}

/** A raw cell: a number, text, or blank (null, undefined or ""). */
export type RawCell = string | number | null | undefined;

/** The number of features a table encoding produces: the sum of its columns' widths. */
export function encodedFeatureCount(encoding: TableEncoding): number {
  return encoding.columns.reduce((n, c) => n + encodedWidth(c), 0);
}

/** Width of a column once encoded. */
export function encodedWidth(column: ColumnEncoding): number {
  return column.kind === "numeric" ? 1 : column.categories.length + (column.ownCategory ? 1 : 0);
}

/** The encoded feature names: `Island=Biscoe`, … for categories. */
export function featureNames(encoding: TableEncoding): string[] {
  return encoding.columns.flatMap((c) =>
    c.kind === "numeric"
      ? [c.name]
      : [...c.categories, ...(c.ownCategory ? ["(blank)"] : [])].map((v) => `${c.name}=${v}`)
  );
}

/**
 * Fit the encoding of `table`'s feature columns on the rows `train`: which columns are
 * categorical (named, or holding any non-numeric training value), their categories (sorted),
 * and the fill values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitEncoding } from "./tabular.ts";
 * const table = { path: "t.csv", names: ["x", "colour", "y"], labelIndex: 2, labels: ["a", "b", "a"],
 *   lines: Int32Array.of(2, 3, 4), rows: 3,
 *   columns: [{ kind: "numeric" as const, values: Float32Array.of(1, NaN, 3) },
 *     { kind: "text" as const, codes: Int32Array.of(0, 1, -1), dictionary: ["red", "blue"] }, null] };
 * const enc = fitEncoding(table, Int32Array.of(0, 1, 2));
 * assert.deepEqual(enc.columns[0], { name: "x", kind: "numeric", fill: 2, min: 1, max: 3 });
 * assert.deepEqual(enc.columns[1]!.kind === "categorical" && enc.columns[1]!.categories, ["blue", "red"]);
 * ```
 */
export function fitEncoding(
  table: Table,
  train: Int32Array,
  options: EncodingOptions = {},
): TableEncoding {
  const ignore = new Set(options.ignore ?? []);
  const categorical = new Set(options.categorical ?? []);
  const missing = options.missing ?? { numeric: "mean", categorical: "most-frequent" };
  for (const [setting, names] of [["ignore", ignore], ["categorical", categorical]] as const) {
    for (const name of names) {
      const at = table.names.indexOf(name);
      if (at < 0 || at === table.labelIndex) {
        throw new RangeError(
          `${table.path}: data.columns.${setting} names ${quote(name)}, ${
            at < 0 ? "which is not a column" : "which is the label column"
          }; the columns are ${table.names.map(quote).join(", ")}`,
        );
      }
    }
  }
  const columns: ColumnEncoding[] = [];
  table.columns.forEach((column, c) => {
    const name = table.names[c]!;
    if (column === null || ignore.has(name)) return;
    // A numeric column stays numeric unless named categorical; a text column whose training
    // cells all read as numbers (the words are elsewhere) is numeric too.
    const cells = Array.from(train, (row) => cellValue(column, row));
    const text = categorical.has(name) ||
      cells.some((cell) => typeof cell === "string" && !Number.isFinite(Number(cell)));
    if (text) {
      columns.push(
        fitCategorical(
          name,
          cells.map((c) => (c === null ? null : String(c))),
          missing.categorical,
        ),
      );
    } else {
      const values = cells.map((cell) => (cell === null ? NaN : Number(cell)));
      columns.push(fitNumeric(name, values, missing.numeric, table.path));
    }
  });
  if (columns.length === 0) {
    throw new RangeError(`${table.path}: no feature columns are left after data.columns.ignore`);
  }
  return {
    columns,
    label: table.labelIndex >= 0 ? table.names[table.labelIndex]! : "",
    ignored: [...ignore],
    missing,
  };
}

function fitNumeric(
  name: string,
  values: number[],
  strategy: NumericMissing,
  path: string,
): ColumnEncoding {
  const present = values.filter((v) => !Number.isNaN(v));
  if (present.length === 0) {
    throw new RangeError(
      `${path}: column ${
        quote(name)
      } is blank in every training row; ignore it (data.columns.ignore)`,
    );
  }
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of present) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const fill = strategy === "mean"
    ? sum / present.length
    : strategy === "median"
    ? median(present)
    : strategy === "zero"
    ? 0
    : null;
  return { name, kind: "numeric", fill, min, max };
}

function fitCategorical(
  name: string,
  cells: (string | null)[],
  strategy: CategoricalMissing,
): ColumnEncoding {
  const counts = new Map<string, number>();
  for (const cell of cells) if (cell !== null) counts.set(cell, (counts.get(cell) ?? 0) + 1);
  const categories = [...counts.keys()].sort();
  let fill: string | null = null;
  if (strategy === "most-frequent") {
    // The most frequent; a tie goes to the first in sorted order.
    let best = -1;
    for (const c of categories) {
      if (counts.get(c)! > best) {
        best = counts.get(c)!;
        fill = c;
      }
    }
  }
  return { name, kind: "categorical", categories, fill, ownCategory: strategy === "own-category" };
}

function median(values: number[]): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A table cell as read: a number in a numeric column, text in a text one, null when blank. */
export function cellValue(column: TableColumn, row: number): number | string | null {
  if (column.kind === "numeric") {
    const v = column.values[row]!;
    return Number.isNaN(v) ? null : v;
  }
  const code = column.codes[row]!;
  return code < 0 ? null : column.dictionary[code]!;
}

/** What encoding some rows found: rows dropped for blanks, unseen categories by column. */
export interface EncodeReport {
  /** Rows left out because a blank fell on a `drop-row` column (indices into the input rows). */
  dropped: number;
  /** Values not among a column's training categories (encoded as all zeros), by column. */
  unseen: Record<string, number>;
}

/**
 * Encode rows given as raw cells per feature column (in the encoding's order) into
 * `features`-wide float32 rows. Returns the rows kept (drop-row) and what was found.
 * `where(i, column)` names a row's place for messages.
 */
export function encodeRows(
  encoding: TableEncoding,
  count: number,
  cell: (row: number, column: number) => RawCell,
  where: (row: number, column: string) => string,
  options: { dropRows?: boolean } = {},
): { x: Float32Array; kept: Int32Array; report: EncodeReport } {
  const width = encodedFeatureCount(encoding);
  const x = new Float32Array(count * width);
  const kept: number[] = [];
  const report: EncodeReport = { dropped: 0, unseen: {} };
  rows: for (let i = 0; i < count; i++) {
    const out = kept.length * width;
    let f = out;
    for (let c = 0; c < encoding.columns.length; c++) {
      const column = encoding.columns[c]!;
      const raw = cell(i, c);
      const blank = raw === null || raw === undefined ||
        (typeof raw === "string" && raw.trim() === "");
      if (blank && column.fill === null && !(column.kind === "categorical" && column.ownCategory)) {
        const strategy = encoding.missing[column.kind];
        if (strategy === "drop-row" && options.dropRows !== false) {
          x.fill(0, out, out + width);
          report.dropped++;
          continue rows;
        }
        throw new RangeError(
          `${where(i, column.name)}: the value is blank and missing.${column.kind} is ${strategy}`,
        );
      }
      if (column.kind === "numeric") {
        let v: number;
        if (blank) v = column.fill!;
        else if (typeof raw === "number") v = raw;
        else {
          v = Number(String(raw).trim());
          if (!Number.isFinite(v)) {
            throw new TypeError(
              `${
                where(i, column.name)
              }: expected a number (the column is numeric in the training rows) but found ${
                quote(String(raw))
              }`,
            );
          }
        }
        x[f++] = v;
        continue;
      }
      const text = blank ? null : typeof raw === "number" ? String(raw) : String(raw).trim();
      const slot = text === null
        ? column.fill === null ? column.categories.length : column.categories.indexOf(column.fill)
        : column.categories.indexOf(text);
      if (slot < 0) report.unseen[column.name] = (report.unseen[column.name] ?? 0) + 1;
      else x[f + slot] = 1;
      f += encodedWidth(column);
    }
    kept.push(i);
  }
  return { x: x.slice(0, kept.length * width), kept: Int32Array.from(kept), report };
}

/**
 * Encode the rows `rows` of a table read with the same columns as the training file (matched
 * by name, so a file may add, drop or reorder other columns). `kept` holds positions in
 * `rows` of the rows encoded (all but those a `drop-row` blank left out).
 */
export function encodeTable(
  table: Table,
  rows: Int32Array,
  encoding: TableEncoding,
  options: { dropRows?: boolean } = {},
): { x: Float32Array; kept: Int32Array; report: EncodeReport } {
  const sources = encoding.columns.map((column) => {
    const at = table.names.indexOf(column.name);
    const source = at < 0 ? null : table.columns[at];
    if (!source) {
      throw new RangeError(
        `${table.path}: no column named ${quote(column.name)}; the model reads ${
          encoding.columns.map((c) => quote(c.name)).join(", ")
        }`,
      );
    }
    return source;
  });
  return encodeRows(
    encoding,
    rows.length,
    (i, c) => cellValue(sources[c]!, rows[i]!),
    (i, name) => `${table.path}: line ${table.lines[rows[i]!]}, column ${quote(name)}`,
    options,
  );
}

/** One line about unseen categories, or null when there were none. */
export function unseenWarning(report: EncodeReport, what: string): string | null {
  const entries = Object.entries(report.unseen);
  if (entries.length === 0) return null;
  const total = entries.reduce((n, [, k]) => n + k, 0);
  return `${what}: ${total} value${
    total === 1 ? "" : "s"
  } not seen in training, encoded as no category (${
    entries.map(([name, k]) => `${name}: ${k}`).join(", ")
  })`;
}
