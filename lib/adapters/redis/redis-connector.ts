import { redactUrl } from '../../core/redact';
import type { ConnectorConfig } from '../../core/validation/config';
import { chunks, inRange, type Key, keyFrom, keyRangeByScan, type Row, type ScanOptions, type SourceConnector } from '../../core/validation/connector';
import { convertText } from '../../core/validation/convert';
import { RespClient, RespError } from './resp-client';

type RedisConfig = Extract<ConnectorConfig, { type: 'redis' }>;

/** Escape glob characters of a prefix for SCAN MATCH. */
const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * Records stored one per Redis key under a prefix (`item:42` → key 42): a JSON string, a hash, or a plain
 * string. Keys come from SCAN (unordered: the engine sorts when needed), values through MGET or pipelined
 * HGETALL, one SCAN page at a time.
 */
export class RedisConnector implements SourceConnector {
  readonly label: string;
  readonly ordered = false;
  readonly maxGetBatch = 1000;
  /** A minimal RESP client, not ioredis: this connector is bundled into Lambda (validate-redis), where ioredis costs ~170 KB. */
  private readonly redis: RespClient;
  private connected = false;
  private readonly keyType: 'string' | 'number';

  constructor(private readonly cfg: Omit<RedisConfig, 'type'>) {
    this.label = `redis:${cfg.prefix}*`;
    this.keyType = cfg.keyType ?? 'string';
    this.redis = new RespClient(cfg.url, { retries: 2, ...(cfg.ca ? { ca: cfg.ca } : {}) });
  }

  async count(signal?: AbortSignal): Promise<number> {
    let n = 0;
    for await (const keys of this.keyPages(signal)) n += keys.length;
    return n;
  }

  async *scan(opts: ScanOptions): AsyncGenerator<Row[]> {
    let batch: Row[] = [];
    for await (const redisKeys of this.keyPages(opts.signal)) {
      const picked: Array<{ key: Key; redisKey: string }> = [];
      for (const rk of redisKeys) {
        const key = this.keyOf(rk);
        if (inRange(key, opts)) picked.push({ key, redisKey: rk });
      }
      const rows = opts.keysOnly ? picked.map((p) => ({ key: p.key, data: {} })) : await this.load(picked);
      for (const r of rows) {
        batch.push(r);
        if (batch.length >= opts.batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length) yield batch;
  }

  async get(keys: Key[]): Promise<Row[]> {
    const out: Row[] = [];
    for (const part of chunks(keys, this.maxGetBatch)) {
      out.push(...(await this.load(part.map((k) => ({ key: keyFrom(k, this.keyType, this.label), redisKey: `${this.cfg.prefix}${k}` })))));
    }
    return out;
  }

  keyRange(signal?: AbortSignal): Promise<{ min: Key; max: Key } | null> {
    return keyRangeByScan(this, signal);
  }

  async close(): Promise<void> {
    await this.redis.close();
  }

  /** SCAN pages of matching keys (SCAN may return a key twice: de-duplicated per run). */
  private async *keyPages(signal?: AbortSignal): AsyncGenerator<string[]> {
    await this.connect();
    const seen = new Set<string>();
    let cursor = '0';
    do {
      signal?.throwIfAborted();
      const [next, found] = (await this.redis.command('SCAN', cursor, 'MATCH', `${globEscape(this.cfg.prefix)}*`, 'COUNT', this.cfg.scanCount)) as [Buffer, Buffer[]];
      cursor = next.toString();
      const keys = found.map((k) => k.toString('utf8'));
      const fresh = keys.filter((k) => !seen.has(k));
      for (const k of fresh) seen.add(k);
      if (fresh.length) yield fresh;
    } while (cursor !== '0');
  }

  private async load(items: Array<{ key: Key; redisKey: string }>): Promise<Row[]> {
    if (!items.length) return [];
    await this.connect();
    const out: Row[] = [];
    if (this.cfg.valueType === 'hash') {
      const res = await this.redis.pipeline(items.map((it) => ['HGETALL', it.redisKey]));
      res.forEach((h, i) => {
        if (h instanceof RespError) throw new Error(`${this.label}: HGETALL ${items[i]!.redisKey}: ${h.message}`);
        const flat = h as Buffer[];
        const hash: Record<string, Buffer> = {};
        for (let j = 0; j + 1 < flat.length; j += 2) hash[flat[j]!.toString('utf8')] = flat[j + 1]!;
        if (flat.length) out.push({ key: items[i]!.key, data: this.hashData(hash, items[i]!.redisKey) });
      });
      return out;
    }
    const values = ((await this.redis.command('MGET', ...items.map((i) => i.redisKey))) as Array<Buffer | null>).map((v) => v?.toString('utf8') ?? null);
    values.forEach((v, i) => {
      if (v === null) return;
      const it = items[i]!;
      if (this.cfg.valueType === 'string') return out.push({ key: it.key, data: { value: v } });
      let doc: unknown;
      try {
        doc = JSON.parse(v);
      } catch (e) {
        throw new Error(`${this.label}: ${it.redisKey} is not JSON (${(e as Error).message}); set valueType: string or hash`);
      }
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${this.label}: ${it.redisKey} is not a JSON object`);
      out.push({ key: it.key, data: doc as Record<string, unknown> });
    });
    return out;
  }

  private hashData(h: Record<string, Buffer>, where: string): Record<string, unknown> {
    const data: Record<string, unknown> = {};
    for (const [f, buf] of Object.entries(h)) {
      const type = this.cfg.fields[f];
      data[f] = type === 'bytes' ? new Uint8Array(buf) : convertText(buf.toString('utf8'), type, `${where} field ${f}`);
    }
    return data;
  }

  private keyOf(redisKey: string): Key {
    return keyFrom(redisKey.slice(this.cfg.prefix.length), this.keyType, this.label);
  }

  private async connect(): Promise<void> {
    if (this.connected) return;
    await this.redis.connect().catch((e: Error) => {
      throw new Error(`${this.label}: cannot connect to ${redactUrl(this.cfg.url)}: ${e.message}`);
    });
    this.connected = true;
  }
}
