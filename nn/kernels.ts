/**
 * The dense-layer kernels, the only place the math core loops over matrix elements in bulk.
 * Callers take them as a parameter (`PassOptions.kernels`, jsKernels by default), so a faster
 * backend (engine/kernels: WebAssembly) can replace them for one network without touching
 * another: there is no global switch.
 *
 * Layout: all arrays are row-major `Float64Array`s; dimensions are passed explicitly so a
 * backend may work on views into its own memory.
 * @module
 */

/** The operations a backend provides. `c` is always overwritten, never accumulated into. */
export interface Kernels {
  readonly name: string;
  /** c[m×n] = a[m×k] · b[k×n] */
  matmul(a: Float64Array, b: Float64Array, c: Float64Array, m: number, k: number, n: number): void;
  /** c[k×n] = aᵀ · b with a[m×k], b[m×n] (weight gradients) */
  matmulTransA(
    a: Float64Array,
    b: Float64Array,
    c: Float64Array,
    m: number,
    k: number,
    n: number,
  ): void;
  /** c[m×k] = a[m×n] · bᵀ with b[k×n] (gradients flowing back to a layer's input) */
  matmulTransB(
    a: Float64Array,
    b: Float64Array,
    c: Float64Array,
    m: number,
    n: number,
    k: number,
  ): void;
  /** c[i][j] += bias[j] for every row i of c[m×n] */
  addRowVector(c: Float64Array, bias: Float64Array, m: number, n: number): void;
  /** out[j] = Σᵢ a[i][j] for a[m×n] */
  sumRows(a: Float64Array, out: Float64Array, m: number, n: number): void;
}

/**
 * Plain TypeScript kernels.
 *
 * Both products gather the non-zero entries of `a` first (most MNIST pixels and many ReLU
 * outputs are exactly 0, so a zero skips a whole row of work), then accumulate four output
 * columns at a time in locals: V8 keeps those in registers, which is over twice as fast as
 * adding into `c` in memory.
 */
export const jsKernels: Kernels = {
  name: "js",
  matmul(a, b, c, m, k, n) {
    const { index, value } = scratch(k);
    for (let i = 0; i < m; i++) {
      let nnz = 0;
      const ai = i * k;
      for (let p = 0; p < k; p++) {
        const v = a[ai + p]!;
        if (v !== 0) {
          index[nnz] = p * n;
          value[nnz++] = v;
        }
      }
      accumulateRows(index, value, nnz, b, c, i * n, n);
    }
  },
  matmulTransA(a, b, c, m, k, n) {
    // c[p][j] = Σ_i a[i][p]·b[i][j]: gather column p's non-zeros of a (down the rows).
    const { index, value } = scratch(m);
    for (let p = 0; p < k; p++) {
      let nnz = 0;
      for (let i = 0; i < m; i++) {
        const v = a[i * k + p]!;
        if (v !== 0) {
          index[nnz] = i * n;
          value[nnz++] = v;
        }
      }
      accumulateRows(index, value, nnz, b, c, p * n, n);
    }
  },
  matmulTransB(a, b, c, m, n, k) {
    for (let i = 0; i < m; i++) {
      const ai = i * n;
      const ci = i * k;
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const b0 = p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let j = 0; j < n; j++) {
          const v = a[ai + j]!;
          s0 += v * b[b0 + j]!;
          s1 += v * b[b1 + j]!;
          s2 += v * b[b2 + j]!;
          s3 += v * b[b3 + j]!;
        }
        c[ci + p] = s0;
        c[ci + p + 1] = s1;
        c[ci + p + 2] = s2;
        c[ci + p + 3] = s3;
      }
      for (; p < k; p++) {
        const bp = p * n;
        let sum = 0;
        for (let j = 0; j < n; j++) sum += a[ai + j]! * b[bp + j]!;
        c[ci + p] = sum;
      }
    }
  },
  addRowVector(c, bias, m, n) {
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let j = 0; j < n; j++) c[ci + j]! += bias[j]!;
    }
  },
  sumRows(a, out, m, n) {
    out.fill(0, 0, n);
    for (let i = 0; i < m; i++) {
      const ai = i * n;
      for (let j = 0; j < n; j++) out[j]! += a[ai + j]!;
    }
  },
};

/** c[o + j] = Σ_q value[q]·b[index[q] + j] for j < n: the gathered rows of b, weighted. */
function accumulateRows(
  index: Int32Array,
  value: Float64Array,
  nnz: number,
  b: Float64Array,
  c: Float64Array,
  o: number,
  n: number,
): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let q = 0; q < nnz; q++) {
      const v = value[q]!;
      const r = index[q]! + j;
      s0 += v * b[r]!;
      s1 += v * b[r + 1]!;
      s2 += v * b[r + 2]!;
      s3 += v * b[r + 3]!;
    }
    c[o + j] = s0;
    c[o + j + 1] = s1;
    c[o + j + 2] = s2;
    c[o + j + 3] = s3;
  }
  for (; j < n; j++) {
    let sum = 0;
    for (let q = 0; q < nnz; q++) sum += value[q]! * b[index[q]! + j]!;
    c[o + j] = sum;
  }
}

let scratchIndex = new Int32Array(0);
let scratchValue = new Float64Array(0);

function scratch(size: number): { index: Int32Array; value: Float64Array } {
  if (scratchIndex.length < size) {
    scratchIndex = new Int32Array(size);
    scratchValue = new Float64Array(size);
  }
  return { index: scratchIndex, value: scratchValue };
}
