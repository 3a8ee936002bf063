/**
 * Progress output. On a terminal: one live line (iteration, epoch, loss, last accuracies,
 * samples/s, ETA), redrawn at most ten times a second. Elsewhere (cron, CI, a pipe): one
 * plain line per evaluation and never a control character.
 * @module
 */
import type { EvaluatedStep, Evaluation } from "../stages/evaluate.ts";

/** Receives training progress. */
export interface Progress {
  /** Called once the run knows how many iterations it will make. */
  start(totalIterations: number): void;
  step(step: EvaluatedStep, elapsedSeconds: number, samplesPerSecond: number): void;
  line(text: string): void;
  done(): void;
}

/** A progress reporter writing to `write`. */
export function createProgress(
  options: { terminal: boolean; write: (text: string) => void },
): Progress {
  let last: Evaluation | undefined;
  let lastDraw = 0;
  let live = false;
  let totalIterations = 0;
  let width = 1;
  const format = (step: EvaluatedStep, elapsed: number, rate: number) => {
    const done = step.iteration + 1;
    const eta = done > 0 ? (elapsed / done) * (totalIterations - done) : 0;
    const acc = last ? scoreLine(last) : "";
    return `iter ${String(done).padStart(width)}/${totalIterations} epoch ${step.epoch + 1} loss ${
      step.loss.toFixed(4)
    }${acc} ${Math.round(rate)} samples/s ${
      options.terminal ? `ETA ${seconds(eta)}` : `elapsed ${seconds(elapsed)}`
    }`;
  };
  return {
    start(total) {
      totalIterations = total;
      width = String(total).length;
    },
    step(step, elapsed, rate) {
      if (step.evaluation) last = step.evaluation;
      if (options.terminal) {
        const now = performance.now();
        if (step.evaluation || now - lastDraw > 100 || step.iteration + 1 === totalIterations) {
          options.write(`\r\x1b[2K${format(step, elapsed, rate)}`);
          lastDraw = now;
          live = true;
        }
      } else if (step.evaluation) {
        options.write(format(step, elapsed, rate) + "\n");
      }
    },
    line(text) {
      if (live) options.write("\r\x1b[2K");
      live = false;
      options.write(text + "\n");
    },
    done() {
      if (live) options.write("\n");
      live = false;
    },
  };
}

function seconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, "0")}s`;
}

/** One progress receiver that forwards to several. */
export function teeProgress(...receivers: Progress[]): Progress {
  return {
    start: (total) => receivers.forEach((r) => r.start(total)),
    step: (step, elapsed, rate) => receivers.forEach((r) => r.step(step, elapsed, rate)),
    line: (text) => receivers.forEach((r) => r.line(text)),
    done: () => receivers.forEach((r) => r.done()),
  };
}

/** The scores of an evaluation as the progress line shows them. */
function scoreLine(e: Evaluation): string {
  const parts: string[] = [];
  const add = (label: string, value: number | undefined) => {
    if (value !== undefined) parts.push(`${label} ${value.toFixed(4)}`);
  };
  add("train", e.trainAccuracy);
  add("val", e.validationAccuracy);
  add("test", e.testAccuracy);
  add("train rmse", e.trainRmse);
  add("val rmse", e.validationRmse);
  add("test rmse", e.testRmse);
  return parts.length > 0 ? ` ${parts.join(" ")}` : "";
}
