import { parseRetryAfter, retry, type RetryDeps } from '../../lib/core/retry';

/** Deterministic deps: a clock that moves only when the helper sleeps, a fixed "random". */
function fakeDeps(random = 0.5) {
  let t = 0;
  const sleeps: number[] = [];
  const deps: RetryDeps = {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    random: () => random,
  };
  return { deps, sleeps, elapsed: () => t };
}

describe('retry (one helper for every retry loop)', () => {
  it('waits with full jitter: a random share of an exponentially growing, capped ceiling', async () => {
    const { deps, sleeps } = fakeDeps(0.5);
    let n = 0;
    const v = await retry(async () => (++n < 5 ? { retry: new Error(`try ${n}`) } : { done: 'ok' }), { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 500, maxTotalMs: 60_000 }, deps);
    expect(v).toBe('ok');
    expect(sleeps).toEqual([50, 100, 200, 250]); // 0.5 × min(500, 100·2^k)
  });

  it('honours Retry-After: never waits less than the server asked', async () => {
    const { deps, sleeps } = fakeDeps(0.1);
    let n = 0;
    await retry(async () => (++n < 3 ? { retry: new Error('429'), retryAfterMs: 1500 } : { done: true }), { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 60_000 }, deps);
    expect(sleeps).toEqual([1500, 1500]);
  });

  it('gives up with the last error when attempts run out, or when the next wait would pass the total budget', async () => {
    const a = fakeDeps(1);
    let n = 0;
    await expect(retry(async () => ({ retry: new Error(`fail ${++n}`) }), { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10, maxTotalMs: 60_000 }, a.deps)).rejects.toThrow('fail 3');
    const b = fakeDeps(1);
    let m = 0;
    await expect(retry(async () => ({ retry: new Error(`fail ${++m}`) }), { maxAttempts: 100, baseDelayMs: 1000, maxDelayMs: 1000, maxTotalMs: 3500 }, b.deps)).rejects.toThrow('fail 4');
    expect(b.elapsed()).toBeLessThanOrEqual(3500);
    const c = fakeDeps(1);
    await expect(retry(async () => ({ retry: new Error('busy'), retryAfterMs: 120_000 }), { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 10, maxTotalMs: 30_000 }, c.deps)).rejects.toThrow('busy');
    expect(c.sleeps).toEqual([]); // a Retry-After past the budget is not waited for
  });

  it('does not retry what the attempt throws', async () => {
    const { deps } = fakeDeps();
    let n = 0;
    await expect(
      retry(async () => {
        n++;
        throw new Error('400: bad request');
      }, { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 1000 }, deps),
    ).rejects.toThrow('400');
    expect(n).toBe(1);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(new Date(now + 10_000).toUTCString(), now)).toBe(10_000);
    expect(parseRetryAfter(new Date(now - 10_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
