import Redis from 'ioredis';
import { redactUrl } from '../../core/redact';
import type { ActivityEntry } from '../../core/model';
import { sortPoints, type HistoryPoint, type HistoryWrite } from '../../core/history';
import { DURABLE_NOW, type ActivityQuery, type CommitRequest, type CommitResult, type IdempotencyRecord, type ProgressStore, type StoredMigration } from '../../core/store';

export interface RedisStoreOptions {
  /** Key prefix, so several deployments can share one Redis. Default "mm". */
  prefix?: string;
  /** Idempotency records expire after this many seconds. Default 86400. */
  idempotencyTtlSeconds?: number;
}

/**
 * Compare-and-set commit in one Lua script: the version check, the document write, the activity append,
 * the idempotency record (refused if the key exists) and the migration index happen atomically.
 */
const COMMIT = `
local cur = redis.call('HGET', KEYS[1], 'v')
if (cur or '0') ~= ARGV[1] then return 0 end
if ARGV[4] ~= '' then
  if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
  redis.call('SET', KEYS[3], ARGV[4], 'EX', tonumber(ARGV[5]))
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
for i = 7, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
redis.call('SADD', KEYS[4], ARGV[6])
return 1
`;

/** ProgressStore on Redis: one hash per migration (version + JSON document), a list for activity. */
export class RedisStore implements ProgressStore {
  readonly kind = 'redis';
  private readonly prefix: string;
  private readonly ttl: number;
  private constructor(
    private readonly redis: Redis,
    opts: RedisStoreOptions,
  ) {
    this.prefix = opts.prefix ?? 'mm';
    this.ttl = opts.idempotencyTtlSeconds ?? 86400;
    this.redis.defineCommand('mmCommit', { numberOfKeys: 4, lua: COMMIT });
  }

  /** Connect (fails fast with the URL in the message when Redis is not reachable). */
  static async connect(url: string, opts: RedisStoreOptions = {}): Promise<RedisStore> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false });
    try {
      await redis.connect();
    } catch (e) {
      redis.disconnect();
      throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${(e as Error).message}`);
    }
    return new RedisStore(redis, opts);
  }

  private k(...parts: string[]) {
    return [this.prefix, ...parts].join(':');
  }

  async load(migrationId: string): Promise<StoredMigration | null> {
    const [v, s] = await this.redis.hmget(this.k('m', migrationId), 'v', 's');
    if (!v || !s) return null;
    return { version: Number(v), state: JSON.parse(s) };
  }

  async commit(req: CommitRequest): Promise<CommitResult> {
    const args = [
      String(req.expectedVersion),
      String(req.expectedVersion + 1),
      JSON.stringify(req.state),
      req.idempotency ? JSON.stringify(req.idempotency) : '',
      String(this.ttl),
      req.migrationId,
      ...req.activity.map((a) => JSON.stringify(a)),
    ];
    const keys = [this.k('m', req.migrationId), this.k('a', req.migrationId), this.k('i', req.migrationId, req.idempotency?.key ?? '-'), this.k('index')];
    const r = await (this.redis as unknown as { mmCommit(...a: string[]): Promise<number> }).mmCommit(...keys, ...args);
    return { ok: r === 1, durable: DURABLE_NOW };
  }

  async listMigrations(): Promise<string[]> {
    return (await this.redis.smembers(this.k('index'))).sort();
  }

  async readActivity(migrationId: string, q: ActivityQuery = {}): Promise<ActivityEntry[]> {
    const key = this.k('a', migrationId);
    if (q.since === undefined) {
      const raw = await this.redis.lrange(key, q.limit !== undefined ? -q.limit : 0, -1);
      return raw.map((x) => JSON.parse(x) as ActivityEntry);
    }
    // walk back from the newest in pages until entries are older than `since`
    const out: ActivityEntry[] = [];
    const page = 500;
    for (let end = -1; ; end -= page) {
      const raw = await this.redis.lrange(key, end - page + 1, end);
      if (!raw.length) break;
      const entries = raw.map((x) => JSON.parse(x) as ActivityEntry);
      const fresh = entries.filter((e) => e.at >= q.since!);
      out.unshift(...fresh);
      if (fresh.length < entries.length || raw.length < page) break;
      if (q.limit !== undefined && out.length >= q.limit) break;
    }
    return q.limit !== undefined ? out.slice(-q.limit) : out;
  }

  async getIdempotency(migrationId: string, key: string): Promise<IdempotencyRecord | null> {
    const v = await this.redis.get(this.k('i', migrationId, key));
    return v ? (JSON.parse(v) as IdempotencyRecord) : null;
  }

  /** One hash per migration and tier: field = ring slot, value = the point (HSET replaces, so the hash stays bounded). */
  async putHistory(migrationId: string, writes: HistoryWrite[]): Promise<void> {
    const tx = this.redis.multi();
    for (const w of writes) tx.hset(this.k('h', migrationId, w.tier), String(w.slot), JSON.stringify(w.point));
    const r = await tx.exec();
    const err = r?.find(([e]) => e)?.[0];
    if (err) throw err;
  }

  async readHistory(migrationId: string, tier: string): Promise<HistoryPoint[]> {
    return sortPoints((await this.redis.hvals(this.k('h', migrationId, tier))).map((x) => JSON.parse(x) as HistoryPoint));
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

