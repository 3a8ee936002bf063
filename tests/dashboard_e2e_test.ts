/**
 * The live dashboard in a real browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) watches the curves grow while a training runs. Skipped, with the reason
 * printed, only when /usr/bin/chromium is missing; `.ci/run` installs it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { command, root, tiny, trainTiny, withTempDir } from "./helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!hasChromium) {
  console.log(
    `skipping the browser tests: ${CHROMIUM} is not installed (apt-get install chromium)`,
  );
}

/** Wait until the chart path `id` has at least `n` points (evaluated in the page). */
async function waitForPoints(
  page: { waitForFunction(expression: string): Promise<unknown> },
  id: string,
  n: number,
): Promise<void> {
  await page.waitForFunction(
    `Number(document.getElementById("${id}").getAttribute("data-points")) >= ${n}`,
  );
}

async function browser() {
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** Start a training with a dashboard on a free port; returns its URL and how to stop it. */
async function dashboardRun(args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = command([...args, "--dashboard", "0"]).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/dashboard: (http:\S+)/.test(text)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`no dashboard URL in:\n${text}`);
    text += value;
  }
  return {
    url: text.match(/dashboard: (http:\S+)/)![1]!,
    stop: async () => {
      // A run may have finished by now (the dashboard has then stopped with it).
      try {
        child.kill("SIGKILL");
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
      }
      await child.status;
      await lines.cancel();
      await child.stderr.cancel();
    },
  };
}

Deno.test({
  name: "the dashboard shows the curves growing, survives a reload, and is screenshotted",
  ignore: !hasChromium,
  async fn() {
    await withTempDir(async (dir) => {
      const { url, stop } = await dashboardRun([
        "train",
        tiny,
        "--set",
        `output.dir=${dir}`,
        "--set",
        "training.epochs=30000",
        // A checkpoint each epoch paces the tiny run as the test was tuned: with auto's 2 s
        // spacing its 270,000 iterations can end within seconds, and the dashboard with them.
        "--set",
        "training.checkpoint.every=epoch",
        "--set",
        "evaluation.every=450",
        "--set",
        "optimizer={ kind: sgd, learningRate: 0.01 }",
      ]);
      assert.match(url, /^http:\/\/127\.0\.0\.1:/);
      const b = await browser();
      try {
        const page = await b.newPage({ viewport: { width: 1000, height: 900 } });
        await page.goto(url);
        const points = async () => Number(await page.getAttribute("#lossPath", "data-points"));
        await waitForPoints(page, "lossPath", 4);
        const before = await points();
        await waitForPoints(page, "lossPath", before + 3);
        assert.ok((await points()) > before);
        await waitForPoints(page, "testPath", 6);
        const seen = await points();
        // Close the page and open another: the history is replayed.
        await page.close();
        const again = await b.newPage({ viewport: { width: 1000, height: 900 } });
        await again.goto(url);
        await waitForPoints(again, "lossPath", seen);
        assert.match(await again.textContent("#title") ?? "", /^Run "tiny", seed 7$/);
        // Each chart's x-axis has iteration ticks from 0 at a round step (1, 2 or 5 × 10^k).
        const ticks = (await again.locator("text.xtick").allTextContents()).map(Number);
        const perChart = ticks.slice(0, ticks.indexOf(0, 1));
        assert.ok(perChart.length >= 3, `ticks ${ticks}`);
        assert.equal(ticks.length, 2 * perChart.length, "the loss and the accuracy chart");
        const step = perChart[1]! - perChart[0]!;
        assert.match(String(step), /^[125]0*$/, `step ${step}`);
        perChart.forEach((t, i) => assert.equal(t, i * step));
        await again.screenshot({ path: join(root, "docs", "dashboard.png") });
      } finally {
        await b.close();
        await stop();
      }
    });
  },
});

Deno.test({
  name: "the run report renders in the browser and is screenshotted",
  ignore: !hasChromium,
  async fn() {
    await withTempDir(async (dir) => {
      const runDir = await trainTiny(dir, "training.epochs=4", "optimizer.learningRate=0.003");
      const b = await browser();
      try {
        const page = await b.newPage({ viewport: { width: 1100, height: 1400 } });
        await page.goto(`file://${join(runDir, "report.html")}`);
        assert.equal(await page.locator("svg").count(), 3);
        assert.ok((await page.locator("figure img").count()) > 0, "some mistakes are shown");
        assert.equal(await page.locator(".weights img").count(), 16);
        // Every inline image decoded (a broken data URL has naturalWidth 0).
        const broken = await page.evaluate(
          "[...document.images].filter((img) => !img.complete || img.naturalWidth === 0).length",
        );
        assert.equal(broken, 0);
        await page.screenshot({ path: join(root, "docs", "report.png"), fullPage: false });
      } finally {
        await b.close();
      }
    });
  },
});

Deno.test({
  name:
    "the dashboard shows the validation curve and per-class scores, and a regression's test predictions",
  ignore: !hasChromium,
  async fn() {
    await withTempDir(async (dir) => {
      const b = await browser();
      const classification = await dashboardRun([
        "train",
        tiny,
        "--set",
        `output.dir=${dir}`,
        "--set",
        "training.epochs=2",
        "--set",
        "data.split={ validation: 0.2 }",
        "--keep-serving",
      ]);
      const regression = await dashboardRun([
        "train",
        join(root, "examples", "cars.yaml"),
        "--set",
        `output.dir=${dir}`,
        "--set",
        "training.epochs=3",
        "--keep-serving",
      ]);
      try {
        const page = await b.newPage();
        await page.goto(classification.url);
        await page.waitForFunction(`!document.getElementById("perClass").hidden`);
        // A header row and one row per class, named as the config names them.
        assert.equal(await page.locator("#perClassTable tr").count(), 4);
        assert.equal(await page.textContent("#perClassTable tr:nth-child(2) td"), "horizontal");
        // The validation curve: one point per epoch, and its number shown.
        assert.equal(Number(await page.getAttribute("#validationPath", "data-points")), 2);
        assert.ok(await page.isVisible("#validationBox"));

        await page.goto(regression.url);
        await waitForPoints(page, "scatter", 1);
        // Every test row of the cars example: 20% of the 398 rows with a label.
        assert.equal(Number(await page.getAttribute("#scatter", "data-points")), 80);
        assert.equal(Number(await page.getAttribute("#residuals", "data-points")), 80);
        assert.match(await page.textContent("#scoreTitle") ?? "", /RMSE/);
      } finally {
        await b.close();
        await classification.stop();
        await regression.stop();
      }
    });
  },
});
