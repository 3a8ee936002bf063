import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeLabels, loadCsv } from "../../data/csv.ts";
import { loadIdx } from "../../data/idx.ts";

const fixtures = join(import.meta.dirname!, "..", "..", "fixtures");
const tiny = (name: string) => join(fixtures, "tiny", name);
const bad = (name: string) => join(fixtures, "malformed", name);

Deno.test("loadCsv() reads the MNIST-as-CSV layout: label, then pixels", async () => {
  const csv = await loadCsv(tiny("train.csv"));
  const idx = await loadIdx(tiny("train-images-idx3-ubyte"), tiny("train-labels-idx1-ubyte"), {
    classes: 3,
  });
  assert.equal(csv.count, 90);
  assert.equal(csv.features, 64);
  assert.equal(csv.classes, 3);
  assert.deepEqual(csv.x, idx.x);
  assert.deepEqual(csv.labels, idx.labels);
});

Deno.test("loadCsv() takes the label column by name and maps string labels", async () => {
  const train = await loadCsv(tiny("train_named.csv"), { labelColumn: "label" });
  assert.deepEqual(train.classNames, ["diagonal", "horizontal", "vertical"]);
  assert.equal(train.labels[0], 1); // "horizontal"
  const test = await loadCsv(tiny("test_named.csv"), { classes: train.classNames! });
  assert.deepEqual(test.classNames, train.classNames);
  assert.equal(test.count, 30);
});

Deno.test("loadCsv() reads a file without a header and another delimiter", async () => {
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  try {
    await Deno.writeTextFile(path, "1;0.5;2\n0;3;4\n\n1;5;6\n");
    const ds = await loadCsv(path, { header: false, delimiter: ";", labelColumn: 0 });
    assert.equal(ds.count, 3);
    assert.deepEqual(Array.from(ds.x), [0.5, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(ds.labels), [1, 0, 1]);
    const last = await loadCsv(path, { header: false, delimiter: ";", labelColumn: 2 });
    assert.deepEqual(Array.from(last.x), [1, 0.5, 0, 3, 1, 5]);
    assert.equal(last.classes, 7);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("loadCsv() grows its buffer past the first chunk", async () => {
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  try {
    const rows = Array.from({ length: 3000 }, (_, i) => `${i % 4},${Array(30).fill(i).join(",")}`);
    await Deno.writeTextFile(
      path,
      `y,${Array.from({ length: 30 }, (_, i) => `x${i}`)}\n${rows.join("\n")}`,
    );
    const ds = await loadCsv(path);
    assert.equal(ds.count, 3000);
    assert.equal(ds.x[2999 * 30 + 29], 2999);
  } finally {
    await Deno.remove(path);
  }
});

const cases: [string, string, string | RegExp][] = [
  [
    "wrong_columns.csv",
    "SyntaxError",
    "line 3: expected 65 columns (as in the first row) but found 64",
  ],
  ["non_numeric.csv", "SyntaxError", 'line 3, column 6: expected a number but found "abc"'],
  ["empty_cell.csv", "SyntaxError", "line 2, column 11: expected a number but the cell is empty"],
  ["nan.csv", "RangeError", "line 4, column 8: expected a finite number but found NaN"],
  ["infinite.csv", "RangeError", "line 2, column 4: expected a finite number but found Infinity"],
  ["empty.csv", "SyntaxError", "file is empty; expected a header row and at least one sample"],
];
for (const [file, name, message] of cases) {
  Deno.test(`loadCsv() rejects ${file} with file and location`, async () => {
    await assert.rejects(loadCsv(bad(file)), { name, message: `${bad(file)}: ${message}` });
  });
}

Deno.test("loadCsv() rejects a label outside the declared classes", async () => {
  await assert.rejects(loadCsv(bad("label_out_of_range.csv"), { classes: 3 }), {
    name: "RangeError",
    message: `${
      bad("label_out_of_range.csv")
    }: sample 3 (line 4): label 7 is outside the 3 declared classes [0, 3)`,
  });
});

Deno.test("loadCsv() rejects a string label that is not a training class", async () => {
  await assert.rejects(loadCsv(tiny("test_named.csv"), { classes: ["horizontal", "vertical"] }), {
    name: "RangeError",
    message: /line \d+\): label "diagonal" is not one of the classes "horizontal", "vertical"/,
  });
});

Deno.test("loadCsv() rejects an unknown label column name", async () => {
  await assert.rejects(loadCsv(tiny("train.csv"), { labelColumn: "digit" }), {
    name: "RangeError",
    message: /no column named "digit" in the header; found "label", "p0"/,
  });
});

Deno.test("loadCsv() names a missing file", async () => {
  await assert.rejects(loadCsv(bad("missing.csv")), {
    name: "NotFound",
    message: `${bad("missing.csv")}: file does not exist`,
  });
});

Deno.test("integer labels take class names as IDX labels do (sklearn-style CSVs)", () => {
  const names = ["setosa", "versicolor", "virginica"];
  const e = encodeLabels(["2", "0", "1", "0"], [2, 3, 4, 5], names, "iris.csv");
  assert.deepEqual(Array.from(e.labels), [2, 0, 1, 0]);
  assert.deepEqual(e.classNames, names);
  assert.equal(e.classes, 3);
  assert.throws(() => encodeLabels(["3"], [2], names, "iris.csv"), {
    message: "iris.csv: sample 1 (line 2): label 3 is outside the 3 declared classes [0, 3)",
  });
  // Names that are the labels' own text still match by text.
  const byText = encodeLabels(["10", "20"], [2, 3], ["20", "10"], "codes.csv");
  assert.deepEqual(Array.from(byText.labels), [1, 0]);
});

Deno.test("a UTF-16 CSV is refused with its encoding named, not a number error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = "label,a,b\n1,0.5,0.25\n0,0.75,1\n";
    const utf16le = (s: string) => {
      const out = new Uint8Array(s.length * 2);
      for (let i = 0; i < s.length; i++) out[2 * i] = s.charCodeAt(i);
      return out;
    };
    const cases: [string, Uint8Array, RegExp][] = [
      [
        "le.csv",
        Uint8Array.from([0xff, 0xfe, ...utf16le(text)]),
        /UTF-16 \(little-endian, byte order mark FF FE\); save it as UTF-8/,
      ],
      [
        "be.csv",
        Uint8Array.from([0xfe, 0xff, ...utf16le(text).map((_, i, a) => a[i ^ 1]!)]),
        /UTF-16 \(big-endian, byte order mark FE FF\)/,
      ],
      [
        "nobom.csv",
        utf16le(text),
        /holds NUL bytes, as UTF-16 text without a byte order mark does/,
      ],
    ];
    for (const [name, bytes, message] of cases) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      await assert.rejects(
        loadCsv(path, { labelColumn: 0 }),
        { name: "SyntaxError", message },
        name,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
