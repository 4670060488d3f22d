/**
 * The minimal RESP client of the validation connector against a real redis-server: what ioredis did for it
 * (AUTH with user or password, SELECT, binary values, replies split over many TCP packets, error replies,
 * a connection dropped between commands) without ioredis in the Lambda bundle.
 */
import Redis from 'ioredis';
import { RespClient, RespError } from '../../../lib/adapters/redis/resp-client';
import { freePort } from '../../support/ports';
import { startRedis, type RedisServer } from '../../support/redis';

let open: RedisServer;
let locked: RedisServer;
const clients: RespClient[] = [];
const client = (url: string, retries?: number) => {
  const c = new RespClient(url, { connectTimeoutMs: 5_000, retries });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  [open, locked] = await Promise.all([startRedis(), startRedis(['--requirepass', 's3cr3t/+'])]);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([open?.stop(), locked?.stop()]);
});

describe('RespClient (real redis-server)', () => {
  it('reads strings, nil, integers, arrays and binary values; a 3 MB value split over many packets arrives whole', async () => {
    const seed = new Redis(open.url);
    const bytes = Buffer.from([0, 13, 10, 255, 36, 42]);
    const big = 'x'.repeat(3 * 1024 * 1024);
    await seed.mset('a', 'one', 'bin', bytes, 'big', big);
    await seed.hset('h', { f: 'v', raw: bytes });
    await seed.quit();
    const c = client(open.url);
    const [a, missing, bin] = (await c.command('MGET', 'a', 'nope', 'bin')) as Array<Buffer | null>;
    expect([a?.toString(), missing, bin]).toEqual(['one', null, bytes]);
    expect(((await c.command('GET', 'big')) as Buffer).length).toBe(big.length);
    expect(await c.command('EXISTS', 'a', 'h')).toBe(2);
    const [h] = (await c.pipeline([['HGETALL', 'h']])) as Buffer[][];
    expect(Object.fromEntries([[h![0]!.toString(), h![1]!.toString()], [h![2]!.toString(), h![3]]])).toEqual({ f: 'v', raw: bytes });
    const [cursor, keys] = (await c.command('SCAN', '0', 'MATCH', '*', 'COUNT', 100)) as [Buffer, Buffer[]];
    expect(cursor.toString()).toBe('0');
    expect(keys.map(String).sort()).toEqual(['a', 'big', 'bin', 'h']);
  });

  it('keeps replies in order around an error reply in a pipeline, and rejects a single failing command with the server message', async () => {
    const c = client(open.url);
    const replies = await c.pipeline([['GET', 'a'], ['HGETALL', 'a'], ['GET', 'a']]);
    expect(String(replies[0])).toBe('one');
    expect(replies[1]).toBeInstanceOf(RespError);
    expect((replies[1] as RespError).message).toMatch(/^WRONGTYPE/);
    expect(String(replies[2])).toBe('one');
    await expect(c.command('NOSUCHCOMMAND')).rejects.toThrow(/unknown command/i);
    expect(String(await c.command('GET', 'a'))).toBe('one');
  });

  it('authenticates with the URL password (percent-decoded) or user and password, and selects the database', async () => {
    const seed = new Redis(`${locked.url.replace('//', '//:s3cr3t%2F%2B@')}/3`);
    await seed.set('k', 'db3');
    await seed.quit();
    expect(String(await client(`${locked.url.replace('//', '//:s3cr3t%2F%2B@')}/3`).command('GET', 'k'))).toBe('db3');
    expect(String(await client(`${locked.url.replace('//', '//default:s3cr3t%2F%2B@')}/3`).command('GET', 'k'))).toBe('db3');
    expect(await client(`${locked.url.replace('//', '//:s3cr3t%2F%2B@')}`).command('GET', 'k')).toBeNull();
    await expect(client(locked.url.replace('//', '//:wrong@')).connect()).rejects.toThrow(/WRONGPASS|invalid password/i);
    await expect(client(locked.url).command('GET', 'k')).rejects.toThrow(/NOAUTH/);
  });

  it('sends a read again on a new connection when the server dropped the old one; fails with the cause when it cannot connect', async () => {
    const c = client(open.url);
    const id = await c.command('CLIENT', 'ID');
    const admin = new Redis(open.url);
    await admin.client('KILL', 'ID', String(id));
    await admin.quit();
    expect(String(await c.command('GET', 'a'))).toBe('one');
    expect(await c.command('CLIENT', 'ID')).not.toBe(id);
    const port = await freePort();
    await expect(client(`redis://127.0.0.1:${port}`, 1).command('PING')).rejects.toThrow(/ECONNREFUSED/);
    expect(() => new RespClient('http://127.0.0.1:6379')).toThrow(/redis:\/\/ or rediss:\/\//);
  });

  it('refuses commands after close', async () => {
    const c = client(open.url);
    expect(String(await c.command('PING'))).toBe('PONG');
    await c.close();
    await expect(c.command('PING')).rejects.toThrow(/closed/);
  });
});
