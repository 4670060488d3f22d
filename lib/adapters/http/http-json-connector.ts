import type { ConnectorConfig } from '../../core/validation/config';
import { redactUrl } from '../../core/redact';
import { chunks, compareKeys, inRange, type Key, keyFrom, keyRangeByScan, type Row, type ScanOptions, type SourceConnector } from '../../core/validation/connector';

type HttpJsonConfig = Extract<ConnectorConfig, { type: 'http-json' }>;

type Fetch = (url: string, init: { method: string; headers: Record<string, string>; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

/** Value at a dotted path (`data.items`); '' or '.' is the value itself. */
export function at(v: unknown, path: string): unknown {
  if (!path || path === '.') return v;
  let cur: unknown = v;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/**
 * Records behind a JSON HTTP API: a paginated list endpoint (cursor or offset), optional get-by-key and
 * count endpoints. Lists are unordered unless the config says the API sorts by key.
 */
export class HttpJsonConnector implements SourceConnector {
  readonly label: string;
  readonly ordered: boolean;
  readonly maxGetBatch: number;
  private readonly keyType: 'string' | 'number';

  constructor(
    private readonly cfg: Omit<HttpJsonConfig, 'type'>,
    private readonly fetchImpl: Fetch = (url, init) => fetch(url, init),
  ) {
    const u = new URL(cfg.url);
    this.label = `http:${u.host}${u.pathname}`;
    this.ordered = cfg.ordered;
    this.keyType = cfg.keyType ?? 'string';
    this.maxGetBatch = cfg.getUrl?.includes('{keys}') ? 100 : cfg.getUrl ? 50 : 100_000;
  }

  async count(signal?: AbortSignal): Promise<number> {
    if (this.cfg.countUrl) {
      const n = at(await this.request(this.cfg.countUrl, signal), this.cfg.countPath);
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Error(`${this.label}: ${this.cfg.countUrl} has no count at "${this.cfg.countPath}"`);
      return n;
    }
    let n = 0;
    for await (const page of this.pages(signal)) n += page.length;
    return n;
  }

  async *scan(opts: ScanOptions): AsyncGenerator<Row[]> {
    let batch: Row[] = [];
    for await (const page of this.pages(opts.signal)) {
      for (const item of page) {
        const row = this.toRow(item, opts.keysOnly);
        if (!inRange(row.key, opts)) {
          if (this.ordered && opts.through !== undefined && compareKeys(row.key, opts.through) > 0) {
            if (batch.length) yield batch;
            return;
          }
          continue;
        }
        batch.push(row);
        if (batch.length >= opts.batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length) yield batch;
  }

  async get(keys: Key[], signal?: AbortSignal): Promise<Row[]> {
    const tpl = this.cfg.getUrl;
    if (!tpl) {
      const want = new Set(keys);
      const out: Row[] = [];
      for await (const b of this.scan({ batchSize: 1000, signal })) for (const r of b) if (want.has(r.key)) out.push(r);
      return out;
    }
    if (tpl.includes('{keys}')) {
      const out: Row[] = [];
      for (const part of chunks(keys, 100)) {
        const body = await this.request(tpl.replace('{keys}', part.map((k) => encodeURIComponent(String(k))).join(',')), signal);
        out.push(...this.items(body, tpl).map((i) => this.toRow(i)));
      }
      return out;
    }
    const out: Row[] = [];
    for (const part of chunks(keys, 8)) {
      const got = await Promise.all(part.map((k) => this.request(tpl.replace('{key}', encodeURIComponent(String(k))), signal, true)));
      for (const g of got) if (g !== null) out.push(this.toRow(g));
    }
    return out;
  }

  keyRange(signal?: AbortSignal): Promise<{ min: Key; max: Key } | null> {
    return keyRangeByScan(this, signal);
  }

  async close(): Promise<void> {}

  private async *pages(signal?: AbortSignal): AsyncGenerator<unknown[]> {
    const { cursor, limitParam, pageSize, offsetParam } = this.cfg;
    let next: string | undefined;
    let offset = 0;
    for (let page = 0; ; page++) {
      const u = new URL(this.cfg.url);
      u.searchParams.set(limitParam, String(pageSize));
      if (cursor && next !== undefined) u.searchParams.set(cursor.param, next);
      if (!cursor) u.searchParams.set(offsetParam, String(offset));
      const body = await this.request(u.toString(), signal);
      const items = this.items(body, u.toString());
      if (items.length) yield items;
      if (cursor) {
        const n = at(body, cursor.nextPath);
        if (n === undefined || n === null || n === '') return;
        if (String(n) === next) throw new Error(`${this.label}: the API returned the same cursor twice (${String(n)})`);
        next = String(n);
      } else {
        if (items.length < pageSize) return;
        offset += items.length;
      }
      if (page > 10_000_000) throw new Error(`${this.label}: too many pages`);
    }
  }

  private items(body: unknown, url: string): unknown[] {
    const items = Array.isArray(body) ? body : at(body, this.cfg.itemsPath);
    if (!Array.isArray(items)) throw new Error(`${this.label}: ${url} has no array at "${this.cfg.itemsPath}"`);
    return items;
  }

  private async request(url: string, signal: AbortSignal | undefined, allow404 = false): Promise<unknown> {
    const t = AbortSignal.timeout(this.cfg.timeoutMs);
    const res = await this.fetchImpl(url, { method: 'GET', headers: { accept: 'application/json', ...this.cfg.headers }, signal: signal ? AbortSignal.any([t, signal]) : t });
    const text = await res.text();
    if (allow404 && res.status === 404) return null;
    if (res.status < 200 || res.status > 299) throw new Error(`${this.label}: GET ${redactUrl(url)} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${this.label}: GET ${redactUrl(url)} did not answer JSON: ${text.slice(0, 100)}`);
    }
  }

  private toRow(item: unknown, keysOnly = false): Row {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new Error(`${this.label}: a record is not a JSON object: ${JSON.stringify(item)?.slice(0, 100)}`);
    const { [this.cfg.key]: k, ...data } = item as Record<string, unknown>;
    if (k === undefined) throw new Error(`${this.label}: a record has no "${this.cfg.key}" field`);
    return { key: keyFrom(k, this.keyType, this.label), data: keysOnly ? {} : data };
  }
}

