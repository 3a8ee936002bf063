/**
 * MNIST's IDX format (MNIST, Fashion-MNIST, KMNIST, EMNIST), raw or gzip-compressed.
 *
 * Layout: a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
 * one big-endian uint32 per dimension, then the values. Images are 0x00000803 (unsigned
 * bytes, 3 dimensions), labels 0x00000801 (unsigned bytes, 1 dimension).
 * @module
 */
import type { Dataset } from "./dataset.ts";
import { fileError, readFileOrThrow } from "./errors.ts";

/** A parsed IDX file of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const IMAGES = { magic: 0x00000803, what: "IDX images: unsigned bytes, 3 dimensions" };
const LABELS = { magic: 0x00000801, what: "IDX labels: unsigned bytes, 1 dimension" };

/** Decompress if the bytes start with gzip's magic 1f 8b; otherwise return them as they are. */
export async function gunzipIfNeeded(bytes: Uint8Array, path: string): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new SyntaxError(
      `${path}: gzip data is corrupt or truncated (${
        error instanceof Error ? error.message : error
      })`,
    );
  }
}

/**
 * Parse IDX bytes (already decompressed), checking the magic number and that the declared
 * dimensions match the file's length exactly.
 */
export function parseIdx(bytes: Uint8Array, path: string, kind: "images" | "labels"): IdxArray {
  const expected = kind === "images" ? IMAGES : LABELS;
  if (bytes.length === 0) {
    throw new SyntaxError(`${path}: file is empty; expected ${expected.what}`);
  }
  if (bytes.length < 4) {
    throw new SyntaxError(
      `${path}: truncated: ${bytes.length} bytes, too short for the 4-byte magic number`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expected.magic) throw magicError(path, magic, kind);
  const ndims = bytes[3]!;
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) throw headerError(path, ndims, bytes.length);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const declared = dims.reduce((a, b) => a * b, 1);
  const found = bytes.length - headerLength;
  if (found !== declared) throw sizeError(path, dims, headerLength, found);
  return { dims, data: bytes.subarray(headerLength) };
}

/** Read and parse one IDX file (raw or gzip). */
export async function readIdx(path: string, kind: "images" | "labels"): Promise<IdxArray> {
  const bytes = await gunzipIfNeeded(await readFileOrThrow(path), path);
  return parseIdx(bytes, path, kind);
}

/** Options of {@linkcode loadIdx}. */
export interface IdxOptions {
  /** Number of classes; every label must be below it [10]. */
  classes?: number;
  classNames?: string[];
}

/**
 * An images file and its labels file as a dataset (pixel values 0–255, not yet normalised).
 *
 * @example
 * ```ts ignore
 * import { loadIdx } from "./idx.ts";
 * const ds = await loadIdx(
 *   "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
 *   "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
 * );
 * console.log(ds.count, ds.shape); // 10000 [28, 28]
 * ```
 */
export async function loadIdx(
  imagesPath: string,
  labelsPath: string,
  options: IdxOptions = {},
): Promise<Dataset> {
  const classes = options.classes ?? 10;
  const [images, labels] = await Promise.all([
    readIdxImages(imagesPath),
    readIdx(labelsPath, "labels"),
  ]);
  const [count, ...shape] = images.dims as [number, ...number[]];
  if (labels.dims[0] !== count) {
    throw new SyntaxError(
      `${labelsPath}: ${
        labels.dims[0]
      } labels but ${imagesPath} has ${count} images; expected one label per image`,
    );
  }
  const labelValues = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = labels.data[i]!;
    if (label >= classes) {
      throw new RangeError(
        `${labelsPath}: label ${label} at index ${i} is outside the ${classes} declared classes [0, ${classes})`,
      );
    }
    labelValues[i] = label;
  }
  const features = shape.reduce((a, b) => a * b, 1);
  return {
    x: images.values,
    labels: labelValues,
    count,
    features,
    shape,
    classes,
    ...(options.classNames ? { classNames: options.classNames } : {}),
    origin: imagesPath,
  };
}

function magicError(path: string, magic: number, kind: "images" | "labels"): SyntaxError {
  const expected = kind === "images" ? IMAGES : LABELS;
  return new SyntaxError(
    `${path}: wrong magic number 0x${hex(magic)}; expected 0x${
      hex(expected.magic)
    } (${expected.what})`,
  );
}

function headerError(path: string, ndims: number, length: number): SyntaxError {
  return new SyntaxError(
    `${path}: truncated: the header declares ${ndims} dimensions (${
      4 + 4 * ndims
    } bytes) but the file has ${length} bytes`,
  );
}

function sizeError(path: string, dims: number[], headerLength: number, found: number): SyntaxError {
  const declared = dims.reduce((a, b) => a * b, 1);
  return new SyntaxError(
    `${path}: ${found < declared ? "truncated" : "trailing bytes"}: dimensions ${
      dims.join("×")
    } declare ${declared} bytes of data after the ${headerLength}-byte header but found ${found}`,
  );
}

/**
 * Read an IDX images file straight into float32 values, decompressing and converting chunk
 * by chunk: the file's bytes are never held whole (Fashion-MNIST's are 47 MB), which keeps
 * the peak memory of a load close to the dataset itself. Same checks as {@linkcode parseIdx}.
 */
export async function readIdxImages(
  path: string,
): Promise<{ dims: number[]; values: Float32Array }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    throw fileError(path, error);
  }
  const probe = new Uint8Array(2);
  const probed = (await file.read(probe)) ?? 0;
  await file.seek(0, Deno.SeekMode.Start);
  const gzip = probed === 2 && probe[0] === 0x1f && probe[1] === 0x8b;
  const stream = gzip ? file.readable.pipeThrough(new DecompressionStream("gzip")) : file.readable;
  const header = new Uint8Array(4 + 4 * 255);
  let have = 0;
  let needed = 4;
  let dims: number[] | null = null;
  let values: Float32Array | null = null;
  let written = 0;
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += chunk.length;
      let offset = 0;
      while (values === null && offset < chunk.length) {
        const take = Math.min(needed - have, chunk.length - offset);
        header.set(chunk.subarray(offset, offset + take), have);
        have += take;
        offset += take;
        if (have < needed) break;
        const view = new DataView(header.buffer);
        if (needed === 4) {
          const magic = view.getUint32(0);
          if (magic !== IMAGES.magic) throw magicError(path, magic, "images");
          needed = 4 + 4 * header[3]!;
          continue;
        }
        dims = Array.from({ length: header[3]! }, (_, i) => view.getUint32(4 + 4 * i));
        values = new Float32Array(dims.reduce((a, b) => a * b, 1));
      }
      if (values !== null && offset < chunk.length) {
        const take = Math.min(values.length - written, chunk.length - offset);
        values.set(chunk.subarray(offset, offset + take), written);
        written += take;
      }
    }
  } catch (error) {
    if (error instanceof SyntaxError) throw error;
    if (gzip) {
      throw new SyntaxError(
        `${path}: gzip data is corrupt or truncated (${
          error instanceof Error ? error.message : error
        })`,
      );
    }
    throw fileError(path, error);
  }
  if (total === 0) throw new SyntaxError(`${path}: file is empty; expected ${IMAGES.what}`);
  if (have < 4) {
    throw new SyntaxError(
      `${path}: truncated: ${total} bytes, too short for the 4-byte magic number`,
    );
  }
  if (values === null || dims === null) throw headerError(path, header[3]!, total);
  const found = total - needed;
  if (found !== values.length) throw sizeError(path, dims, needed, found);
  return { dims, values };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** IDX bytes for the given dimensions and values: used by tests and fixture generation. */
export function encodeIdx(dims: number[], data: ArrayLike<number>): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, header);
  return out;
}
