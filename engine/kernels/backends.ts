/**
 * Choosing the kernels: `wasm` (WebAssembly SIMD, float32 products) or `js` (plain
 * TypeScript, float64). The default is the fastest available: wasm wherever the runtime
 * validates the module.
 * @module
 */
import { jsKernels, type Kernels } from "../../nn/kernels.ts";
import { createWasmKernels, wasmSimdAvailable } from "./wasm_kernels.ts";

/** The backends a config may name. */
export type BackendName = "wasm" | "js";

let wasm: Kernels | null = null;

/**
 * The kernels for a backend name (or the default when none is given). `simd` says whether the
 * runtime has WebAssembly SIMD (tests pass false to see the fallback).
 */
export function backendKernels(name?: BackendName, simd = wasmSimdAvailable()): Kernels {
  const chosen = name ?? defaultBackend(simd);
  if (chosen === "js") return jsKernels;
  if (!simd) {
    throw new Error(
      "the wasm backend needs WebAssembly SIMD, which this runtime lacks; use backend: js",
    );
  }
  wasm ??= createWasmKernels();
  return wasm;
}

/** wasm when WebAssembly SIMD is available, else js. */
export function defaultBackend(simd = wasmSimdAvailable()): BackendName {
  return simd ? "wasm" : "js";
}
