import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeIdx, loadIdx, parseIdx, readIdxImages } from "../../data/idx.ts";
import { trainTiny } from "../helpers.ts";

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
    const bytes = await inflated(await Deno.readFile(tiny(file)));
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
      message: `${trailing}: more data than the header's 1 image of 2×2 declare`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The bytes, decompressed when they are gzip: the reference the readers are checked against. */
async function inflated(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Gzip `parts` written one after another (a bomb: zeros compress about 1000 to 1). */
async function writeGzip(
  path: string,
  parts: Uint8Array<ArrayBuffer>[],
  zeros: number,
): Promise<void> {
  const compressor = new CompressionStream("gzip");
  const writing = (async () => {
    const writer = compressor.writable.getWriter();
    for (const part of parts) await writer.write(part);
    const block = new Uint8Array(16 << 20);
    for (let left = zeros; left > 0; left -= block.length) {
      await writer.write(left >= block.length ? block : block.subarray(0, left));
    }
    await writer.close();
  })();
  await Deno.writeFile(path, compressor.readable);
  await writing;
}

/** Run `code` in a fresh Deno and return what it printed and its peak memory (VmHWM), in MB. */
async function peakOf(code: string): Promise<{ out: string; peakMB: number }> {
  const script = `${code}
const status = await Deno.readTextFile("/proc/self/status");
console.log("peak", Number(/VmHWM:\\s+(\\d+) kB/.exec(status)![1]) / 1024);`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    cwd: join(import.meta.dirname!, "..", ".."),
  }).output();
  const out = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  const peak = /peak ([\d.]+)/.exec(out);
  assert.ok(peak, out);
  return { out, peakMB: Number(peak[1]) };
}

/** A gzip bomb's inflated size: far above the bound the readers must stay under. */
const BOMB_BYTES = 1 << 30;
/** Peak memory of reading it: a Deno process's own (~100 MB) plus room, far below the bomb. */
const PEAK_BOUND_MB = 400;

Deno.test("a gzip labels bomb stops at the header's count, in bounded memory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "labels-idx1-ubyte.gz");
    await writeGzip(path, [encodeIdx([60000], new Uint8Array(60000))], BOMB_BYTES);
    assert.ok((await Deno.stat(path)).size < 4 << 20, "a small file");
    const { out, peakMB } = await peakOf(`
import { readIdx } from "./data/idx.ts";
await readIdx(${JSON.stringify(path)}, "labels").catch((e) => console.log(e.message));`);
    assert.match(out, /labels-idx1-ubyte\.gz: more data than the header's 60000 labels declare/);
    assert.ok(peakMB < PEAK_BOUND_MB, `peak ${peakMB} MB`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("predict on a gzip images bomb stops at the header's count, in bounded memory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "images-idx3-ubyte.gz");
    await writeGzip(path, [encodeIdx([10, 8, 8], new Uint8Array(640))], BOMB_BYTES);
    const model = await trainTiny(dir);
    const { out, peakMB } = await peakOf(`
import { predictFile } from "./pipeline/predict.ts";
await predictFile(${JSON.stringify(model)}, ${
      JSON.stringify(path)
    }).catch((e) => console.log(e.message));`);
    assert.match(
      out,
      /images-idx3-ubyte\.gz: more data than the header's 10 images of 8×8 declare/,
    );
    assert.ok(peakMB < PEAK_BOUND_MB, `peak ${peakMB} MB`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("header dimensions that cannot be held are refused in words", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "huge-idx3-ubyte");
    const header = encodeIdx([1, 28, 28], []).subarray(0, 16);
    new DataView(header.buffer).setUint32(4, 2 ** 31);
    await Deno.writeFile(path, header);
    await assert.rejects(readIdxImages(path), {
      name: "RangeError",
      message:
        `${path}: the header declares 2147483648 images of 28×28 (1683627180032 values), more than can be held in memory; the file's header is wrong or it is not IDX images: unsigned bytes, 3 dimensions`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
