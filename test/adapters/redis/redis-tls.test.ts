/**
 * The shared Redis as Memorystore serves it with AUTH and in-transit encryption: a real redis-server that speaks
 * only TLS with a certificate from its own CA (subject CN = its IP, no subjectAltName, as Memorystore's) and
 * `requirepass`. The proxy's client (ioredis) and the validation connector's (RespClient) trust exactly the CA
 * they are given, and send the AUTH string they are given.
 */
import { RedisBreakerStateStore } from '../../../lib/adapters/redis/breaker-state';
import { RedisConnector } from '../../../lib/adapters/redis/redis-connector';
import { RespClient } from '../../../lib/adapters/redis/resp-client';
import { validateConfig } from '../../../lib/core/validation/config';
import { startTlsRedis, type TlsRedisServer } from '../../support/redis';

let redis: TlsRedisServer;
beforeAll(async () => {
  redis = await startTlsRedis('memorystore-auth-string');
});
afterAll(() => redis?.stop());

describe('Redis with AUTH and TLS (Memorystore SERVER_AUTHENTICATION)', () => {
  it('connects over rediss:// verified against the instance CA, authenticated with the AUTH string given apart from the URL', async () => {
    const store = await RedisBreakerStateStore.connect(redis.url, { password: redis.password, ca: redis.ca });
    await store.client.set('mm:probe', 'ok');
    expect(await store.client.get('mm:probe')).toBe('ok');
    expect(store.client.options.tls).toBeTruthy();
    await store.close();
  });

  it('refuses a server whose certificate another CA signed, a wrong AUTH string, and no AUTH string', async () => {
    await expect(RedisBreakerStateStore.connect(redis.url, { password: redis.password, ca: redis.otherCa })).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    await expect(RedisBreakerStateStore.connect(redis.url, { password: 'wrong', ca: redis.ca })).rejects.toThrow(/WRONGPASS|invalid password|NOAUTH/i);
    await expect(RedisBreakerStateStore.connect(redis.url, { ca: redis.ca })).rejects.toThrow(/NOAUTH/);
  });

  it('refuses the right CA when the certificate names another host', async () => {
    await expect(RedisBreakerStateStore.connect(redis.url.replace('127.0.0.1', 'localhost'), { password: redis.password, ca: redis.ca })).rejects.toThrow(/altnames|does not match|Hostname/i);
  });

  it('a password in the URL wins over the one given apart; a CA with a redis:// URL is refused (it would send AUTH in clear)', async () => {
    const store = await RedisBreakerStateStore.connect(`rediss://:${redis.password}@127.0.0.1:${redis.port}`, { password: 'ignored', ca: redis.ca });
    expect(await store.client.ping()).toBe('PONG');
    await store.close();
    await expect(RedisBreakerStateStore.connect(`redis://127.0.0.1:${redis.port}`, { ca: redis.ca })).rejects.toThrow(/use a rediss:\/\/ URL/);
  });
});

describe('the validation connector on the same Redis (RespClient, `ca` in the connector config)', () => {
  it('reads records over rediss:// trusting the CA from the config; without it the system CAs refuse the server', async () => {
    const seed = await RedisBreakerStateStore.connect(redis.url, { password: redis.password, ca: redis.ca });
    await seed.client.set('item:1', JSON.stringify({ name: 'alpha' }));
    await seed.close();
    const url = `rediss://:${redis.password}@127.0.0.1:${redis.port}`;
    const cfg = validateConfig({
      connectors: { r: { type: 'redis', url, ca: redis.ca, prefix: 'item:', keyType: 'number' }, s: { type: 'redis', url, prefix: 'item:' } },
      checks: [{ name: 'n', kind: 'count', source: 'r', target: 's' }],
    });
    const withCa = cfg.connectors['r']!;
    if (withCa.type !== 'redis') throw new Error('not redis');
    const c = new RedisConnector(withCa);
    expect(await c.get([1])).toEqual([{ key: 1, data: { name: 'alpha' } }]);
    await c.close();
    const plain = new RespClient(url, { connectTimeoutMs: 5000, retries: 0 });
    await expect(plain.command('PING')).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    await plain.close();
    const other = new RespClient(url, { ca: redis.otherCa, connectTimeoutMs: 5000, retries: 0 });
    await expect(other.command('PING')).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    await other.close();
  });

  it('a CA with a redis:// URL is refused at once; a CA that is not PEM is refused by the config', () => {
    expect(() => new RespClient(`redis://127.0.0.1:${redis.port}`, { ca: redis.ca })).toThrow(/use a rediss:\/\/ URL/);
    expect(() => validateConfig({ connectors: { r: { type: 'redis', url: redis.url, ca: 'not a certificate' } }, checks: [] })).toThrow(/ca.*PEM/);
  });
});
