/**
 * A saved model as an ONNX model (opset 13, plus `ai.onnx.ml` 3 for tables) that takes the
 * raw features and applies everything `deno task predict` applies: a table's blank filling and
 * one-hot encoding, the stored normalisation, the layers (`Gemm` and the activation), and the
 * output (`Softmax`; a regression's target scaling). Written with data/protobuf.ts after
 * onnx.proto's field numbers. Inputs and outputs: docs/model-format.md.
 * @module
 */
import { perFeature } from "../data/normalize.ts";
import { encodeMessage, type Field } from "../data/protobuf.ts";
import type { ModelFile } from "./model_file.ts";

/** onnx.proto's TensorProto.DataType values used here. */
const FLOAT = 1;
const STRING = 8;
const INT64 = 7;
/** AttributeProto.AttributeType values. */
const ATTR = { FLOAT: 1, INT: 2, FLOATS: 6, STRINGS: 8 } as const;
/** The ONNX IR version of opset 13's release (onnx 1.8). */
const IR_VERSION = 7;
const OPSET = 13;
const ML_OPSET = 3;

type Attribute = Field[];

const floats = (name: string, values: number[]): Attribute => [
  { field: 1, string: name },
  ...values.map((v) => ({ field: 7, float: v })),
  { field: 20, varint: ATTR.FLOATS },
];
const int = (name: string, value: number): Attribute => [
  { field: 1, string: name },
  { field: 3, varint: value },
  { field: 20, varint: ATTR.INT },
];
const float = (name: string, value: number): Attribute => [
  { field: 1, string: name },
  { field: 2, float: value },
  { field: 20, varint: ATTR.FLOAT },
];
const strings = (name: string, values: string[]): Attribute => [
  { field: 1, string: name },
  ...values.map((v) => ({ field: 9, string: v })),
  { field: 20, varint: ATTR.STRINGS },
];

/** The graph being built: nodes, constant tensors, and fresh names. */
class Graph {
  nodes: Field[][] = [];
  initializers: Field[][] = [];
  #count = 0;

  name(prefix: string): string {
    return `${prefix}_${this.#count++}`;
  }

  node(op: string, inputs: string[], attributes: Attribute[] = [], domain = "", output?: string) {
    const out = output ?? this.name(op.toLowerCase());
    this.nodes.push([
      ...inputs.map((i) => ({ field: 1, string: i })),
      { field: 2, string: out },
      { field: 3, string: out },
      { field: 4, string: op },
      ...attributes.map((a) => ({ field: 5, message: a })),
      ...(domain ? [{ field: 7, string: domain }] : []),
    ]);
    return out;
  }

  /** A float32 constant of the given shape. */
  floats(dims: number[], values: ArrayLike<number>): string {
    const name = this.name("const");
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    this.initializers.push(tensor(name, dims, FLOAT, raw));
    return name;
  }

  /** An int64 constant. */
  int64s(dims: number[], values: number[]): string {
    const name = this.name("const");
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push(tensor(name, dims, INT64, raw));
    return name;
  }
}

function tensor(name: string, dims: number[], type: number, raw: Uint8Array): Field[] {
  return [
    ...dims.map((d) => ({ field: 1, varint: d })),
    { field: 2, varint: type },
    { field: 8, string: name },
    { field: 9, bytes: raw },
  ];
}

/** A graph input or output: a tensor of `type` whose dimensions are sizes or named (N). */
function valueInfo(name: string, type: number, dims: (number | string)[]): Field[] {
  const dim = dims.map((d): Field => ({
    field: 1,
    message: [typeof d === "number" ? { field: 1, varint: d } : { field: 2, string: d }],
  }));
  return [
    { field: 1, string: name },
    {
      field: 2,
      message: [{
        field: 1,
        message: [{ field: 1, varint: type }, { field: 2, message: dim }],
      }],
    },
  ];
}

/** The ONNX model's inputs, in order: one float tensor, or one tensor per table column. */
export function onnxInputs(
  file: ModelFile,
): { name: string; type: "float" | "string"; width: number }[] {
  const table = file.data.table;
  if (!table) {
    return [{ name: "features", type: "float", width: file.architecture.layers[0]! }];
  }
  return table.columns.map((c) => ({
    name: c.name,
    type: c.kind === "numeric" ? "float" : "string",
    width: 1,
  }));
}

/** The ONNX output's name: `probabilities` [N, classes], or `value` [N, 1] for regression. */
export function onnxOutput(file: ModelFile): string {
  return file.task === "regression" ? "value" : "probabilities";
}

/** The model as ONNX bytes. */
export function toOnnx(file: ModelFile): Uint8Array {
  const g = new Graph();
  const a = file.architecture;
  const table = file.data.table;
  const inputs: Field[][] = [];
  // The types of the ai.onnx.ml nodes' outputs, which shape inference does not derive itself.
  const typed: Field[][] = [];
  let x: string;
  if (!table) {
    inputs.push(valueInfo("features", FLOAT, ["N", a.layers[0]!]));
    x = "features";
  } else {
    const parts = table.columns.map((c) => {
      if (c.kind === "numeric") {
        inputs.push(valueInfo(c.name, FLOAT, ["N", 1]));
        if (c.fill === null) return c.name;
        // A blank (NaN) becomes the training fill, as predict's encoding does.
        const filled = g.node("Imputer", [c.name], [
          floats("imputed_value_floats", [c.fill]),
          float("replaced_value_float", NaN),
        ], "ai.onnx.ml");
        typed.push(valueInfo(filled, FLOAT, ["N", 1]));
        return filled;
      }
      inputs.push(valueInfo(c.name, STRING, ["N", 1]));
      // One-hot over the training categories plus "" (a blank); unseen values are all zeros.
      const k = c.categories.length;
      const hot = g.node("OneHotEncoder", [c.name], [
        strings("cats_strings", [...c.categories, ""]),
        int("zeros", 1),
      ], "ai.onnx.ml");
      typed.push(valueInfo(hot, FLOAT, ["N", 1, k + 1]));
      const flat = g.node("Reshape", [hot, g.int64s([2], [-1, k + 1])]);
      // Each slot to its encoded column; the blank to the fill's (or its own) slot.
      const width = k + (c.ownCategory ? 1 : 0);
      const map = new Float32Array((k + 1) * width);
      for (let j = 0; j < k; j++) map[j * width + j] = 1;
      const blank = c.ownCategory ? k : c.fill === null ? -1 : c.categories.indexOf(c.fill);
      if (blank >= 0) map[k * width + blank] = 1;
      return g.node("MatMul", [flat, g.floats([k + 1, width], map)]);
    });
    x = parts.length === 1 ? parts[0]! : g.node("Concat", parts, [int("axis", 1)]);
  }
  const features = a.layers[0]!;
  const n = file.data.normalization;
  if (n.kind === "scale") x = g.node("Div", [x, g.floats([], [n.divisor])]);
  else if (n.kind === "minmax" || n.kind === "zscore") {
    const { offset, divisor } = perFeature(n);
    x = g.node("Sub", [x, g.floats([features], offset)]);
    x = g.node("Div", [x, g.floats([features], divisor)]);
  }
  const L = a.layers.length - 1;
  for (let l = 1; l <= L; l++) {
    const w = file.params[`W${l}`]!;
    const b = file.params[`b${l}`]!;
    x = g.node("Gemm", [x, g.floats([w.rows, w.cols], w.data), g.floats([b.cols], b.data)]);
    if (l < L) x = hidden(g, x, a.activation);
  }
  const output = onnxOutput(file);
  if (file.task === "regression") {
    const t = file.data.target!;
    x = g.node("Mul", [x, g.floats([], [t.std])]);
    g.node("Add", [x, g.floats([], [t.mean])], [], "", output);
  } else if (a.output === "softmax") g.node("Softmax", [x], [int("axis", 1)], "", output);
  else if (a.output === "sigmoid") g.node("Sigmoid", [x], [], "", output);
  else g.node("Identity", [x], [], "", output);
  const outputs = [valueInfo(output, FLOAT, ["N", a.layers[L]!])];
  const graph: Field[] = [
    ...g.nodes.map((node) => ({ field: 1, message: node })),
    { field: 2, string: file.name },
    ...g.initializers.map((t) => ({ field: 5, message: t })),
    ...inputs.map((i) => ({ field: 11, message: i })),
    ...outputs.map((o) => ({ field: 12, message: o })),
    ...typed.map((v) => ({ field: 13, message: v })),
  ];
  return encodeMessage([
    { field: 1, varint: IR_VERSION },
    { field: 2, string: "gradstream" },
    { field: 7, message: graph },
    { field: 8, message: [{ field: 1, string: "" }, { field: 2, varint: OPSET }] },
    ...(table
      ? [{
        field: 8,
        message: [{ field: 1, string: "ai.onnx.ml" }, { field: 2, varint: ML_OPSET }],
      }]
      : []),
  ]);
}

/** A hidden layer's activation as ONNX nodes (the book's step: 1 where a > 0, else 0). */
function hidden(g: Graph, x: string, activation: ModelFile["architecture"]["activation"]): string {
  switch (activation) {
    case "relu":
      return g.node("Relu", [x]);
    case "sigmoid":
      return g.node("Sigmoid", [x]);
    case "tanh":
      return g.node("Tanh", [x]);
    case "step":
      return g.node("Cast", [g.node("Greater", [x, g.floats([], [0])])], [int("to", FLOAT)]);
  }
}
