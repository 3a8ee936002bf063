/**
 * A lock file so that two retraining runs of the same name never run at once. It records the
 * holder's pid, host and start time; a lock whose process is gone is taken over with a
 * warning. Needs --allow-sys=hostname and --allow-run=kill.
 * @module
 */

/** The lock is held by a live process. */
export class LockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockedError";
  }
}

interface Holder {
  pid: number;
  host: string;
  startedAt: string;
}

/** A held lock. */
export interface Lock {
  path: string;
  /** Set when a stale lock was taken over. */
  warning?: string;
  release(): Promise<void>;
}

/**
 * A lock younger than this is never taken over, whatever its pid says: its holder may still be
 * starting, and two processes judging the same lock stale at once must not both take it.
 */
const MIN_STALE_AGE_MS = 5_000;
/** Tries: create, or wait for a young lock to age, or break a stale one, then create. */
const ATTEMPTS = 4;
/** A takeover in progress (the `.break` file) older than this was abandoned by a dead process. */
const BREAK_TIMEOUT_MS = 10_000;

/**
 * Take the lock at `path`, or throw LockedError naming who holds it. The lock file appears
 * whole or not at all (its content is written to a temporary file, then hard-linked into
 * place, which fails if the lock exists), so no reader ever sees an empty lock. A stale lock
 * (its process gone, and older than a few seconds) is taken over under a second lock, so two
 * processes cannot both break it.
 */
export async function acquireLock(path: string, holding = "run of this name"): Promise<Lock> {
  const me: Holder = { pid: Deno.pid, host: hostname(), startedAt: new Date().toISOString() };
  let warning: string | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await createWith(path, JSON.stringify(me) + "\n")) {
      return {
        path,
        ...(warning ? { warning } : {}),
        async release() {
          const holder = await readHolder(path);
          if (holder?.pid === me.pid && holder.startedAt === me.startedAt) {
            await Deno.remove(path).catch(() => {});
          }
        },
      };
    }
    const holder = await readHolder(path);
    if (holder && holder.host !== me.host) {
      throw new LockedError(
        `${path}: held by pid ${holder.pid} on host ${holder.host} since ${holder.startedAt}; remove it if that run is gone`,
      );
    }
    if (holder && (await alive(holder.pid))) throw busy(path, holder, holding);
    const age = await ageOf(path);
    if (age === null) continue; // released meanwhile: try again
    if (age < MIN_STALE_AGE_MS) {
      // Too young to judge: wait until it is old enough, then look again.
      await new Promise((resolve) => setTimeout(resolve, MIN_STALE_AGE_MS - age));
      continue;
    }
    if (!(await breakStale(path, holder))) {
      throw new LockedError(`${path}: another process is taking over the stale lock`);
    }
    warning = `taking over a stale lock ${path}${
      holder ? ` left by pid ${holder.pid} (started ${holder.startedAt})` : ""
    }`;
  }
  throw new LockedError(`${path}: could not take the lock`);
}

function busy(path: string, holder: Holder, holding: string): LockedError {
  return new LockedError(
    `${path}: another ${holding} is in progress (pid ${holder.pid} since ${holder.startedAt})`,
  );
}

/** Create `path` with `content` atomically; false when it exists already. */
async function createWith(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.new-${Deno.pid}-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(tmp, content);
    await Deno.link(tmp, path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw new Error(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/**
 * Remove the stale lock at `path` whose holder was judged to be `judged`, holding the
 * `.break` lock meanwhile: only one process breaks it, and only if it is still that holder's.
 */
async function breakStale(path: string, judged: Holder | null): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!(await createWith(breaker, String(Deno.pid)))) {
    const age = await ageOf(breaker);
    if (age === null || age < BREAK_TIMEOUT_MS) return false;
    await Deno.remove(breaker).catch(() => {});
    if (!(await createWith(breaker, String(Deno.pid)))) return false;
  }
  try {
    const holder = await readHolder(path);
    if (JSON.stringify(holder) !== JSON.stringify(judged)) return false;
    await Deno.remove(path).catch(() => {});
    return true;
  } finally {
    await Deno.remove(breaker).catch(() => {});
  }
}

/** How long ago a file was last written, in ms (null when it is gone). */
async function ageOf(path: string): Promise<number | null> {
  try {
    const { mtime } = await Deno.stat(path);
    return mtime ? Date.now() - mtime.getTime() : 0;
  } catch {
    return null;
  }
}

async function readHolder(path: string): Promise<Holder | null> {
  try {
    const holder = JSON.parse(await Deno.readTextFile(path));
    return typeof holder?.pid === "number" ? holder : null;
  } catch {
    return null;
  }
}

/** This machine's name ("unknown" without --allow-sys=hostname). */
export function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/**
 * Whether a process with this pid exists on this machine: `kill -0` sends no signal, it only
 * asks. (Deno reads /proc only with --allow-all, so the check runs `kill`.)
 */
export async function alive(pid: number): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("kill", {
      args: ["-0", String(pid)],
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    // Without --allow-run=kill the holder cannot be checked: assume it is alive.
    return true;
  }
}
