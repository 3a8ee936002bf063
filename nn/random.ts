/**
 * Seeded randomness: xoshiro128** (Blackman & Vigna), seeded through SplitMix32, so every
 * weight init, split and batch is reproducible from one number, and the generator's whole
 * state can be saved and restored.
 * @module
 */

/** Everything needed to continue a {@linkcode Random} exactly where it was. */
export interface RandomState {
  /** The four 32-bit words of xoshiro128**. */
  s: [number, number, number, number];
  /** The second Box–Muller sample, kept for the next `normal()` call, or null. */
  spare: number | null;
}

/**
 * A seeded pseudo-random generator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Random } from "./random.ts";
 * const a = new Random(42), b = new Random(42);
 * assert.ok(a.random() === b.random());
 * ```
 */
export class Random {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Expected seed to be a non-negative safe integer but found ${seed}`);
    }
    // SplitMix32 spreads any seed (even 0) over the 128-bit state; the high bits of a seed
    // above 2^32 are folded in so that such seeds differ too.
    let z = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x9e3779b9);
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) | 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      this.#s[i] = t ^ (t >>> 16);
    }
  }

  /** A generator continuing from a saved state. */
  static fromState(state: RandomState): Random {
    const r = new Random(0);
    r.#s.set(state.s);
    r.#spare = state.spare;
    return r;
  }

  /** The current state (a copy). */
  state(): RandomState {
    const [a, b, c, d] = this.#s;
    return { s: [a!, b!, c!, d!], spare: this.#spare };
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  random(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new RangeError(`Expected n to be an integer in [1, 2^32] but found ${n}`);
    }
    const limit = TWO_32 - remainder(TWO_32, n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return remainder(x, n);
  }

  /** A standard normal sample (Box–Muller; the pair's second value is kept for next time). */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Shuffle in place (Fisher–Yates) and return the array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = values[i];
      values[i] = values[j];
      values[j] = tmp;
    }
    return values;
  }

  /** `size` indices drawn uniformly from [0, n) with replacement (NumPy's `choice`). */
  choice(n: number, size: number): Int32Array {
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.int(n);
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * An independent seed for one use of the run's seed ("init", "split", "sampler", …), so that
 * changing how much one part draws never shifts another part's numbers.
 */
export function deriveSeed(seed: number, stream: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x27d4eb2d);
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

const TWO_32 = 2 ** 32;

/**
 * x mod n for integers 0 ≤ x ≤ 2^32 and 1 ≤ n ≤ 2^32, without `%`: numbers past 2^31 are not
 * small integers to V8, and its floating-point remainder made int() 2.7 times slower (an
 * epoch's shuffle of 8,000 rows: 83 against 30 µs of draws). Exact: the quotient is below
 * 2^32 / n, so its rounding error is under 2^-19 / n, less than half the 1/n that separates
 * it from the next integer, and floor gives the true quotient.
 */
function remainder(x: number, n: number): number {
  return x - Math.floor(x / n) * n;
}
