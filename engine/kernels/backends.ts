/**
 * Choosing the kernels: `wasm` (WebAssembly SIMD, float32 products) or `js` (plain
 * TypeScript, float64). The default is the fastest available: wasm wherever the runtime
 * validates the module.
 * @module
 */
import { jsKernels, type Kernels, useKernels } from "../../nn/kernels.ts";
import { createWasmKernels, wasmSimdAvailable } from "./wasm_kernels.ts";

/** The backends a config may name. */
export type BackendName = "wasm" | "js";

let wasm: Kernels | null = null;

/** The kernels for a backend name (or the default when none is given). */
export function backendKernels(name?: BackendName): Kernels {
  const chosen = name ?? defaultBackend();
  if (chosen === "js") return jsKernels;
  if (!wasmSimdAvailable()) {
    throw new Error(
      "the wasm backend needs WebAssembly SIMD, which this runtime lacks; use backend: js",
    );
  }
  wasm ??= createWasmKernels();
  return wasm;
}

/** wasm when WebAssembly SIMD is available, else js. */
export function defaultBackend(): BackendName {
  return wasmSimdAvailable() ? "wasm" : "js";
}

/** Run `f` with the given kernels in use, restoring the previous ones afterwards. */
export async function withKernels<T>(kernels: Kernels, f: () => Promise<T> | T): Promise<T> {
  const previous = useKernels(kernels);
  try {
    return await f();
  } finally {
    useKernels(previous);
  }
}

/** The synchronous form of {@linkcode withKernels}. */
export function withKernelsSync<T>(kernels: Kernels, f: () => T): T {
  const previous = useKernels(kernels);
  try {
    return f();
  } finally {
    useKernels(previous);
  }
}
