import http from 'node:http';
import https from 'node:https';
import * as z from '../../core/zod';
import type { SearchHit, SearchQuery, VectorBackend } from '../../core/search/query';
import type { VectorWriter, WriteBatch } from '../../core/search/writes';
import { formatZodError } from '../../core/validation-util';

/**
 * A vector backend spoken to over HTTP JSON, configured by a request/response mapping so it fits the REST
 * APIs of the common vector stores. Presets: Milvus REST v2, OpenSearch k-NN, and `generic` (this proxy's
 * own `{vector, topK, filter}` → `{results: [{id, score, metadata}]}`, which the demo backends speak).
 *
 * Request templates are JSON in which the exact strings "{{vector}}", "{{topK}}" and "{{filter}}" are
 * replaced by the query's values (typed, not stringified); an object key or array item whose value is
 * "{{filter}}" is dropped when the query has no filter. Response paths are dot paths ("hits.hits", "_id").
 */

const dotPath = z.string().check(z.regex(/^$|^[^.]+(\.[^.]+)*$/, 'a dot path like "hits.hits" or "" for the root'));
const primitive = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * How a store takes a batch of writes. In `body` the exact string "{{items}}" becomes the rendered items and
 * "{{idsExpr}}" a Milvus expression `id in ["a", "b"]`; `item` is rendered per item from "{{id}}",
 * "{{vector}}", "{{version}}" and "{{metadata}}" (a key "..." whose value is "{{metadata}}" spreads the
 * metadata into the item). `ndjson`: each item renders to an array of lines and the body is those lines
 * (OpenSearch `_bulk`). `itemStatus`: bulk APIs answer 200 with per-item results; an item whose status is
 * not in `ok` fails the batch (409, a newer version already stored, and 404 on delete are "done").
 */
export const writeMappingSchema = z.strictObject({
  path: z.string().check(z.startsWith('/')),
  body: z.optional(z.unknown()),
  item: z.unknown(),
  format: z._default(z.enum(['json', 'ndjson']), 'json'),
  okWhen: z.optional(z.strictObject({ path: dotPath, in: z.array(primitive).check(z.minLength(1)) })),
  itemStatus: z.optional(z.strictObject({ results: dotPath, status: z.string().check(z.minLength(1)), ok: z.array(z.number().check(z.int())).check(z.minLength(1)) })),
});
export type WriteMapping = z.infer<typeof writeMappingSchema>;

export const mappingSchema = z.strictObject({
  /** Path appended to the backend URL, e.g. `/v2/vectordb/entities/search`. */
  path: z.string().check(z.startsWith('/')),
  /** Request body template. */
  body: z.unknown(),
  /** Where the list of hits is in the response. */
  results: dotPath,
  /** Within a hit: its id (string or number) ... */
  id: dotPath,
  /** ... its score ... */
  score: dotPath,
  /** ... and its metadata: a path, `*` for the hit without its id and score fields, or absent. */
  metadata: z.optional(z.union([dotPath, z.literal('*')])),
  /** Some APIs answer errors with HTTP 200: the response is good only when this path holds one of these values. */
  okWhen: z.optional(z.strictObject({ path: dotPath, in: z.array(primitive).check(z.minLength(1)) })),
  /** Where an error response keeps its message. */
  errorMessage: z.optional(dotPath),
  headers: z._default(z.record(z.string(), z.string()), {}),
  /** Writes through the proxy (`POST /upsert`, `POST /delete`); without them the store cannot be written. */
  upsert: z.optional(writeMappingSchema),
  delete: z.optional(writeMappingSchema),
});
export type HttpJsonMapping = z.infer<typeof mappingSchema>;

export const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('bearer'), token: z.string().check(z.minLength(1)) }),
  z.strictObject({ type: z.literal('basic'), username: z.string().check(z.minLength(1)), password: z.string() }),
  z.strictObject({ type: z.literal('header'), name: z.string().check(z.regex(/^[A-Za-z0-9-]+$/)), value: z.string().check(z.minLength(1)) }),
]);
export type BackendAuth = z.infer<typeof authSchema>;

const common = {
  url: z.url({ protocol: /^https?$/ }),
  auth: z.optional(authSchema),
  /** Response bodies above this are refused (a runaway backend must not exhaust memory). */
  maxResponseBytes: z._default(z.number().check(z.int(), z.gte(1024), z.lte(64 * 1024 * 1024)), 16 * 1024 * 1024),
  /** Keep-alive sockets per backend. */
  maxSockets: z._default(z.number().check(z.int(), z.gte(1), z.lte(1024)), 128),
};

export const backendConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('milvus'),
    ...common,
    collection: z.string().check(z.minLength(1)),
    vectorField: z._default(z.string().check(z.minLength(1)), 'vector'),
    outputFields: z._default(z.array(z.string()), []),
    dbName: z.optional(z.string().check(z.minLength(1))),
  }),
  z.strictObject({
    kind: z.literal('opensearch'),
    ...common,
    index: z.string().check(z.regex(/^[^/\s#?]+$/, 'an index name (no / # ? or spaces)')),
    vectorField: z.string().check(z.minLength(1)),
    sourceFields: z.optional(z.array(z.string())),
  }),
  z.strictObject({ kind: z.literal('generic'), ...common, path: z._default(z.string().check(z.startsWith('/')), '/search') }),
  z.strictObject({ kind: z.literal('custom'), ...common, mapping: mappingSchema }),
]);
export type BackendConfig = z.input<typeof backendConfigSchema>;

/** Milvus REST v2 (`POST /v2/vectordb/entities/search`); errors come back as HTTP 200 with `code` != 0. */
export function milvusMapping(o: { collection: string; vectorField: string; outputFields: string[]; dbName?: string }): HttpJsonMapping {
  return {
    path: '/v2/vectordb/entities/search',
    body: {
      ...(o.dbName ? { dbName: o.dbName } : {}),
      collectionName: o.collection,
      data: ['{{vector}}'],
      annsField: o.vectorField,
      limit: '{{topK}}',
      filter: '{{filter}}',
      outputFields: o.outputFields,
    },
    results: 'data',
    id: 'id',
    score: 'distance',
    metadata: '*',
    // Milvus 2.4+ answers code 0; some 2.3 releases answered 200.
    okWhen: { path: 'code', in: [0, 200] },
    errorMessage: 'message',
    headers: {},
    // Milvus keeps `version` as a field but does not compare it: last writer wins (the replay queue keeps one, the newest, write per id).
    upsert: {
      path: '/v2/vectordb/entities/upsert',
      body: { ...(o.dbName ? { dbName: o.dbName } : {}), collectionName: o.collection, data: '{{items}}' },
      item: { id: '{{id}}', [o.vectorField]: '{{vector}}', version: '{{version}}', '...': '{{metadata}}' },
      format: 'json',
      okWhen: { path: 'code', in: [0, 200] },
    },
    delete: {
      path: '/v2/vectordb/entities/delete',
      body: { ...(o.dbName ? { dbName: o.dbName } : {}), collectionName: o.collection, filter: '{{idsExpr}}' },
      item: '{{id}}',
      format: 'json',
      okWhen: { path: 'code', in: [0, 200] },
    },
  };
}

/** OpenSearch k-NN plugin (`POST /<index>/_search` with a `knn` query; efficient filtering inside it). */
export function openSearchMapping(o: { index: string; vectorField: string; sourceFields?: string[] }): HttpJsonMapping {
  return {
    path: `/${encodeURIComponent(o.index)}/_search`,
    body: {
      size: '{{topK}}',
      ...(o.sourceFields ? { _source: o.sourceFields } : {}),
      query: { knn: { [o.vectorField]: { vector: '{{vector}}', k: '{{topK}}', filter: '{{filter}}' } } },
    },
    results: 'hits.hits',
    id: '_id',
    score: '_score',
    metadata: '_source',
    errorMessage: 'error.reason',
    headers: {},
    // External versioning: OpenSearch applies a write only when its version is higher than the stored one (409 otherwise: already newer).
    upsert: {
      path: '/_bulk',
      item: [
        { index: { _index: o.index, _id: '{{id}}', version: '{{version}}', version_type: 'external' } },
        { [o.vectorField]: '{{vector}}', '...': '{{metadata}}' },
      ],
      format: 'ndjson',
      itemStatus: { results: 'items', status: 'index.status', ok: [200, 201, 409] },
    },
    delete: {
      path: '/_bulk',
      item: [{ delete: { _index: o.index, _id: '{{id}}', version: '{{version}}', version_type: 'external' } }],
      format: 'ndjson',
      itemStatus: { results: 'items', status: 'delete.status', ok: [200, 404, 409] },
    },
  };
}

/** This proxy's own request/response shape (also spoken by the demo backends). */
export function genericMapping(path = '/search'): HttpJsonMapping {
  return {
    path,
    body: { vector: '{{vector}}', topK: '{{topK}}', filter: '{{filter}}' },
    results: 'results',
    id: 'id',
    score: 'score',
    metadata: 'metadata',
    errorMessage: 'error.message',
    headers: {},
    upsert: { path: '/upsert', body: { vectors: '{{items}}' }, item: { id: '{{id}}', vector: '{{vector}}', metadata: '{{metadata}}', version: '{{version}}' }, format: 'json' },
    delete: { path: '/delete', body: { items: '{{items}}' }, item: { id: '{{id}}', version: '{{version}}' }, format: 'json' },
  };
}

export function mappingFor(c: z.infer<typeof backendConfigSchema>): HttpJsonMapping {
  switch (c.kind) {
    case 'milvus':
      return milvusMapping(c);
    case 'opensearch':
      return openSearchMapping(c);
    case 'generic':
      return genericMapping(c.path);
    case 'custom':
      return c.mapping;
  }
}

/** An HTTP-level or shape failure. `status` lets the breaker's predicate tell a 4xx from a 5xx. */
export class VectorBackendError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly backend: string,
  ) {
    super(message);
    this.name = 'VectorBackendError';
  }
}

const FILTER_DROP = Symbol('drop');

function render(template: unknown, q: SearchQuery): unknown {
  if (typeof template === 'string') {
    if (template === '{{vector}}') return q.vector;
    if (template === '{{topK}}') return q.topK;
    if (template === '{{filter}}') return q.filter === undefined ? FILTER_DROP : q.filter;
    return template;
  }
  if (Array.isArray(template)) return template.map((t) => render(t, q)).filter((v) => v !== FILTER_DROP);
  if (template && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) {
      const r = render(v, q);
      if (r !== FILTER_DROP) out[k] = r;
    }
    return out;
  }
  return template;
}

const SPREAD = '...';

/** Render a write template: exact "{{name}}" strings take the value (dropped when undefined), a "..." key spreads an object. */
function fill(template: unknown, vars: Record<string, unknown>): unknown {
  if (typeof template === 'string') {
    const m = /^\{\{(\w+)\}\}$/.exec(template);
    return m ? (Object.hasOwn(vars, m[1]!) ? vars[m[1]!] : template) : template;
  }
  if (Array.isArray(template)) return template.map((t) => fill(t, vars)).filter((v) => v !== undefined);
  if (template && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) {
      const r = fill(v, vars);
      if (k === SPREAD) {
        if (r && typeof r === 'object' && !Array.isArray(r)) for (const [mk, mv] of Object.entries(r)) if (!Object.hasOwn(out, mk) && mk !== '__proto__') out[mk] = mv;
      } else if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return template;
}

/** Path with `*` segments standing for "the first (only) value of this object" (bulk items are `{index: {...}}`). */
function getLoosePath(value: unknown, path: string): unknown {
  let cur = value;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = seg === '*' ? Object.values(cur as Record<string, unknown>)[0] : (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** Rendered write bodies per batch and write mapping (a batch is sent to two stores; gone with the batch). */
const RENDERED = new WeakMap<WriteBatch, Map<string, string>>();
const GENERIC_WRITE_KEYS: Record<WriteBatch['op'], string> = { upsert: JSON.stringify(genericMapping().upsert), delete: JSON.stringify(genericMapping().delete) };

function renderWrite(wm: WriteMapping, batch: WriteBatch): string {
  const items =
    batch.op === 'upsert'
      ? batch.vectors.map((v) => fill(wm.item, { id: v.id, vector: v.vector, version: v.version, metadata: v.metadata }))
      : batch.items.map((d) => fill(wm.item, { id: d.id, version: d.version }));
  if (wm.format === 'ndjson') return items.flatMap((lines) => (Array.isArray(lines) ? lines : [lines])).map((l) => JSON.stringify(l) + '\n').join('');
  const ids = batch.op === 'upsert' ? batch.vectors.map((v) => v.id) : batch.items.map((d) => d.id);
  return JSON.stringify(fill(wm.body ?? '{{items}}', { items, idsExpr: `id in [${ids.map((id) => JSON.stringify(id)).join(', ')}]` }));
}

export function getPath(value: unknown, path: string): unknown {
  if (path === '') return value;
  let cur = value;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

export interface HttpVectorBackendOptions {
  /** Label for errors and logs, e.g. "primary". */
  name: string;
  url: string;
  mapping: HttpJsonMapping;
  auth?: BackendAuth;
  maxResponseBytes?: number;
  maxSockets?: number;
}

export class HttpVectorBackend implements VectorBackend, VectorWriter {
  readonly description: string;
  private readonly base: URL;
  private readonly target: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly headers: Record<string, string>;
  private readonly maxBytes: number;
  private readonly topLevelKeys: string[];
  private readonly writeKeys: Partial<Record<WriteBatch['op'], string>> = {};
  private readonly writeTargets = new Map<string, URL>();
  private readonly typedHeaders: Record<string, Record<string, string>> = {};

  constructor(private readonly opts: HttpVectorBackendOptions) {
    const parsed = mappingSchema.safeParse(opts.mapping);
    if (!parsed.success) throw new Error(`invalid mapping for backend "${opts.name}": ${formatZodError(parsed.error)}`);
    this.base = new URL(opts.url);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new Error(`backend "${opts.name}" URL must be http(s): ${opts.url}`);
    this.target = new URL(opts.mapping.path, this.base);
    // Keep a path prefix of the base URL (e.g. https://host/milvus/ + /v2/...).
    if (this.base.pathname !== '/') this.target.pathname = this.base.pathname.replace(/\/$/, '') + opts.mapping.path;
    this.transport = this.base.protocol === 'https:' ? https : http;
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 128 });
    this.headers = { 'content-type': 'application/json', accept: 'application/json', ...opts.mapping.headers, ...authHeaders(opts.auth) };
    this.maxBytes = opts.maxResponseBytes ?? 16 * 1024 * 1024;
    this.description = `${opts.name} at ${this.base.origin}`;
    this.topLevelKeys = [opts.mapping.id, opts.mapping.score].filter((p) => !p.includes('.'));
  }

  async search(query: SearchQuery, signal: AbortSignal): Promise<SearchHit[]> {
    const m = this.opts.mapping;
    const body = JSON.stringify(render(m.body, query));
    const { status, text } = await this.post(body, signal);
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      if (status >= 400) throw this.fail(`HTTP ${status}: ${text.slice(0, 200)}`, status);
      throw this.fail(`answered HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`, 502);
    }
    if (status >= 400) throw this.fail(`HTTP ${status}: ${this.message(parsed) ?? text.slice(0, 200)}`, status);
    if (m.okWhen) {
      const v = getPath(parsed, m.okWhen.path);
      if (!m.okWhen.in.some((x) => x === v)) throw this.fail(`answered ${m.okWhen.path}=${JSON.stringify(v)}: ${this.message(parsed) ?? 'no message'}`, undefined);
    }
    const list = getPath(parsed, m.results);
    if (!Array.isArray(list)) throw this.fail(`response has no array at "${m.results}"`, 502);
    return list.map((hit, i) => this.toHit(hit, i));
  }

  /** Whether the mapping says how to upsert and delete (Milvus, OpenSearch, generic; a custom mapping when it has both). */
  get writable(): boolean {
    return Boolean(this.opts.mapping.upsert && this.opts.mapping.delete);
  }

  /** Write a batch through the store's upsert or delete mapping. */
  async write(batch: WriteBatch, signal: AbortSignal): Promise<void> {
    const wm = batch.op === 'upsert' ? this.opts.mapping.upsert : this.opts.mapping.delete;
    if (!wm) throw this.fail(`has no ${batch.op} mapping: it cannot be written through the proxy`, 501);
    // Both stores of a dual-write often share a format (generic/generic): the batch is serialized once.
    const key = (this.writeKeys[batch.op] ??= JSON.stringify(wm));
    let bodies = RENDERED.get(batch);
    if (!bodies) RENDERED.set(batch, (bodies = new Map()));
    let body = bodies.get(key);
    // the generic format is the proxy's own: the client's body, already checked, is what rendering would give
    if (body === undefined) bodies.set(key, (body = batch.raw !== undefined && key === GENERIC_WRITE_KEYS[batch.op] ? batch.raw : renderWrite(wm, batch)));
    const { status, text } = await this.post(body, signal, this.writeTarget(wm.path), wm.format === 'ndjson' ? 'application/x-ndjson' : 'application/json');
    this.checkWrite(wm, batch, status, text);
  }

  private checkWrite(wm: WriteMapping, batch: WriteBatch, status: number, text: string): void {
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      if (status >= 400) throw this.fail(`HTTP ${status}: ${text.slice(0, 200)}`, status);
      throw this.fail(`answered the ${batch.op} with HTTP ${status} and a body that is not JSON: ${text.slice(0, 200)}`, 502);
    }
    if (status >= 400) throw this.fail(`HTTP ${status} on ${batch.op}: ${this.message(parsed) ?? text.slice(0, 200)}`, status);
    if (wm.okWhen) {
      const v = getPath(parsed, wm.okWhen.path);
      if (!wm.okWhen.in.some((x) => x === v)) throw this.fail(`answered the ${batch.op} with ${wm.okWhen.path}=${JSON.stringify(v)}: ${this.message(parsed) ?? 'no message'}`, undefined);
    }
    if (wm.itemStatus) {
      const list = getPath(parsed, wm.itemStatus.results);
      if (!Array.isArray(list)) throw this.fail(`${batch.op} response has no array at "${wm.itemStatus.results}"`, 502);
      const bad = list.map((it, i) => ({ i, st: getLoosePath(it, wm.itemStatus!.status) })).filter((x) => typeof x.st !== 'number' || !wm.itemStatus!.ok.includes(x.st));
      if (bad.length) throw this.fail(`refused ${bad.length} of ${list.length} items of the ${batch.op} (first: item ${bad[0]!.i}, status ${String(bad[0]!.st)})`, 502);
    }
  }

  private writeTarget(p: string): URL {
    let t = this.writeTargets.get(p);
    if (t) return t;
    t = new URL(p, this.base);
    if (this.base.pathname !== '/') t.pathname = this.base.pathname.replace(/\/$/, '') + p;
    this.writeTargets.set(p, t);
    return t;
  }

  private toHit(hit: unknown, i: number): SearchHit {
    const m = this.opts.mapping;
    const id = getPath(hit, m.id);
    const score = getPath(hit, m.score);
    if (typeof id !== 'string' && typeof id !== 'number') throw this.fail(`hit ${i} has no string or number id at "${m.id}"`, 502);
    if (typeof score !== 'number') throw this.fail(`hit ${i} has no numeric score at "${m.score}"`, 502);
    const out: SearchHit = { id: String(id), score };
    if (m.metadata === '*') {
      const rest = { ...(hit as Record<string, unknown>) };
      for (const k of this.topLevelKeys) delete rest[k];
      out.metadata = rest;
    } else if (m.metadata !== undefined) {
      const md = getPath(hit, m.metadata);
      if (md && typeof md === 'object' && !Array.isArray(md)) out.metadata = md as Record<string, unknown>;
    }
    return out;
  }

  private message(parsed: unknown): string | undefined {
    const path = this.opts.mapping.errorMessage;
    if (path === undefined) return undefined;
    const v = getPath(parsed, path);
    return typeof v === 'string' ? v : v === undefined ? undefined : JSON.stringify(v);
  }

  private fail(message: string, status: number | undefined): VectorBackendError {
    return new VectorBackendError(`${this.description} ${message}`, status, this.opts.name);
  }

  /**
   * POST `body`; the signal cancels the request. The signal is listened to here rather than handed to
   * http.request, whose own wiring (an end-of-stream watcher on every request) cost about 20 µs of CPU per
   * call: a tenth of a proxied write's own work.
   */
  private post(body: string, signal: AbortSignal, target: URL = this.target, contentType?: string): Promise<{ status: number; text: string }> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: Error | null, value?: { status: number; text: string }) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value!);
      };
      const onAbort = () => {
        finish(abortError(signal));
        req.destroy();
      };
      const req = this.transport.request(
        target,
        { method: 'POST', agent: this.agent, headers: { ...(contentType ? this.headersFor(contentType) : this.headers), 'content-length': String(Buffer.byteLength(body)) } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.maxBytes) {
              res.destroy();
              finish(this.fail(`response exceeds ${this.maxBytes} bytes`, 502));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => finish(null, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', finish);
        },
      );
      req.on('error', finish);
      signal.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    });
  }

  private headersFor(contentType: string): Record<string, string> {
    if (contentType === this.headers['content-type']) return this.headers;
    return (this.typedHeaders[contentType] ??= { ...this.headers, 'content-type': contentType });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** What a cancelled call rejects with (the name Node's own cancellation uses), its reason as the cause. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

function authHeaders(auth: BackendAuth | undefined): Record<string, string> {
  if (!auth || auth.type === 'none') return {};
  if (auth.type === 'bearer') return { authorization: `Bearer ${auth.token}` };
  if (auth.type === 'basic') return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  return { [auth.name.toLowerCase()]: auth.value };
}

/** Build a backend from validated configuration (env JSON, SSM parameter) and optional credentials (a secret). */
export function httpVectorBackend(name: string, config: unknown, auth?: BackendAuth): HttpVectorBackend {
  const r = backendConfigSchema.safeParse(config);
  if (!r.success) throw new Error(`invalid ${name} backend configuration: ${formatZodError(r.error)}`);
  const c = r.data;
  return new HttpVectorBackend({ name, url: c.url, mapping: mappingFor(c), auth: auth ?? c.auth, maxResponseBytes: c.maxResponseBytes, maxSockets: c.maxSockets });
}
