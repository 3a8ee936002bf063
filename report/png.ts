/**
 * A minimal PNG encoder for 8-bit grayscale images, so reports can show digits and weights
 * inline (data: URLs) with no image library. Layout: signature, IHDR, one zlib-compressed
 * IDAT (each row prefixed by filter byte 0), IEND; every chunk carries a CRC-32.
 * @module
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * PNG bytes of a width×height grayscale image (`gray` row-major, 0 black … 255 white).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGrayPng } from "./png.ts";
 * const png = await encodeGrayPng(new Uint8Array([0, 255, 255, 0]), 2, 2);
 * assert.ok(png[1] === 0x50 && png[2] === 0x4e && png[3] === 0x47); // "PNG"
 * ```
 */
export async function encodeGrayPng(
  gray: Uint8Array,
  width: number,
  height: number,
): Promise<Uint8Array> {
  if (gray.length !== width * height) {
    throw new RangeError(
      `Expected ${width}×${height} = ${width * height} pixels but found ${gray.length}`,
    );
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 0; // colour type: grayscale
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) {
    raw.set(gray.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  // "deflate" in CompressionStream is the zlib format PNG expects.
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"));
  const idat = new Uint8Array(await new Response(stream).arrayBuffer());
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A `data:image/png;base64,…` URL of the image. */
export async function grayPngDataUrl(
  gray: Uint8Array,
  width: number,
  height: number,
): Promise<string> {
  const png = await encodeGrayPng(gray, width, height);
  let binary = "";
  for (let i = 0; i < png.length; i++) binary += String.fromCharCode(png[i]!);
  return `data:image/png;base64,${btoa(binary)}`;
}

/** Values scaled linearly from [min, max] to 0…255 (a constant image is mid-gray). */
export function toGray(values: ArrayLike<number>, min: number, max: number): Uint8Array {
  const out = new Uint8Array(values.length);
  const range = max - min;
  for (let i = 0; i < values.length; i++) {
    out[i] = range > 0
      ? Math.round(Math.min(1, Math.max(0, (values[i]! - min) / range)) * 255)
      : 128;
  }
  return out;
}
