/**
 * Vega-Lite specs of a run's charts, built from its data: pure functions, so tests can check
 * that each spec holds the data and labels it should.
 * @module
 */

/** What the titles say about the run. */
export interface RunMeta {
  name: string;
  seed: number;
}

/** One row of metrics.csv as numbers (accuracies null off evaluation rows). */
export interface MetricPoint {
  iteration: number;
  epoch: number;
  loss: number;
  trainAccuracy: number | null;
  testAccuracy: number | null;
  validationAccuracy?: number | null;
  trainRmse?: number | null;
  validationRmse?: number | null;
  testRmse?: number | null;
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const title = (what: string, meta: RunMeta) => ({
  text: what,
  subtitle: `run "${meta.name}", seed ${meta.seed}`,
});

/** The loss chart's width in pixels. */
const LOSS_CHART_WIDTH = 640;

/**
 * Training loss per iteration, with a moving average over `window` iterations. A long run's
 * loss is drawn from the lowest and highest loss of each pixel column's iterations (the line
 * then looks as it would with every one): Vega took 8–10 µs a point, so a 20,000-iteration
 * run spent 220 ms on this chart and wrote a 630 KB loss.svg (measured).
 */
export function lossChartSpec(
  points: MetricPoint[],
  meta: RunMeta,
  window = 50,
): Record<string, unknown> {
  const losses = points.map((p) => p.loss);
  const smoothed = trailingMeans(losses, window);
  const values = columnExtremes(losses, LOSS_CHART_WIDTH).map((i) => ({
    iteration: points[i]!.iteration,
    loss: points[i]!.loss,
    smoothed: smoothed[i]!,
  }));
  return {
    $schema: SCHEMA,
    title: title("Training loss", meta),
    width: LOSS_CHART_WIDTH,
    height: 300,
    data: { values },
    layer: [
      {
        mark: { type: "line", opacity: 0.35, color: "#7a9cc6" },
        encoding: {
          x: { field: "iteration", type: "quantitative", title: "iteration (mini-batches)" },
          y: {
            field: "loss",
            type: "quantitative",
            title: "loss (cross-entropy or MSE, per sample)",
          },
        },
      },
      {
        mark: { type: "line", color: "#1f4e8c", strokeWidth: 2 },
        encoding: {
          x: { field: "iteration", type: "quantitative" },
          y: { field: "smoothed", type: "quantitative" },
        },
      },
    ],
  };
}

/**
 * The mean of each value and the `window` − 1 before it (fewer at the start): Vega's window
 * transform with frame [−window + 1, 0], computed here over every point before any is left out.
 */
export function trailingMeans(values: readonly number[], window: number): number[] {
  const means: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    if (i >= window) sum -= values[i - window]!;
    means.push(sum / Math.min(i + 1, window));
  }
  return means;
}

/**
 * The indices to draw a series of more than two values a column by: split in order into
 * `columns` runs of consecutive values, each run's lowest and highest (in order, once when
 * they are one), and the series' first and last. Shorter series keep every index.
 */
export function columnExtremes(values: readonly number[], columns: number): number[] {
  const n = values.length;
  if (n <= 2 * columns) return Array.from({ length: n }, (_, i) => i);
  const kept: number[] = [0];
  for (let c = 0; c < columns; c++) {
    const from = Math.floor((c * n) / columns);
    const to = Math.floor(((c + 1) * n) / columns);
    let low = from;
    let high = from;
    for (let i = from + 1; i < to; i++) {
      if (values[i]! < values[low]!) low = i;
      if (values[i]! > values[high]!) high = i;
    }
    for (const i of low === high ? [low] : low < high ? [low, high] : [high, low]) {
      if (i !== kept.at(-1)) kept.push(i);
    }
  }
  if (kept.at(-1) !== n - 1) kept.push(n - 1);
  return kept;
}

/**
 * Train, validation (when there is a split) and test accuracy per evaluation: the gap between
 * train and the others is the overfitting.
 */
export function accuracyChartSpec(points: MetricPoint[], meta: RunMeta): Record<string, unknown> {
  return scoreChartSpec(points, meta, {
    what: "Train, validation and test accuracy",
    field: "accuracy",
    axis: "accuracy (fraction correct)",
    of: { train: "trainAccuracy", validation: "validationAccuracy", test: "testAccuracy" },
  });
}

/** Regression: train, validation and test RMSE per evaluation, in the target's units. */
export function rmseChartSpec(points: MetricPoint[], meta: RunMeta): Record<string, unknown> {
  return scoreChartSpec(points, meta, {
    what: "Train, validation and test RMSE",
    field: "rmse",
    axis: "root mean squared error (target units)",
    of: { train: "trainRmse", validation: "validationRmse", test: "testRmse" },
  });
}

type ScoreKey = Exclude<keyof MetricPoint, "iteration" | "epoch" | "loss">;

function scoreChartSpec(
  points: MetricPoint[],
  meta: RunMeta,
  chart: { what: string; field: string; axis: string; of: Record<string, ScoreKey> },
): Record<string, unknown> {
  const values = points.flatMap((p) =>
    Object.entries(chart.of).flatMap(([split, key]) => {
      const v = p[key];
      return v === null || v === undefined
        ? []
        : [{ iteration: p.iteration, epoch: p.epoch, split, [chart.field]: v }];
    })
  );
  return {
    $schema: SCHEMA,
    title: title(chart.what, meta),
    width: 640,
    height: 300,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "iteration", type: "quantitative", title: "iteration (mini-batches)" },
      y: { field: chart.field, type: "quantitative", title: chart.axis, scale: { zero: false } },
      color: {
        field: "split",
        type: "nominal",
        title: "split",
        sort: ["train", "validation", "test"],
      },
    },
  };
}

/** Regression: each test row's prediction against its true value, with the diagonal y = x. */
export function predictionChartSpec(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
  meta: RunMeta,
): Record<string, unknown> {
  const values = Array.from(actual, (t, i) => ({ actual: t, predicted: predicted[i]! }));
  const lo = Math.min(...values.map((v) => Math.min(v.actual, v.predicted)));
  const hi = Math.max(...values.map((v) => Math.max(v.actual, v.predicted)));
  return scatterSpec("Predicted against true (test rows)", meta, values, {
    x: { field: "actual", title: "true value" },
    y: { field: "predicted", title: "predicted value", zero: false },
    guide: {
      data: { values: [{ actual: lo, predicted: lo }, { actual: hi, predicted: hi }] },
      mark: { type: "line", color: "#999", strokeDash: [4, 4] },
      encoding: {
        x: { field: "actual", type: "quantitative" },
        y: { field: "predicted", type: "quantitative" },
      },
    },
  });
}

/** Regression: residuals (true - predicted) of the test rows against the prediction. */
export function residualChartSpec(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
  meta: RunMeta,
): Record<string, unknown> {
  const values = Array.from(actual, (t, i) => ({
    predicted: predicted[i]!,
    residual: t - predicted[i]!,
  }));
  return scatterSpec("Residuals (test rows)", meta, values, {
    x: { field: "predicted", title: "predicted value" },
    y: { field: "residual", title: "true - predicted", zero: true },
    guide: {
      data: { values: [{ y: 0 }] },
      mark: { type: "rule", color: "#999" },
      encoding: { y: { field: "y", type: "quantitative" } },
    },
  });
}

/** A square scatter of `values` with a reference layer (a diagonal, a zero line) over it. */
function scatterSpec(
  what: string,
  meta: RunMeta,
  values: Record<string, number>[],
  axes: {
    x: { field: string; title: string };
    y: { field: string; title: string; zero: boolean };
    guide: Record<string, unknown>;
  },
): Record<string, unknown> {
  const y = { field: axes.y.field, type: "quantitative", title: axes.y.title };
  return {
    $schema: SCHEMA,
    title: title(what, meta),
    width: 360,
    height: 360,
    layer: [
      {
        data: { values },
        mark: { type: "point", filled: true, opacity: 0.6 },
        encoding: {
          x: { ...axes.x, type: "quantitative", scale: { zero: false } },
          y: axes.y.zero ? y : { ...y, scale: { zero: false } },
        },
      },
      axes.guide,
    ],
  };
}

/** The test confusion matrix with counts, and each class's accuracy in its row label. */
export function confusionChartSpec(
  confusion: number[][],
  classNames: string[],
  perClassAccuracy: number[],
  meta: RunMeta,
): Record<string, unknown> {
  const rowLabel = (k: number) =>
    `${classNames[k]} (${
      Number.isNaN(perClassAccuracy[k]) ? "-" : (100 * perClassAccuracy[k]!).toFixed(1) + "%"
    })`;
  const values = confusion.flatMap((row, k) =>
    row.map((count, j) => ({ actual: rowLabel(k), predicted: classNames[j], count }))
  );
  const size = Math.max(240, 36 * classNames.length);
  return {
    $schema: SCHEMA,
    title: title("Test confusion matrix (row: true class and its accuracy)", meta),
    width: size,
    height: size,
    data: { values },
    encoding: {
      x: { field: "predicted", type: "nominal", title: "predicted class", sort: classNames },
      y: {
        field: "actual",
        type: "nominal",
        title: "true class (accuracy)",
        sort: classNames.map((_, k) => rowLabel(k)),
      },
    },
    layer: [
      {
        mark: "rect",
        encoding: {
          color: {
            field: "count",
            type: "quantitative",
            title: "samples",
            scale: { scheme: "blues" },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 11 },
        encoding: {
          text: { field: "count", type: "quantitative" },
          color: {
            condition: {
              test: `datum.count > ${Math.max(...confusion.flat()) / 2}`,
              value: "white",
            },
            value: "black",
          },
        },
      },
    ],
  };
}

/** Render a Vega-Lite spec to SVG text, headlessly (no browser, no canvas). */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import("vega"), import("vega-lite")]);
  // deno-lint-ignore no-explicit-any
  const compiled = vegaLite.compile(spec as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
