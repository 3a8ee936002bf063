/**
 * The WebAssembly SIMD backend for {@linkcode Kernels}: the products run in f32x4 in the
 * module assembled from engine/kernels/kernels.wat. Callers keep their float64 arrays; each call
 * converts its operands to float32 in the module's memory (a native typed-array copy) and its
 * result back. Results therefore carry float32 precision: fine for training, not for the
 * numerical gradient, which always uses the float64 `jsKernels`.
 * @module
 */
import { jsKernels, type Kernels } from "../../nn/kernels.ts";
import { KERNELS_WASM } from "./kernels_binary.ts";

/** A gathering product: pointers to a, b, c, the dimensions, and scratch for the gather. */
type GatherProduct = (
  a: number,
  b: number,
  c: number,
  m: number,
  k: number,
  n: number,
  idx: number,
  val: number,
) => void;

interface Exports {
  memory: WebAssembly.Memory;
  matmul: GatherProduct;
  matmulTransA: GatherProduct;
  matmulTransB(a: number, b: number, c: number, m: number, n: number, k: number): void;
}

/** The bytes of a module committed as base64 (the generated `*_binary.ts` files). */
export function moduleBytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function bytes(): Uint8Array<ArrayBuffer> {
  return moduleBytes(KERNELS_WASM);
}

/** Bytes in a WebAssembly memory page. */
const WASM_PAGE = 65536;

/**
 * Byte offsets of consecutive regions of `memory` of the given byte lengths, each 16-byte
 * aligned for v128 loads; the memory grows to hold them all.
 */
export function alignedLayout(memory: WebAssembly.Memory, byteLengths: number[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const length of byteLengths) {
    offsets.push(at);
    at += Math.ceil(length / 16) * 16;
  }
  const needed = at - memory.buffer.byteLength;
  if (needed > 0) memory.grow(Math.ceil(needed / WASM_PAGE));
  return offsets;
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
 * import assert from "node:assert/strict";
 * import { createWasmKernels } from "./wasm_kernels.ts";
 * const k = createWasmKernels();
 * const c = new Float64Array(1);
 * k.matmul(new Float64Array([1, 2]), new Float64Array([3, 4]), c, 1, 2, 1);
 * assert.ok(c[0] === 11);
 * ```
 */
export function createWasmKernels(): Kernels {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes()), {});
  const wasm = instance.exports as unknown as Exports;
  /** Byte offsets of consecutive f32 regions of the given lengths (16-byte aligned). */
  const layout = (...lengths: number[]): number[] =>
    alignedLayout(wasm.memory, lengths.map((length) => length * 4));
  const f32 = (offset: number, length: number) =>
    new Float32Array(wasm.memory.buffer, offset, length);
  /**
   * Copy the first aLength of a and bLength of b into the module as float32, run the product
   * on their offsets (with `scratch` f32/i32 slots for the gather), copy cLength results to c.
   */
  const product = (
    a: Float64Array,
    aLength: number,
    b: Float64Array,
    bLength: number,
    c: Float64Array,
    cLength: number,
    scratch: number,
    run: (pa: number, pb: number, pc: number, idx: number, val: number) => void,
  ) => {
    const [pa, pb, pc, idx, val] = layout(aLength, bLength, cLength, scratch, scratch) as [
      number,
      number,
      number,
      number,
      number,
    ];
    f32(pa, aLength).set(a.subarray(0, aLength));
    f32(pb, bLength).set(b.subarray(0, bLength));
    run(pa, pb, pc, idx, val);
    c.set(f32(pc, cLength));
  };
  return {
    name: "wasm",
    matmul(a, b, c, m, k, n) {
      product(
        a,
        m * k,
        b,
        k * n,
        c,
        m * n,
        k,
        (pa, pb, pc, idx, val) => wasm.matmul(pa, pb, pc, m, k, n, idx, val),
      );
    },
    matmulTransA(a, b, c, m, k, n) {
      product(
        a,
        m * k,
        b,
        m * n,
        c,
        k * n,
        m,
        (pa, pb, pc, idx, val) => wasm.matmulTransA(pa, pb, pc, m, k, n, idx, val),
      );
    },
    matmulTransB(a, b, c, m, n, k) {
      product(
        a,
        m * n,
        b,
        k * n,
        c,
        m * k,
        0,
        (pa, pb, pc) => wasm.matmulTransB(pa, pb, pc, m, n, k),
      );
    },
    // Element-wise passes are memory-bound and cheap: float64 in JavaScript.
    addRowVector: jsKernels.addRowVector,
    sumRows: jsKernels.sumRows,
  };
}
