/**
 * The median stopping rule, decided the same way whatever order trials run in: trial i is
 * judged at an evaluation only once every earlier trial (a lower number) has either ended or
 * been judged past that evaluation, and it is stopped when its metric there is worse than the
 * median of the earlier trials' metrics at the same evaluation. A stopped trial's evaluations
 * after the one that stopped it are dropped, so a trial that ran on before the decision (in
 * parallel, or on a queue worker) counts exactly as if it had stopped there.
 * @module
 */

/** A trial's state as the sweep tracks it. */
export interface TrialRecord {
  trial: number;
  values: Record<string, unknown>;
  seed: number;
  status: "pending" | "running" | "done" | "pruned" | "failed";
  /** [iteration, metric] of each evaluation so far, in order. */
  evaluations: [number, number][];
  /** How many of `evaluations` were judged and kept. */
  judged: number;
  /** The process ended: its exit code (0 finished; the status waits for the judging). */
  exitCode?: number;
  /** The finished run's metric (summary.json). */
  final?: number;
  runDir?: string;
  seconds: number;
  error?: string;
}

/** The pruning settings (the sweep file's `pruning`). */
export interface Pruning {
  after: number;
  minTrials: number;
}

/** Whether a record's status is final. */
export function settled(r: TrialRecord): boolean {
  return r.status === "done" || r.status === "pruned" || r.status === "failed";
}

/**
 * Judge what can be judged now, in trial order; returns the trials newly stopped (to be told
 * to stop when still running). Without `pruning` every evaluation is kept. A trial whose
 * process ended and whose evaluations are all judged gets its final status.
 */
export function judge(
  records: TrialRecord[],
  pruning: Pruning | undefined,
  minimize: boolean,
): number[] {
  const stopped: number[] = [];
  // Evaluations at iterations up to the horizon are final for every trial before this one.
  let horizon = Infinity;
  for (const r of records) {
    if (!settled(r)) {
      while (r.judged < r.evaluations.length) {
        const [iteration, value] = r.evaluations[r.judged]!;
        if (iteration > horizon) break;
        r.judged++;
        if (!pruning || r.judged <= pruning.after) continue;
        const earlier = records.slice(0, r.trial).flatMap((e) => {
          const at = e.evaluations.find(([i]) => i === iteration);
          return at ? [at[1]] : [];
        });
        if (earlier.length < pruning.minTrials) continue;
        const mid = median(earlier);
        if (minimize ? value > mid : value < mid) {
          r.status = "pruned";
          r.evaluations.length = r.judged;
          stopped.push(r.trial);
          break;
        }
      }
      if (r.status !== "pruned" && r.exitCode !== undefined && r.judged === r.evaluations.length) {
        r.status = r.exitCode === 0 ? "done" : "failed";
      }
    }
    if (!settled(r)) {
      horizon = Math.min(horizon, r.judged > 0 ? r.evaluations[r.judged - 1]![0] : -Infinity);
    }
  }
  return stopped;
}

/** The median (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The best evaluation of a record: [iteration, value], or null without any. */
export function bestEvaluation(r: TrialRecord, minimize: boolean): [number, number] | null {
  let best: [number, number] | null = null;
  for (const e of r.evaluations) {
    if (!best || (minimize ? e[1] < best[1] : e[1] > best[1])) best = e;
  }
  return best;
}
