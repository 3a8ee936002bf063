import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeIdx, gunzipIfNeeded, loadIdx, parseIdx, readIdxImages } from "../../data/idx.ts";

const fixtures = join(import.meta.dirname!, "..", "..", "fixtures");
const tiny = (name: string) => join(fixtures, "tiny", name);
const bad = (name: string) => join(fixtures, "malformed", name);

Deno.test("loadIdx() reads raw and gzip files into the same dataset shape", async () => {
  const train = await loadIdx(tiny("train-images-idx3-ubyte"), tiny("train-labels-idx1-ubyte"), {
    classes: 3,
  });
  const test = await loadIdx(tiny("test-images-idx3-ubyte.gz"), tiny("test-labels-idx1-ubyte.gz"), {
    classes: 3,
  });
  assert.equal(train.count, 90);
  assert.equal(test.count, 30);
  assert.deepEqual(train.shape, [8, 8]);
  assert.equal(train.features, 64);
  assert.equal(train.x.length, 90 * 64);
  assert.deepEqual(Array.from(train.labels.subarray(0, 4)), [0, 1, 2, 0]);
  assert.ok(train.x.every((v) => v >= 0 && v <= 255 && Number.isInteger(v)));
  assert.ok(train.x.some((v) => v > 150));
});

Deno.test("parseIdx() round-trips encodeIdx()", () => {
  const parsed = parseIdx(
    encodeIdx([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    "x",
    "images",
  );
  assert.deepEqual(parsed.dims, [2, 2, 3]);
  assert.deepEqual(Array.from(parsed.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

const labels4 = bad("labels4-idx1-ubyte");

Deno.test("loadIdx() rejects a wrong magic number", async () => {
  await assert.rejects(loadIdx(bad("wrong_magic-idx3-ubyte"), labels4), {
    name: "SyntaxError",
    message: `${
      bad("wrong_magic-idx3-ubyte")
    }: wrong magic number 0x00000d03; expected 0x00000803 (IDX images: unsigned bytes, 3 dimensions)`,
  });
});

Deno.test("loadIdx() rejects labels passed as images", async () => {
  await assert.rejects(loadIdx(labels4, labels4), {
    name: "SyntaxError",
    message: /wrong magic number 0x00000801; expected 0x00000803/,
  });
});

Deno.test("loadIdx() rejects a truncated file", async () => {
  await assert.rejects(loadIdx(bad("truncated-idx3-ubyte"), labels4), {
    name: "SyntaxError",
    message: `${
      bad("truncated-idx3-ubyte")
    }: truncated: dimensions 4×8×8 declare 256 bytes of data after the 16-byte header but found 246`,
  });
});

Deno.test("loadIdx() rejects a truncated gzip file", async () => {
  await assert.rejects(loadIdx(bad("truncated-idx3-ubyte.gz"), labels4), {
    name: "SyntaxError",
    message: new RegExp(`^${bad("truncated-idx3-ubyte.gz")}: gzip data is corrupt or truncated`),
  });
});

Deno.test("loadIdx() rejects image and label counts that disagree", async () => {
  await assert.rejects(loadIdx(bad("images4-idx3-ubyte"), bad("labels3-idx1-ubyte")), {
    name: "SyntaxError",
    message: `${bad("labels3-idx1-ubyte")}: 3 labels but ${
      bad("images4-idx3-ubyte")
    } has 4 images; expected one label per image`,
  });
});

Deno.test("loadIdx() rejects a label outside the declared classes", async () => {
  await assert.rejects(loadIdx(bad("images4-idx3-ubyte"), bad("label12-idx1-ubyte")), {
    name: "RangeError",
    message: `${
      bad("label12-idx1-ubyte")
    }: label 12 at index 2 is outside the 10 declared classes [0, 10)`,
  });
});

Deno.test("loadIdx() rejects an empty file", async () => {
  await assert.rejects(loadIdx(bad("empty-idx3-ubyte"), labels4), {
    name: "SyntaxError",
    message: `${
      bad("empty-idx3-ubyte")
    }: file is empty; expected IDX images: unsigned bytes, 3 dimensions`,
  });
});

Deno.test("loadIdx() names a missing file", async () => {
  await assert.rejects(loadIdx(bad("nope-idx3-ubyte"), labels4), {
    name: "NotFound",
    message: `${bad("nope-idx3-ubyte")}: file does not exist`,
  });
});

Deno.test("readIdxImages() streams the same values parseIdx() reads, raw and gzip", async () => {
  for (const file of ["train-images-idx3-ubyte", "test-images-idx3-ubyte.gz"]) {
    const streamed = await readIdxImages(tiny(file));
    const bytes = await gunzipIfNeeded(await Deno.readFile(tiny(file)), file);
    const parsed = parseIdx(bytes, file, "images");
    assert.deepEqual(streamed.dims, parsed.dims);
    assert.deepEqual(streamed.values, Float32Array.from(parsed.data));
  }
});

Deno.test("readIdxImages() rejects a truncated header and trailing bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const header = join(dir, "header-idx3-ubyte");
    await Deno.writeFile(header, encodeIdx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]).subarray(0, 10));
    await assert.rejects(readIdxImages(header), {
      name: "SyntaxError",
      message:
        `${header}: truncated: the header declares 3 dimensions (16 bytes) but the file has 10 bytes`,
    });
    const trailing = join(dir, "trailing-idx3-ubyte");
    const bytes = encodeIdx([1, 2, 2], [1, 2, 3, 4]);
    await Deno.writeFile(trailing, Uint8Array.from([...bytes, 9, 9]));
    await assert.rejects(readIdxImages(trailing), {
      name: "SyntaxError",
      message:
        `${trailing}: trailing bytes: dimensions 1×2×2 declare 4 bytes of data after the 16-byte header but found 6`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
