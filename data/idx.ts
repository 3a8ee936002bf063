/**
 * MNIST's IDX format (MNIST, Fashion-MNIST, KMNIST, EMNIST), raw or gzip-compressed.
 *
 * Layout: a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
 * one big-endian uint32 per dimension, then the values. Images are 0x00000803 (unsigned
 * bytes, 3 dimensions), labels 0x00000801 (unsigned bytes, 1 dimension).
 * @module
 */
import type { Dataset } from "./dataset.ts";
import { fileError } from "./errors.ts";

/** A parsed IDX file of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const IMAGES = { magic: 0x00000803, what: "IDX images: unsigned bytes, 3 dimensions" };
const LABELS = { magic: 0x00000801, what: "IDX labels: unsigned bytes, 1 dimension" };

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

/**
 * Read one IDX file (raw or gzip) as bytes, streaming: decompression stops as soon as the data
 * exceeds what the header declares, so a gzip bomb costs no more memory than the declared
 * array. Same checks as {@linkcode parseIdx}.
 */
export async function readIdx(path: string, kind: "images" | "labels"): Promise<IdxArray> {
  const { dims, values } = await streamIdx(path, kind, (n) => new Uint8Array(n));
  return { dims, data: values };
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
export function readIdxImages(path: string): Promise<{ dims: number[]; values: Float32Array }> {
  return streamIdx(path, "images", (n) => new Float32Array(n));
}

/** The first `max` bytes of a file, decompressed if it is gzip (reading no further). */
export async function headBytes(path: string, max: number): Promise<Uint8Array> {
  const { stream } = await openMaybeGzip(path);
  const out = new Uint8Array(max);
  let have = 0;
  try {
    for await (const chunk of stream) {
      const take = Math.min(chunk.length, max - have);
      out.set(chunk.subarray(0, take), have);
      have += take;
      if (have === max) break;
    }
  } catch (error) {
    throw new SyntaxError(`${path}: gzip data is corrupt or truncated (${messageOf(error)})`);
  }
  return out.subarray(0, have);
}

/** Whether a file starts with gzip's magic bytes. */
export async function isGzip(path: string): Promise<boolean> {
  return (await openMaybeGzip(path)).gzip;
}

async function openMaybeGzip(
  path: string,
): Promise<{ stream: ReadableStream<Uint8Array>; gzip: boolean }> {
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
  return { stream, gzip };
}

/** What the header's dimensions declare, in words: "60000 labels", "10000 images of 28×28". */
function declaredInWords(kind: "images" | "labels", dims: number[]): string {
  const [count, ...shape] = dims;
  const noun = `${kind === "labels" ? "label" : "image"}${count === 1 ? "" : "s"}`;
  return kind === "labels" ? `${count} ${noun}` : `${count} ${noun} of ${shape.join("×")}`;
}

/**
 * Stream an IDX file into an array made by `allocate` once the header is read: the magic
 * number and dimensions are checked, then exactly the declared number of values is taken;
 * the first byte beyond it stops the reading with an error.
 */
async function streamIdx<T extends Uint8Array | Float32Array>(
  path: string,
  kind: "images" | "labels",
  allocate: (length: number) => T,
): Promise<{ dims: number[]; values: T }> {
  const expected = kind === "images" ? IMAGES : LABELS;
  const { stream, gzip } = await openMaybeGzip(path);
  const header = new Uint8Array(4 + 4 * 255);
  let have = 0;
  let needed = 4;
  let dims: number[] | null = null;
  let values: T | null = null;
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
          if (magic !== expected.magic) throw magicError(path, magic, kind);
          needed = 4 + 4 * header[3]!;
          continue;
        }
        dims = Array.from({ length: header[3]! }, (_, i) => view.getUint32(4 + 4 * i));
        values = allocateDeclared(path, kind, dims, allocate);
      }
      if (values !== null && offset < chunk.length) {
        if (written + (chunk.length - offset) > values.length) {
          // Stop reading (and decompressing) here: the rest can only be too much.
          throw new SyntaxError(
            `${path}: more data than the header's ${declaredInWords(kind, dims!)} declare`,
          );
        }
        values.set(chunk.subarray(offset), written);
        written += chunk.length - offset;
      }
    }
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof RangeError) throw error;
    if (gzip) {
      throw new SyntaxError(`${path}: gzip data is corrupt or truncated (${messageOf(error)})`);
    }
    throw fileError(path, error);
  }
  if (total === 0) throw new SyntaxError(`${path}: file is empty; expected ${expected.what}`);
  if (have < 4) {
    throw new SyntaxError(
      `${path}: truncated: ${total} bytes, too short for the 4-byte magic number`,
    );
  }
  if (values === null || dims === null) throw headerError(path, header[3]!, total);
  if (written !== values.length) throw sizeError(path, dims, needed, written);
  return { dims, values };
}

/** The declared array, or an error that says in words why it cannot be held. */
function allocateDeclared<T>(
  path: string,
  kind: "images" | "labels",
  dims: number[],
  allocate: (length: number) => T,
): T {
  const declared = dims.reduce((a, b) => a * b, 1);
  const fail = () =>
    new RangeError(
      `${path}: the header declares ${
        declaredInWords(kind, dims)
      } (${declared} values), more than can be held in memory; the file's header is wrong or it is not ${
        expected(kind)
      }`,
    );
  if (!Number.isSafeInteger(declared) || declared > MAX_IDX_VALUES) throw fail();
  try {
    return allocate(declared);
  } catch {
    throw fail();
  }
}

/** The most values one IDX array may hold: 2³¹ - 1 (8 GiB as float32). */
const MAX_IDX_VALUES = 2 ** 31 - 1;

function expected(kind: "images" | "labels"): string {
  return (kind === "images" ? IMAGES : LABELS).what;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** IDX bytes for the given dimensions and values: used by tests and fixture generation. */
export function encodeIdx(dims: number[], data: ArrayLike<number>): Uint8Array<ArrayBuffer> {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, header);
  return out;
}
