/**
 * The dense-layer kernels, the only place the math core loops over matrix elements in bulk.
 * Everything above calls these through {@linkcode kernels}, so a faster backend
 * (WebAssembly, Workers) can replace them without touching callers: {@linkcode useKernels}.
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
 * Plain TypeScript kernels. The i-k-j loop order streams rows of `b` and `c`, and a zero in
 * `a` skips a whole row of work: most MNIST pixels and many ReLU outputs are exactly 0.
 */
export const jsKernels: Kernels = {
  name: "js",
  matmul(a, b, c, m, k, n) {
    c.fill(0, 0, m * n);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      const ai = i * k;
      for (let p = 0; p < k; p++) {
        const aip = a[ai + p]!;
        if (aip === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) c[ci + j]! += aip * b[bp + j]!;
      }
    }
  },
  matmulTransA(a, b, c, m, k, n) {
    c.fill(0, 0, k * n);
    for (let i = 0; i < m; i++) {
      const ai = i * k;
      const bi = i * n;
      for (let p = 0; p < k; p++) {
        const aip = a[ai + p]!;
        if (aip === 0) continue;
        const cp = p * n;
        for (let j = 0; j < n; j++) c[cp + j]! += aip * b[bi + j]!;
      }
    }
  },
  matmulTransB(a, b, c, m, n, k) {
    for (let i = 0; i < m; i++) {
      const ai = i * n;
      for (let p = 0; p < k; p++) {
        const bp = p * n;
        let sum = 0;
        for (let j = 0; j < n; j++) sum += a[ai + j]! * b[bp + j]!;
        c[i * k + p] = sum;
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

let active: Kernels = jsKernels;

/** The backend in use. */
export function kernels(): Kernels {
  return active;
}

/** Switch every caller to another backend; returns the previous one. */
export function useKernels(backend: Kernels): Kernels {
  const previous = active;
  active = backend;
  return previous;
}
