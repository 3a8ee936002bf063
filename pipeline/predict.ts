/**
 * `deno task predict`: a saved model applied to new inputs (CSV or IDX images), with the
 * model's stored normalisation, written as a predictions CSV.
 * @module
 */
import { stringify } from "csv-stringify/sync";
import { loadCsv } from "../data/csv.ts";
import { inTargetUnits } from "../data/dataset.ts";
import { headBytes, isGzip, readIdxImages } from "../data/idx.ts";
import { argmax } from "../nn/matrix.ts";
import { classNamesOf } from "./evaluate_run.ts";
import { type ModelFile, openModel, predictRaw } from "./model_file.ts";
import { readTable } from "../data/table.ts";
import { cellValue, encodeTable, type TableEncoding, unseenWarning } from "../data/tabular.ts";

/** Options of {@linkcode predictFile}. */
export interface PredictOptions {
  /** For a CSV with one more column than the model has features: which one is the label [0]. */
  labelColumn?: number | string;
  /** Whether the CSV has a header row [true]. */
  header?: boolean;
  /** Told once about values the model never saw in training (unseen categories). */
  onWarning?: (message: string) => void;
}

/** Bytes read to tell IDX from CSV and to count a CSV's columns. */
const SNIFF_BYTES = 1 << 16;

/**
 * Predictions CSV text for the inputs in `inputPath`: for classification
 * `row,class,probability,p_<class>…[,label]`, for regression `row,value[,label]`. A model
 * trained on a table reads raw rows as in its training file (columns by header name, text,
 * blanks and all) and applies its stored encoding; other models read a CSV of the features
 * (plus, optionally, a label column) or IDX images.
 */
export async function predictFile(
  target: string,
  inputPath: string,
  options: PredictOptions = {},
): Promise<string> {
  const model = await openModel(target);
  const { net, file } = model;
  const features = net.sizes[0]!;
  const { x, labels } = file.data.table
    ? await readRawRows(file.data.table, inputPath, options)
    : await readFeatureRows(file, features, inputPath, options);
  const { y, outside, nonFinite } = predictRaw(model, x);
  if (outside > 0) {
    options.onWarning?.(
      `${inputPath}: ${outside} of ${x.length} input values lie far outside the training range (more than its width beyond it): those rows' predictions are extrapolations; check that the input is in the training data's units`,
    );
  }
  if (nonFinite) {
    throw new RangeError(
      `${inputPath}: row ${nonFinite.row}: the model's output is ${nonFinite.value}; its weights or this row's values are out of range`,
    );
  }
  const echo = labels ? ["label"] : [];
  if (file.task === "regression") {
    const values = inTargetUnits(y, file.data.target);
    const rows: (string | number)[][] = [["row", "value", ...echo]];
    for (let i = 0; i < y.rows; i++) rows.push([i, values[i]!, ...(labels ? [labels[i]!] : [])]);
    return stringify(rows);
  }
  const names = classNamesOf(file);
  const rows: (string | number)[][] = [[
    "row",
    "class",
    "probability",
    ...names.map((n) => `p_${n}`),
    ...echo,
  ]];
  for (let i = 0; i < y.rows; i++) {
    const k = argmax(y.data, i * y.cols, y.cols);
    rows.push([
      i,
      names[k]!,
      y.get(i, k),
      ...Array.from(y.data.subarray(i * y.cols, (i + 1) * y.cols)),
      ...(labels ? [labels[i]!] : []),
    ]);
  }
  return stringify(rows);
}

/** A tabular model's raw input rows, encoded as in training. */
async function readRawRows(
  encoding: TableEncoding,
  inputPath: string,
  options: PredictOptions,
): Promise<{ x: Float64Array; labels: string[] | null }> {
  const header = options.header ?? true;
  const table = await readTable(inputPath, { labelColumn: null, header });
  if (!header) {
    // Without a header the columns are the model's feature columns, in training order.
    if (table.names.length !== encoding.columns.length) {
      throw new RangeError(
        `${inputPath}: ${table.names.length} columns without a header; expected the model's ${encoding.columns.length} feature columns (${
          encoding.columns.map((c) => c.name).join(", ")
        }) in that order, or a header row naming them`,
      );
    }
    table.names = encoding.columns.map((c) => c.name);
  }
  const rows = Int32Array.from({ length: table.rows }, (_, i) => i);
  const { x, report } = encodeTable(table, rows, encoding, { dropRows: false });
  const warning = unseenWarning(report, inputPath);
  if (warning) options.onWarning?.(warning);
  const at = header ? table.names.indexOf(encoding.label) : -1;
  const column = at >= 0 ? table.columns[at] : null;
  const labels = column ? Array.from(rows, (i) => String(cellValue(column, i) ?? "")) : null;
  return { x: Float64Array.from(x), labels };
}

/** Feature rows of a model without a table encoding: a features CSV or IDX images. */
async function readFeatureRows(
  file: ModelFile,
  features: number,
  inputPath: string,
  options: PredictOptions,
): Promise<{ x: Float64Array; labels: string[] | null }> {
  const names = classNamesOf(file);
  let x: Float64Array;
  let labels: string[] | null = null;
  // Sniff the format from the first bytes only: a gzip bomb is never inflated whole.
  const bytes = await headBytes(inputPath, SNIFF_BYTES);
  if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0x08) {
    const idx = await readIdxImages(inputPath);
    const per = idx.dims.slice(1).reduce((a, b) => a * b, 1);
    if (per !== features) {
      throw new RangeError(
        `${inputPath}: images of ${per} pixels but the model expects ${features} features`,
      );
    }
    x = Float64Array.from(idx.values);
  } else {
    if (await isGzip(inputPath)) {
      throw new SyntaxError(
        `${inputPath}: gzip input is read as IDX images only, and this is not IDX; decompress a CSV first`,
      );
    }
    const header = options.header ?? true;
    const firstLine = new TextDecoder().decode(bytes).split(/\r?\n/)[0] ?? "";
    const columns = firstLine.split(",").length;
    if (columns === features) {
      x = Float64Array.from((await loadCsv(inputPath, { labelColumn: null, header })).x);
    } else if (columns === features + 1) {
      const ds = await loadCsv(inputPath, { labelColumn: options.labelColumn ?? 0, header });
      x = Float64Array.from(ds.x);
      // Echo each label as the model names classes: an integer label is a class index.
      labels = Array.from(ds.labels, (l) => {
        const raw = ds.classNames ? ds.classNames[l]! : String(l);
        return /^\d+$/.test(raw) && Number(raw) < names.length ? names[Number(raw)]! : raw;
      });
    } else {
      throw new RangeError(
        `${inputPath}: line 1 has ${columns} columns; expected ${features} features, or ${features} features and a label`,
      );
    }
  }
  return { x, labels };
}
