/**
 * A sweep's trials: the values trial i tries and its run seed. Both depend only on the sweep's
 * seed and i (each trial draws from its own generator), so the same sweep file gives the same
 * trials whatever order or machine they run in.
 * @module
 */
import type { Distribution, Sweep } from "../config/sweep.ts";
import { deriveSeed, Random } from "../nn/random.ts";

/** One trial: its number, the values of the swept keys, and the seed of its run. */
export interface Trial {
  trial: number;
  values: Record<string, unknown>;
  seed: number;
}

/** The keys a sweep varies, in the order the sweep file gives them. */
export function spaceKeys(sweep: Pick<Sweep, "space">): string[] {
  return Object.keys(sweep.space);
}

/** How many trials the sweep runs: `trials`, or every combination of a grid. */
export function trialCount(sweep: Pick<Sweep, "method" | "space" | "trials">): number {
  if (sweep.method === "random") return sweep.trials!;
  return Object.values(sweep.space).reduce((n, d) => n * listOf(d).length, 1);
}

/** Every trial of the sweep, numbered from 0. */
export function trialsOf(sweep: Pick<Sweep, "method" | "space" | "trials" | "seed">): Trial[] {
  return Array.from({ length: trialCount(sweep) }, (_, i) => trialOf(sweep, i));
}

/** Trial i: random draws from a generator seeded by (seed, i); a grid's i-th combination. */
export function trialOf(
  sweep: Pick<Sweep, "method" | "space" | "seed">,
  i: number,
): Trial {
  const seed = deriveSeed(sweep.seed, `run ${i}`);
  const entries = Object.entries(sweep.space);
  if (sweep.method === "grid") {
    // Mixed radix: the last key changes fastest, as nested loops written in file order would.
    const values: Record<string, unknown> = {};
    let rest = i;
    for (let k = entries.length - 1; k >= 0; k--) {
      const [key, d] = entries[k]!;
      const list = listOf(d);
      values[key] = list[rest % list.length];
      rest = Math.floor(rest / list.length);
    }
    return { trial: i, values: Object.fromEntries(entries.map(([k]) => [k, values[k]])), seed };
  }
  const random = new Random(deriveSeed(sweep.seed, `trial ${i}`));
  return {
    trial: i,
    values: Object.fromEntries(entries.map(([key, d]) => [key, draw(d, random)])),
    seed,
  };
}

/** One value from a distribution. */
export function draw(d: Distribution, random: Random): unknown {
  const u = random.random();
  if ("uniform" in d) {
    const [low, high] = d.uniform;
    return low + (high - low) * u;
  }
  if ("logUniform" in d) {
    const [low, high] = d.logUniform.map(Math.log10) as [number, number];
    // 10^x can round just past a bound; the bounds are promised.
    return Math.min(d.logUniform[1], Math.max(d.logUniform[0], 10 ** (low + (high - low) * u)));
  }
  if ("int" in d) {
    const [low, high] = d.int;
    return low + Math.floor(u * (high - low + 1));
  }
  const list = listOf(d);
  return list[Math.floor(u * list.length)];
}

/** Whether a key's values are drawn on a log scale (its axis in the sweep's chart is too). */
export function isLogScale(d: Distribution): boolean {
  return "logUniform" in d;
}

function listOf(d: Distribution): unknown[] {
  if ("values" in d) return d.values;
  if ("choice" in d) return d.choice;
  throw new RangeError("only `values` and `choice` lists can be enumerated");
}
