/**
 * Resume: what must match between a checkpoint and the config that continues it (the
 * fingerprint), the snapshot a checkpoint stores, and putting a snapshot back.
 * @module
 */
import type { Config } from "../config/config.ts";
import type { BatchSampler } from "../data/sampler.ts";
import type { Engine } from "../engine/engine.ts";
import { defaultNormalize } from "../stages/normalize.ts";
import { type TrainingState, writeCheckpoint } from "./checkpoint.ts";
import type { EarlyStopping } from "./early_stopping.ts";
import { UsageError } from "./errors.ts";
import type { RunCounters } from "./recorder.ts";
import { effectiveBackend } from "./setup.ts";
import type { Products } from "../engine/trainer/wasm_trainer.ts";

/** What must not change between a checkpoint and the config that resumes it. */
export function fingerprint(config: Config): Record<string, unknown> {
  return JSON.parse(JSON.stringify({
    seed: config.seed,
    data: {
      ...config.data,
      normalize: config.data.normalize ?? defaultNormalize(config.data.source),
    },
    model: config.model,
    loss: config.loss,
    gradient: config.gradient.method,
    optimizer: config.optimizer,
    batchSize: config.training.batchSize,
    sampling: config.training.sampling,
    backend: effectiveBackend(config),
  }));
}

/** Refuse a checkpoint written under different settings, naming each that differs. */
export function checkFingerprint(state: TrainingState, config: Config, runDir: string): void {
  const current = fingerprint(config);
  const differing = Object.keys({ ...current, ...state.fingerprint }).filter((k) =>
    JSON.stringify(current[k]) !== JSON.stringify(state.fingerprint[k])
  );
  if (differing.length > 0) {
    throw new UsageError(
      `cannot resume ${runDir}: the config's ${
        differing.join(", ")
      } differ from the checkpoint's ` +
        `(${
          differing.map((k) => `${k}: checkpoint ${JSON.stringify(state.fingerprint[k])}`).join(
            "; ",
          )
        })`,
    );
  }
}

/** The parts of a run a checkpoint captures. */
export interface Resumable {
  config: Config;
  engine: Engine;
  sampler: BatchSampler;
  stopping: EarlyStopping | null;
  counters: RunCounters;
  /** Where the resident trainer computes its dense products (null: not the resident trainer). */
  products: Products | null;
  /**
   * The optimizer state's buffers of the last checkpoint, written over by the next: a
   * checkpoint is encoded before its write begins, so they are free again by then.
   */
  optimizerBuffers?: TrainingState["optimizer"];
}

/**
 * The complete training state before iteration `nextIteration`. Its optimizer buffers are
 * reused by the next snapshot of the same run: encode or copy them first.
 */
export function snapshot(run: Resumable, nextIteration: number): TrainingState {
  const { engine, stopping, counters } = run;
  const optimizer = run.optimizerBuffers = engine.optimizerState(run.optimizerBuffers);
  return {
    fingerprint: fingerprint(run.config),
    ...(run.products ? { products: run.products } : {}),
    nextIteration,
    params: engine.readParams(),
    optimizer,
    sampler: run.sampler.state(),
    dropout: engine.net.randomState(),
    recentLosses: counters.recentLosses,
    samples: counters.samples,
    elapsedSeconds: counters.elapsed(),
    lastEvaluation: counters.lastEvaluation,
    earlyStopping: stopping && {
      best: stopping.best,
      bestParams: stopping.bestParams,
      sinceBest: stopping.sinceBest,
    },
  };
}

/** Write the checkpoint of the state before `nextIteration` and announce it. */
export async function checkpoint(
  runDir: string,
  run: Resumable,
  nextIteration: number,
  emit: (event: Record<string, unknown>) => void,
): Promise<void> {
  const path = await writeCheckpoint(runDir, snapshot(run, nextIteration));
  emit({ event: "checkpoint", iteration: nextIteration, path });
}

/** Put a checkpoint's state back; returns the iteration to continue from. */
export function restore(run: Resumable, state: TrainingState): number {
  const { engine, stopping, counters } = run;
  engine.writeParams(state.params);
  engine.setOptimizerState(state.optimizer);
  run.sampler.setState(state.sampler);
  engine.net.setRandomState(state.dropout);
  counters.restore(state);
  if (stopping && state.earlyStopping) Object.assign(stopping, state.earlyStopping);
  return state.nextIteration;
}
