/**
 * Checkpoints: the complete training state — parameters, optimizer state, the sampler's and
 * dropout's generator states, the early-stopping state and the loss window — so that a run
 * stopped at any checkpoint continues bit-identically.
 *
 * The file is JSON: `{ format, version, sha256, state }`, where `sha256` is the hash of
 * `JSON.stringify(state)`. Float64 arrays are stored as base64 of their little-endian bytes,
 * exact and a third the size of decimal text. It is written to a temporary name, flushed and
 * renamed into place, so a process killed at any instant leaves the previous checkpoint whole.
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { z } from "zod";
import { join } from "node:path";
import { NOT_FOUND, readTextOrThrow } from "../data/errors.ts";
import type { SamplerState } from "../data/sampler.ts";
import { Matrix } from "../nn/matrix.ts";
import type { OptimizerState } from "../nn/optimizers.ts";
import type { Products } from "../engine/trainer/wasm_trainer.ts";
import type { RandomState } from "../nn/random.ts";
import type { Evaluation } from "../stages/evaluate.ts";
import { writeFileAtomic } from "./run_dir.ts";

/** The checkpoint's file name inside a run directory. */
export const CHECKPOINT_FILE = "checkpoint.json";

/** What a checkpoint holds. Iterations count from 0; `nextIteration` is the next to run. */
export interface TrainingState {
  /** The settings that must match to resume (model, data, seed, loss, optimizer, batching). */
  fingerprint: Record<string, unknown>;
  /**
   * Where the resident trainer computed its dense products (absent: in WebAssembly, as every
   * checkpoint from before OpenBLAS, or another engine trained). A resume keeps them.
   */
  products?: Products;
  nextIteration: number;
  params: Record<string, Matrix>;
  optimizer: OptimizerState;
  sampler: SamplerState;
  dropout: RandomState;
  /** Training losses of the last epoch (for summary.finalLoss). */
  recentLosses: number[];
  samples: number;
  elapsedSeconds: number;
  lastEvaluation: Evaluation | null;
  earlyStopping: {
    best: Evaluation | null;
    bestParams: Record<string, Matrix> | null;
    sinceBest: number;
  } | null;
}

/** A checkpoint that cannot be used: missing, truncated, corrupted or of another run. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Write the state to `<runDir>/checkpoint.json` atomically. */
export async function writeCheckpoint(runDir: string, state: TrainingState): Promise<string> {
  // One buffer serves checkpoint after checkpoint (a concurrent write makes its own): each
  // copy of a 784-100-10 Adam state is 2.6 MB, and the default run writes 30 checkpoints,
  // whose text, base64 strings and bytes made the allocator hold 30 MB more at the peak.
  const buffer = spare;
  spare = null;
  const { file, body } = checkpointBytes(state, buffer);
  try {
    const sha256 = digest(body);
    new TextEncoder().encodeInto(checkpointHead(sha256), file);
    const path = join(runDir, CHECKPOINT_FILE);
    await writeFileAtomic(path, file);
    return path;
  } finally {
    spare = new Uint8Array(file.buffer);
  }
}

/** The byte buffer a finished write left for the next one. */
let spare: Uint8Array | null = null;

/** Hex digits of a SHA-256 hash. */
const SHA256_HEX = 64;

/** The file's text before its state (ASCII: its length in bytes is its length). */
function checkpointHead(sha256: string): string {
  return `{"format":"gradstream-checkpoint","version":1,"sha256":"${sha256}","state":`;
}

/** What stands for the k-th array in the state's JSON text before its base64 goes in. */
const ARRAY_MARK = "\u0000float64:";
const ARRAY_MARKS = /"\\u0000float64:(\d+)"/g;

/**
 * The file's bytes with room for the head (`file`, from `reuse` when it is large enough) and
 * the state's JSON text within it (`body`): the text of everything but the float64 arrays
 * from JSON.stringify, and each array's base64 encoded straight into the bytes, so no string
 * of the arrays is ever made. The bytes equal the text of JSON.stringify with base64 strings.
 */
function checkpointBytes(
  state: TrainingState,
  reuse: Uint8Array | null,
): { file: Uint8Array<ArrayBuffer>; body: Uint8Array<ArrayBuffer> } {
  const arrays: Float64Array[] = [];
  const text = JSON.stringify(encode(state, (v) => `${ARRAY_MARK}${arrays.push(v) - 1}`));
  const parts = text.split(ARRAY_MARKS);
  const encoder = new TextEncoder();
  // A state string that itself looks like a mark (never written by gradstream): plain text.
  if (parts.length !== 2 * arrays.length + 1 || parts.some((p, i) => i % 2 && +p !== i >> 1)) {
    const json = encoder.encode(JSON.stringify(encode(state, base64)));
    return framed(json.length, reuse, (body) => body.set(json));
  }
  const pieces = parts.filter((_, i) => i % 2 === 0).map((p) => encoder.encode(p));
  let length = 0;
  for (const piece of pieces) length += piece.length;
  for (const a of arrays) length += 2 + base64Length(a.byteLength);
  return framed(length, reuse, (body) => {
    let at = 0;
    pieces.forEach((piece, k) => {
      body.set(piece, at);
      at += piece.length;
      const a = arrays[k];
      if (!a) return;
      body[at++] = QUOTE;
      at = base64Into(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), body, at);
      body[at++] = QUOTE;
    });
  });
}

const QUOTE = 0x22;

/** A file of head, a `length`-byte body written by `write`, and "}\n". */
function framed(
  length: number,
  reuse: Uint8Array | null,
  write: (body: Uint8Array<ArrayBuffer>) => void,
): { file: Uint8Array<ArrayBuffer>; body: Uint8Array<ArrayBuffer> } {
  const headLength = checkpointHead("0".repeat(SHA256_HEX)).length;
  const total = headLength + length + 2;
  const bytes = reuse && reuse.byteLength >= total ? reuse : new Uint8Array(total);
  const file = new Uint8Array(bytes.buffer as ArrayBuffer, 0, total);
  const body = file.subarray(headLength, headLength + length);
  write(body);
  file.set([0x7d, 0x0a], headLength + length); // "}\n"
  return { file, body };
}

const BASE64 = new TextEncoder().encode(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
);
const PAD = 0x3d; // "="

function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/** Standard base64 (RFC 4648, padded) of `src` into `out` from `at`; returns the end. */
function base64Into(src: Uint8Array, out: Uint8Array, at: number): number {
  const whole = src.length - (src.length % 3);
  for (let i = 0; i < whole; i += 3) {
    const n = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    out[at++] = BASE64[n >> 18]!;
    out[at++] = BASE64[(n >> 12) & 63]!;
    out[at++] = BASE64[(n >> 6) & 63]!;
    out[at++] = BASE64[n & 63]!;
  }
  const rest = src.length - whole;
  if (rest > 0) {
    const n = (src[whole]! << 16) | (rest === 2 ? src[whole + 1]! << 8 : 0);
    out[at++] = BASE64[n >> 18]!;
    out[at++] = BASE64[(n >> 12) & 63]!;
    out[at++] = rest === 2 ? BASE64[(n >> 6) & 63]! : PAD;
    out[at++] = PAD;
  }
  return at;
}

/** Read and verify `<runDir>/checkpoint.json`; never returns a damaged state. */
export async function readCheckpoint(runDir: string): Promise<TrainingState> {
  const path = join(runDir, CHECKPOINT_FILE);
  const text = await readTextOrThrow(
    path,
    (why) =>
      new CheckpointError(
        `${path}: ${why === NOT_FOUND ? "no checkpoint in this run directory" : why}`,
      ),
  );
  let file: { format?: unknown; version?: unknown; sha256?: unknown; state?: unknown };
  try {
    file = JSON.parse(text);
  } catch {
    throw new CheckpointError(`${path}: the checkpoint is truncated or corrupted (not valid JSON)`);
  }
  if (file.format !== "gradstream-checkpoint" || file.version !== 1) {
    throw new CheckpointError(`${path}: not a gradstream checkpoint (version 1)`);
  }
  const body = JSON.stringify(file.state);
  if (typeof file.sha256 !== "string" || digest(body) !== file.sha256) {
    throw new CheckpointError(`${path}: the checkpoint is corrupted (its checksum does not match)`);
  }
  // A checksum only says the file is as written: an edited and re-hashed state must still be a
  // state, field by field, before any of it reaches the network.
  const checked = StateJson.safeParse(file.state);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new CheckpointError(
      `${path}: the checkpoint's state is not valid: ${
        issue.path.length > 0 ? issue.path.join(".") : "state"
      }: ${issue.message}`,
    );
  }
  return decode(file.state as Encoded);
}

const count = () => z.int().nonnegative();
const RandomStateJson = z.strictObject({
  s: z.tuple([count(), count(), count(), count()]),
  spare: z.number().nullable(),
});
/** A matrix as base64 of its float64 values: the text must hold exactly rows × cols of them. */
const EncodedMatrixJson = z.strictObject({ rows: count(), cols: count(), data: z.base64() })
  .refine((m) => Buffer.from(m.data, "base64").length === m.rows * m.cols * 8, {
    message: "the data does not hold rows × cols float64 values",
  });
const EvaluationJson = z.looseObject({ iteration: count(), epoch: count() });
const ParamsJson = z.record(z.string(), EncodedMatrixJson);
const StateJson = z.strictObject({
  fingerprint: z.record(z.string(), z.unknown()),
  products: z.enum(["wasm", "openblas"]).optional(),
  nextIteration: count(),
  params: ParamsJson,
  optimizer: z.strictObject({
    kind: z.enum(["sgd", "momentum", "adagrad", "adam"]),
    step: count(),
    buffers: z.record(z.string(), z.base64()),
  }),
  sampler: z.strictObject({
    random: RandomStateJson,
    order: z.array(count()).nullable(),
    position: count(),
  }),
  dropout: RandomStateJson,
  recentLosses: z.array(z.number()),
  samples: count(),
  elapsedSeconds: z.number().nonnegative(),
  lastEvaluation: EvaluationJson.nullable(),
  earlyStopping: z.strictObject({
    best: EvaluationJson.nullable(),
    bestParams: ParamsJson.nullable(),
    sinceBest: count(),
  }).nullable(),
});

type Encoded = Record<string, unknown>;

/** The state as JSON values, each float64 array as `array` makes it (its base64, a mark). */
function encode(state: TrainingState, array: (values: Float64Array) => string): Encoded {
  return {
    ...state,
    params: encodeParams(state.params, array),
    optimizer: {
      ...state.optimizer,
      buffers: Object.fromEntries(
        Object.entries(state.optimizer.buffers).map(([k, v]) => [k, array(v)]),
      ),
    },
    earlyStopping: state.earlyStopping && {
      ...state.earlyStopping,
      bestParams: state.earlyStopping.bestParams &&
        encodeParams(state.earlyStopping.bestParams, array),
    },
  };
}

function decode(e: Encoded): TrainingState {
  const s = e as unknown as TrainingState & {
    params: Record<string, EncodedMatrix>;
    optimizer: OptimizerState & { buffers: Record<string, string> };
    earlyStopping:
      | (TrainingState["earlyStopping"] & { bestParams: Record<string, EncodedMatrix> | null })
      | null;
  };
  return {
    ...s,
    params: decodeParams(s.params),
    optimizer: {
      ...s.optimizer,
      buffers: Object.fromEntries(
        Object.entries(s.optimizer.buffers).map(([k, v]) => [k, fromBase64(v)]),
      ),
    },
    earlyStopping: s.earlyStopping && {
      ...s.earlyStopping,
      bestParams: s.earlyStopping.bestParams && decodeParams(s.earlyStopping.bestParams),
    },
  };
}

interface EncodedMatrix {
  rows: number;
  cols: number;
  data: string;
}

function encodeParams(
  params: Record<string, Matrix>,
  array: (values: Float64Array) => string,
): Record<string, EncodedMatrix> {
  return Object.fromEntries(
    Object.entries(params).map((
      [k, m],
    ) => [k, { rows: m.rows, cols: m.cols, data: array(m.data) }]),
  );
}

function decodeParams(params: Record<string, EncodedMatrix>): Record<string, Matrix> {
  return Object.fromEntries(
    Object.entries(params).map(([k, m]) => [k, new Matrix(m.rows, m.cols, fromBase64(m.data))]),
  );
}

function base64(values: Float64Array): string {
  // Little-endian bytes: the layout of Float64Array on every platform Deno runs on.
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64");
}

function fromBase64(text: string): Float64Array {
  const bytes = Buffer.from(text, "base64");
  const out = new Float64Array(bytes.length / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * The SHA-256 of the text (as UTF-8) or bytes, in hex. node:crypto rather than
 * crypto.subtle: both hash on the calling thread here, and node:crypto took 0.34 ms for a
 * 450 KB checkpoint against 0.63 ms (measured in one run), once every epoch of a run.
 */
function digest(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}
