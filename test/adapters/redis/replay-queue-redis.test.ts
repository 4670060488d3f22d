import Redis from 'ioredis';
import { RedisReplayQueueStore } from '../../../lib/adapters/redis/replay-queue-redis';
import { replayQueueContract } from '../../core/search/replay-queue-contract';
import { startRedis, type RedisServer } from '../../support/redis';

let redis: RedisServer;
const clients: Redis[] = [];
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

// each store on its own connection, as each Cloud Run instance has
replayQueueContract('redis (real redis-server)', true, async () => {
  const prefix = `t${++n}`;
  return {
    open: () => {
      const c = new Redis(redis.url);
      clients.push(c);
      return new RedisReplayQueueStore(c, { prefix, name: 'search' });
    },
  };
});

it('refuses an entry it cannot read, naming the key and field', async () => {
  const c = new Redis(redis.url);
  clients.push(c);
  await c.hset('bad:replay:search:m', 'primary:x', 'not an entry');
  await expect(new RedisReplayQueueStore(c, { prefix: 'bad' }).load()).rejects.toThrow(/replay queue bad:replay:search:m: field "primary:x" holds "not an entry", not a queue entry/);
});
