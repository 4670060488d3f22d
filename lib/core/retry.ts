/**
 * One retry helper for every retry loop (tracker client, DynamoDB store, DynamoDB connector): exponential
 * backoff with full jitter (a random pause between 0 and the ceiling, so clients that failed together do
 * not retry together), a server's Retry-After honoured as a floor, and a bound on attempts and total time.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Ceiling of the first pause (ms); it doubles per retry. */
  baseDelayMs: number;
  /** Largest ceiling of one pause (ms). */
  maxDelayMs: number;
  /** No retry starts later than this after the first attempt started (ms): a pause that would end past it is not taken. */
  maxTotalMs: number;
}

/**
 * Batch calls that hand back the items they were throttled on (DynamoDB BatchWriteItem / BatchGetItem
 * unprocessed items): 9 attempts, full jitter from 50 ms up to 2 s, at most 15 s in all.
 */
export const BATCH_THROTTLE_RETRY: RetryPolicy = { maxAttempts: 9, baseDelayMs: 50, maxDelayMs: 2000, maxTotalMs: 15_000 };

/** What one attempt gives: a value, or an error worth retrying (with the server's Retry-After, if it sent one). Throw for errors not worth retrying. */
export type AttemptOutcome<T> = { done: T } | { retry: unknown; retryAfterMs?: number };

export interface RetryDeps {
  /** Monotonic milliseconds. Default performance.now(). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1). Default Math.random. */
  random?: () => number;
}

export async function retry<T>(attempt: (n: number) => Promise<AttemptOutcome<T>>, policy: RetryPolicy, deps: RetryDeps = {}): Promise<T> {
  const now = deps.now ?? (() => performance.now());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const start = now();
  for (let n = 1; ; n++) {
    const out = await attempt(n);
    if ('done' in out) return out.done;
    if (n >= policy.maxAttempts) throw out.retry;
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
    const pause = Math.max(out.retryAfterMs ?? 0, Math.round(random() * ceiling));
    if (now() - start + pause > policy.maxTotalMs) throw out.retry;
    await sleep(pause);
  }
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return undefined; // e.g. "-5": neither seconds nor a date
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
