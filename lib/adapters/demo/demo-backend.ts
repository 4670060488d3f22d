import * as z from '../../core/zod';
import { DomainError } from '../../core/errors';
import { json, parseJsonBody, router, type HttpHandler } from '../../core/http';
import { searchRequestSchema, type SearchHit, type SearchQuery } from '../../core/search/query';
import { deleteRequestSchema, upsertRequestSchema, WRITE_LIMITS } from '../../core/search/writes';
import { parseOrThrow } from '../../core/validation-util';
import { serveHttp, type RunningServer } from '../http/server';
import { prng } from '../../core/random';

/**
 * Small in-process vector backends for local mode, the fault tests and the benchmark: a brute-force cosine
 * index over seeded random vectors, served over real HTTP in the proxy's `generic` format, with a switch
 * that makes it refuse connections, hang, or answer 503.
 */

export interface DemoIndexOptions {
  size?: number;
  dimensions?: number;
  seed?: number;
  /** Round stored vectors to this many decimals (an "old system" with coarser vectors ranks a little differently). */
  quantizeDecimals?: number;
}


const TOPICS = ['billing', 'search', 'auth', 'storage', 'network', 'reports', 'alerts', 'migration'];

export class DemoIndex {
  readonly dimensions: number;
  readonly size: number;
  private readonly vectors: Float64Array;
  private readonly norms: Float64Array;

  constructor(opts: DemoIndexOptions = {}) {
    this.size = opts.size ?? 1000;
    this.dimensions = opts.dimensions ?? 8;
    const rnd = prng(opts.seed ?? 42);
    const q = opts.quantizeDecimals;
    this.vectors = new Float64Array(this.size * this.dimensions);
    this.norms = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) {
      let n = 0;
      for (let d = 0; d < this.dimensions; d++) {
        let v = rnd() * 2 - 1;
        if (q !== undefined) v = Math.round(v * 10 ** q) / 10 ** q;
        this.vectors[i * this.dimensions + d] = v;
        n += v * v;
      }
      this.norms[i] = Math.sqrt(n) || 1;
    }
  }

  /** Top-k by cosine similarity. `filter` (string) keeps documents whose topic equals it. */
  search(q: SearchQuery): SearchHit[] {
    if (q.vector.length !== this.dimensions) {
      throw new DomainError('bad_request', `vector has ${q.vector.length} dimensions; this index has ${this.dimensions}`);
    }
    const topic = typeof q.filter === 'string' ? q.filter : undefined;
    const dims = this.dimensions;
    const qv = Float64Array.from(q.vector);
    let qn = 0;
    for (let d = 0; d < dims; d++) qn += qv[d]! * qv[d]!;
    qn = Math.sqrt(qn) || 1;
    // A bounded min-heap would be faster for large k; k is small here and the arrays are short.
    const best: Array<{ i: number; s: number }> = [];
    for (let i = 0; i < this.size; i++) {
      if (topic !== undefined && TOPICS[i % TOPICS.length] !== topic) continue;
      let dot = 0;
      const off = i * dims;
      const vs = this.vectors;
      for (let d = 0; d < dims; d++) dot += vs[off + d]! * qv[d]!;
      const s = dot / (this.norms[i]! * qn);
      if (best.length < q.topK) {
        best.push({ i, s });
        if (best.length === q.topK) best.sort((a, b) => a.s - b.s);
      } else if (s > best[0]!.s) {
        best[0] = { i, s };
        for (let j = 0; j + 1 < best.length && best[j]!.s > best[j + 1]!.s; j++) [best[j], best[j + 1]] = [best[j + 1]!, best[j]!];
      }
    }
    return best
      .sort((a, b) => b.s - a.s)
      .map(({ i, s }) => ({ id: `doc-${i}`, score: Math.round(s * 1e6) / 1e6, metadata: { topic: TOPICS[i % TOPICS.length], title: `Document ${i}` } }));
  }
}

/**
 * Documents written through `/upsert` and `/delete`, kept beside the generated index. A write applies only
 * when its version is newer than the one held for its id (a delete leaves a tombstone with its version), so
 * replays and reordered writes change nothing.
 */
export class DemoRecords {
  private readonly records = new Map<string, { version: number; vector?: number[]; metadata?: Record<string, unknown>; deleted: boolean }>();
  /** Writes applied and writes ignored as stale (not newer than what is held). */
  applied = 0;
  stale = 0;

  put(id: string, version: number, vector: number[] | undefined, metadata: Record<string, unknown> | undefined, deleted: boolean): void {
    const cur = this.records.get(id);
    if (cur && cur.version >= version) {
      this.stale++;
      return;
    }
    this.applied++;
    this.records.set(id, { version, deleted, ...(vector ? { vector } : {}), ...(metadata ? { metadata } : {}) });
  }

  get(id: string) {
    const r = this.records.get(id);
    return r ? { id, ...r } : null;
  }

  /** Ids in order after `after`, tombstones included. */
  list(after: string | null, limit: number): Array<{ id: string; version: number; deleted: boolean }> {
    return [...this.records.keys()]
      .filter((id) => after === null || id > after)
      .sort()
      .slice(0, limit)
      .map((id) => ({ id, version: this.records.get(id)!.version, deleted: this.records.get(id)!.deleted }));
  }

  /** Live (not deleted) ids. */
  liveIds(): string[] {
    return [...this.records].filter(([, r]) => !r.deleted).map(([id]) => id);
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  /** Hits among written documents, cosine similarity, best first. */
  search(q: SearchQuery): SearchHit[] {
    const qn = Math.sqrt(q.vector.reduce((a, x) => a + x * x, 0)) || 1;
    const hits: SearchHit[] = [];
    for (const [id, r] of this.records) {
      if (r.deleted || !r.vector || r.vector.length !== q.vector.length) continue;
      let dot = 0;
      let n = 0;
      r.vector.forEach((x, i) => {
        dot += x * q.vector[i]!;
        n += x * x;
      });
      hits.push({ id, score: Math.round((dot / ((Math.sqrt(n) || 1) * qn)) * 1e6) / 1e6, ...(r.metadata ? { metadata: r.metadata } : {}) });
    }
    return hits.sort((a, b) => b.score - a.score).slice(0, q.topK);
  }
}

export const DEMO_MODES = ['ok', 'down', 'slow', 'error', 'flaky'] as const;
export type DemoMode = (typeof DEMO_MODES)[number];
export const demoModeSchema = z.strictObject({
  mode: z.enum(DEMO_MODES),
  /** How long `slow` holds each answer. */
  slowMs: z.optional(z.number().check(z.int(), z.gte(0), z.lte(600_000))),
  /** Status `error` answers with. */
  errorStatus: z.optional(z.number().check(z.int(), z.gte(400), z.lte(599))),
});

export interface DemoBackendOptions {
  name: string;
  index: DemoIndex;
  host?: string;
  port?: number;
  /** Default hold time of `slow`. Default 5000 ms. */
  slowMs?: number;
}

export interface DemoBackendStatus {
  name: string;
  url: string;
  mode: DemoMode;
  slowMs: number;
  errorStatus: number;
  /** Search requests received (a refused connection never counts). */
  requests: number;
  /** Requests being held right now by `slow`. */
  holding: number;
  /** Write requests received, writes applied, writes ignored as not newer than the stored version. */
  writes: { requests: number; applied: number; stale: number };
}

/**
 * One demo backend on 127.0.0.1. `down` closes the listening socket and every open connection (clients get
 * ECONNREFUSED); `ok` listens again on the same port.
 */
export class DemoBackend {
  private server: RunningServer | null = null;
  private mode: DemoMode = 'ok';
  private slowMs: number;
  private errorStatus = 503;
  private requests = 0;
  private writeRequests = 0;
  private port = 0;
  readonly records = new DemoRecords();
  private readonly host: string;
  private readonly held = new Set<() => void>();

  private constructor(private readonly opts: DemoBackendOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.slowMs = opts.slowMs ?? 5000;
  }

  static async start(opts: DemoBackendOptions): Promise<DemoBackend> {
    const b = new DemoBackend(opts);
    b.port = opts.port ?? 0;
    await b.listen();
    return b;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  private handler(): HttpHandler {
    return router([
      {
        method: 'POST',
        path: '/search',
        handler: async (req) => {
          this.requests++;
          const fault = await this.fault(this.requests);
          if (fault) return fault;
          const q = parseOrThrow(searchRequestSchema, parseJsonBody(req), 'search request');
          const written = this.records.search(q);
          const base = this.opts.index.search({ ...q, topK: q.topK + written.length }).filter((h) => !this.records.has(h.id));
          return json(200, { results: [...written, ...base].sort((a, b) => b.score - a.score).slice(0, q.topK) });
        },
      },
      {
        method: 'POST',
        path: '/upsert',
        handler: async (req) => {
          const fault = await this.fault(++this.writeRequests);
          if (fault) return fault;
          const b = parseOrThrow(upsertRequestSchema, parseJsonBody(req, WRITE_LIMITS.maxBodyBytes), 'upsert request');
          const dims = this.opts.index.dimensions;
          const wrong = b.vectors.find((v) => v.vector.length !== dims);
          if (wrong) throw new DomainError('bad_request', `vector of "${wrong.id}" has ${wrong.vector.length} dimensions; this index has ${dims}`);
          for (const v of b.vectors) this.records.put(v.id, v.version, v.vector, v.metadata, false);
          return json(200, { upserted: b.vectors.length });
        },
      },
      {
        method: 'POST',
        path: '/delete',
        handler: async (req) => {
          const fault = await this.fault(++this.writeRequests);
          if (fault) return fault;
          const b = parseOrThrow(deleteRequestSchema, parseJsonBody(req, WRITE_LIMITS.maxBodyBytes), 'delete request');
          for (const d of b.items) this.records.put(d.id, d.version, undefined, undefined, true);
          return json(200, { deleted: b.items.length });
        },
      },
      {
        method: 'GET',
        path: '/records',
        handler: async (req) => {
          const limit = Math.min(10_000, Math.max(1, Number(req.query['limit'] ?? 1000) || 1000));
          return json(200, { items: this.records.list(req.query['after'] ?? null, limit) });
        },
      },
      { method: 'GET', path: '/health', handler: async () => json(200, { status: 'ok', name: this.opts.name }) },
    ]);
  }

  /** The answer a fault mode gives instead of the real one (`slow` holds, then answers normally). `flaky` fails every other request. */
  private async fault(n: number) {
    if (this.mode === 'error' || (this.mode === 'flaky' && n % 2 === 0)) {
      return json(this.errorStatus, { error: { code: 'unavailable', message: `${this.opts.name} is failing on purpose (demo mode "${this.mode}")` } });
    }
    if (this.mode === 'slow') await this.hold(this.slowMs);
    return null;
  }

  /** Wait, unless the mode changes or the backend closes first. */
  private hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(t);
        this.held.delete(release);
        resolve();
      };
      const t = setTimeout(release, ms);
      t.unref();
      this.held.add(release);
    });
  }

  private async listen(): Promise<void> {
    this.server = await serveHttp(this.handler(), { host: this.host, port: this.port, maxBodyBytes: WRITE_LIMITS.maxBodyBytes });
    this.port = this.server.port;
  }

  async setMode(m: z.infer<typeof demoModeSchema>): Promise<DemoBackendStatus> {
    if (m.slowMs !== undefined) this.slowMs = m.slowMs;
    if (m.errorStatus !== undefined) this.errorStatus = m.errorStatus;
    if (m.mode !== this.mode) {
      for (const release of [...this.held]) release();
      if (m.mode === 'down' && this.server) {
        const s = this.server;
        this.server = null;
        await s.close();
      } else if (this.mode === 'down') await this.listen();
      this.mode = m.mode;
    }
    return this.status();
  }

  status(): DemoBackendStatus {
    return { name: this.opts.name, url: this.url, mode: this.mode, slowMs: this.slowMs, errorStatus: this.errorStatus, requests: this.requests, holding: this.held.size, writes: { requests: this.writeRequests, applied: this.records.applied, stale: this.records.stale } };
  }

  async close(): Promise<void> {
    for (const release of [...this.held]) release();
    const s = this.server;
    this.server = null;
    await s?.close();
  }
}
