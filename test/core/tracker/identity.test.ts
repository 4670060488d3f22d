/**
 * The audit trail names the authenticated caller: a named token's name, the runtime-verified principal, or
 * "anonymous" without auth. X-Actor is only ever an "on behalf of" note beside it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { readTokensFile } from '../../../lib/cli/local-runtime';
import type { HttpRequest } from '../../../lib/core/http';
import { Tracker } from '../../../lib/core/tracker/service';
import { trackerApi } from '../../../lib/core/tracker/api';
import { describeActor } from '../../../lib/core/tracker/identity';

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef01';
let srv: RunningServer;
let tracker: Tracker;

async function call(method: string, p: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(srv.url + p, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

describe('authenticated authors', () => {
  beforeEach(async () => {
    tracker = new Tracker({ store: FileStore.inMemory() });
    await tracker.initialize('default', {});
    srv = await serveHttp(trackerApi({ tracker, tokens: { alice: ALICE, bob: BOB } }));
  });
  afterEach(() => srv.close());

  it('records a forged X-Actor only as "on behalf of" beside the token\'s name', async () => {
    const a = await call('POST', '/api/migration/progress', { action: 'create_alert', severity: 'critical', message: 'replica lag 900s' }, { authorization: `Bearer ${ALICE}` });
    expect(a.status).toBe(200);
    const ack = await call('POST', '/api/migration/dashboard', { action: 'acknowledge_alert', alertId: a.json.alert.id }, { authorization: `Bearer ${BOB}`, 'x-actor': 'mallory-pretending-to-be-alice' });
    expect(ack.status).toBe(200);
    const s = await tracker.get('default');
    expect(s.alerts[0]).toMatchObject({ acknowledged: true, acknowledgedBy: 'bob' });
    const acts = await tracker.store.readActivity('default');
    expect(acts.find((e) => e.action === 'alert.create')).toMatchObject({ actor: 'alice' });
    const ackEntry = acts.find((e) => e.action === 'alert.acknowledge')!;
    expect(ackEntry).toMatchObject({ actor: 'bob', onBehalfOf: 'mallory-pretending-to-be-alice' });
    expect(acts.some((e) => e.actor === 'mallory-pretending-to-be-alice')).toBe(false);
    expect(describeActor(ackEntry)).toBe('bob (on behalf of mallory-pretending-to-be-alice)');
  });

  it('answers whoami with the token\'s name and refuses unknown tokens and malformed claims', async () => {
    expect((await call('GET', '/api/whoami', undefined, { authorization: `Bearer ${BOB}` })).json).toEqual({ name: 'bob', via: 'token' });
    expect((await call('GET', '/api/whoami', undefined, { authorization: 'Bearer not-a-token-of-anyone' })).status).toBe(401);
    expect((await call('POST', '/api/migration/dashboard', { action: 'pause' }, { 'x-actor': 'alice' })).status).toBe(401);
    const bad = await call('POST', '/api/migration/dashboard', { action: 'pause' }, { authorization: `Bearer ${ALICE}`, 'x-actor': 'x'.repeat(101) });
    expect(bad.status).toBe(400);
    expect((await tracker.get('default')).paused).toBe(false);
  });
});

describe('authors without tokens', () => {
  it('records "anonymous" without auth, and the runtime-verified principal when a runtime set one (never a header)', async () => {
    const t = new Tracker({ store: FileStore.inMemory() });
    await t.initialize('default', {});
    const api = trackerApi({ tracker: t });
    const req = (principal?: string, actor?: string): HttpRequest => ({
      method: 'POST',
      path: '/api/migration/dashboard',
      query: {},
      headers: { 'content-type': 'application/json', ...(actor ? { 'x-actor': actor } : {}) },
      body: JSON.stringify({ action: principal ? 'resume' : 'pause' }),
      ...(principal ? { principal } : {}),
    });
    expect((await api(req(undefined, 'alice'))).status).toBe(200);
    const arn = 'arn:aws:sts::123456789012:assumed-role/migration-job/job-42';
    expect((await api(req(arn, 'alice'))).status).toBe(200);
    const ev = (await t.get('default')).controlEvents;
    expect(ev.map((e) => [e.actor, e.onBehalfOf])).toEqual([['anonymous', 'alice'], [arn, 'alice']]);
  });
});

describe('tokens file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokens-'));
  const write = (name: string, body: string, mode = 0o600) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, body, { mode });
    fs.chmodSync(f, mode);
    return f;
  };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads name → token and refuses files that would make authors ambiguous or leak', () => {
    expect(readTokensFile(write('ok.json', JSON.stringify({ alice: ALICE, 'ci-job': BOB })))).toEqual({ alice: ALICE, 'ci-job': BOB });
    expect(() => readTokensFile(write('shared.json', JSON.stringify({ alice: ALICE, bob: ALICE })))).toThrow(/two names share one token/);
    expect(() => readTokensFile(write('short.json', JSON.stringify({ alice: 'short' })))).toThrow(/at least 16 characters/);
    expect(() => readTokensFile(write('open.json', JSON.stringify({ alice: ALICE }), 0o644))).toThrow(/readable by other users.*chmod 600/);
    expect(() => readTokensFile(write('bad.json', '{alice'))).toThrow(/not JSON/);
    expect(() => readTokensFile(path.join(dir, 'missing.json'))).toThrow(/ENOENT/);
  });
});
