import { RedisStore } from '../../../lib/adapters/redis/redis-store';
import { describeStoreContract } from '../../core/store-contract';
import { startRedis, type RedisServer } from '../../support/redis';

let redis: RedisServer;
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describeStoreContract('redis (real redis-server)', async () => {
  const prefix = `t${++n}`; // a fresh keyspace per test
  const store = await RedisStore.connect(redis.url, { prefix });
  return {
    store,
    reopen: () => RedisStore.connect(redis.url, { prefix }),
    cleanup: () => store.close(),
  };
});

it('names the Redis URL (without credentials) when it cannot connect', async () => {
  await expect(RedisStore.connect('redis://user:secret@127.0.0.1:1')).rejects.toThrow(/cannot connect to Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1/);
});
