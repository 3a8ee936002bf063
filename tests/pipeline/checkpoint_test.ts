import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import {
  CHECKPOINT_FILE,
  readCheckpoint,
  type TrainingState,
  writeCheckpoint,
} from "../../pipeline/checkpoint.ts";
import { Matrix } from "../../nn/matrix.ts";
import { withTempDir } from "../helpers.ts";

function state(name: string): TrainingState {
  const random = { s: [1, 2, 3, 4] as [number, number, number, number], spare: null };
  return {
    fingerprint: { name, layers: [3, 2] },
    products: "openblas",
    nextIteration: 7,
    params: { W1: Matrix.from([[0.1, -0.2], [Math.PI, 1e-300], [-0, 5]]) },
    optimizer: {
      kind: "adam",
      step: 7,
      // 16, 8 and 24 bytes: base64 with each remainder of 3.
      buffers: {
        "W1.m": Float64Array.of(1 / 3, -2.5e-8),
        "W1.v": Float64Array.of(1e300),
        "b1.m": Float64Array.of(0, -1, 2 ** -1074),
      },
    },
    sampler: { random, order: [2, 0, 1], position: 1 },
    dropout: random,
    recentLosses: [0.5, 0.25],
    samples: 700,
    elapsedSeconds: 1.5,
    lastEvaluation: null,
    earlyStopping: null,
  };
}

// A name outside ASCII makes the text longer in bytes than in characters; one that looks like
// the writer's stand-in for an array takes the plain path.
for (const name of ["digits", "chiffres-é-数字", "\u0000float64:0"]) {
  Deno.test(`a checkpoint reads back bit for bit, with its hash checked (${name})`, async () => {
    await withTempDir(async (dir) => {
      const saved = state(name);
      await writeCheckpoint(dir, saved);
      const read = await readCheckpoint(dir);
      assert.deepEqual(read, saved);
      assert.ok(Object.is(read.params.W1!.data[4], -0));
      const text = await Deno.readTextFile(join(dir, CHECKPOINT_FILE));
      assert.ok(text.endsWith("}\n"));
      const file = JSON.parse(text);
      const hash = await crypto.subtle.digest(
        "SHA-256",
        new TextEncoder().encode(JSON.stringify(file.state)),
      );
      const hex = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
      assert.equal(file.sha256, hex);
      // Base64 as Buffer writes it, in the text JSON.stringify writes.
      assert.equal(
        file.state.optimizer.buffers["b1.m"],
        Buffer.from(saved.optimizer.buffers["b1.m"]!.buffer).toString("base64"),
      );
      assert.equal(
        text,
        `${text.slice(0, text.indexOf('"state":') + 8)}${JSON.stringify(file.state)}}\n`,
      );
    });
  });
}

Deno.test("checkpoints written one after another through one buffer each read back whole", async () => {
  await withTempDir(async (dir) => {
    const big = state("a-longer-name-that-makes-the-first-file-larger");
    const small = state("short");
    for (const saved of [big, small, big]) {
      await writeCheckpoint(dir, saved);
      assert.deepEqual(await readCheckpoint(dir), saved);
    }
  });
});
