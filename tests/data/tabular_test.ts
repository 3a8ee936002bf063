import assert from "node:assert/strict";
import { readTable, type Table } from "../../data/table.ts";
import { encodeTable, fitEncoding, type TableEncoding } from "../../data/tabular.ts";
import { withTempDir } from "../helpers.ts";

const CSV = [
  "size,colour,weight,kind",
  "1,red,10,a",
  "3,blue,,b",
  ",red,30,a",
  "8,,40,b",
  "4,green,50,",
].join("\n");

async function table(dir: string, text = CSV): Promise<Table> {
  const path = `${dir}/t.csv`;
  await Deno.writeTextFile(path, text);
  return await readTable(path, { labelColumn: -1 });
}

const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const rowsOf = (x: Float32Array, width: number) =>
  Array.from(
    { length: x.length / width },
    (_, i) => Array.from(x.subarray(i * width, (i + 1) * width)),
  );

Deno.test("readTable() keeps numbers, text codes and blanks per column, label by negative index", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir);
    assert.deepEqual(t.labels, ["a", "b", "a", "b", ""]);
    assert.equal(t.labelIndex, 3);
    assert.ok(t.columns[0]!.kind === "numeric" && Number.isNaN(t.columns[0]!.values[2]!));
    assert.ok(t.columns[1]!.kind === "text" && t.columns[1]!.codes[3] === -1);
    assert.deepEqual(Array.from(t.lines), [2, 3, 4, 5, 6]);
  });
});

Deno.test("fitEncoding() fills numeric blanks by mean, median or zero, fitted on training rows only", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir);
    const train = Int32Array.of(0, 1, 2, 3);
    const fill = (numeric: "mean" | "median" | "zero") =>
      fitEncoding(t, train, { missing: { numeric, categorical: "most-frequent" } }).columns[0]!;
    // size in the training rows: 1, 3, blank, 8 (row 4's 4 is not a training row).
    assert.equal(fill("mean").kind === "numeric" && fill("mean").fill, 4);
    assert.equal(fill("median").kind === "numeric" && fill("median").fill, 3);
    assert.equal(fill("zero").kind === "numeric" && fill("zero").fill, 0);
  });
});

Deno.test("encodeTable() one-hot encodes categories and fills blanks as fitted", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir);
    const enc = fitEncoding(t, all(4));
    // Columns: size (mean 4), colour one-hot [blue, red] (most frequent: red), weight (mean 80/3).
    const { x } = encodeTable(t, all(4), enc);
    assert.deepEqual(
      rowsOf(x, 4),
      [
        [1, 0, 1, 10],
        [3, 1, 0, 80 / 3],
        [4, 0, 1, 30],
        [8, 0, 1, 40],
      ].map((r) => r.map(Math.fround)),
    );
  });
});

Deno.test("encodeTable() with own-category gives blanks a slot of their own", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir);
    const enc = fitEncoding(t, all(4), {
      missing: { numeric: "zero", categorical: "own-category" },
    });
    const { x } = encodeTable(t, Int32Array.of(3), enc);
    assert.deepEqual(rowsOf(x, 5), [[8, 0, 0, 1, 40]]);
  });
});

Deno.test("encodeTable() drops rows with blanks under drop-row and counts them", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir);
    const enc = fitEncoding(t, all(4), {
      missing: { numeric: "drop-row", categorical: "drop-row" },
    });
    const { kept, report } = encodeTable(t, all(4), enc);
    assert.deepEqual(Array.from(kept), [0]);
    assert.equal(report.dropped, 3);
  });
});

Deno.test("encodeTable() names the file, line and column of a blank under error", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir);
    const enc = fitEncoding(t, all(4), {
      missing: { numeric: "error", categorical: "most-frequent" },
    });
    assert.throws(() => encodeTable(t, all(4), enc), {
      name: "RangeError",
      message: /t\.csv: line 3, column "weight": the value is blank and missing\.numeric is error/,
    });
  });
});

Deno.test("encodeTable() encodes an unseen category as all zeros and counts it", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir);
    const enc: TableEncoding = fitEncoding(t, all(4));
    // Row 4 has colour "green", never seen in the training rows 0-3.
    const { x, report } = encodeTable(t, Int32Array.of(4), enc);
    assert.deepEqual(rowsOf(x, 4), [[4, 0, 0, 50]]);
    assert.deepEqual(report.unseen, { colour: 1 });
  });
});

Deno.test("fitEncoding() refuses a column name that does not exist", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir);
    assert.throws(() => fitEncoding(t, all(4), { ignore: ["date"] }), {
      name: "RangeError",
      message: /data\.columns\.ignore names "date", which is not a column/,
    });
  });
});

Deno.test("encodeTable() refuses text in a column that is numeric in training", async () => {
  await withTempDir(async (dir) => {
    const t = await table(dir, "size,kind\n1,a\n2,b\nbig,a\n");
    const enc = fitEncoding(t, Int32Array.of(0, 1));
    assert.throws(() => encodeTable(t, Int32Array.of(2), enc), {
      name: "TypeError",
      message: /line 4, column "size": expected a number .* but found "big"/,
    });
  });
});
