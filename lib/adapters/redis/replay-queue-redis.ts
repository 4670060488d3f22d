import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import * as z from '../../core/zod';
import type { QueuedWrite, ReplayQueueStore, SettledKey } from '../../core/search/replay-queue';
import type { BackendRole } from '../../core/search/settings';
import { formatZodError } from '../../core/validation-util';

/**
 * The replay queue in Redis, shared by every instance of one proxy (Cloud Run, or several local processes):
 * three hashes under `<prefix>:replay:<name>`, field `<target>:<id>` in each: `:m` "version op queuedAt"
 * (what a refresh reads: small), `:p` the payload JSON (vector, metadata), `:l` the lease "until owner".
 * Every change is one Lua script, so it is atomic against every other instance: a put replaces an entry only
 * with a newer version (keeping the first queuedAt, dropping the lease), a remove only while the stored
 * version is not newer, a claim leases only entries at the version given and not leased by another
 * instance until later. Lease times are Redis's own clock (TIME), so instance clocks do not matter.
 */

const PUT = `
local n = 0
for i = 1, #ARGV, 5 do
  local f, v, op, q, p = ARGV[i], tonumber(ARGV[i+1]), ARGV[i+2], ARGV[i+3], ARGV[i+4]
  local cur = redis.call('HGET', KEYS[1], f)
  local cv, cq = nil, nil
  if cur then
    local a, b = string.match(cur, '^(%S+) %S+ (%S+)$')
    cv, cq = tonumber(a), b
  end
  if not cv or cv < v then
    redis.call('HSET', KEYS[1], f, ARGV[i+1] .. ' ' .. op .. ' ' .. (cq or q))
    if p ~= '' then redis.call('HSET', KEYS[2], f, p) else redis.call('HDEL', KEYS[2], f) end
    redis.call('HDEL', KEYS[3], f)
    n = n + 1
  end
end
return n
`;

const REMOVE = `
local n = 0
for i = 1, #ARGV, 2 do
  local f, v = ARGV[i], tonumber(ARGV[i+1])
  local cur = redis.call('HGET', KEYS[1], f)
  if cur and tonumber(string.match(cur, '^(%S+)')) <= v then
    for _, key in ipairs(KEYS) do redis.call('HDEL', key, f) end
    n = n + 1
  end
end
return n
`;

const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local owner, lease_until = ARGV[1], now + tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV, 2 do
  local f, v = ARGV[i], tonumber(ARGV[i+1])
  local cur = redis.call('HGET', KEYS[1], f)
  if cur and tonumber(string.match(cur, '^(%S+)')) == v then
    local lease = redis.call('HGET', KEYS[3], f)
    local free = true
    if lease then
      local lu, lo = string.match(lease, '^(%S+) (%S+)$')
      free = tonumber(lu) < now or lo == owner
    end
    if free then
      redis.call('HSET', KEYS[3], f, lease_until .. ' ' .. owner)
      table.insert(out, f)
      table.insert(out, cur)
      table.insert(out, redis.call('HGET', KEYS[2], f) or '')
    end
  end
end
return out
`;

const RELEASE = `
for i = 2, #ARGV do
  local lease = redis.call('HGET', KEYS[1], ARGV[i])
  if lease and string.match(lease, '^%S+ (%S+)$') == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 0
`;

const payloadSchema = z.strictObject({ vector: z.optional(z.array(z.number())), metadata: z.optional(z.record(z.string(), z.unknown())) });
const TARGETS: readonly BackendRole[] = ['primary', 'fallback'];

export interface RedisReplayQueueOptions {
  /** Key prefix, shared with the breaker state on the same Redis. Default "mm". */
  prefix?: string;
  /** This proxy's queue, so proxies sharing a Redis keep apart (the breaker prefix). Default "search". */
  name?: string;
}

type Scripts = Record<'mmReplayPut' | 'mmReplayRemove' | 'mmReplayClaim' | 'mmReplayRelease', (...args: string[]) => Promise<unknown>>;

export class RedisReplayQueueStore implements ReplayQueueStore {
  readonly kind = 'redis';
  /** This instance, as lease owner. */
  readonly owner = randomUUID();
  private readonly keys: [string, string, string];

  constructor(
    private readonly redis: Redis,
    opts: RedisReplayQueueOptions = {},
  ) {
    const base = `${opts.prefix ?? 'mm'}:replay:${opts.name ?? 'search'}`;
    this.keys = [`${base}:m`, `${base}:p`, `${base}:l`];
    redis.defineCommand('mmReplayPut', { numberOfKeys: 3, lua: PUT });
    redis.defineCommand('mmReplayRemove', { numberOfKeys: 3, lua: REMOVE });
    redis.defineCommand('mmReplayClaim', { numberOfKeys: 3, lua: CLAIM });
    redis.defineCommand('mmReplayRelease', { numberOfKeys: 1, lua: RELEASE });
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  private static field(target: BackendRole, id: string): string {
    return `${target}:${id}`;
  }

  /** Every entry without its payload (a claim returns it). */
  async load(): Promise<QueuedWrite[]> {
    const all = await this.redis.hgetall(this.keys[0]);
    return Object.entries(all).map(([f, meta]) => this.parse(f, meta, ''));
  }

  private parse(field: string, meta: string, payload: string): QueuedWrite {
    const cut = field.indexOf(':');
    const target = field.slice(0, cut) as BackendRole;
    const [version, op, queuedAt] = meta.split(' ');
    if (!TARGETS.includes(target) || (op !== 'upsert' && op !== 'delete') || !Number.isSafeInteger(Number(version)) || !Number.isFinite(Number(queuedAt))) {
      throw new Error(`replay queue ${this.keys[0]}: field "${field}" holds "${meta}", not a queue entry`);
    }
    let extra: z.infer<typeof payloadSchema> = {};
    if (payload) {
      const p = payloadSchema.safeParse(JSON.parse(payload));
      if (!p.success) throw new Error(`replay queue ${this.keys[1]}: field "${field}" is not a payload: ${formatZodError(p.error)}`);
      extra = p.data;
    }
    return { target, op, id: field.slice(cut + 1), version: Number(version), ...extra, queuedAt: Number(queuedAt) };
  }

  async apply(put: QueuedWrite[], remove: SettledKey[]): Promise<void> {
    if (remove.length) await this.scripts.mmReplayRemove(...this.keys, ...remove.flatMap((k) => [RedisReplayQueueStore.field(k.target, k.id), String(k.version)]));
    if (put.length) {
      const args = put.flatMap((e) => [
        RedisReplayQueueStore.field(e.target, e.id),
        String(e.version),
        e.op,
        String(e.queuedAt),
        e.op === 'upsert' ? JSON.stringify({ vector: e.vector ?? [], ...(e.metadata ? { metadata: e.metadata } : {}) }) : '',
      ]);
      await this.scripts.mmReplayPut(...this.keys, ...args);
    }
  }

  async claim(target: BackendRole, keys: Array<{ id: string; version: number }>, leaseMs: number): Promise<QueuedWrite[]> {
    const args = keys.flatMap((k) => [RedisReplayQueueStore.field(target, k.id), String(k.version)]);
    const out = (await this.scripts.mmReplayClaim(...this.keys, this.owner, String(Math.ceil(leaseMs)), ...args)) as string[];
    const claimed: QueuedWrite[] = [];
    for (let i = 0; i < out.length; i += 3) claimed.push(this.parse(out[i]!, out[i + 1]!, out[i + 2]!));
    return claimed;
  }

  async release(target: BackendRole, ids: string[]): Promise<void> {
    await this.scripts.mmReplayRelease(this.keys[2], this.owner, ...ids.map((id) => RedisReplayQueueStore.field(target, id)));
  }

  /** The connection belongs to whoever opened it (shared with the breaker state). */
  async close(): Promise<void> {}
}
