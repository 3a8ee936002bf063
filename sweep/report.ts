/**
 * What a sweep leaves behind when it ends: trials.csv, best.json, sweep.svg (the metric
 * against each swept key, on a log axis where the key was drawn on a log scale), curves.svg
 * (the book's figure: the validation curves of the best trials) and report.html.
 * @module
 */
import { join } from "node:path";
import { isLogScale } from "./sample.ts";
import { renderSvg } from "../report/charts.ts";
import { escapeHtml } from "../report/report.ts";
import { writeFileAtomic } from "../pipeline/run_dir.ts";
import { bestEvaluation, type TrialRecord } from "./prune.ts";
import { bestConfig, bestTrial, ranked, type SweepPlan, trialMetric, trialsCsv } from "./sweep.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
/** The book's figure shows the best 20 trials; this many small charts stay readable. */
const BEST_CURVES = 20;
const STATUS_COLORS = { done: "#1f4e8c", pruned: "#e08a2c", failed: "#c23b3b" };

/** Write the sweep's results; returns the files written (names in the sweep folder). */
export async function writeSweepResults(dir: string, plan: SweepPlan): Promise<string[]> {
  const written = ["trials.csv"];
  await writeFileAtomic(join(dir, "trials.csv"), trialsCsv(dir, plan));
  const best = bestTrial(plan);
  if (best) {
    await writeFileAtomic(
      join(dir, "best.json"),
      JSON.stringify(bestConfig(plan, best), null, 2) + "\n",
    );
    written.push("best.json");
  }
  const charts = {
    "sweep.svg": await renderSvg(sweepChartSpec(plan)),
    "curves.svg": await renderSvg(curvesChartSpec(plan)),
  };
  for (const [name, svg] of Object.entries(charts)) {
    await writeFileAtomic(join(dir, name), svg);
    written.push(name);
  }
  await writeFileAtomic(join(dir, "report.html"), reportHtml(plan, best, charts));
  written.push("report.html");
  return written;
}

/** The value shown for a swept key: numbers as they are, anything else as text. */
function shown(value: unknown): number | string {
  return typeof value === "number" ? value : JSON.stringify(value);
}

/** One panel per swept key: each trial's metric against its value there. */
export function sweepChartSpec(plan: SweepPlan): Record<string, unknown> {
  const metric = plan.sweep.metric;
  const values = plan.records.flatMap((r) => {
    const m = trialMetric(r, plan.minimize);
    if (m === null) return [];
    return [{
      trial: r.trial,
      status: r.status,
      [metric]: m,
      ...Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, shown(v)])),
    }];
  });
  return {
    $schema: SCHEMA,
    title: {
      text: `${metric} against each swept key`,
      subtitle:
        `sweep "${plan.sweep.name}", ${plan.records.length} trials, seed ${plan.sweep.seed}`,
    },
    data: { values },
    hconcat: Object.entries(plan.sweep.space).map(([key, d]) => {
      const numeric = values.every((v) => typeof v[key] === "number");
      return {
        width: 260,
        height: 220,
        mark: { type: "point", filled: true, size: 60, opacity: 0.8 },
        encoding: {
          x: {
            // A dotted key is one field here, not a path into nested data.
            field: key.replaceAll(".", "\\."),
            type: numeric ? "quantitative" : "nominal",
            title: key,
            ...(numeric ? {} : { axis: { labelAngle: 0 } }),
            ...(numeric ? { scale: isLogScale(d) ? { type: "log" } : { zero: false } } : {}),
          },
          y: { field: metric, type: "quantitative", title: metric, scale: { zero: false } },
          color: {
            field: "status",
            type: "nominal",
            scale: {
              domain: Object.keys(STATUS_COLORS),
              range: Object.values(STATUS_COLORS),
            },
          },
          tooltip: [{ field: "trial" }, { field: metric }],
        },
      };
    }),
  };
}

/** The book's figure: a small chart of the validation metric per evaluation for the best trials. */
export function curvesChartSpec(plan: SweepPlan): Record<string, unknown> {
  const metric = plan.sweep.metric;
  const best = ranked(plan).slice(0, BEST_CURVES);
  const values = best.flatMap((r, rank) => {
    const label = `Best-${rank + 1} (trial ${r.trial}, ${
      trialMetric(r, plan.minimize)!.toPrecision(3)
    })`;
    return r.evaluations.map(([iteration, value]) => ({ label, rank, iteration, [metric]: value }));
  });
  return {
    $schema: SCHEMA,
    title: {
      text: `${metric} of the best ${best.length} trials`,
      subtitle: `sweep "${plan.sweep.name}": each chart one trial, best first`,
    },
    data: { values },
    facet: {
      field: "label",
      type: "nominal",
      title: null,
      sort: { field: "rank", op: "min" },
    },
    columns: 5,
    spec: {
      width: 150,
      height: 100,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "iteration", type: "quantitative", title: "iteration" },
        y: { field: metric, type: "quantitative", title: metric, scale: { zero: false } },
      },
    },
  };
}

function reportHtml(
  plan: SweepPlan,
  best: TrialRecord | null,
  charts: Record<string, string>,
): string {
  const keys = Object.keys(plan.sweep.space);
  const metric = plan.sweep.metric;
  const counts = { done: 0, pruned: 0, failed: 0 } as Record<string, number>;
  for (const r of plan.records) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const row = (r: TrialRecord) => {
    const m = trialMetric(r, plan.minimize);
    const at = bestEvaluation(r, plan.minimize)?.[0];
    return `<tr><td>${r.trial}</td>${
      keys.map((k) => `<td>${escapeHtml(String(format(r.values[k])))}</td>`).join("")
    }<td>${r.status}</td><td>${m === null ? "" : m.toFixed(4)}</td><td>${at ?? ""}</td><td>${
      escapeHtml(r.error ?? "")
    }</td></tr>`;
  };
  const ordered = [
    ...ranked(plan),
    ...plan.records.filter((r) => trialMetric(r, plan.minimize) === null),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>gradstream sweep: ${escapeHtml(plan.sweep.name)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1300px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse} th,td{padding:2px 12px 2px 0;text-align:left} th{font-weight:600}
</style></head><body>
<h1>Sweep “${escapeHtml(plan.sweep.name)}”</h1>
<p>${plan.sweep.method} search, ${plan.records.length} trials (${counts.done} done, ${counts.pruned} pruned, ${counts.failed} failed), seed ${plan.sweep.seed}; judged on ${metric} (${
    plan.minimize ? "lower" : "higher"
  } is better), never on the test set.</p>
<p>${
    best
      ? `Best: trial ${best.trial} with ${metric} ${
        trialMetric(best, plan.minimize)!.toFixed(4)
      } (${
        escapeHtml(keys.map((k) => `${k} = ${format(best.values[k])}`).join(", "))
      }); its full config is best.json, ready for <code>deno task train best.json</code>.`
      : "No trial finished: there is no best config."
  }</p>
<h2>The metric against each swept key</h2>${charts["sweep.svg"]}
<h2>The best trials' validation curves</h2>${charts["curves.svg"]}
<h2>Trials, best first</h2>
<table><tr><th>trial</th>${
    keys.map((k) => `<th>${escapeHtml(k)}</th>`).join("")
  }<th>status</th><th>${metric}</th><th>best iteration</th><th>error</th></tr>
${ordered.map(row).join("\n")}
</table>
</body></html>
`;
}

function format(value: unknown): string {
  return typeof value === "number"
    ? Number(value.toPrecision(4)).toString()
    : JSON.stringify(value);
}
