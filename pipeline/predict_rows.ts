/**
 * Predictions for rows given as JSON values (the serving API): each row an array of raw values
 * in the training order, or an object keyed by the training file's column names. A table
 * model's stored encoding is applied as `deno task predict` applies it; a wrong row is a
 * {@linkcode RowError} naming where (`rows[3].island`).
 * @module
 */
import { inTargetUnits } from "../data/dataset.ts";
import { encodeRows, type RawCell, unseenWarning } from "../data/tabular.ts";
import { argmax } from "../nn/matrix.ts";
import { classNamesOf } from "./evaluate_run.ts";
import { type OpenModel, predictRaw } from "./model_file.ts";

/** A row that cannot be predicted: `path` says where (rows[3], rows[3].island). */
export class RowError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = "RowError";
    this.path = path;
  }
}

/** One prediction: a class with its probabilities, or a regression value. */
export type Prediction =
  | { class: string; index: number; probabilities: Record<string, number> }
  | { value: number };

/** The predictions of `rows`, and warnings (unseen categories, values far off the training range). */
export function predictRows(
  model: OpenModel,
  rows: unknown[],
): { predictions: Prediction[]; warnings: string[] } {
  const { file, net } = model;
  const features = net.sizes[0]!;
  const warnings: string[] = [];
  let x: Float64Array;
  const table = file.data.table;
  if (table) {
    const names = table.columns.map((c) => c.name);
    const cells = rows.map((row, i) => rowCells(row, i, names));
    let encoded;
    try {
      encoded = encodeRows(
        table,
        rows.length,
        (i, c) => cells[i]![c],
        (i, name) => `rows[${i}].${name}`,
        {
          dropRows: false,
        },
      );
    } catch (error) {
      const message = (error as Error).message;
      const at = message.indexOf(": ");
      throw new RowError(message.slice(0, at), message.slice(at + 2));
    }
    x = Float64Array.from(encoded.x);
    const unseen = unseenWarning(encoded.report, "the request");
    if (unseen) warnings.push(unseen);
  } else {
    x = new Float64Array(rows.length * features);
    rows.forEach((row, i) => {
      if (!Array.isArray(row)) {
        throw new RowError(
          `rows[${i}]`,
          `expected an array of ${features} numbers (this model's inputs have no column names)`,
        );
      }
      if (row.length !== features) {
        throw new RowError(`rows[${i}]`, `expected ${features} values but found ${row.length}`);
      }
      row.forEach((v, j) => {
        if (typeof v !== "number" || !Number.isFinite(v)) {
          throw new RowError(
            `rows[${i}][${j}]`,
            `expected a finite number but found ${JSON.stringify(v)}`,
          );
        }
        x[i * features + j] = v;
      });
    });
  }
  const { y, outside, nonFinite } = predictRaw(model, x);
  if (outside > 0) {
    warnings.push(`${outside} of ${x.length} input values lie far outside the training range`);
  }
  if (nonFinite) {
    throw new RowError(
      `rows[${nonFinite.row}]`,
      `the model's output is ${nonFinite.value}; its weights or this row's values are out of range`,
    );
  }
  if (file.task === "regression") {
    return {
      predictions: Array.from(inTargetUnits(y, file.data.target), (value) => ({ value })),
      warnings,
    };
  }
  const names = classNamesOf(file);
  const predictions = Array.from({ length: y.rows }, (_, i) => {
    const k = argmax(y.data, i * y.cols, y.cols);
    const probabilities = Object.fromEntries(names.map((n, j) => [n, y.data[i * y.cols + j]!]));
    return { class: names[k]!, index: k, probabilities };
  });
  return { predictions, warnings };
}

/** A table row's raw cells in the encoding's column order. */
function rowCells(row: unknown, i: number, names: string[]): RawCell[] {
  if (Array.isArray(row)) {
    if (row.length !== names.length) {
      throw new RowError(
        `rows[${i}]`,
        `expected ${names.length} values (${names.join(", ")}) but found ${row.length}`,
      );
    }
    return row.map((v, c) => cell(v, `rows[${i}].${names[c]}`));
  }
  if (row === null || typeof row !== "object") {
    throw new RowError(`rows[${i}]`, `expected an array of values or an object of columns`);
  }
  const record = row as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!names.includes(key)) {
      throw new RowError(
        `rows[${i}].${key}`,
        `unknown column; the model reads ${names.join(", ")}`,
      );
    }
  }
  return names.map((name) => {
    if (!(name in record)) {
      throw new RowError(`rows[${i}].${name}`, `missing column (give null for a blank)`);
    }
    return cell(record[name], `rows[${i}].${name}`);
  });
}

function cell(value: unknown, path: string): RawCell {
  if (value === null || typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new RowError(
    path,
    `expected a number, a string or null but found ${JSON.stringify(value)}`,
  );
}
