/**
 * A Worker that computes its share of {@linkcode fastNumericalGradient}: it keeps a network
 * whose parameters are views of the pool's shared buffers, takes the dropout generator's
 * state with each run (so it draws the same masks), and writes the gradient of its units
 * into the shared gradient.
 * @module
 */
import { fastNumericalGradient } from "./fast_numerical_gradient.ts";
import { Matrix } from "../../nn/matrix.ts";
import { MultiLayerNet, type Params } from "../../nn/network.ts";
import type {
  NumericalMessage,
  NumericalReply,
  SharedLayout,
} from "./parallel_numerical_gradient.ts";

// The worker's global scope (typed here so the file also checks alongside the main program).
const scope = self as unknown as {
  onmessage: (event: MessageEvent<NumericalMessage>) => void;
  postMessage(message: NumericalReply): void;
};

let state: { layout: SharedLayout; net: MultiLayerNet; grads: Params } | null = null;
// A layout message gets no reply: its failure is reported by the run that follows.
let layoutError: string | null = null;

scope.onmessage = (event) => {
  const message = event.data;
  if (message.kind === "layout") {
    try {
      const { layout } = message;
      const net = new MultiLayerNet(layout.sizes, layout.options);
      const grads: Params = {};
      for (const [name, p] of Object.entries(net.params)) {
        net.params[name] = new Matrix(p.rows, p.cols, view(layout.params[name]!));
        grads[name] = new Matrix(p.rows, p.cols, view(layout.grads[name]!));
      }
      state = { layout, net, grads };
      layoutError = null;
    } catch (error) {
      state = null;
      layoutError = (error as Error).message;
    }
    return;
  }
  try {
    if (!state) throw new Error(layoutError ?? "numerical gradient worker got no layout");
    const { layout, net, grads } = state;
    net.setRandomState(message.random);
    const rows = message.rows;
    const x = new Matrix(rows, layout.sizes[0]!, view(layout.x, rows * layout.sizes[0]!));
    const t = new Matrix(rows, layout.sizes.at(-1)!, view(layout.t, rows * layout.sizes.at(-1)!));
    fastNumericalGradient(net, x, t, {
      h: message.h,
      train: message.train,
      units: message.units,
      into: grads,
    });
    scope.postMessage({ ok: true });
  } catch (error) {
    scope.postMessage({ ok: false, message: (error as Error).message });
  }
};

/** A Float64Array over shared memory, typed as the math core's arrays. */
function view(buffer: SharedArrayBuffer, length?: number): Float64Array {
  return new Float64Array(buffer, 0, length);
}
