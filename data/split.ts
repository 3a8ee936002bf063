/**
 * Seeded train / validation / test splits of row indices, stratified by class when asked:
 * each class keeps its share in every part, and a class with at least three rows is in all
 * three parts.
 * @module
 */
import type { Random } from "../nn/random.ts";

/** The row indices of each part, each list shuffled. */
export interface RowSplit {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

/**
 * Split rows `0 … count-1` (or the given `rows`) into parts of exactly `test` and
 * `validation` rows, the rest for training. With `strata` (a class index per row) every class
 * contributes in proportion to its size (largest remainders), and a class with at least one
 * row for each part gets one in each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Random } from "../nn/random.ts";
 * import { splitRows } from "./split.ts";
 * const strata = Int32Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : 1));
 * const parts = splitRows(100, { test: 20, validation: 10 }, new Random(1), strata);
 * assert.ok(parts.test.length === 20 && parts.validation.length === 10 && parts.train.length === 70);
 * assert.equal(Array.from(parts.test).filter((i) => strata[i] === 1).length, 4);
 * ```
 */
export function splitRows(
  count: number,
  sizes: { test: number; validation: number },
  rng: Random,
  strata: Int32Array | null = null,
): RowSplit {
  const { test, validation } = sizes;
  if (!(Number.isInteger(test) && Number.isInteger(validation) && test >= 0 && validation >= 0)) {
    throw new RangeError(
      `Expected whole, non-negative part sizes but found test ${test}, validation ${validation}`,
    );
  }
  if (test + validation >= count) {
    throw new RangeError(
      `Expected test + validation to leave training rows but found ${test} + ${validation} of ${count} rows`,
    );
  }
  if (strata === null) {
    const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
    return {
      test: Int32Array.from(order.slice(0, test)),
      validation: Int32Array.from(order.slice(test, test + validation)),
      train: Int32Array.from(order.slice(test + validation)),
    };
  }
  const classes = strata.reduce((m, k) => Math.max(m, k + 1), 0);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < count; i++) byClass[strata[i]!]!.push(i);
  for (const members of byClass) rng.shuffle(members);
  const counts = byClass.map((m) => m.length);
  // Each part keeps at least one row of a class while the class has rows for the later parts.
  const testCounts = apportion(counts, test, 2);
  const validationCounts = apportion(counts.map((c, k) => c - testCounts[k]!), validation, 1);
  const parts = { train: [] as number[], validation: [] as number[], test: [] as number[] };
  byClass.forEach((members, k) => {
    const t = testCounts[k]!;
    const v = validationCounts[k]!;
    parts.test.push(...members.slice(0, t));
    parts.validation.push(...members.slice(t, t + v));
    parts.train.push(...members.slice(t + v));
  });
  return {
    train: Int32Array.from(rng.shuffle(parts.train)),
    validation: Int32Array.from(rng.shuffle(parts.validation)),
    test: Int32Array.from(rng.shuffle(parts.test)),
  };
}

/**
 * Split `size` over groups in proportion to `counts` (largest remainders, ties to the lower
 * index). First every group with more than `reserve` members gets one, while there is any to
 * give, so that a small class still appears in the part; a group never gives more than it has
 * beyond `reserve`.
 */
function apportion(counts: number[], size: number, reserve: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const out = counts.map(() => 0);
  if (total === 0 || size === 0) return out;
  const exact = counts.map((c) => (c * size) / total);
  const room = (k: number) => counts[k]! - reserve - out[k]!;
  let left = size;
  const byNeed = exact.map((e, k) => [e, k] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, k] of byNeed) {
    if (left > 0 && room(k) > 0) {
      out[k] = 1;
      left--;
    }
  }
  for (let k = 0; k < counts.length && left > 0; k++) {
    const more = Math.min(Math.max(Math.floor(exact[k]!) - out[k]!, 0), room(k), left);
    out[k]! += more;
    left -= more;
  }
  const order = exact.map((e, k) => [e - out[k]!, k] as const).sort((a, b) =>
    b[0] - a[0] || a[1] - b[1]
  );
  // Largest remainders first, one row each per round; when every group is down to its
  // reserve, the reserves are given up rather than the part's exact size.
  let floor = reserve;
  while (left > 0) {
    let gave = false;
    for (const [, k] of order) {
      if (left === 0) break;
      if (counts[k]! - floor - out[k]! > 0) {
        out[k]!++;
        left--;
        gave = true;
      }
    }
    if (!gave) {
      if (floor === 0) throw new RangeError(`Cannot place ${size} rows in groups of ${counts}`);
      floor = 0;
    }
  }
  return out;
}
