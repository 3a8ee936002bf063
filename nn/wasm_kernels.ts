/**
 * The WebAssembly SIMD backend for {@linkcode Kernels}: the products run in f32x4 in the
 * module assembled from nn/wasm/kernels.wat. Callers keep their float64 arrays; each call
 * converts its operands to float32 in the module's memory (a native typed-array copy) and its
 * result back. Results therefore carry float32 precision: fine for training, not for the
 * numerical gradient, which always uses the float64 `jsKernels`.
 * @module
 */
import { jsKernels, type Kernels } from "./kernels.ts";
import { KERNELS_WASM } from "./wasm/kernels_binary.ts";

interface Exports {
  memory: WebAssembly.Memory;
  matmul(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    idx: number,
    val: number,
  ): void;
  matmulTransA(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    idx: number,
    val: number,
  ): void;
  matmulTransB(a: number, b: number, c: number, m: number, n: number, k: number): void;
}

function bytes(): Uint8Array<ArrayBuffer> {
  const binary = atob(KERNELS_WASM);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Whether this runtime can run the SIMD module. */
export function wasmSimdAvailable(): boolean {
  try {
    return WebAssembly.validate(bytes());
  } catch {
    return false;
  }
}

/**
 * A fresh instance of the WebAssembly backend.
 *
 * @example
 * ```ts
 * import { createWasmKernels } from "./wasm_kernels.ts";
 * const k = createWasmKernels();
 * const c = new Float64Array(1);
 * k.matmul(new Float64Array([1, 2]), new Float64Array([3, 4]), c, 1, 2, 1);
 * console.assert(c[0] === 11);
 * ```
 */
export function createWasmKernels(): Kernels {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes()), {});
  const wasm = instance.exports as unknown as Exports;
  /** Byte offsets of consecutive f32 regions of the given lengths (16-byte aligned). */
  const layout = (...lengths: number[]): number[] => {
    const offsets: number[] = [];
    let at = 0;
    for (const length of lengths) {
      offsets.push(at);
      at += Math.ceil((length * 4) / 16) * 16;
    }
    const needed = at - wasm.memory.buffer.byteLength;
    if (needed > 0) wasm.memory.grow(Math.ceil(needed / 65536));
    return offsets;
  };
  const f32 = (offset: number, length: number) =>
    new Float32Array(wasm.memory.buffer, offset, length);
  return {
    name: "wasm",
    matmul(a, b, c, m, k, n) {
      const [pa, pb, pc, idx, val] = layout(m * k, k * n, m * n, k, k);
      f32(pa!, m * k).set(a.subarray(0, m * k));
      f32(pb!, k * n).set(b.subarray(0, k * n));
      wasm.matmul(pa!, pb!, pc!, m, k, n, idx!, val!);
      c.set(f32(pc!, m * n));
    },
    matmulTransA(a, b, c, m, k, n) {
      const [pa, pb, pc, idx, val] = layout(m * k, m * n, k * n, m, m);
      f32(pa!, m * k).set(a.subarray(0, m * k));
      f32(pb!, m * n).set(b.subarray(0, m * n));
      wasm.matmulTransA(pa!, pb!, pc!, m, k, n, idx!, val!);
      c.set(f32(pc!, k * n));
    },
    matmulTransB(a, b, c, m, n, k) {
      const [pa, pb, pc] = layout(m * n, k * n, m * k);
      f32(pa!, m * n).set(a.subarray(0, m * n));
      f32(pb!, k * n).set(b.subarray(0, k * n));
      wasm.matmulTransB(pa!, pb!, pc!, m, n, k);
      c.set(f32(pc!, m * k));
    },
    // Element-wise passes are memory-bound and cheap: float64 in JavaScript.
    addRowVector: jsKernels.addRowVector,
    sumRows: jsKernels.sumRows,
  };
}
