/**
 * `migration-monitor cutover` and `rollback` end to end: the real CLI (bin/migration-monitor.js) against a
 * real tracker API, moving the stage of a real search proxy through each runtime's operator switch: the
 * local proxy's admin API, SSM Parameter Store served by moto_server (the real SDK on both sides), and a
 * Redis key on a real redis-server (the GCP switch).
 */
import YAML from 'yaml';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { SSMClient, PutParameterCommand, GetParameterCommand } from '@aws-sdk/client-ssm';
import { startDemoProxy, type DemoProxy } from '../../lib/adapters/demo/demo-proxy';
import { DemoBackend, DemoIndex } from '../../lib/adapters/demo/demo-backend';
import { httpVectorBackend } from '../../lib/adapters/http/vector-backend';
import { SsmOperatorSwitch } from '../../lib/adapters/aws/ssm-switch';
import { RedisBreakerStateStore } from '../../lib/adapters/redis/breaker-state';
import { RedisOperatorSwitch } from '../../lib/adapters/redis/operator-switch';
import { searchProxy, type SearchProxy } from '../../lib/core/search/proxy';
import type { ProgressOperation } from '../../lib/core/tracker/operations';
import { startTrackerServer, type TrackerServer } from '../support/tracker-server';
import { startMoto, type MotoServer } from '../support/moto';
import { startRedis, type RedisServer } from '../support/redis';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');
let tracker: TrackerServer;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, MIGRATION_MONITOR_URL: tracker.url, MIGRATION_MONITOR_TOKEN: 'tok', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1) : 0, stdout, stderr }),
    );
  });
}

const validation = (verdict: 'pass' | 'fail'): ProgressOperation => ({
  action: 'record_validation',
  verdict,
  checks: [{ name: 'row-counts', kind: 'count', passed: verdict === 'pass', summary: verdict === 'pass' ? '100000 = 100000' : '3 rows missing' }],
});

beforeAll(async () => {
  tracker = await startTrackerServer('tok');
  await tracker.tracker.initialize('default', {});
});
afterAll(() => tracker.stop());

describe('locally, through the proxy admin API', () => {
  let demo: DemoProxy;
  beforeAll(async () => {
    demo = await startDemoProxy({ token: 'tok', settings: { stage: 'old-only' }, log: () => undefined });
  });
  afterAll(() => demo.close());
  const local = (args: string[]) => cli([...args, '--proxy', demo.url, '--actor', 'alice']);

  it('walks old-only → dual-write → shadow → new-primary behind the gate, and rolls back at once', async () => {
    const dw = await local(['cutover']);
    expect(dw).toMatchObject({ code: 0, stderr: '' });
    expect(dw.stdout).toMatch(/old-only -> dual-write/);
    expect(demo.proxy.stage()).toBe('dual-write');

    // past dual-write the gate applies: no validation yet
    const none = await local(['cutover']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/cutover to shadow refused: no validation has been recorded/);
    await tracker.tracker.apply('default', validation('fail'));
    const failed = await local(['cutover']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/failed: row-counts \(3 rows missing\)/);
    expect(demo.proxy.stage()).toBe('dual-write');
    expect((await local(['cutover', '--force'])).code).toBe(2);
    const forced = await local(['cutover', '--force', '--reason', 'known gap in archived rows']);
    expect(forced.code).toBe(0);
    expect(demo.proxy.stage()).toBe('shadow');

    await tracker.tracker.apply('default', validation('pass'));
    const stale = await local(['cutover', '--max-validation-age', '0.0001']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/older than --max-validation-age/);
    expect((await local(['cutover', '--to', 'dual-write'])).code).toBe(2);
    const np = await local(['cutover']);
    expect(np.code).toBe(0);
    expect(demo.proxy.stage()).toBe('new-primary');
    expect(demo.proxy.readMode()).toBe('primary-only');

    const rb = await local(['rollback', '--reason', 'p99 too high']);
    expect(rb.code).toBe(0);
    expect(rb.stdout).toMatch(/new-primary -> dual-write/);
    expect(demo.proxy.stage()).toBe('dual-write');
    // rollback keeps writing both stores, the old one acknowledging
    const w = await fetch(`${demo.url}/upsert`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vectors: [{ id: 'after-rollback', vector: [1, 2, 3, 4, 5, 6, 7, 8], version: 1 }] }) });
    expect(await w.json()).toMatchObject({ acknowledgedBy: 'fallback', follower: { backend: 'primary', status: 'written' } });
    expect((await local(['rollback'])).code).toBe(2); // already on the old store

    const state = await tracker.tracker.get('default');
    expect(state.cutover).toMatchObject({ stage: 'dual-write', from: 'new-primary', actor: 'token', onBehalfOf: 'alice', rolledBack: true, reason: 'p99 too high' }); // authenticated name; --actor beside it
    const overview = (await tracker.tracker.overview('default')) as { status: string };
    expect(overview.status).toBe('rolled_back');
    const acts = (await tracker.tracker.store.readActivity('default')).filter((a) => a.action === 'migration.cutover' || a.action === 'migration.rollback');
    expect(acts.map((a) => [a.action, `${a.actor}/${a.onBehalfOf}`, a.details?.['stage'], a.details?.['forced']])).toEqual([
      ['migration.cutover', 'token/alice', 'dual-write', false],
      ['migration.cutover', 'token/alice', 'shadow', true],
      ['migration.cutover', 'token/alice', 'new-primary', false],
      ['migration.rollback', 'token/alice', 'dual-write', false],
    ]);
    expect(String(acts[1]!.details?.['reason'])).toMatch(/known gap in archived rows \(gate: the latest validation .* failed/);
    // a cutover clears the rolled_back status
    expect((await local(['cutover', '--to', 'shadow'])).code).toBe(0);
    expect(((await tracker.tracker.overview('default')) as { status: string }).status).not.toBe('rolled_back');
  });

  it('prints the move in the one output format: the same record in JSON and YAML', async () => {
    const rb = await local(['rollback', '-o', 'json']);
    expect(rb.code).toBe(0);
    const move = JSON.parse(rb.stdout);
    expect(move).toMatchObject({ action: 'rollback', from: 'shadow', to: 'dual-write', recorded: true });
    const cut = await cli(['-o', 'yaml', 'cutover', '--to', 'shadow', '--proxy', demo.url, '--force', '--reason', 'yaml please']);
    expect(cut.code).toBe(0);
    const y = YAML.parse(cut.stdout);
    expect(y).toMatchObject({ action: 'cutover', from: 'dual-write', to: 'shadow', where: move.where, recorded: true });
    expect(Object.keys(y).sort()).toEqual(['action', 'forced', 'from', 'gate', 'recorded', 'to', 'where']);
    const md = await local(['rollback', '-o', 'markdown']);
    expect(md.stdout).toMatch(/^\| to \| dual-write \|$/m);
  });

  it('bad usage is exit 2 and moves nothing; an unreachable switch is exit 3', async () => {
    const before = demo.proxy.stage();
    expect((await local(['cutover', '--to', 'everything'])).stderr).toMatch(/--to must be one of old-only, dual-write, shadow, new-primary/);
    expect((await cli(['rollback', '--proxy', demo.url, '--switch-parameter', '/x'])).code).toBe(2);
    const down = await cli(['rollback', '--proxy', 'http://127.0.0.1:9']);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot reach the search proxy/);
    expect(demo.proxy.stage()).toBe(before);
  });
});

describe('on AWS (SSM Parameter Store, served by moto_server) and GCP (a Redis key)', () => {
  let moto: MotoServer;
  let redis: RedisServer;
  let primary: DemoBackend;
  let fallback: DemoBackend;
  const clients: Array<{ close(): void }> = [];
  const proxies: SearchProxy[] = [];
  beforeAll(async () => {
    [moto, redis] = await Promise.all([startMoto(), startRedis()]);
    primary = await DemoBackend.start({ name: 'primary', index: new DemoIndex() });
    fallback = await DemoBackend.start({ name: 'fallback', index: new DemoIndex() });
    await tracker.tracker.apply('default', validation('pass'));
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    for (const c of clients) c.close();
    await Promise.all([moto?.stop(), redis?.stop(), primary?.close(), fallback?.close()]);
  });

  const proxyWith = (sw: SsmOperatorSwitch | RedisOperatorSwitch) => {
    const p = httpVectorBackend('primary', { kind: 'generic', url: primary.url });
    const f = httpVectorBackend('fallback', { kind: 'generic', url: fallback.url });
    clients.push(p, f);
    const proxy = searchProxy({ primary: p, fallback: f, writers: { primary: p, fallback: f }, operatorSwitch: sw, stageSwitch: sw, settings: { stage: 'old-only' } });
    proxies.push(proxy);
    return proxy;
  };

  it('SSM: cutover and rollback write the parameter the proxies read, keeping its breaker positions', async () => {
    const PARAM = '/mm/test/search-proxy/breaker-switch';
    const ssm = new SSMClient({ endpoint: moto.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ssm.send(new PutParameterCommand({ Name: PARAM, Value: '{"search-primary": "open"}', Type: 'String' }));
    const proxy = proxyWith(new SsmOperatorSwitch({ parameterName: PARAM, client: ssm, ttlMs: 1 }));
    await proxy.startWrites({ background: false });
    expect(proxy.stage()).toBe('old-only'); // no stage in the parameter: the settings decide
    const aws = (args: string[]) => cli([...args, '--switch-parameter', PARAM, '--actor', 'bob'], moto.env);

    expect((await aws(['cutover'])).code).toBe(0);
    const value = JSON.parse((await ssm.send(new GetParameterCommand({ Name: PARAM }))).Parameter!.Value!);
    expect(value).toEqual({ 'search-primary': 'open', mode: 'dual-write' });
    await proxy.refreshStage(true);
    expect(proxy.stage()).toBe('dual-write');
    expect((await proxy.breakers.primary.sync(true), proxy.breakers.primary.stats().forced)).toBe('open');

    expect((await aws(['cutover', '--to', 'new-primary'])).code).toBe(0);
    await proxy.refreshStage(true);
    expect(proxy.stage()).toBe('new-primary');
    const rb = await aws(['rollback']);
    expect(rb).toMatchObject({ code: 0 });
    expect(rb.stdout).toMatch(/new-primary -> dual-write in SSM parameter \/mm\/test/);
    await proxy.refreshStage(true);
    expect(proxy.stage()).toBe('dual-write');
    expect((await tracker.tracker.get('default')).cutover).toMatchObject({ actor: 'token', onBehalfOf: 'bob', stage: 'dual-write', rolledBack: true });
    ssm.destroy();
  });

  it('GCP: the same moves through a Redis key', async () => {
    const store = await RedisBreakerStateStore.connect(redis.url);
    const sw = new RedisOperatorSwitch(store.client, 'mm:switch', 1);
    const proxy = proxyWith(sw);
    await proxy.startWrites({ background: false });
    const gcp = (args: string[]) => cli([...args, '--switch-redis', redis.url, '--switch-key', 'mm:switch', '--actor', 'carol']);
    expect((await gcp(['cutover', '--to', 'shadow'])).code).toBe(0);
    await proxy.refreshStage(true);
    expect(proxy.stage()).toBe('shadow');
    expect(proxy.readMode()).toBe('shadow');
    expect((await gcp(['rollback', '--to', 'old-only'])).code).toBe(0);
    await proxy.refreshStage(true);
    expect(proxy.stage()).toBe('old-only');
    const noKey = await cli(['cutover', '--switch-redis', redis.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--switch-redis needs --switch-key/);
    await store.close();
  });

  it('GCP: without a switch flag, the proxies\' own variables (what the GCP stack outputs) name the switch', async () => {
    const store = await RedisBreakerStateStore.connect(redis.url);
    const sw = new RedisOperatorSwitch(store.client, 'mm:env-switch', 1);
    const proxy = proxyWith(sw);
    await proxy.startWrites({ background: false });
    const vars = { BREAKER_STATE_REDIS_URL: redis.url, BREAKER_SWITCH_REDIS_KEY: 'mm:env-switch' };
    const moved = await cli(['rollback', '--to', 'old-only', '--actor', 'dave'], vars);
    expect(moved).toMatchObject({ code: 0, stderr: '' });
    expect(moved.stdout).toMatch(/-> old-only in Redis key mm:env-switch/);
    await proxy.refreshStage(true);
    expect(proxy.stage()).toBe('old-only');
    // a flag still wins over the variables
    expect((await cli(['cutover', '--switch-redis', redis.url, '--switch-key', 'mm:other', '--actor', 'dave'], vars)).code).toBe(0);
    await proxy.refreshStage(true);
    expect(proxy.stage()).toBe('old-only');
    const noKey = await cli(['cutover'], { BREAKER_STATE_REDIS_URL: redis.url });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/BREAKER_STATE_REDIS_URL is set without BREAKER_SWITCH_REDIS_KEY/);
    const caWithoutTls = await cli(['cutover'], { ...vars, BREAKER_STATE_REDIS_CA: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' });
    expect(caWithoutTls.code).toBe(2);
    expect(caWithoutTls.stderr).toMatch(/BREAKER_STATE_REDIS_CA is set but BREAKER_STATE_REDIS_URL is not a rediss:\/\/ \(TLS\) URL/);
    await store.close();
  });
});
