/**
 * The log-ingest entry as it deploys: bundled by esbuild with the Lambda settings, run in a fresh Node
 * process on real CloudWatch Logs subscription events (base64 gzip), against DynamoDB on dynalite. The
 * Pub/Sub push entry runs on a real HTTP server and calls a real tracker API.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { DynamoDbProgressStore } from '../../lib/adapters/aws/dynamodb-store';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { BUNDLING } from '../../lib/constructs/aws/handler-function';
import { LOG_INGEST_ENTRY } from '../../lib/constructs/aws/log-subscription';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';
import { handler as pubsubHandler } from '../../cloud-run/log-ingest';
import { createProgressTable, dynaliteClient, DYNALITE_CREDENTIALS } from '../adapters/aws/dynalite-table';
import { startDynalite, type DynaliteServer } from '../support/dynalite';
import { fixture, readLines } from '../core/logwatch/helpers';
import { runBundle } from './bundle-runner';

const REPO = path.join(__dirname, '../..');
let scratch: string;
let bundleDir: string;
let dynalite: DynaliteServer;

function cwlEvent(logStream: string, lines: string[], firstId = 0, messageType = 'DATA_MESSAGE') {
  const data = {
    messageType,
    owner: '123456789012',
    logGroup: '/migration/tenant-migrator',
    logStream,
    subscriptionFilters: ['migration-monitor'],
    logEvents: lines.map((message, i) => ({ id: String(36000000000000000000000000000000000000000000000000000000n + BigInt(firstId + i)), timestamp: Date.UTC(2026, 0, 1) + i, message })),
  };
  return { awslogs: { data: gzipSync(Buffer.from(JSON.stringify(data))).toString('base64') } };
}

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'log-ingest-'));
  bundleDir = path.join(scratch, 'asset');
  // The deploy's own esbuild settings (HandlerFunction's BUNDLING), so the test runs what CDK would ship.
  await build({
    entryPoints: [LOG_INGEST_ENTRY],
    outfile: path.join(bundleDir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: BUNDLING.target,
    format: BUNDLING.format,
    minify: BUNDLING.minify,
    external: [...BUNDLING.externalModules],
    logLevel: 'silent',
  });
  // The Lambda runtime provides AWS SDK v3, and nothing else.
  fs.mkdirSync(path.join(scratch, 'node_modules'), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules/@aws-sdk'), path.join(scratch, 'node_modules/@aws-sdk'));
  dynalite = await startDynalite();
}, 120_000);

afterAll(async () => {
  await dynalite?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('log-ingest Lambda (bundled) on CloudWatch Logs subscription events', () => {
  it('turns the delivered log events into the exact tracker state in DynamoDB; redelivery changes nothing', async () => {
    const client = dynaliteClient(dynalite.endpoint);
    const table = await createProgressTable(client, 'ingest');
    const env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: DYNALITE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DYNALITE_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      TABLE_NAME: table,
      POWERTOOLS_SERVICE_NAME: 'migration-monitor',
      POWERTOOLS_METRICS_NAMESPACE: 'MigrationMonitor',
    };
    const lines = readLines(fixture('plain.log'));
    const first = cwlEvent('host-a/1234', lines.slice(0, 5), 0);
    const second = cwlEvent('host-a/1234', lines.slice(5), 5);
    const control = cwlEvent('CloudwatchLogs-Control', ['CWL CONTROL MESSAGE: Checking health of destination'], 0, 'CONTROL_MESSAGE');
    const run = await runBundle(bundleDir, env, [control, first, second, second]);
    expect(run.error).toBeUndefined();
    expect(run.results[0]).toEqual({ applied: 0, rejected: 0, ignored: 0, malformed: 0, empty: 0 });
    expect(run.results[1]).toEqual({ applied: 4, rejected: 0, ignored: 1, malformed: 0, empty: 0 });
    expect(run.results[2]).toEqual({ applied: 5, rejected: 0, ignored: 0, malformed: 0, empty: 0 });

    const store = new DynamoDbProgressStore({ tableName: table, client });
    const s = (await store.load('mig-1'))!.state;
    expect(s.phases.map((p) => [p.id, p.status, p.runId])).toEqual([
      ['bulk-copy', 'completed', '/migration/tenant-migrator/host-a/1234'],
      ['dual-write', 'completed', '/migration/tenant-migrator/host-a/1234'],
      ['cutover', 'completed', '/migration/tenant-migrator/host-a/1234'],
    ]);
    expect(s.metrics.failedOperations).toBe(2);
    expect(s.alerts).toHaveLength(1);
    // The redelivered batch (same event ids) was idempotent: one failure count per line, one alert.
    const activity = await store.readActivity('mig-1');
    expect(activity.filter((a) => a.action === 'metrics.update' && JSON.stringify(a.details).includes('failedOperations'))).toHaveLength(2);
    // the copied events count as successes (the running totals' growth, once each)
    expect(s.metrics.successfulOperations).toBeGreaterThan(0);
    expect(s.metrics.errorRate).toBeLessThan(1);
    // EMF on stdout: the tracker's metrics and the analyzer's observations, in the spec's namespace.
    const emf = run.stdout.split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf.some((d) => d['DualWriteFailures'] === 1 && d['TenantId'] === 't-1')).toBe(true);
    expect(emf.some((d) => d['PhaseCompleted'] !== undefined)).toBe(true);
  }, 120_000);

  it('fails the invocation on a broken event (Lambda retries, then the failure destination) and on a missing table setting', async () => {
    const env = { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, TABLE_NAME: 'x-table', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' };
    const bad = await runBundle(bundleDir, env, [{ awslogs: { data: 'bm90IGd6aXA=' } }]);
    expect(bad.error).toMatch(/not base64 gzipped JSON/);
    const noTable = await runBundle(bundleDir, { AWS_REGION: 'us-east-1' }, [cwlEvent('s', ['Migration started'])]);
    expect(noTable.error).toMatch(/bad environment: set TABLE_NAME/);
  }, 60_000);
});

describe('log-ingest Pub/Sub push endpoint (Cloud Logging sink → Pub/Sub → Cloud Run)', () => {
  let tracker: Tracker;
  let api: RunningServer;
  let ingest: RunningServer;
  const saved = { ...process.env };

  beforeAll(async () => {
    tracker = new Tracker({ store: FileStore.inMemory() });
    api = await serveHttp(trackerApi({ tracker, token: 'api-token' }));
    Object.assign(process.env, { MM_TRACKER_URL: api.url, MM_TRACKER_TOKEN: 'api-token' });
    ingest = await serveHttp(await pubsubHandler());
  });
  afterAll(async () => {
    process.env = saved;
    await ingest.close();
    await api.close();
  });

  const push = (entry: unknown, messageId: string) =>
    fetch(`${ingest.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: { data: Buffer.from(JSON.stringify(entry)).toString('base64'), messageId, publishTime: '2026-01-01T00:00:00Z' }, subscription: 'projects/p/subscriptions/mm-logs' }),
    });
  const entry = (payload: Record<string, unknown>, insertId: string) => ({
    insertId,
    logName: 'projects/p/logs/run.googleapis.com%2Fstdout',
    resource: { type: 'cloud_run_job', labels: { job_name: 'tenant-migrator', location: 'europe-west1' } },
    jsonPayload: payload,
    severity: 'INFO',
  });

  it('applies jsonPayload and textPayload entries to the tracker API; a redelivered message is applied once', async () => {
    let r = await push(entry({ message: 'Migration started', migration_id: 'g1', tenant_id: 't' }, 'a1'), 'm1');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ applied: 1 });
    r = await push(entry({ message: 'Bulk copy progress', migration_id: 'g1', events_count: 30, events_total: 60 }, 'a2'), 'm2');
    expect(await r.json()).toMatchObject({ applied: 1 });
    r = await push({ ...entry({}, 'a3'), jsonPayload: undefined, textPayload: 'WARNING Target write failed migration_id=g1 tenant_id=t' }, 'm3');
    expect(await r.json()).toMatchObject({ applied: 1 });
    await push({ ...entry({}, 'a3'), jsonPayload: undefined, textPayload: 'WARNING Target write failed migration_id=g1 tenant_id=t' }, 'm3');
    const s = await tracker.get('g1');
    expect(s.phases[0]).toMatchObject({ status: 'in_progress', progress: 50, runId: 'projects/p/logs/run.googleapis.com%2Fstdout|cloud_run_job|tenant-migrator|europe-west1' });
    expect(s.metrics.failedOperations).toBe(1);
  });

  it('acknowledges an unreadable log entry (counted, not redelivered) and refuses a request that is not a push', async () => {
    const r = await fetch(`${ingest.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: { data: 'bm90IGpzb24=', messageId: 'x' }, subscription: 's' }) });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ malformed: 1 });
    const bad = await fetch(`${ingest.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"hello": 1}' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/invalid Pub\/Sub push: message/);
    expect((await fetch(`${ingest.url}/`)).status).toBe(405);
  });

  it('answers 5xx (Pub/Sub redelivers) when the tracker API cannot be reached', async () => {
    const saved2 = { ...process.env };
    Object.assign(process.env, { MM_TRACKER_URL: 'http://127.0.0.1:9', MM_TRACKER_TOKEN: 't' });
    const down = await serveHttp(await pubsubHandler());
    process.env = saved2;
    try {
      const r = await fetch(`${down.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: { data: Buffer.from(JSON.stringify(entry({ message: 'Migration started' }, 'z'))).toString('base64'), messageId: 'z' }, subscription: 's' }),
      });
      expect(r.status).toBe(500);
    } finally {
      await down.close();
    }
  }, 30_000);
});
