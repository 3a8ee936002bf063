import assert from "node:assert/strict";
import { XMLValidator } from "fast-xml-parser";
import {
  accuracyChartSpec,
  columnExtremes,
  confusionChartSpec,
  lossChartSpec,
  type MetricPoint,
  renderSvg,
  trailingMeans,
} from "../../report/charts.ts";

const meta = { name: "demo", seed: 9 };
const points: MetricPoint[] = [
  { iteration: 1, epoch: 1, loss: 2.3, trainAccuracy: null, testAccuracy: null },
  { iteration: 2, epoch: 1, loss: 1.9, trainAccuracy: 0.5, testAccuracy: 0.4 },
  { iteration: 3, epoch: 2, loss: 1.2, trainAccuracy: null, testAccuracy: null },
  { iteration: 4, epoch: 2, loss: 0.8, trainAccuracy: 0.9, testAccuracy: 0.7 },
];

// deno-lint-ignore no-explicit-any
type Spec = any;

Deno.test("lossChartSpec() holds every loss, a smoothed line and labelled axes", () => {
  const spec: Spec = lossChartSpec(points, meta, 2);
  assert.deepEqual(spec.data.values.map((v: Spec) => v.loss), [2.3, 1.9, 1.2, 0.8]);
  // The moving average over 2 iterations (fewer at the start).
  const expected = [2.3, 2.1, 1.55, 1.0];
  spec.data.values.forEach((v: Spec, i: number) =>
    assert.ok(Math.abs(v.smoothed - expected[i]!) < 1e-12, `${v.smoothed} at ${i}`)
  );
  assert.equal(spec.layer[1].encoding.y.field, "smoothed");
  assert.equal(spec.layer[0].encoding.x.title, "iteration (mini-batches)");
  assert.match(spec.layer[0].encoding.y.title, /^loss/);
  assert.deepEqual(spec.title, { text: "Training loss", subtitle: 'run "demo", seed 9' });
});

Deno.test("trailingMeans() is each value's mean with the window − 1 before it, as a naive sum gives", () => {
  const values = Array.from({ length: 500 }, (_, i) => Math.sin(i) * 3 + 1 / (i + 1));
  for (const window of [1, 7, 50, 600]) {
    const means = trailingMeans(values, window);
    values.forEach((_, i) => {
      const frame = values.slice(Math.max(0, i - window + 1), i + 1);
      const naive = frame.reduce((a, b) => a + b, 0) / frame.length;
      assert.ok(Math.abs(means[i]! - naive) < 1e-9, `window ${window}, index ${i}`);
    });
  }
});

Deno.test("columnExtremes() keeps each column's lowest and highest in order, the ends, and short series whole", () => {
  assert.deepEqual(columnExtremes([3, 1, 2], 2), [0, 1, 2]);
  const values = Array.from(
    { length: 10_000 },
    (_, i) => Math.sin(i * 0.37) + (i === 4321 ? 9 : 0),
  );
  const kept = columnExtremes(values, 640);
  assert.ok(kept.length <= 2 * 640 + 2, `${kept.length} points`);
  assert.deepEqual([kept[0], kept.at(-1)], [0, 9_999]);
  assert.deepEqual(kept, [...kept].sort((a, b) => a - b));
  assert.equal(new Set(kept).size, kept.length);
  // Every column's extremes are kept (the spike too), so the drawn line spans what it spans.
  for (let c = 0; c < 640; c++) {
    const [from, to] = [Math.floor((c * 10_000) / 640), Math.floor(((c + 1) * 10_000) / 640)];
    const column = values.slice(from, to);
    const low = from + column.indexOf(Math.min(...column));
    const high = from + column.indexOf(Math.max(...column));
    assert.ok(kept.includes(low) && kept.includes(high), `column ${c}`);
  }
  assert.ok(kept.includes(4321));
});

Deno.test("lossChartSpec() of a long run draws at most two points a pixel column, smoothed over all", () => {
  const long: MetricPoint[] = Array.from({ length: 20_000 }, (_, i) => ({
    iteration: i + 1,
    epoch: 1,
    loss: 2 / Math.sqrt(i + 1) + (i % 7) * 0.01,
    trainAccuracy: null,
    testAccuracy: null,
  }));
  const spec: Spec = lossChartSpec(long, meta, 400);
  assert.ok(spec.data.values.length <= 2 * spec.width + 2);
  const smoothed = trailingMeans(long.map((p) => p.loss), 400);
  for (const v of spec.data.values) assert.equal(v.smoothed, smoothed[v.iteration - 1]);
  assert.equal(spec.data.values.at(-1).iteration, 20_000);
});

Deno.test("accuracyChartSpec() holds train and test accuracy of evaluation rows only", () => {
  const spec: Spec = accuracyChartSpec(points, meta);
  assert.deepEqual(spec.data.values, [
    { iteration: 2, epoch: 1, split: "train", accuracy: 0.5 },
    { iteration: 2, epoch: 1, split: "test", accuracy: 0.4 },
    { iteration: 4, epoch: 2, split: "train", accuracy: 0.9 },
    { iteration: 4, epoch: 2, split: "test", accuracy: 0.7 },
  ]);
  assert.equal(spec.encoding.y.title, "accuracy (fraction correct)");
  assert.equal(spec.title.subtitle, 'run "demo", seed 9');
});

Deno.test("confusionChartSpec() holds every count and per-class accuracy labels", () => {
  const spec: Spec = confusionChartSpec([[5, 1], [2, 2]], ["cat", "dog"], [5 / 6, 0.5], meta);
  assert.deepEqual(spec.data.values, [
    { actual: "cat (83.3%)", predicted: "cat", count: 5 },
    { actual: "cat (83.3%)", predicted: "dog", count: 1 },
    { actual: "dog (50.0%)", predicted: "cat", count: 2 },
    { actual: "dog (50.0%)", predicted: "dog", count: 2 },
  ]);
  assert.equal(spec.encoding.x.title, "predicted class");
});

Deno.test("renderSvg() renders a spec to well-formed SVG with its titles", async () => {
  const svg = await renderSvg(lossChartSpec(points, meta, 2));
  assert.match(svg, /^<svg /);
  assert.equal(XMLValidator.validate(svg), true);
  assert.ok(svg.includes("Training loss"));
  assert.ok(svg.includes("run &quot;demo&quot;, seed 9") || svg.includes('run "demo", seed 9'));
  assert.ok(svg.includes("iteration (mini-batches)"));
});
