/**
 * `deno task predict`: a saved model applied to new inputs (CSV or IDX images), with the
 * model's stored normalisation, written as a predictions CSV.
 * @module
 */
import { stringify } from "csv-stringify/sync";
import { loadCsv } from "../data/csv.ts";
import { gunzipIfNeeded, parseIdx } from "../data/idx.ts";
import { readFileOrThrow } from "../data/errors.ts";
import { normalizeValues } from "../data/normalize.ts";
import { backendKernels, type BackendName, withKernelsSync } from "../nn/backends.ts";
import { argmax, Matrix } from "../nn/matrix.ts";
import { classNamesOf } from "./evaluate_run.ts";
import { loadModel } from "./model_file.ts";

/** Options of {@linkcode predictFile}. */
export interface PredictOptions {
  /** For a CSV with one more column than the model has features: which one is the label [0]. */
  labelColumn?: number | string;
  /** Whether the CSV has a header row [true]. */
  header?: boolean;
  /** The kernels [the default: wasm where available]. */
  backend?: BackendName;
}

/**
 * Predictions CSV text (`row,class,probability[,label]`) for the inputs in `inputPath`.
 * A CSV may hold just the features, or the features plus a label column (then reported too).
 */
export async function predictFile(
  modelPath: string,
  inputPath: string,
  options: PredictOptions = {},
): Promise<string> {
  const { net, file } = await loadModel(modelPath);
  const features = net.sizes[0]!;
  const names = classNamesOf(file);
  let x: Float64Array;
  let labels: string[] | null = null;
  const bytes = await gunzipIfNeeded(await readFileOrThrow(inputPath), inputPath);
  if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0x08) {
    const idx = parseIdx(bytes, inputPath, "images");
    const per = idx.dims.slice(1).reduce((a, b) => a * b, 1);
    if (per !== features) {
      throw new RangeError(
        `${inputPath}: images of ${per} pixels but the model expects ${features} features`,
      );
    }
    x = Float64Array.from(idx.data);
  } else {
    const header = options.header ?? true;
    const firstLine = new TextDecoder().decode(bytes.subarray(0, 1 << 16)).split(/\r?\n/)[0] ?? "";
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
  normalizeValues(file.data.normalization, x, features);
  const input = new Matrix(x.length / features, features, x);
  const y = withKernelsSync(backendKernels(options.backend), () => net.predict(input));
  const rows: (string | number)[][] = [[
    "row",
    "class",
    "probability",
    ...(labels ? ["label"] : []),
  ]];
  for (let i = 0; i < y.rows; i++) {
    const k = argmax(y.data, i * y.cols, y.cols);
    rows.push([i, names[k]!, y.get(i, k), ...(labels ? [labels[i]!] : [])]);
  }
  return stringify(rows);
}
