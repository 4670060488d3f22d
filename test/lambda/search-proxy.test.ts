/**
 * The search-proxy Lambda as it deploys: lambda/search-proxy.ts bundled by esbuild with the construct's
 * options (AWS SDK external), invoked with API Gateway v2 / function URL events. Backends are real
 * HTTP servers on 127.0.0.1; SSM and Secrets Manager are the AWS JSON protocol served locally, reached by the
 * real SDK through AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DemoBackend, DemoIndex } from '../../lib/adapters/demo/demo-backend';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { json } from '../../lib/core/http';
import { createSearchProxyFromEnv } from '../../lib/compose/search-proxy';
import { secretsGetSecretValue, ssmGetParameter, startAwsJsonServer, type AwsJsonServer } from '../adapters/aws/aws-json-server';
import Redis from 'ioredis';
import { startRedis } from '../support/redis';
import { apiEvent } from './bundle-runner';
import { bundleEntry, captureStdout, emfDocuments as emf, loadHandler as loadBundle, localAwsEnv } from './bundle-helpers';

const VECTOR = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

let bundle: { file: string; cleanup(): void };
let aws: AwsJsonServer;
let primary: RunningServer;
let primaryMode: 'ok' | 'error' = 'ok';
const primaryAuth: string[] = [];
let fallback: DemoBackend;
const params: Record<string, string | undefined> = {};
const savedEnv = { ...process.env };

/** A function URL / HTTP API v2 event. */
const event = (method: string, path: string, body?: unknown): APIGatewayProxyEventV2 => apiEvent(method, path, body) as unknown as APIGatewayProxyEventV2;

const loadHandler = () => loadBundle<Handler>(bundle.file);

beforeAll(async () => {
  bundle = await bundleEntry('lambda/search-proxy.ts');
  primary = await serveHttp(async (req) => {
    primaryAuth.push(req.headers['authorization'] ?? '');
    if (primaryMode === 'error') return json(503, { error: { message: 'primary is down' } });
    return json(200, { results: [{ id: 'new-1', score: 0.9 }] });
  });
  fallback = await DemoBackend.start({ name: 'fallback', index: new DemoIndex() });
  aws = await startAwsJsonServer({
    'AmazonSSM.GetParameter': ssmGetParameter(params),
    'secretsmanager.GetSecretValue': secretsGetSecretValue({ 'search-proxy/backends': JSON.stringify({ primary: { type: 'bearer', token: 'primary-token' } }) }),
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([primary.close(), fallback.close(), aws.close()]);
  bundle.cleanup();
});

beforeEach(() => {
  primaryMode = 'ok';
  primaryAuth.length = 0;
  params['/mm/test/primary-url'] = primary.url;
  params['/mm/test/fallback-url'] = fallback.url;
  params['/mm/test/switch'] = 'auto';
  process.env = {
    ...savedEnv,
    ...localAwsEnv(aws.url),
    PRIMARY_BACKEND: JSON.stringify({ kind: 'generic' }),
    FALLBACK_BACKEND: JSON.stringify({ kind: 'generic' }),
    PRIMARY_URL_PARAMETER: '/mm/test/primary-url',
    FALLBACK_URL_PARAMETER: '/mm/test/fallback-url',
    BACKEND_CREDENTIALS_SECRET: 'search-proxy/backends',
    BREAKER_SWITCH_PARAMETER: '/mm/test/switch',
    SEARCH_PROXY_SETTINGS: JSON.stringify({ deadlineMs: 2000, primaryTimeoutMs: 500, consecutiveFailures: 2 }),
  };
});

it('answers POST /search from the primary, with URLs from SSM and the token from Secrets Manager, and writes EMF', async () => {
  const handler = loadHandler();
  const { result, lines } = await captureStdout(() => handler(event('POST', '/search', { vector: VECTOR, topK: 3 })));
  expect(result.statusCode).toBe(200);
  expect(result.headers).toMatchObject({ 'x-search-backend': 'primary', 'x-search-degraded': 'false' });
  expect(JSON.parse(result.body!)).toMatchObject({ servedBy: 'primary', results: [{ id: 'new-1', score: 0.9 }] });
  expect(primaryAuth).toEqual(['Bearer primary-token']);
  const docs = emf(lines);
  const names = docs.flatMap((d) => ((d['_aws'] as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> }).CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)));
  expect(names).toEqual(expect.arrayContaining(['ProxyRequests', 'ProxyLatency', 'BreakerState']));
  const requests = docs.find((d) => d['ProxyRequests'] !== undefined && d['Backend'] === 'primary')!;
  expect(requests).toMatchObject({ Outcome: 'success', ProxyRequests: 1, service: 'migration-monitor' });
  expect(aws.calls.filter((c) => c === 'secretsmanager.GetSecretValue')).toHaveLength(1);
});

it('falls back (degraded) when the primary fails, and reports the breaker opening', async () => {
  const handler = loadHandler();
  primaryMode = 'error';
  for (let i = 0; i < 2; i++) {
    const r = await handler(event('POST', '/search', { vector: VECTOR, topK: 3 }));
    expect(JSON.parse(r.body!)).toMatchObject({ servedBy: 'fallback', degraded: true, degradedReason: 'error' });
  }
  const { result, lines } = await captureStdout(() => handler(event('GET', '/health')));
  expect(JSON.parse(result.body!)).toMatchObject({ status: 'degraded', breakers: { primary: { state: 'open' } } });
  const state = emf(lines).find((d) => d['BreakerState'] !== undefined && d['Breaker'] === 'search-primary');
  expect(state).toMatchObject({ BreakerState: 2 });
});

it('follows the operator switch in Parameter Store', async () => {
  params['/mm/test/switch'] = '{"search-primary": "open"}';
  const handler = loadHandler();
  const r = await handler(event('POST', '/search', { vector: VECTOR, topK: 3 }));
  expect(JSON.parse(r.body!)).toMatchObject({ servedBy: 'fallback', degradedReason: 'operator_switch' });
  expect(primaryAuth).toHaveLength(0);
});

it('answers a bad request with 400 and a misconfiguration with 500 naming the problem', async () => {
  const handler = loadHandler();
  const bad = await handler(event('POST', '/search', { vector: 'nope' }));
  expect(bad.statusCode).toBe(400);
  expect(JSON.parse(bad.body!).error.message).toMatch(/vector/);
  process.env['PRIMARY_BACKEND'] = '{"kind": "milvus"';
  const broken = loadHandler();
  const r = await captureStdout(() => broken(event('POST', '/search', { vector: VECTOR, topK: 3 })));
  expect(r.result.statusCode).toBe(500);
  expect(JSON.parse(r.result.body!).error).toMatchObject({ code: 'misconfigured', message: expect.stringMatching(/bad environment: PRIMARY_BACKEND: not valid JSON/) });
});

describe('createSearchProxyFromEnv (Cloud Run and local use)', () => {
  const opts = { metrics: { record: () => undefined, flush: () => undefined }, awaitBackground: false, onError: () => undefined };

  it('takes URLs and credentials straight from the environment', async () => {
    const rt = await createSearchProxyFromEnv(
      {
        PRIMARY_BACKEND: JSON.stringify({ kind: 'generic', url: primary.url }),
        FALLBACK_BACKEND: JSON.stringify({ kind: 'generic', url: fallback.url }),
        BACKEND_CREDENTIALS: JSON.stringify({ primary: { type: 'header', name: 'x-api-key', value: 'k' } }),
        SEARCH_PROXY_MODE: 'fallback-only',
      },
      opts,
    );
    const r = await rt.handler({ method: 'POST', path: '/search', query: {}, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: VECTOR, topK: 2 }) });
    expect(JSON.parse(r.body)).toMatchObject({ servedBy: 'fallback', degraded: false, mode: 'fallback-only' });
    await rt.close();
  });

  it('shares breaker state through Redis when BREAKER_STATE_REDIS_URL is set (real redis-server; Cloud Run and local use: the AWS bundle leaves Redis out)', async () => {
    const redis = await startRedis();
    const env = {
      PRIMARY_BACKEND: JSON.stringify({ kind: 'generic', url: primary.url }),
      FALLBACK_BACKEND: JSON.stringify({ kind: 'generic', url: fallback.url }),
      SEARCH_PROXY_SETTINGS: JSON.stringify({ deadlineMs: 2000, primaryTimeoutMs: 500, consecutiveFailures: 2 }),
      BREAKER_STATE_REDIS_URL: redis.url,
    };
    const a = await createSearchProxyFromEnv(env, opts);
    let b: typeof a | undefined;
    const reader = new Redis(redis.url);
    try {
      primaryMode = 'error';
      const search = (rt: typeof a) => rt.handler({ method: 'POST', path: '/search', query: {}, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: VECTOR, topK: 2 }) });
      for (let i = 0; i < 3; i++) expect(JSON.parse((await search(a)).body)).toMatchObject({ servedBy: 'fallback', degraded: true });
      const keys = await reader.keys('mm:breaker:*');
      expect(keys.length).toBeGreaterThan(0);
      const states = await Promise.all(keys.map(async (k) => JSON.parse((await reader.hget(k, 's'))!) as { state: string }));
      expect(states.map((s) => s.state)).toContain('open');
      // An instance starting now (a cold start) adopts the shared OPEN state: it does not call the failing primary.
      b = await createSearchProxyFromEnv(env, opts);
      const before = primaryAuth.length;
      expect(JSON.parse((await search(b)).body)).toMatchObject({ servedBy: 'fallback', degraded: true });
      expect(primaryAuth.length).toBe(before);
    } finally {
      reader.disconnect();
      await a.close();
      await b?.close();
      await redis.stop();
    }
  });

  it('keeps writes the new store missed in the same Redis (Cloud Run): a new instance replays what a stopped one queued, lag back to 0', async () => {
    const redis = await startRedis();
    const oldStore = await DemoBackend.start({ name: 'old', index: new DemoIndex() });
    const newStore = await DemoBackend.start({ name: 'new', index: new DemoIndex() });
    const env = {
      PRIMARY_BACKEND: JSON.stringify({ kind: 'generic', url: newStore.url }),
      FALLBACK_BACKEND: JSON.stringify({ kind: 'generic', url: oldStore.url }),
      SEARCH_PROXY_SETTINGS: JSON.stringify({ stage: 'dual-write', replayIntervalMs: 50, queueRefreshMs: 50, followerBudgetMs: 200 }),
      BREAKER_STATE_REDIS_URL: redis.url,
    };
    const upsert = { method: 'POST', path: '/upsert', query: {}, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vectors: [{ id: 'cr-1', vector: VECTOR, version: 7 }] }) };
    const reader = new Redis(redis.url);
    let b: Awaited<ReturnType<typeof createSearchProxyFromEnv>> | undefined;
    try {
      await newStore.setMode({ mode: 'down' });
      const a = await createSearchProxyFromEnv(env, opts);
      expect(JSON.parse((await a.handler(upsert)).body)).toMatchObject({ acknowledgedBy: 'fallback', follower: { status: 'queued' }, syncLag: 1 });
      await a.close(); // the instance goes away
      expect(await reader.hlen('mm:replay:search:m')).toBe(1);
      await newStore.setMode({ mode: 'ok' });
      b = await createSearchProxyFromEnv(env, opts);
      expect(b.proxy.writer!.stats()).toMatchObject({ queue: 'redis' });
      let lag = b.proxy.writer!.stats().syncLag;
      for (let i = 0; i < 200 && lag > 0; i++) {
        await new Promise((r) => setTimeout(r, 25));
        lag = b.proxy.writer!.stats().syncLag;
      }
      expect(lag).toBe(0);
      expect(await reader.hlen('mm:replay:search:m')).toBe(0);
      const held = (await (await fetch(`${newStore.url}/records?limit=10`)).json()) as { items: Array<{ id: string; version: number }> };
      expect(held.items).toEqual([expect.objectContaining({ id: 'cr-1', version: 7 })]);
    } finally {
      reader.disconnect();
      await b?.close();
      await Promise.all([oldStore.close(), newStore.close()]);
      await redis.stop();
    }
  });

  it('names every problem in the environment', async () => {
    await expect(createSearchProxyFromEnv({ FALLBACK_BACKEND: '{}', SEARCH_PROXY_MODE: 'sideways', BREAKER_STATE_REDIS_URL: 'http://x' }, opts)).rejects.toThrow(
      /bad environment: PRIMARY_BACKEND: .*; SEARCH_PROXY_MODE: .*; BREAKER_STATE_REDIS_URL: a redis:\/\/ or rediss:\/\/ URL/,
    );
    await expect(
      createSearchProxyFromEnv({ PRIMARY_BACKEND: '{"kind":"generic","url":"http://127.0.0.1:1"}', FALLBACK_BACKEND: '{"kind":"generic","url":"http://127.0.0.1:1"}', BACKEND_CREDENTIALS: '{"primary":{"type":"bearer"}}' }, opts),
    ).rejects.toThrow(/backend credentials have the wrong shape: primary.token/);
    await expect(
      createSearchProxyFromEnv({ PRIMARY_BACKEND: '{"kind":"generic","url":"http://127.0.0.1:1"}', FALLBACK_BACKEND: '{"kind":"generic","url":"http://127.0.0.1:1"}', REPLAY_QUEUE_FILE: '/tmp/q', REPLAY_QUEUE_TABLE: 'breakers' }, opts),
    ).rejects.toThrow(/set REPLAY_QUEUE_FILE or REPLAY_QUEUE_TABLE, not both/);
  });
});
