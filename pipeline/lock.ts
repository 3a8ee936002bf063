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

/** Take the lock at `path`, or throw LockedError naming who holds it. */
export async function acquireLock(path: string): Promise<Lock> {
  const me: Holder = { pid: Deno.pid, host: hostname(), startedAt: new Date().toISOString() };
  let warning: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      await file.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
      file.close();
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
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const holder = await readHolder(path);
    if (holder && holder.host === me.host && (await alive(holder.pid))) {
      throw new LockedError(
        `${path}: another run of this name is in progress (pid ${holder.pid} since ${holder.startedAt})`,
      );
    }
    if (holder && holder.host !== me.host) {
      throw new LockedError(
        `${path}: held by pid ${holder.pid} on host ${holder.host} since ${holder.startedAt}; remove it if that run is gone`,
      );
    }
    warning = `taking over a stale lock ${path}${
      holder ? ` left by pid ${holder.pid} (started ${holder.startedAt})` : ""
    }`;
    await Deno.remove(path).catch(() => {});
  }
  throw new LockedError(`${path}: could not take the lock`);
}

async function readHolder(path: string): Promise<Holder | null> {
  try {
    const holder = JSON.parse(await Deno.readTextFile(path));
    return typeof holder?.pid === "number" ? holder : null;
  } catch {
    return null;
  }
}

/** This machine's name. */
export function hostname(): string {
  return Deno.hostname();
}

/**
 * Whether a process with this pid exists on this machine: `kill -0` sends no signal, it only
 * asks. (Deno reads /proc only with --allow-all, so the check runs `kill`.)
 */
export async function alive(pid: number): Promise<boolean> {
  const { code } = await new Deno.Command("kill", {
    args: ["-0", String(pid)],
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}
