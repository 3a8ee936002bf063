/**
 * CSV datasets, parsed as a stream by `csv-parse` so only the numbers are kept in memory.
 * One column holds the label (a name or an index, the first by default); every other column
 * is a numeric feature. Labels may be integers (used as class indices) or strings (mapped to
 * indices in sorted order, the mapping kept as the class names).
 * @module
 */
import type { Dataset } from "./dataset.ts";
import { csvRecords, quote } from "./table.ts";

/** Options of {@linkcode loadCsv}. */
export interface CsvOptions {
  /** The label column: a header name or a 0-based index [0]; null for unlabelled inputs. */
  labelColumn?: number | string | null;
  /** Whether the first row names the columns [true]. */
  header?: boolean;
  /** The field delimiter [","]. */
  delimiter?: string;
  /**
   * The classes: a count (integer labels must be below it) or the class names (string labels
   * must be among them). Omitted: taken from this file's labels.
   */
  classes?: number | string[];
}

/**
 * Load a CSV file as a dataset. To read a test split with the training split's classes, pass
 * the training set's `classes` (its `classNames` when labels are strings).
 *
 * @example
 * ```ts ignore
 * import { loadCsv } from "./csv.ts";
 * const train = await loadCsv("mnist_train.csv", { labelColumn: "label" });
 * const test = await loadCsv("mnist_test.csv", {
 *   labelColumn: "label",
 *   classes: train.classNames ?? train.classes,
 * });
 * ```
 */
export async function loadCsv(path: string, options: CsvOptions = {}): Promise<Dataset> {
  const header = options.header ?? true;
  const delimiter = options.delimiter ?? ",";
  let columns = -1;
  let labelIndex = -1;
  let features = 0;
  let values = new Float32Array(1 << 16);
  let count = 0;
  const rawLabels: string[] = [];
  const labelLines: number[] = [];
  const where = (line: number, column?: number) =>
    `${path}: line ${line}${column === undefined ? "" : `, column ${column + 1}`}`;
  for await (const { record, line } of csvRecords(path, delimiter)) {
    if (columns < 0) {
      columns = record.length;
      labelIndex = options.labelColumn === null
        ? -1
        : resolveLabelColumn(options.labelColumn ?? 0, header ? record : null, columns, path);
      features = labelIndex < 0 ? columns : columns - 1;
      if (features < 1) {
        throw new SyntaxError(
          `${
            where(line)
          }: expected a label column and at least one feature but found ${columns} column`,
        );
      }
      if (header) continue;
    }
    if (record.length !== columns) {
      throw new SyntaxError(
        `${
          where(line)
        }: expected ${columns} columns (as in the first row) but found ${record.length}`,
      );
    }
    if ((count + 1) * features > values.length) {
      const grown = new Float32Array(values.length * 2);
      grown.set(values);
      values = grown;
    }
    let f = count * features;
    for (let c = 0; c < columns; c++) {
      const cell = record[c]!.trim();
      if (c === labelIndex) {
        if (cell === "") throw new SyntaxError(`${where(line, c)}: the label is empty`);
        rawLabels.push(cell);
        labelLines.push(line);
        continue;
      }
      if (cell === "") {
        throw new SyntaxError(`${where(line, c)}: expected a number but the cell is empty`);
      }
      const v = Number(cell);
      if (Number.isNaN(v) && !/^[+-]?nan$/i.test(cell)) {
        throw new SyntaxError(`${where(line, c)}: expected a number but found ${quote(cell)}`);
      }
      if (!Number.isFinite(v) || /^[+-]?nan$/i.test(cell)) {
        throw new RangeError(`${where(line, c)}: expected a finite number but found ${cell}`);
      }
      values[f++] = v;
    }
    count++;
  }
  if (columns < 0) {
    throw new SyntaxError(
      `${path}: file is empty; expected ${header ? "a header row and " : ""}at least one sample`,
    );
  }
  if (count === 0) throw new SyntaxError(`${path}: no samples after the header row`);
  if (labelIndex < 0) {
    return {
      x: values.slice(0, count * features),
      labels: new Int32Array(count),
      count,
      features,
      shape: [features],
      classes: 1,
      origin: path,
    };
  }
  const { labels, classes, classNames } = encodeLabels(
    rawLabels,
    labelLines,
    options.classes,
    path,
  );
  return {
    x: values.slice(0, count * features),
    labels,
    count,
    features,
    shape: [features],
    classes,
    ...(classNames ? { classNames } : {}),
    origin: path,
  };
}

function resolveLabelColumn(
  column: number | string,
  names: string[] | null,
  columns: number,
  path: string,
): number {
  if (typeof column === "number") {
    if (!Number.isInteger(column) || column < 0 || column >= columns) {
      throw new RangeError(
        `${path}: label column ${column} is outside the ${columns} columns [0, ${columns})`,
      );
    }
    return column;
  }
  if (!names) {
    throw new TypeError(
      `${path}: label column "${column}" is a name but the file has no header row (header: false)`,
    );
  }
  const index = names.findIndex((n) => n.trim() === column);
  if (index < 0) {
    const shown = names.slice(0, 5).map((n) => `"${n}"`).join(", ");
    throw new RangeError(
      `${path}: no column named "${column}" in the header; found ${shown}${
        names.length > 5 ? ", …" : ""
      }`,
    );
  }
  return index;
}

/**
 * Class indices for raw label strings: integers are the indices themselves, other labels map
 * to their position among the class names (given, or the sorted distinct labels).
 */
export function encodeLabels(
  raw: string[],
  lines: number[],
  declared: number | string[] | undefined,
  path: string,
): { labels: Int32Array; classes: number; classNames?: string[] } {
  const labels = new Int32Array(raw.length);
  const integers = raw.every((v) => /^\d+$/.test(v));
  // Integer labels with class names (as for IDX): label k is the k-th name, unless the names
  // are themselves the labels' text.
  if (integers && Array.isArray(declared) && !raw.some((v) => declared.includes(v))) {
    const named = encodeLabels(raw, lines, declared.length, path);
    return { ...named, classNames: declared };
  }
  if (integers && !Array.isArray(declared)) {
    let max = 0;
    for (let i = 0; i < raw.length; i++) max = Math.max(max, labels[i] = Number(raw[i]));
    const classes = declared ?? max + 1;
    const bad = labels.findIndex((l) => l >= classes);
    if (bad >= 0) {
      throw new RangeError(
        `${path}: sample ${bad + 1} (line ${lines[bad]}): label ${
          labels[bad]
        } is outside the ${classes} declared classes [0, ${classes})`,
      );
    }
    return { labels, classes };
  }
  if (typeof declared === "number") {
    const bad = raw.findIndex((v) => !/^\d+$/.test(v));
    throw new RangeError(
      `${path}: sample ${bad + 1} (line ${lines[bad]}): label "${
        raw[bad]
      }" is not a class index in [0, ${declared})`,
    );
  }
  const classNames = declared ?? [...new Set(raw)].sort();
  const index = new Map(classNames.map((name, i) => [name, i]));
  for (let i = 0; i < raw.length; i++) {
    const k = index.get(raw[i]!);
    if (k === undefined) {
      throw new RangeError(
        `${path}: sample ${i + 1} (line ${lines[i]}): label "${raw[i]}" is not one of the classes ${
          classNames.slice(0, 10).map((c) => `"${c}"`).join(", ")
        }`,
      );
    }
    labels[i] = k;
  }
  return { labels, classes: classNames.length, classNames };
}
