import assert from "node:assert/strict";
import { XMLValidator } from "fast-xml-parser";
import {
  accuracyChartSpec,
  confusionChartSpec,
  lossChartSpec,
  type MetricPoint,
  renderSvg,
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
  assert.deepEqual(spec.transform[0].frame, [-1, 0]);
  assert.equal(spec.layer[0].encoding.x.title, "iteration (mini-batches)");
  assert.match(spec.layer[0].encoding.y.title, /^loss/);
  assert.deepEqual(spec.title, { text: "Training loss", subtitle: 'run "demo", seed 9' });
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
