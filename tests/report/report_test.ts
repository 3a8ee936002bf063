import assert from "node:assert/strict";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { Matrix } from "../../nn/matrix.ts";
import { confidentMistakes, plainCells, readMetrics } from "../../report/report.ts";
import { reportAfterTraining } from "../../commands/report.ts";
import { loadConfig } from "../../pipeline/load_config.ts";
import { train } from "../../pipeline/train.ts";
import { cli, tiny, trainTiny, withTempDir } from "../helpers.ts";

Deno.test("a run leaves well-formed charts and a self-contained report.html", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir, "training.epochs=6");
    for (const file of ["loss.svg", "accuracy.svg", "confusion.svg"]) {
      const svg = await Deno.readTextFile(join(runDir, file));
      assert.equal(XMLValidator.validate(svg), true, file);
      assert.ok(svg.includes("seed 7"), `${file} names the seed`);
      assert.ok(svg.includes("tiny"), `${file} names the run`);
    }
    const confusion = await Deno.readTextFile(join(runDir, "confusion.svg"));
    for (const name of ["horizontal", "vertical", "diagonal"]) assert.ok(confusion.includes(name));
    const html = await Deno.readTextFile(join(runDir, "report.html"));
    assert.equal((html.match(/<svg /g) ?? []).length, 3);
    // Works offline: no script, stylesheet or image from anywhere else.
    assert.doesNotMatch(html, /<script/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
    const summary = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    const wrong = summary.confusion.flat().reduce((a: number, b: number) => a + b, 0) -
      summary.confusion.reduce((s: number, row: number[], k: number) => s + row[k]!, 0);
    assert.equal((html.match(/<figure>/g) ?? []).length, Math.min(wrong, 24));
    assert.equal((html.match(/alt="hidden unit/g) ?? []).length, 16);
    assert.ok(html.includes("&quot;seed&quot;: 7"), "the config is in the report");
  });
});

Deno.test("report regenerates the files of a finished run", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    await Deno.remove(join(runDir, "report.html"));
    const result = await cli(["report", runDir]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes(join(runDir, "report.html")));
    assert.ok((await Deno.stat(join(runDir, "report.html"))).size > 1000);
    const bad = await cli(["report", dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a finished run directory \(no summary\.json\)/);
  });
});

Deno.test("readMetrics() reads metrics.csv with accuracies only on evaluation rows", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    const points = await readMetrics(runDir);
    assert.equal(points.length, 18);
    assert.equal(points[0]!.trainAccuracy, null);
    assert.ok(points[8]!.trainAccuracy! > 0);
  });
});

Deno.test("readMetrics(): a plain file split directly reads as the CSV reader reads it; others go to the reader", async () => {
  await withTempDir(async (dir) => {
    const plain = "iteration,epoch,loss,trainAccuracy,testAccuracy,learningRate,elapsedSeconds\n" +
      "1,1,2.5,,,0.1,0.01\n2,1,1e-7,0.5,0.25,0.1,0.02\n\n3,2,0.75,,,0.05,0.03\n";
    await Deno.writeTextFile(join(dir, "metrics.csv"), plain);
    assert.deepEqual(plainCells(plain)!.length, 4);
    const direct = await readMetrics(dir);
    assert.deepEqual(direct.map((p) => [p.iteration, p.epoch, p.loss, p.trainAccuracy]), [
      [1, 1, 2.5, null],
      [2, 1, 1e-7, 0.5],
      [3, 2, 0.75, null],
    ]);
    assert.equal(direct[1]!.testAccuracy, 0.25);
    assert.equal(direct[0]!.validationAccuracy, null);
    // The same rows quoted and with CRLF line ends: the reader's path, the same points.
    const quoted = plain.replaceAll("\n", "\r\n").replace("2.5", '"2.5"');
    assert.equal(plainCells(quoted), null);
    await Deno.writeTextFile(join(dir, "metrics.csv"), quoted);
    assert.deepEqual(await readMetrics(dir), direct);
    // A row short of cells is left to the reader, which says so.
    const ragged = plain.replace("3,2,0.75,,,0.05,0.03", "3,2,0.75");
    assert.equal(plainCells(ragged), null);
    await Deno.writeTextFile(join(dir, "metrics.csv"), ragged);
    await assert.rejects(() => readMetrics(dir), /record length|column/i);
  });
});

Deno.test("confidentMistakes() lists wrong predictions, most confident first", () => {
  const y = Matrix.from([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]);
  assert.deepEqual(confidentMistakes(y, [1, 1, 1, 0], 5), [
    { index: 0, label: 1, predicted: 0, probability: 0.9 },
    { index: 3, label: 0, predicted: 1, probability: 0.7 },
    { index: 2, label: 1, predicted: 0, probability: 0.6 },
  ]);
});

Deno.test("a report that cannot be written is a failure that says the model is safe", async () => {
  await withTempDir(async (dir) => {
    const loaded = await loadConfig(tiny, [`output.dir=${dir}`, "training.epochs=2"]);
    const { runDir, model, test } = await train(loaded);
    // loss.svg cannot be replaced: a directory with something in it stands in its way.
    await Deno.remove(join(runDir, "loss.svg")).catch(() => {});
    await Deno.mkdir(join(runDir, "loss.svg", "in-the-way"), { recursive: true });
    const errors: string[] = [];
    const write = Deno.stderr.writeSync;
    Deno.stderr.writeSync = (bytes) => {
      errors.push(new TextDecoder().decode(bytes));
      return bytes.length;
    };
    try {
      assert.equal(await reportAfterTraining(runDir, { model, test }), false);
    } finally {
      Deno.stderr.writeSync = write;
    }
    const said = errors.join("");
    assert.match(said, /^error: the report was not written: cannot write .*loss\.svg: /);
    assert.ok(said.includes(`The model and summary are saved in ${runDir}`), said);
    assert.ok(said.includes(`deno task report ${runDir}`), said);
    assert.ok((await Deno.stat(join(runDir, "model.json"))).isFile);
  });
});
