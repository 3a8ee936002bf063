import assert from "node:assert/strict";
import { join } from "node:path";
import { predictFile } from "../../pipeline/predict.ts";
import { startServer } from "../../serve/server.ts";
import {
  cli,
  command,
  retrainTinyArgs,
  root,
  trainConfig,
  trainTiny,
  withTempDir,
} from "../helpers.ts";

const post = (url: string, body: string) =>
  fetch(new URL("/v1/predict", url), { method: "POST", body }).then(async (r) => ({
    status: r.status,
    body: await r.json(),
  }));

/** n rows of the tiny fixture's 64 pixel values, varied per row. */
const pixels = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => Array.from({ length: 64 }, (_, j) => ((i * 37 + j * 11) % 256)),
  );

Deno.test("serve answers predictions equal to deno task predict's, with the model's id", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    const server = await startServer({ target: runDir, port: 0 });
    try {
      const rows = pixels(5);
      const { status, body } = await post(server.url, JSON.stringify({ rows }));
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.model.name, "tiny");
      assert.match(body.model.id, /^[0-9a-f]{16}$/);
      const csv = join(dir, "rows.csv");
      await Deno.writeTextFile(
        csv,
        [Array.from({ length: 64 }, (_, j) => `p${j}`).join(","), ...rows.map((r) => r.join(","))]
          .join("\n") + "\n",
      );
      const lines = (await predictFile(runDir, csv)).trim().split("\n").slice(1);
      body.predictions.forEach(
        (p: { class: string; probabilities: Record<string, number> }, i: number) => {
          const cells = lines[i]!.split(",");
          assert.equal(p.class, cells[1]);
          assert.deepEqual(Object.values(p.probabilities), cells.slice(3, 6).map(Number));
        },
      );
      const health = await fetch(new URL("/healthz", server.url)).then((r) => r.json());
      assert.deepEqual(health, { status: "ok", model: body.model.id });
      const info = await fetch(new URL("/v1/model", server.url)).then((r) => r.json());
      assert.equal(info.id, body.model.id);
      assert.deepEqual(info.classes, ["horizontal", "vertical", "diagonal"]);
      assert.equal(info.input.features, 64);
      assert.equal(typeof info.metrics.testAccuracy, "number");
      const metrics = await fetch(new URL("/metrics", server.url)).then((r) => r.text());
      assert.match(metrics, /^gradstream_requests_total\{route="\/v1\/predict",status="200"\} 1$/m);
      assert.match(metrics, /^gradstream_rows_predicted_total 5$/m);
      assert.match(
        metrics,
        new RegExp(`^gradstream_model_info\\{id="${body.model.id}",name="tiny"\\} 1$`, "m"),
      );
      assert.match(metrics, /^gradstream_request_seconds_bucket\{le="\+Inf"\} \d+$/m);
    } finally {
      await server.close();
    }
  });
});

Deno.test("serve answers bad requests with a 4xx and a path, and keeps serving", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    const server = await startServer({ target: runDir, port: 0, maxBodyBytes: 20_000, maxRows: 3 });
    try {
      const cases: [string, number, RegExp, string?][] = [
        ["{not json", 400, /not JSON/],
        [JSON.stringify({ row: [] }), 400, /expected \{"rows"/, "rows"],
        [
          JSON.stringify({ rows: [pixels(1)[0], [1, 2]] }),
          400,
          /expected 64 values but found 2/,
          "rows[1]",
        ],
        [
          JSON.stringify({ rows: [[...pixels(1)[0]!.slice(1), "x"]] }),
          400,
          /expected a finite number/,
          "rows[0][63]",
        ],
        [JSON.stringify({ rows: pixels(4) }), 413, /4 rows; at most 3/, "rows"],
        [JSON.stringify({ rows: pixels(1), pad: "x".repeat(30_000) }), 413, /over 20000 bytes/],
      ];
      for (const [body, status, message, path] of cases) {
        const r = await post(server.url, body);
        assert.equal(r.status, status, body.slice(0, 60));
        assert.match(r.body.error, message);
        if (path !== undefined) assert.equal(r.body.path, path);
        assert.ok(!JSON.stringify(r.body).includes("    at "), "no stack trace");
      }
      const get = await fetch(new URL("/v1/predict", server.url));
      assert.equal(get.status, 405);
      assert.equal(get.headers.get("allow"), "POST");
      await get.body?.cancel();
      const missing = await fetch(new URL("/nope", server.url));
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      assert.equal((await post(server.url, JSON.stringify({ rows: pixels(2) }))).status, 200);
    } finally {
      await server.close();
    }
  });
});

Deno.test("serve reads raw table rows by column name, with their errors' paths", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainConfig(
      join(root, "examples", "penguins.yaml"),
      dir,
      "training.epochs=5",
    );
    const server = await startServer({ target: runDir, port: 0 });
    try {
      const info = await fetch(new URL("/v1/model", server.url)).then((r) => r.json());
      const names: string[] = info.input.columns.map((c: { name: string }) => c.name);
      assert.deepEqual(names, [
        "Island",
        "Beak Length (mm)",
        "Beak Depth (mm)",
        "Flipper Length (mm)",
        "Body Mass (g)",
        "Sex",
      ]);
      // Raw values as in the file: text, numbers, and a blank (filled as in training).
      const row: Record<string, unknown> = {
        "Island": "Biscoe",
        "Beak Length (mm)": 45.2,
        "Beak Depth (mm)": null,
        "Flipper Length (mm)": 215,
        "Body Mass (g)": 5000,
        "Sex": "FEMALE",
      };
      const ok = await post(server.url, JSON.stringify({ rows: [row] }));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.ok(["Adelie", "Chinstrap", "Gentoo"].includes(ok.body.predictions[0].class));
      const unknown = await post(
        server.url,
        JSON.stringify({ rows: [row, { ...row, island: "x" }] }),
      );
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.path, "rows[1].island");
      const { Sex: _, ...noSex } = row;
      const missing = await post(server.url, JSON.stringify({ rows: [noSex] }));
      assert.equal(missing.status, 400);
      assert.equal(missing.body.path, "rows[0].Sex");
      const wrong = await post(
        server.url,
        JSON.stringify({ rows: [{ ...row, "Body Mass (g)": "heavy" }] }),
      );
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.path, "rows[0].Body Mass (g)");
      assert.match(wrong.body.error, /expected a number/);
    } finally {
      await server.close();
    }
  });
});

Deno.test("serving current follows a promotion under load, and keeps the old model if the new one is broken", async () => {
  await withTempDir(async (dir) => {
    const args = retrainTinyArgs(dir);
    const first = await cli([...args, "--set", "training.epochs=1"]);
    assert.equal(first.code, 0, first.stderr);
    const current = join(dir, "tiny", "current");
    const logged: string[] = [];
    const server = await startServer({
      target: current,
      port: 0,
      pollMs: 100,
      log: (l) => logged.push(l),
    });
    try {
      const before = server.model().id;
      // A steady load while a better model is promoted (minDelta -1: any model passes).
      let stop = false;
      const statuses: number[] = [];
      const load = (async () => {
        while (!stop) {
          statuses.push((await post(server.url, JSON.stringify({ rows: pixels(1) }))).status);
        }
      })();
      const second = await cli([...args, "--set", "promotion.minDelta=-1"]);
      assert.equal(second.code, 0, second.stderr);
      const deadline = Date.now() + 3_000;
      while (server.model().id === before && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      stop = true;
      await load;
      assert.notEqual(server.model().id, before, "the promoted model is served");
      assert.ok(
        statuses.length > 0 && statuses.every((s) => s === 200),
        `statuses ${[...new Set(statuses)]}`,
      );
      const info = await fetch(new URL("/v1/model", server.url)).then((r) => r.json());
      assert.equal(info.id, server.model().id);
      // A broken model behind current: logged, and the old one keeps serving.
      const serving = server.model().id;
      const broken = join(dir, "tiny", "broken");
      await Deno.mkdir(broken);
      await Deno.writeTextFile(join(broken, "model.json"), "{}");
      await Deno.remove(current);
      await Deno.symlink("broken", current);
      const until = Date.now() + 3_000;
      while (!logged.some((l) => l.includes("did not load")) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(
        logged.some((l) =>
          /the new model at .*broken\/model\.json did not load, still serving/.test(l)
        ),
        logged.join("\n"),
      );
      assert.equal(server.model().id, serving);
      assert.equal((await post(server.url, JSON.stringify({ rows: pixels(1) }))).status, 200);
    } finally {
      await server.close();
    }
  });
});

Deno.test("deno task serve listens on 127.0.0.1, and SIGTERM finishes and exits 0", async () => {
  await withTempDir(async (dir) => {
    const runDir = await trainTiny(dir);
    const child = command(["serve", runDir, "--port", "0"]).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!/at (http:\S+)/.test(out)) out += (await reader.read()).value ?? "";
    const url = /at (http:\S+)/.exec(out)![1]!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const answer = await post(url, JSON.stringify({ rows: pixels(1) }));
    assert.equal(answer.status, 200);
    child.kill("SIGTERM");
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += r.value;
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 0, out);
    assert.match(out, /stopped: every request in flight was answered/);
  });
});
