import type tls from 'node:tls';
import Redis from 'ioredis';
import { redisTlsOptions } from './tls';
import { sharedBreakerStateSchema, type BreakerStateStore, type SharedBreakerState } from '../../core/search/breaker/ports';
import { formatZodError } from '../../core/validation-util';
import { redactUrl } from '../../core/redact';

/** Version check and write in one script: a hash per breaker with the version and the JSON record. */
const CAS = `
local cur = redis.call('HGET', KEYS[1], 'v')
if (cur or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
return 1
`;

export interface RedisBreakerStateOptions {
  /** Key prefix, so several deployments can share one Redis. Default "mm". */
  prefix?: string;
}

/** How to reach a Redis besides its URL: what a Memorystore instance with AUTH and in-transit encryption needs. */
export interface RedisConnectOptions {
  /** AUTH string, used when the URL carries no password (Memorystore's, mounted from Secret Manager). */
  password?: string;
  /** PEM of the CA certificate(s) that signed the server's (a `rediss://` URL): Memorystore's `server_ca_certs`. */
  ca?: string;
}

/** ioredis options for `connect`: the password if the URL has none, TLS verified against `ca` for `rediss://`. */
export function redisClientOptions(url: string, o: RedisConnectOptions): { password?: string; tls?: tls.ConnectionOptions } {
  const u = new URL(url);
  if (o.ca && u.protocol !== 'rediss:') throw new Error(`a CA certificate was given for ${redactUrl(url)}: use a rediss:// URL (TLS)`);
  return {
    ...(o.password && !u.password ? { password: o.password } : {}),
    ...(o.ca ? { tls: redisTlsOptions(o.ca) } : {}),
  };
}

/** Shared breaker state on Redis (ElastiCache, Memorystore, local): compare-and-set in a Lua script. */
export class RedisBreakerStateStore implements BreakerStateStore {
  readonly kind = 'redis';
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    opts: RedisBreakerStateOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'mm';
    this.redis.defineCommand('mmBreakerCas', { numberOfKeys: 1, lua: CAS });
  }

  /** Connect (fails fast, naming the URL without credentials, when Redis is not reachable). */
  static async connect(url: string, opts: RedisBreakerStateOptions & RedisConnectOptions = {}): Promise<RedisBreakerStateStore> {
    // Short command timeout: the breaker reads this off the call path, but a stuck Redis must not pile up reads.
    // No reconnect loop before the first connection: a wrong URL fails here instead of retrying forever.
    let ready = false;
    const redis = new Redis(url, {
      ...redisClientOptions(url, opts),
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 1000,
      retryStrategy: (times) => (ready ? Math.min(times * 200, 2000) : null),
    });
    // Connection errors also reject the commands that hit them (the breaker reports those as sync errors);
    // the event itself only needs a listener so ioredis does not print it as unhandled.
    // Before the first connection the event carries the cause (a refused certificate) that connect() reports only as "Connection is closed".
    let cause: Error | undefined;
    redis.on('error', (e: Error) => {
      if (!ready) cause = e;
    });
    try {
      await redis.connect();
      ready = true;
    } catch (e) {
      redis.disconnect();
      throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${(cause ?? (e as Error)).message}`);
    }
    return new RedisBreakerStateStore(redis, opts.prefix ? { prefix: opts.prefix } : {});
  }

  /** The connection, shared with the operator switch on the same Redis (lib/adapters/redis/operator-switch.ts). */
  get client(): Redis {
    return this.redis;
  }

  private key(name: string): string {
    return `${this.prefix}:breaker:${name}`;
  }

  async get(name: string): Promise<SharedBreakerState | null> {
    const s = await this.redis.hget(this.key(name), 's');
    if (s === null) return null;
    const r = sharedBreakerStateSchema.safeParse(JSON.parse(s));
    if (!r.success) throw new Error(`breaker state for "${name}" in Redis is not valid: ${formatZodError(r.error)}`);
    return r.data;
  }

  async compareAndSet(name: string, expectedVersion: number, next: SharedBreakerState): Promise<boolean> {
    if (next.version !== expectedVersion + 1) throw new Error(`breaker state version must go from ${expectedVersion} to ${expectedVersion + 1} (got ${next.version})`);
    const cas = (this.redis as unknown as { mmBreakerCas(key: string, ...args: string[]): Promise<number> }).mmBreakerCas;
    const r = await cas.call(this.redis, this.key(name), String(expectedVersion), String(next.version), JSON.stringify(next));
    return r === 1;
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
