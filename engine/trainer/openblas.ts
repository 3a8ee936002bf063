/**
 * The system's OpenBLAS through Deno's FFI: single-precision matrix products (`cblas_sgemm`)
 * straight on the trainer's shared WebAssembly memory, for the dense products of a training
 * step. WebAssembly SIMD is 128 bits wide; OpenBLAS runs 256- or 512-bit kernels chosen for
 * the CPU, and on a 2-vCPU AMD EPYC (AVX-512; OpenBLAS 0.3.21 picks its Haswell kernels) a
 * 784-256-128-10 step took 0.95 ms on one thread against 1.29 ms in WebAssembly alone.
 *
 * Each thread loads the library itself and calls it from that thread, with OpenBLAS's own
 * threading off: the trainer already splits each batch in two halves, one per thread, and a
 * single-threaded product gives the same bits on every call with the same shapes.
 * @module
 */
import type { DenseProducts, Gemm } from "./wasm_step.ts";

/** Where the library is looked for, in order (`GRADSTREAM_OPENBLAS` names a file first). */
const LIBRARY_NAMES = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "libopenblas.dylib",
];

/** The environment variable that names the library file to use. */
export const OPENBLAS_ENV = "GRADSTREAM_OPENBLAS";

const SYMBOLS = {
  cblas_sgemm: {
    // order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc (pointers as
    // addresses: the memory is one block whose address the trainer knows).
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "usize",
      "i32",
      "usize",
      "i32",
      "f32",
      "usize",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_config: { parameters: [], result: "pointer" },
  openblas_get_corename: { parameters: [], result: "pointer" },
} as const;

/** CBLAS's enumerations. */
const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/** A loaded OpenBLAS. */
export interface OpenBlas {
  /** The library's version and the kernels it chose: "OpenBLAS 0.3.21 (Haswell kernels)". */
  readonly description: string;
  readonly sgemm: Sgemm;
}

/**
 * cblas_sgemm with its addresses as numbers: Deno passes a number to a `usize` parameter as
 * it is (its types name only bigint, whose conversion would cost an allocation a call).
 */
type Sgemm = (
  order: number,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  beta: number,
  c: number,
  ldc: number,
) => void;

let loaded: OpenBlas | string | null = null;

/**
 * This thread's OpenBLAS, or why there is none (no `--allow-ffi`, no library found). Loaded
 * once per thread.
 */
export function openBlas(): OpenBlas | string {
  loaded ??= load();
  return loaded;
}

function load(): OpenBlas | string {
  let ffi: Deno.PermissionState;
  try {
    ffi = Deno.permissions.querySync({ name: "ffi" }).state;
  } catch {
    ffi = "denied";
  }
  if (ffi !== "granted") return "Deno's FFI is not allowed (--allow-ffi)";
  // Its threads stay off: set before loading, so that the library does not start a pool of
  // them, and again after, for a library that read its environment earlier.
  try {
    Deno.env.set("OPENBLAS_NUM_THREADS", "1");
  } catch { /* no --allow-env: openblas_set_num_threads below still applies */ }
  let named: string | undefined;
  try {
    named = Deno.env.get(OPENBLAS_ENV);
  } catch { /* not allowed: the usual places only */ }
  const names = named ? [named] : LIBRARY_NAMES;
  const failures: string[] = [];
  for (const name of names) {
    try {
      const library = Deno.dlopen(name, SYMBOLS);
      const { symbols } = library;
      symbols.openblas_set_num_threads(1);
      const text = (p: Deno.PointerValue) => p ? new Deno.UnsafePointerView(p).getCString() : "";
      // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH …": its name and version.
      const version = text(symbols.openblas_get_config()).split(" ").slice(0, 2).join(" ");
      const core = text(symbols.openblas_get_corename()).trim();
      return {
        description: `${version || "OpenBLAS"}${core ? ` (${core} kernels)` : ""}`,
        sgemm: symbols.cblas_sgemm as unknown as Sgemm,
      };
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return `no OpenBLAS library could be loaded (${failures.join("; ")})`;
}

/**
 * Products on one thread's view of a shared WebAssembly memory: byte offsets into the memory
 * become addresses. A shared memory never moves: its whole maximum is reserved up front, so
 * that every thread's view stays valid as it grows, and its address is read once.
 */
export class BlasProducts implements DenseProducts {
  readonly #blas: OpenBlas;
  readonly #base: number;

  constructor(blas: OpenBlas, memory: WebAssembly.Memory) {
    this.#blas = blas;
    this.#base = Number(
      Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(memory.buffer))),
    );
  }

  readonly gemm: Gemm = (transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc) => {
    const base = this.#base;
    this.#blas.sgemm(
      ROW_MAJOR,
      transA ? TRANS : NO_TRANS,
      transB ? TRANS : NO_TRANS,
      m,
      n,
      k,
      1,
      base + a,
      lda,
      base + b,
      ldb,
      beta,
      base + c,
      ldc,
    );
  };
}
