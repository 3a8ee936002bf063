import assert from "node:assert/strict";
import { encodeGrayPng, grayPngDataUrl, toGray } from "../../report/png.ts";

Deno.test("encodeGrayPng() writes a valid grayscale PNG that decodes to the pixels", async () => {
  const pixels = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
  const png = await encodeGrayPng(pixels, 4, 3);
  assert.deepEqual(Array.from(png.subarray(0, 8)), [
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
  ]);
  const view = new DataView(png.buffer);
  assert.equal(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  assert.equal(view.getUint32(16), 4);
  assert.equal(view.getUint32(20), 3);
  const idatLength = view.getUint32(33);
  assert.equal(new TextDecoder().decode(png.subarray(37, 41)), "IDAT");
  const stream = new Blob([png.slice(41, 41 + idatLength)]).stream()
    .pipeThrough(new DecompressionStream("deflate"));
  const raw = new Uint8Array(await new Response(stream).arrayBuffer());
  // Each row: filter byte 0, then the row's pixels.
  assert.deepEqual(Array.from(raw), [
    0,
    0,
    20,
    40,
    60,
    0,
    80,
    100,
    120,
    140,
    0,
    160,
    180,
    200,
    220,
  ]);
  assert.equal(new TextDecoder().decode(png.subarray(png.length - 8, png.length - 4)), "IEND");
  // The IEND chunk's CRC is a known constant.
  assert.equal(view.getUint32(png.length - 4), 0xae426082);
});

Deno.test("encodeGrayPng() rejects a pixel count that does not match", async () => {
  await assert.rejects(encodeGrayPng(new Uint8Array(5), 2, 2), {
    name: "RangeError",
    message: "Expected 2×2 = 4 pixels but found 5",
  });
});

Deno.test("toGray() maps [min, max] onto 0…255 and clamps", () => {
  assert.deepEqual(Array.from(toGray([-1, 0, 1, 2], -1, 1)), [0, 128, 255, 255]);
  assert.deepEqual(Array.from(toGray([3, 3], 3, 3)), [128, 128]);
});

Deno.test("grayPngDataUrl() gives a base64 PNG data URL", async () => {
  const url = await grayPngDataUrl(new Uint8Array([0, 255]), 2, 1);
  assert.match(url, /^data:image\/png;base64,iVBORw0KGgo/);
});
