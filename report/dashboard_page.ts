/**
 * The dashboard's page: one self-contained HTML document (no CDN, no external script) that
 * listens to `/events` and draws the loss and score curves as they grow, then the per-class
 * scores (classification) or the test predictions against the truth (regression).
 * @module
 */

/** The page's HTML. */
export function dashboardPage(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:20px auto;max-width:1000px;color:#222;padding:0 16px}
h1{font-size:20px;margin:0 0 4px} .status{color:#555;margin-bottom:12px}
.numbers{display:grid;grid-template-columns:repeat(4,minmax(120px,1fr));gap:8px;margin:12px 0}
.numbers div{background:#f4f6fa;border-radius:6px;padding:8px} .numbers b{display:block;font-size:18px}
svg{background:#fff;border:1px solid #ddd;margin-top:8px} .axis{font-size:11px;fill:#555}
.legend{font-size:12px} h2{font-size:15px;margin:18px 0 0}
table{border-collapse:collapse;margin-top:8px} th,td{padding:2px 14px 2px 0;text-align:left}
</style></head><body>
<h1 id="title">gradstream</h1><div class="status" id="status">connecting…</div>
<div class="numbers">
<div>iteration<b id="iteration">–</b></div><div>epoch<b id="epoch">–</b></div>
<div>loss<b id="loss">–</b></div><div>samples/s<b id="rate">–</b></div>
<div><span class="scoreName">train accuracy</span><b id="train">–</b></div><div id="validationBox" hidden><span class="scoreName">validation accuracy</span><b id="validation">–</b></div><div><span class="scoreName">test accuracy</span><b id="test">–</b></div>
<div>elapsed<b id="elapsed">–</b></div><div>ETA<b id="eta">–</b></div>
</div>
<h2>Training loss</h2>
<svg id="lossChart" width="960" height="260"><path id="lossPath" data-points="0" fill="none" stroke="#1f4e8c" stroke-width="1.5"/><g id="lossAxes"></g></svg>
<h2 id="scoreTitle">Train, validation and test accuracy</h2>
<svg id="accChart" width="960" height="260"><path id="trainPath" data-points="0" fill="none" stroke="#3b75af" stroke-width="2"/><path id="validationPath" data-points="0" fill="none" stroke="#3a923a" stroke-width="2"/><path id="testPath" data-points="0" fill="none" stroke="#ef8636" stroke-width="2"/><g id="accAxes"></g>
<text class="legend" x="720" y="20" fill="#3b75af">● train</text><text class="legend" id="validationLegend" x="780" y="20" fill="#3a923a" visibility="hidden">● validation</text><text class="legend" x="880" y="20" fill="#ef8636">● test</text></svg>
<div id="perClass" hidden><h2>Test scores per class</h2><table id="perClassTable"></table></div>
<div id="predictions" hidden><h2>Test rows: predicted against true, and residuals</h2>
<svg id="scatter" width="420" height="420"></svg> <svg id="residuals" width="420" height="420"></svg></div>
<script>
const W = 960, H = 260, L = 56, R = 16, T = 14, B = 30;
let state;
function reset() { state = { total: 0, loss: [], train: [], validation: [], test: [], rmse: false }; }
reset();
const $ = (id) => document.getElementById(id);
const fmt = (x, d = 4) => (x === undefined || x === null ? "–" : Math.abs(x) < 5e-5 ? (0).toFixed(d) : Number(x).toFixed(d));
const secs = (s) => !isFinite(s) ? "–" : s < 60 ? s.toFixed(1) + "s" : Math.floor(s / 60) + "m" + String(Math.round(s % 60)).padStart(2, "0") + "s";
function scale(points, key, yMin, yMax) {
  const xMax = Math.max(state.total, ...points.map((p) => p.iteration), 1);
  const ys = points.map((p) => p[key]);
  const lo = yMin ?? Math.min(...ys), hi = yMax ?? Math.max(...ys);
  const span = hi - lo || 1;
  return { x: (v) => L + (W - L - R) * v / xMax, y: (v) => T + (H - T - B) * (1 - (v - lo) / span), lo, hi, xMax };
}
function axes(g, s, label) {
  let out = "";
  for (let i = 0; i <= 4; i++) {
    const v = s.lo + (s.hi - s.lo) * i / 4, y = s.y(v);
    out += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y + '" y2="' + y + '" stroke="#eee"/>';
    out += '<text class="axis" x="' + (L - 6) + '" y="' + (y + 4) + '" text-anchor="end">' + v.toFixed(3) + "</text>";
  }
  // Iteration ticks at a round step (1, 2 or 5 × 10^k), about five of them.
  const rough = s.xMax / 5, power = Math.pow(10, Math.floor(Math.log10(Math.max(rough, 1))));
  const step = [1, 2, 5, 10].map((m) => m * power).find((m) => m >= rough) || power;
  for (let t = 0; t <= s.xMax; t += step) {
    const x = s.x(t);
    out += '<line class="xtick" x1="' + x + '" x2="' + x + '" y1="' + (H - B) + '" y2="' + (H - B + 4) + '" stroke="#999"/>';
    out += '<text class="axis xtick" x="' + x + '" y="' + (H - B + 15) + '" text-anchor="middle">' + t + "</text>";
  }
  out += '<text class="axis" x="' + (W - R) + '" y="' + (H - 2) + '" text-anchor="end">iteration (of ' + s.xMax + ")</text>";
  out += '<text class="axis" x="' + L + '" y="' + (H - 2) + '">' + label + "</text>";
  g.innerHTML = out;
}
function line(path, points, key, s) {
  path.setAttribute("d", points.map((p, i) => (i ? "L" : "M") + s.x(p.iteration).toFixed(1) + "," + s.y(p[key]).toFixed(1)).join(""));
  path.setAttribute("data-points", String(points.length));
}
/** Per-class precision, recall and F1 as a table (class names set as text, never as HTML). */
function perClassTable(perClass) {
  const table = $("perClassTable");
  table.replaceChildren();
  const row = (cells, tag) => {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement(tag);
      td.textContent = c;
      tr.append(td);
    }
    table.append(tr);
  };
  row(["class", "precision", "recall", "F1", "support"], "th");
  for (const [name, s] of Object.entries(perClass)) {
    row([name, fmt(s.precision), fmt(s.recall), fmt(s.f1), String(s.support)], "td");
  }
  $("perClass").hidden = false;
}
/** A square scatter with a reference line: y = x (predicted against true) or y = 0 (residuals). */
function scatter(svg, xs, ys, xLabel, yLabel, diagonal) {
  const S = 420, M = 44;
  const all = diagonal ? xs.concat(ys) : xs;
  const xLo = Math.min(...all), xHi = Math.max(...all);
  const yLo = diagonal ? xLo : Math.min(0, ...ys), yHi = diagonal ? xHi : Math.max(0, ...ys);
  const px = (v) => M + (S - M - 10) * (v - xLo) / ((xHi - xLo) || 1);
  const py = (v) => 10 + (S - M - 10) * (1 - (v - yLo) / ((yHi - yLo) || 1));
  let out = diagonal
    ? '<line x1="' + px(xLo) + '" y1="' + py(xLo) + '" x2="' + px(xHi) + '" y2="' + py(xHi) + '" stroke="#999" stroke-dasharray="4 4"/>'
    : '<line x1="' + M + '" x2="' + (S - 10) + '" y1="' + py(0) + '" y2="' + py(0) + '" stroke="#999"/>';
  for (let i = 0; i < xs.length; i++) {
    out += '<circle cx="' + px(xs[i]).toFixed(1) + '" cy="' + py(ys[i]).toFixed(1) + '" r="2.5" fill="#3b75af" fill-opacity="0.6"/>';
  }
  out += '<text class="axis" x="' + (S - 10) + '" y="' + (S - 8) + '" text-anchor="end">' + xLabel + " " + xLo.toFixed(1) + "–" + xHi.toFixed(1) + "</text>";
  out += '<text class="axis" x="4" y="14">' + yLabel + " " + yLo.toFixed(1) + "–" + yHi.toFixed(1) + "</text>";
  svg.innerHTML = out;
  svg.setAttribute("data-points", String(xs.length));
}
let pending = false;
function draw() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    if (state.loss.length) {
      const s = scale(state.loss, "loss", 0);
      line($("lossPath"), state.loss, "loss", s);
      axes($("lossAxes"), s, "loss");
    }
    if (state.train.length) {
      const all = state.train.concat(state.validation, state.test);
      // Accuracy axis: up to 1, down to the lowest value rounded to 0.05 (never a zero span);
      // an RMSE axis (regression) from 0 to the largest value.
      const low = Math.min(...all.map((p) => p.accuracy));
      const s = state.rmse
        ? scale(all, "accuracy", 0)
        : scale(all, "accuracy", Math.min(Math.floor(low * 20) / 20, 0.95), 1);
      line($("trainPath"), state.train, "accuracy", s);
      line($("validationPath"), state.validation, "accuracy", s);
      line($("testPath"), state.test, "accuracy", s);
      axes($("accAxes"), s, state.rmse ? "RMSE" : "accuracy");
    }
  });
}
function on(e) {
  switch (e.event) {
    case "hello": reset(); break;
    case "start":
      state.total = e.total;
      $("title").textContent = 'Run "' + e.name + '", seed ' + e.seed;
      document.title = "gradstream: " + e.name;
      $("status").textContent = "training";
      break;
    case "step":
      state.loss.push({ iteration: e.iteration, loss: e.loss });
      $("iteration").textContent = e.iteration + " / " + state.total;
      $("epoch").textContent = e.epoch;
      $("loss").textContent = fmt(e.loss);
      $("rate").textContent = Math.round(e.samplesPerSecond);
      $("elapsed").textContent = secs(e.elapsed);
      $("eta").textContent = secs(e.elapsed / e.iteration * (state.total - e.iteration));
      break;
    case "evaluation": {
      // Regression runs report RMSEs (target units) where classification reports accuracies.
      state.rmse = e.trainRmse !== undefined;
      const key = (split) => split + (state.rmse ? "Rmse" : "Accuracy");
      for (const split of ["train", "validation", "test"]) {
        const v = e[key(split)];
        if (v === undefined) continue;
        state[split].push({ iteration: e.iteration, accuracy: v });
        $(split).textContent = fmt(v);
        if (split === "validation") {
          // Shown only for runs with a validation split.
          $("validationBox").hidden = false;
          $("validationLegend").setAttribute("visibility", "visible");
        }
      }
      if (state.rmse) {
        $("scoreTitle").textContent = "Train, validation and test RMSE";
        document.querySelectorAll(".scoreName").forEach((n, i) => {
          n.textContent = ["train", "validation", "test"][i] + " RMSE";
        });
      }
      break;
    }
    case "testPredictions":
      scatter($("scatter"), e.actual, e.predicted, "true", "predicted", true);
      scatter($("residuals"), e.predicted, e.actual.map((t, i) => t - e.predicted[i]), "predicted", "true − predicted", false);
      $("predictions").hidden = false;
      break;
    case "finished":
      if (e.perClass) perClassTable(e.perClass);
      $("status").textContent = e.testRmse !== undefined
        ? "finished: test RMSE " + fmt(e.testRmse)
        : "finished: test accuracy " + fmt(e.testAccuracy);
      break;
    case "error": $("status").textContent = "failed: " + e.message; break;
    case "interrupted": $("status").textContent = "interrupted (" + e.reason + ") after iteration " + e.iteration; break;
  }
  draw();
}
const source = new EventSource("/events");
source.onmessage = (m) => on(JSON.parse(m.data));
source.onerror = () => { if ($("status").textContent === "training") $("status").textContent = "disconnected (the run may have ended)"; };
</script></body></html>
`;
}
