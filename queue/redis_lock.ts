/**
 * A lock in Redis for work that must not run twice at once across machines (two workers
 * promoting the same model). Held with a random token and an expiry that the holder renews;
 * a holder that dies lets it expire. Taking and releasing are single Redis scripts, so only
 * the holder of the token can release or renew it.
 * @module
 */
import type { Redis } from "./queue.ts";

/** The lock is held by another process. */
export class RedisLockedError extends Error {
  constructor(key: string) {
    super(`${key} is held by another worker`);
    this.name = "RedisLockedError";
  }
}

/** How long a lock lives without renewal: a dead holder blocks the next one at most this long. */
const LOCK_TTL_MS = 60_000;
/** Renew well before the expiry: a third of it. */
const RENEW_MS = LOCK_TTL_MS / 3;

const SCRIPTS = {
  gradstreamLockTake: "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0",
  gradstreamLockRenew:
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
  gradstreamLockRelease:
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
};

function define(redis: Redis): void {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { numberOfKeys: 1, lua });
  }
}

/** Take the lock at `key` or throw {@linkcode RedisLockedError}; release it when done. */
export async function takeRedisLock(
  redis: Redis,
  key: string,
): Promise<{ release(): Promise<void> }> {
  define(redis);
  const token = crypto.randomUUID();
  const took = await redis.runCommand("gradstreamLockTake", [key, token, LOCK_TTL_MS]);
  if (took !== 1) throw new RedisLockedError(key);
  const renew = setInterval(() => {
    redis.runCommand("gradstreamLockRenew", [key, token, LOCK_TTL_MS]).catch(() => {});
  }, RENEW_MS);
  return {
    release: async () => {
      clearInterval(renew);
      await redis.runCommand("gradstreamLockRelease", [key, token]);
    },
  };
}
