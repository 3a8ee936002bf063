/**
 * How many threads the WasmTrainer's steps run on when it chooses for itself (`threads:
 * "auto"`): the faster of one and two, timed on the first steps, and timed again later,
 * because what is faster changes with the machine. Two vCPUs are not always two cores: with
 * another process busy on one of them, two-thread steps were 40 % slower than one-thread ones,
 * and such a process may start, or end, long after the first steps. The choice changes the
 * speed only: a step gives the same numbers on one thread or two.
 * @module
 */

/**
 * Steps timed per thread count when choosing. With 5 and their median, the CLI chose one
 * thread in about one run of seven on a 2-vCPU machine whose other tenant comes and goes, and
 * its steps were then 45 % slower.
 */
export const TIMED_STEPS = 16;
/**
 * Untimed steps before the timed ones, per thread count. A trainer's first steps are slow
 * while V8 compiles its code and the Worker starts on the other core: the first ten one-thread
 * steps of 784-100-10 averaged 2.6–5 ms, the next ten 0.66–1.08, where later ones take 0.48;
 * and two-thread steps averaged 0.45–0.66 ms over steps 20–29, 0.35 from step 50 on. After a
 * choice, the first one-thread step reads the Worker's share of the parameters from the other
 * core's cache, and the first two-thread steps wake a Worker that may be asleep.
 */
export const WARM_UP = { 1: 8, 2: 16 } as const;
/**
 * Steps from the first choice to the second: a choice made while the trainer was still
 * warming up may be wrong (one bench run of three chose one thread for 784-100-10, whose
 * two-thread steps were 30 % faster), and this one costs a run of 2,200 steps about 0.5 %.
 */
export const FIRST_RECHECK_STEPS = 500;
/**
 * Steps between two later choices at most: a choice's steps on the other thread count (24 or
 * 32) cost under 0.8 % of 4,000 steps' time even when they are twice as slow.
 */
export const RECHECK_STEPS = 4000;
/**
 * Steps whose mean the choice keeps watching: when they are RECHECK_SLOWER times as slow as
 * the chosen thread count's timed steps were, it chooses again (at most every WINDOW_STEPS).
 * A mean of 64: one stall of 5 ms in steps of 0.2 ms raises it by 40 %, not a doubling.
 */
export const WINDOW_STEPS = 64;
export const RECHECK_SLOWER = 1.5;
/**
 * And slower by this much at least (ms): steps of a few tens of µs (a net of 30-10-4) vary by
 * half from one window to the next, and chose five times in 4,200 steps without it, where
 * 784-50-10 and 784-100-10 chose only at the start and after RECHECK_STEPS.
 */
export const RECHECK_MIN_MS = 0.05;

/**
 * The thread count whose timed steps (ms) were faster: two when theirs are faster by the lower
 * quartile and by the mean. The quartile: two-thread steps have bursts of 2–6 ms (the Worker's
 * code still being optimised, the other tenant of a 2-vCPU machine) that a median can land in.
 * The mean: with a busy process on one of the two cores, the trainer's thread computes most
 * second halves itself (the Worker rarely gets a core), and the few steps the Worker did get
 * lower the quartile. In four default runs so, the means were 0.94–1.04 ms with two threads
 * against 0.61–0.75 with one, and two threads trained at 86–100k samples/s against 122–125k
 * with one; on the idle machine the means were 0.40–0.65 against 0.58–0.85.
 */
export function fasterThreads(one: readonly number[], two: readonly number[]): 1 | 2 {
  return quartile(two) < quartile(one) && mean(two) < mean(one) ? 2 : 1;
}

function quartile(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 2]!;
}

function mean(values: ArrayLike<number>, count = values.length): number {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += values[i]!;
  return sum / count;
}

/**
 * The thread count of a trainer's steps: fixed (1 or 2), or chosen (`auto`). Choosing times
 * TIMED_STEPS steps on one thread, then on two, each after its WARM_UP, and keeps the
 * {@linkcode fasterThreads}; it chooses again FIRST_RECHECK_STEPS steps after the first
 * choice, and RECHECK_STEPS after each later one, or sooner when the
 * last WINDOW_STEPS steps are RECHECK_SLOWER times as slow as the chosen count's timed ones
 * (and RECHECK_MIN_MS slower).
 */
export class ThreadChoice {
  /** Whether the count is chosen by timing (`auto`), and may change. */
  #choosing: boolean;
  #current: 1 | 2 | "auto";
  readonly #times = { 1: [] as number[], 2: [] as number[] };
  readonly #seen = { 1: 0, 2: 0 };
  /** The chosen count's mean timed step (ms), and the steps since the choice. */
  #baseline = 0;
  #sinceChoice = 0;
  /** The last WINDOW_STEPS step times of the chosen count, in a ring. */
  readonly #window = new Float64Array(WINDOW_STEPS);
  /** Choices made: the first, and every later one. */
  #choices = 0;

  constructor(threads: 1 | 2 | "auto") {
    this.#choosing = threads === "auto";
    this.#current = threads;
  }

  /** The count in use: 1 or 2, or "auto" while timing. */
  get current(): 1 | 2 | "auto" {
    return this.#current;
  }

  /** Whether the count is chosen by timing (and may change). */
  get choosing(): boolean {
    return this.#choosing;
  }

  /** How many times the count was chosen so far. */
  get choices(): number {
    return this.#choices;
  }

  /** The count the next step should run on (it may run on one while the Worker loads). */
  wanted(): 1 | 2 {
    if (this.#current !== "auto") return this.#current;
    return this.#times[1].length < TIMED_STEPS ? 1 : 2;
  }

  /** One thread from now on, never chosen again (the Worker failed; the trainer is disposed). */
  fixOne(): void {
    this.#choosing = false;
    this.#current = 1;
  }

  /** A step's time (ms) on the thread count it ran on. */
  record(threads: 1 | 2, ms: number): void {
    const current = this.#current;
    if (current === "auto") {
      if (this.#seen[threads]++ < WARM_UP[threads]) return;
      const times = this.#times[threads];
      if (times.length < TIMED_STEPS) times.push(ms);
      if (this.#times[2].length === TIMED_STEPS) this.#choose();
      return;
    }
    if (!this.#choosing || threads !== current) return;
    this.#window[this.#sinceChoice++ % WINDOW_STEPS] = ms;
    let slower = false;
    if (this.#sinceChoice >= WINDOW_STEPS) {
      const now = mean(this.#window);
      slower = now > RECHECK_SLOWER * this.#baseline && now - this.#baseline > RECHECK_MIN_MS;
    }
    const every = this.#choices === 1 ? FIRST_RECHECK_STEPS : RECHECK_STEPS;
    if (slower || this.#sinceChoice >= every) this.#time();
  }

  #choose(): void {
    const choice = fasterThreads(this.#times[1], this.#times[2]);
    this.#baseline = mean(this.#times[choice]);
    this.#current = choice;
    this.#sinceChoice = 0;
    this.#choices++;
  }

  /** Time both counts again. */
  #time(): void {
    this.#current = "auto";
    this.#times[1].length = 0;
    this.#times[2].length = 0;
    this.#seen[1] = 0;
    this.#seen[2] = 0;
  }
}
