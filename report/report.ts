/**
 * The run report: `loss.svg`, `accuracy.svg`, `confusion.svg` and a self-contained
 * `report.html` (config, summary, the charts, the test images the model got most confidently
 * wrong, and the first-layer weights as images for image data). Written at the end of every
 * run and by `deno task report <run dir>`.
 * @module
 */
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import type { Dataset } from "../data/dataset.ts";
import type { Predictor } from "../engine/engine.ts";
import type { MultiLayerNet } from "../nn/network.ts";
import { argmax, type Matrix } from "../nn/matrix.ts";
import { predictAll, unscaled } from "../stages/evaluate.ts";
import { loadOptions, loadSplits } from "../stages/load.ts";
import { loadIdx } from "../data/idx.ts";
import type { Config } from "../config/config.ts";
import { validateConfig, withoutSelection } from "../pipeline/load_config.ts";
import { type ModelFile, openModel } from "../pipeline/model_file.ts";
import { writeFileAtomic } from "../pipeline/run_dir.ts";
import {
  accuracyChartSpec,
  confusionChartSpec,
  lossChartSpec,
  type MetricPoint,
  predictionChartSpec,
  renderSvg,
  residualChartSpec,
  rmseChartSpec,
  type RunMeta,
} from "./charts.ts";
import { grayPngDataUrl, toGray } from "./png.ts";

/** A test sample the model got wrong, with the probability it gave its wrong answer. */
export interface Mistake {
  index: number;
  label: number;
  predicted: number;
  probability: number;
}

/** Read metrics.csv into points. */
export async function readMetrics(runDir: string): Promise<MetricPoint[]> {
  const text = await Deno.readTextFile(join(runDir, "metrics.csv"));
  const [header = [], ...rows]: string[][] = plainCells(text) ??
    parse(text, { skip_empty_lines: true });
  const column = (name: string) => header.indexOf(name);
  const [iteration, epoch, loss] = [column("iteration"), column("epoch"), column("loss")];
  const [trainAccuracy, testAccuracy, validationAccuracy, trainRmse, validationRmse, testRmse] = [
    "trainAccuracy",
    "testAccuracy",
    "validationAccuracy",
    "trainRmse",
    "validationRmse",
    "testRmse",
  ].map(column);
  /** A cell's number; null when empty or when the file has no such column. */
  const num = (row: string[], c: number) => {
    const v = c < 0 ? undefined : row[c];
    return v === undefined || v === "" ? null : Number(v);
  };
  return rows.map((r) => ({
    iteration: Number(r[iteration]),
    epoch: Number(r[epoch]),
    loss: Number(r[loss]),
    trainAccuracy: num(r, trainAccuracy!),
    testAccuracy: num(r, testAccuracy!),
    validationAccuracy: num(r, validationAccuracy!),
    trainRmse: num(r, trainRmse!),
    validationRmse: num(r, validationRmse!),
    testRmse: num(r, testRmse!),
  }));
}

/**
 * The lines' cells of a CSV file without quotes whose lines all have as many cells as its
 * first, as the CSV reader would give them (empty lines skipped); null for any other file
 * (the reader then parses it, and names what is wrong). The run writes metrics.csv so
 * (numbers or empty cells, never quoted). Read so, a run's 2,200 rows took 8–9 ms instead of
 * 30–50 ms through the reader (readMetrics in a new process, as at the end of a run), and
 * 20,000 rows 76–96 instead of 146–158 ms.
 */
export function plainCells(text: string): string[][] | null {
  if (text.includes('"')) return null;
  const lines: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === "") continue;
    const cells = line.split(",");
    if (lines.length > 0 && cells.length !== lines[0]!.length) return null;
    lines.push(cells);
  }
  return lines;
}

/** The `count` wrong predictions with the highest probability on the wrong class. */
export function confidentMistakes(y: Matrix, labels: ArrayLike<number>, count: number): Mistake[] {
  const wrong: Mistake[] = [];
  for (let i = 0; i < y.rows; i++) {
    const predicted = argmax(y.data, i * y.cols, y.cols);
    if (predicted !== labels[i]) {
      wrong.push({ index: i, label: labels[i]!, predicted, probability: y.get(i, predicted) });
    }
  }
  return wrong.sort((a, b) => b.probability - a.probability || a.index - b.index).slice(0, count);
}

/** Data already in memory at the end of a run, to avoid reading it again. */
export interface ReportInputs {
  model: Predictor;
  test: Dataset;
}

/** Write the report files into `runDir`; returns their paths. */
export async function writeReport(runDir: string, inputs?: ReportInputs): Promise<string[]> {
  const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
  const configText = await Deno.readTextFile(join(runDir, "config.json"));
  const meta: RunMeta = { name: summary.name, seed: summary.seed };
  const points = await readMetrics(runDir);
  let model: Predictor;
  let test: Dataset;
  let classNames: string[];
  if (inputs) {
    ({ model, test } = inputs);
  } else {
    const config = validateConfig(
      withoutSelection(JSON.parse(configText)),
      join(runDir, "config.json"),
    );
    const opened = await openModel(runDir);
    test = await loadTestSplit(config, opened.file);
    opened.normalize(test.x);
    model = opened.predictor;
  }
  classNames = test.classNames ?? Array.from({ length: test.classes }, (_, i) => String(i));
  classNames = classNames.slice(0, test.classes);

  const outputs = predictAll(model, test);
  const regression = test.targets !== undefined;
  const charts: Record<string, string> = { "loss.svg": await renderSvg(lossSpec(points, meta)) };
  if (regression) {
    const predicted = unscaled(outputs, test);
    charts["rmse.svg"] = await renderSvg(rmseChartSpec(points, meta));
    charts["predicted.svg"] = await renderSvg(predictionChartSpec(predicted, test.targets!, meta));
    charts["residuals.svg"] = await renderSvg(residualChartSpec(predicted, test.targets!, meta));
  } else {
    charts["accuracy.svg"] = await renderSvg(accuracyChartSpec(points, meta));
    charts["confusion.svg"] = await renderSvg(
      confusionChartSpec(summary.confusion, classNames, summary.perClassAccuracy, meta),
    );
  }
  const written: string[] = [];
  for (const [file, svg] of Object.entries(charts)) {
    await writeFileAtomic(join(runDir, file), svg);
    written.push(join(runDir, file));
  }
  const image = test.shape.length === 2 ? { height: test.shape[0]!, width: test.shape[1]! } : null;
  const mistakes = regression ? [] : confidentMistakes(outputs, test.labels, 24);
  const html = reportHtml({
    meta,
    summary,
    configText,
    charts,
    classNames,
    mistakes: image ? await mistakeTiles(mistakes, test, image, classNames) : [],
    weights: image ? await weightTiles(model.net, image) : [],
  });
  await writeFileAtomic(join(runDir, "report.html"), html);
  written.push(join(runDir, "report.html"));
  return written;
}

/** Only the test split where the source allows it (an IDX test set is 1/7 of the data). */
async function loadTestSplit(config: Config, model: ModelFile): Promise<Dataset> {
  const source = config.data.source;
  if (source.kind === "idx") {
    return await loadIdx(source.testImages, source.testLabels, {
      classes: source.classes,
      ...(source.classNames ? { classNames: source.classNames } : {}),
    });
  }
  return (await loadSplits(source, {
    ...loadOptions(config),
    ...(model.data.table ? { encoding: model.data.table } : {}),
    ...(model.data.target ? { target: model.data.target } : {}),
  })).test;
}

/** The loss chart, smoothed over about a fiftieth of the run so the trend stays readable. */
function lossSpec(points: MetricPoint[], meta: RunMeta) {
  return lossChartSpec(points, meta, Math.max(1, Math.round(points.length / 50)));
}

async function mistakeTiles(
  mistakes: Mistake[],
  test: Dataset,
  image: { width: number; height: number },
  classNames: string[],
): Promise<string[]> {
  const tiles: string[] = [];
  for (const m of mistakes) {
    const pixels = test.x.subarray(m.index * test.features, (m.index + 1) * test.features);
    let min = Infinity, max = -Infinity;
    for (const v of pixels) [min, max] = [Math.min(min, v), Math.max(max, v)];
    // MNIST-style images are white digits on black; show them dark on light.
    const gray = toGray(pixels, min, max).map((g) => 255 - g);
    const url = await grayPngDataUrl(gray, image.width, image.height);
    tiles.push(
      `<figure><img src="${url}" width="84" height="${
        Math.round(84 * image.height / image.width)
      }" alt="test sample ${m.index}"><figcaption>true <b>${
        escapeHtml(classNames[m.label]!)
      }</b><br>predicted <b>${escapeHtml(classNames[m.predicted]!)}</b><br>p = ${
        m.probability.toFixed(3)
      }</figcaption></figure>`,
    );
  }
  return tiles;
}

async function weightTiles(
  net: MultiLayerNet,
  image: { width: number; height: number },
): Promise<string[]> {
  const w = net.params.W1!;
  if (w.rows !== image.width * image.height || net.layerCount < 2) return [];
  const units = Math.min(w.cols, 64);
  const tiles: string[] = [];
  for (let j = 0; j < units; j++) {
    const column = new Float64Array(w.rows);
    let bound = 0;
    for (let i = 0; i < w.rows; i++) {
      column[i] = w.get(i, j);
      bound = Math.max(bound, Math.abs(column[i]!));
    }
    // Symmetric scale: mid-gray is 0, dark negative, light positive.
    const url = await grayPngDataUrl(toGray(column, -bound, bound), image.width, image.height);
    tiles.push(
      `<img src="${url}" width="56" height="${
        Math.round(56 * image.height / image.width)
      }" alt="hidden unit ${j + 1}" title="hidden unit ${j + 1}">`,
    );
  }
  return tiles;
}

function reportHtml(r: {
  meta: RunMeta;
  summary: Record<string, unknown> & { perClassAccuracy: number[] };
  configText: string;
  charts: Record<string, string>;
  classNames: string[];
  mistakes: string[];
  weights: string[];
}): string {
  const s = r.summary;
  const fmt = (
    v: unknown,
  ) => (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : String(v));
  const rows = [
    "testAccuracy",
    "trainAccuracy",
    "validationAccuracy",
    "testBalancedAccuracy",
    "testMacroF1",
    "validationMacroF1",
    "testRmse",
    "testMae",
    "testR2",
    "validationRmse",
    "trainRmse",
    "selectedBy",
    "testLoss",
    "validationLoss",
    "finalLoss",
    "iterations",
    "epochs",
    "seed",
    "durationSeconds",
    "samplesPerSecond",
    "stoppedEarly",
    "modelIteration",
  ]
    .filter((k) => k in s)
    .map((k) => `<tr><th>${k}</th><td>${fmt(s[k])}</td></tr>`).join("");
  const scores = s.perClass as Record<string, Record<string, number>> | undefined;
  const perClass = r.summary.perClassAccuracy.map((a, k) => {
    const name = r.classNames[k] ?? String(k);
    const c = scores?.[name];
    const cell = (v: number | undefined) =>
      `<td>${v === undefined || v === null || Number.isNaN(v) ? "-" : v.toFixed(4)}</td>`;
    return `<tr><th>${escapeHtml(name)}</th>${cell(a)}${
      c ? `${cell(c.precision)}${cell(c.recall)}${cell(c.f1)}<td>${c.support}</td>` : ""
    }</tr>`;
  }).join("");
  const regression = s.task === "regression";
  const headline = regression
    ? `test RMSE <b>${fmt(s.testRmse)}</b> · MAE ${fmt(s.testMae)} · R² ${fmt(s.testR2)}`
    : `test accuracy <b>${fmt(s.testAccuracy)}</b> · train accuracy ${fmt(s.trainAccuracy)}${
      s.validationAccuracy !== undefined
        ? ` · validation accuracy ${fmt(s.validationAccuracy)}`
        : ""
    }`;
  const perClassHead = scores
    ? "<tr><th>class</th><th>accuracy</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>gradstream report: ${escapeHtml(r.meta.name)} (seed ${r.meta.seed})</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse} th,td{padding:2px 12px 2px 0;text-align:left} th{font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:10px} figure{margin:0;width:96px;font-size:11px;text-align:center}
figure img,.weights img{image-rendering:pixelated;border:1px solid #ccc;background:#fff}
.weights{display:flex;flex-wrap:wrap;gap:4px} pre{background:#f6f6f6;padding:12px;overflow:auto;max-height:360px}
.cols{display:flex;gap:48px;flex-wrap:wrap}
</style></head><body>
<h1>Run “${escapeHtml(r.meta.name)}”</h1>
<p>seed ${r.meta.seed} · ${headline}</p>
<div class="cols"><div><h2>Summary</h2><table>${rows}</table></div>
${
    regression
      ? ""
      : `<div><h2>Test scores per class</h2><table>${perClassHead}${perClass}</table></div>`
  }</div>
<h2>Training loss</h2>${r.charts["loss.svg"]}
${
    regression
      ? `<h2>RMSE</h2><p>Model selection looks at the validation curve only; the test rows are scored, never chosen on.</p>${
        r.charts["rmse.svg"]
      }<h2>Predictions</h2><div class="cols">${r.charts["predicted.svg"]}${
        r.charts["residuals.svg"]
      }</div>`
      : `<h2>Accuracy</h2><p>The gap between train and test accuracy is the overfitting: how much of what the network learned does not generalise. Model selection looks at the validation curve only.</p>${
        r.charts["accuracy.svg"]
      }
<h2>Confusion matrix</h2>${r.charts["confusion.svg"]}`
  }
${
    r.mistakes.length
      ? `<h2>Most confidently wrong test images</h2><div class="grid">${r.mistakes.join("")}</div>`
      : ""
  }
${
    r.weights.length
      ? `<h2>First-layer weights</h2><p>Each image is one hidden unit's incoming weights (mid-gray 0, light positive, dark negative): what the unit looks for.</p><div class="weights">${
        r.weights.join("")
      }</div>`
      : ""
  }
<h2>Config</h2><pre>${escapeHtml(r.configText)}</pre>
</body></html>
`;
}

/** Text made safe inside HTML. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}
