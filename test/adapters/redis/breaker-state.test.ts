import { RedisBreakerStateStore } from '../../../lib/adapters/redis/breaker-state';
import { CircuitBreaker } from '../../../lib/core/search/breaker/circuit-breaker';
import { ManualTimers } from '../../../lib/core/search/breaker/timers';
import { breakerStateContract } from '../../core/search/breaker/state-contract';
import { startRedis, type RedisServer } from '../../support/redis';

let redis: RedisServer;
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

breakerStateContract('redis (real redis-server)', () => RedisBreakerStateStore.connect(redis.url, { prefix: `t${++n}` }));

it('two breakers on two connections open together through Redis', async () => {
  const timers = new ManualTimers();
  const prefix = `shared${++n}`;
  const [sa, sb] = await Promise.all([RedisBreakerStateStore.connect(redis.url, { prefix }), RedisBreakerStateStore.connect(redis.url, { prefix })]);
  const opts = { name: 'primary', clock: timers, timeoutMs: false as const, consecutiveFailures: 1, errorThresholdPercent: false as const, sharedSyncMs: 500 };
  const a = new CircuitBreaker({ ...opts, stateStore: sa, instanceId: 'lambda-a' });
  const b = new CircuitBreaker({ ...opts, stateStore: sb, instanceId: 'lambda-b' });
  await a.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
  await a.flush();
  timers.advance(500);
  await b.syncIfStale();
  expect(b.state).toBe('open');
  await expect(sb.get('primary')).resolves.toMatchObject({ state: 'open', updatedBy: 'lambda-a', version: 1 });
  await Promise.all([sa.close(), sb.close()]);
});

it('refuses a record it cannot read, naming the breaker', async () => {
  const prefix = `bad${++n}`;
  const s = await RedisBreakerStateStore.connect(redis.url, { prefix });
  const raw = await RedisBreakerStateStore.connect(redis.url, { prefix });
  await (raw as unknown as { redis: { hset(k: string, f: string, v: string): Promise<number> } }).redis.hset(`${prefix}:breaker:x`, 's', JSON.stringify({ state: 'maybe' }));
  await expect(s.get('x')).rejects.toThrow(/breaker state for "x" in Redis is not valid: state/);
  await Promise.all([s.close(), raw.close()]);
});

it('names the Redis URL (without credentials) when it cannot connect', async () => {
  await expect(RedisBreakerStateStore.connect('redis://user:secret@127.0.0.1:1')).rejects.toThrow(/cannot connect to Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1/);
});
