/**
 * A dense row-major matrix backed by a `Float64Array`: the one array type of the math core.
 * A vector is a `Float64Array`, or a 1×n matrix where a layer needs a shape.
 * @module
 */

/**
 * A rows×cols matrix; element (i, j) lives at `data[i * cols + j]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Matrix } from "./matrix.ts";
 * const m = Matrix.from([[1, 2], [3, 4]]);
 * assert.ok(m.get(1, 0) === 3);
 * ```
 */
export class Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;

  constructor(rows: number, cols: number, data?: Float64Array) {
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
      throw new RangeError(
        `Expected matrix dimensions to be non-negative integers but found ${rows}×${cols}`,
      );
    }
    if (data !== undefined && data.length !== rows * cols) {
      throw new RangeError(
        `Expected ${rows}×${cols} = ${rows * cols} values but found ${data.length}`,
      );
    }
    this.rows = rows;
    this.cols = cols;
    this.data = data ?? new Float64Array(rows * cols);
  }

  /** A matrix of zeros. */
  static zeros(rows: number, cols: number): Matrix {
    return new Matrix(rows, cols);
  }

  /** A matrix from nested arrays; every row must have the same length. */
  static from(rows: ArrayLike<ArrayLike<number>>): Matrix {
    const cols = rows.length === 0 ? 0 : rows[0]!.length;
    const m = new Matrix(rows.length, cols);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (row.length !== cols) {
        throw new RangeError(`Expected row ${i} to have ${cols} values but found ${row.length}`);
      }
      m.data.set(row, i * cols);
    }
    return m;
  }

  /** A 1×n matrix holding a copy of a vector. */
  static rowVector(values: ArrayLike<number>): Matrix {
    return new Matrix(1, values.length, Float64Array.from(values));
  }

  get(i: number, j: number): number {
    return this.data[i * this.cols + j]!;
  }

  set(i: number, j: number, value: number): void {
    this.data[i * this.cols + j] = value;
  }

  /** Row i as a view (no copy). */
  row(i: number): Float64Array {
    return this.data.subarray(i * this.cols, (i + 1) * this.cols);
  }

  clone(): Matrix {
    return new Matrix(this.rows, this.cols, this.data.slice());
  }

  toArray(): number[][] {
    return Array.from({ length: this.rows }, (_, i) => Array.from(this.row(i)));
  }
}

/** Index of the largest value in `values[offset, offset + length)`, first one on ties. */
export function argmax(values: ArrayLike<number>, offset = 0, length = values.length): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let j = 0; j < length; j++) {
    const v = values[offset + j]!;
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}
