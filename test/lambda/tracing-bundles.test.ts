/**
 * The deployed artifacts emit spans when the exporter endpoint is set, and nothing when it is not: the tracker
 * API Lambda bundle (built with the constructs' esbuild settings) run as the Lambda runtime runs it against
 * dynalite, and the log-ingest Cloud Run bundle (the GCP stack's bundler) run as a container, both exporting to
 * a local OTLP/HTTP receiver, as they would to the collector layer or to Cloud Trace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createProgressTable, dynaliteClient, DYNALITE_CREDENTIALS } from '../adapters/aws/dynalite-table';
import { startDynalite, type DynaliteServer } from '../support/dynalite';
import { one, startOtlpReceiver, tree, type OtlpReceiver } from '../support/otlp-receiver';
import { startCloudRunBundle, type RunningCloudRunBundle } from '../support/cloud-run-bundle';
import { bundleEntry } from './bundle-helpers';
import { apiEvent, runBundle } from './bundle-runner';

let receiver: OtlpReceiver;
let dynalite: DynaliteServer;
let bundle: { file: string; cleanup(): void };

beforeAll(async () => {
  [receiver, dynalite, bundle] = await Promise.all([startOtlpReceiver(), startDynalite(), bundleEntry('lambda/tracker-api.ts')]);
}, 120_000);
afterAll(async () => {
  bundle?.cleanup();
  await dynalite?.stop();
  await receiver?.close();
});

const lambdaEnv = (table: string, extra: Record<string, string> = {}) => ({
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: DYNALITE_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DYNALITE_CREDENTIALS.secretAccessKey,
  AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
  AWS_LAMBDA_FUNCTION_NAME: 'mm-tracker-api',
  POWERTOOLS_SERVICE_NAME: 'migration-monitor',
  POWERTOOLS_METRICS_NAMESPACE: 'MigrationMonitor',
  TABLE_NAME: table,
  ...extra,
});

describe('the tracker-api Lambda bundle with tracing on (the collector layer\'s endpoint set)', () => {
  it('continues the caller\'s traceparent through API → DynamoDB store calls, makes the sweep a root span, flushes before returning, and logs the trace id', async () => {
    const table = await createProgressTable(dynaliteClient(dynalite.endpoint), 'traced');
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const init = apiEvent('POST', '/api/migrations/t1/progress', { action: 'initialize', plan: [{ id: 'copy', name: 'Copy', estimatedDuration: 5 }] });
    (init.headers as Record<string, string>)['traceparent'] = caller;
    const bad = apiEvent('POST', '/api/migrations/t1/progress', { action: 'start_phase', phaseId: 'nope' });
    const run = await runBundle(path.dirname(bundle.file), lambdaEnv(table, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'tracker-api-bundle' }), [init, bad, { action: 'sweep' }]);
    expect(run.error).toBeUndefined();
    expect((run.results as Array<{ statusCode?: number }>).map((r) => r.statusCode)).toEqual([200, 404, undefined]);
    // flushed before each invocation returned: the spans are already there when the process is gone
    expect(receiver.rejected).toEqual([]);
    const spans = receiver.spans.filter((s) => s.resource['service.name'] === 'tracker-api-bundle');
    const invocation = spans.find((s) => s.traceId === '4bf92f3577b34da6a3ce929d0e0e4736' && s.parentSpanId === '00f067aa0ba902b7')!;
    expect(invocation).toMatchObject({ name: 'migration.tracker-api.request', kind: 'server', attributes: expect.objectContaining({ 'faas.invocation_id': 'req-0', 'faas.trigger': 'http' }) });
    expect(invocation.resource).toMatchObject({ 'cloud.provider': 'aws', 'faas.name': 'mm-tracker-api' });
    expect(tree(spans, invocation)).toEqual([
      'migration.tracker-api.request',
      '  POST /api/migrations/:id/progress',
      '    migration.tracker.parse',
      '    migration.tracker.apply',
      '      load dynamodb',
      '      commit dynamodb', // durable when it returns: no migration.tracker.durable span
      '      putHistory dynamodb', // the progress history, written once the change is durable
    ]);
    expect(one(spans, 'commit dynamodb').attributes).toMatchObject({ 'db.system.name': 'aws.dynamodb', 'db.operation.name': 'commit', 'migration.id': 't1' });
    const sweep = one(spans, 'migration.job.tracker-api');
    expect(sweep.parentSpanId).toBeUndefined();
    expect(sweep.attributes['faas.trigger']).toBe('timer');
    expect(parseInt(sweep.traceId.slice(0, 8), 16)).toBeGreaterThan(Date.now() / 1000 - 600); // X-Ray-compatible id
    // Powertools log lines carry the trace id of their invocation
    const logs = run.stdout.split('\n').filter((l) => l.startsWith('{') && !l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs.find((l) => l['message'] === 'staleness sweep done')).toMatchObject({ trace_id: sweep.traceId, span_id: sweep.spanId });
  });

  it('joins the invocation\'s X-Ray trace when the event carries no traceparent', async () => {
    const table = await createProgressTable(dynaliteClient(dynalite.endpoint), 'xray');
    const run = await runBundle(path.dirname(bundle.file), lambdaEnv(table, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'xray-bundle', _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' }), [{ action: 'sweep' }]);
    expect(run.error).toBeUndefined();
    const sweep = receiver.spans.find((s) => s.resource['service.name'] === 'xray-bundle' && s.name === 'migration.job.tracker-api')!;
    expect(sweep).toMatchObject({ traceId: '5759e988bd862e3fe1be46a994272793', parentSpanId: '53995c3f42cd8ad8' });
  });

  it('without the endpoint, exports nothing and sends nothing', async () => {
    const table = await createProgressTable(dynaliteClient(dynalite.endpoint), 'off');
    const before = receiver.requests;
    const run = await runBundle(path.dirname(bundle.file), lambdaEnv(table), [{ action: 'sweep' }]);
    expect(run.error).toBeUndefined();
    expect(receiver.requests).toBe(before);
    expect(run.stdout).not.toMatch(/trace_id/);
  });

  const XRAY = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  /** The Powertools JSON log lines of a run (the metrics lines, EMF documents, are not log lines). */
  const logLines = (out: string) => {
    const lines: Array<Record<string, unknown>> = [];
    let inNodeWarning = false; // the SDK's multi-line warning about this machine's Node 20 (Lambda runs Node 24)
    for (const l of out.split('\n')) {
      if (/^\(node:\d+\) Warning: NodeVersionSupportWarning/.test(l)) inNodeWarning = true;
      else if (l.startsWith('{')) inNodeWarning = false;
      if (inNodeWarning || !l.trim() || l.includes('"_aws"')) continue;
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        throw new Error(`a log line that is not JSON (so it carries no trace id): ${l.slice(0, 200)}`);
      }
    }
    return lines;
  };

  it('every log line carries the X-Ray trace id of its invocation, with tracing off too', async () => {
    const table = await createProgressTable(dynaliteClient(dynalite.endpoint), 'logs-off');
    const bad = apiEvent('POST', '/api/migrations/t1/progress', { action: 'start_phase', phaseId: 'nope' });
    const run = await runBundle(path.dirname(bundle.file), lambdaEnv(table, { _X_AMZN_TRACE_ID: XRAY, POWERTOOLS_LOG_LEVEL: 'DEBUG' }), [bad, { action: 'sweep' }]);
    expect(run.error).toBeUndefined();
    const lines = [...logLines(run.stdout), ...logLines(run.stderr)];
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const l of lines) expect(l).toMatchObject({ xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793' });
  });

  it('with tracing on, every log line carries the span\'s trace and span id, a dead collector\'s warning included', async () => {
    const table = await createProgressTable(dynaliteClient(dynalite.endpoint), 'logs-on');
    const dead = await startOtlpReceiver();
    await dead.close(); // nothing listens there any more
    const run = await runBundle(path.dirname(bundle.file), lambdaEnv(table, { _X_AMZN_TRACE_ID: XRAY, OTEL_EXPORTER_OTLP_ENDPOINT: dead.url, OTEL_EXPORTER_OTLP_TIMEOUT: '2000' }), [{ action: 'sweep' }]);
    expect(run.error).toBeUndefined(); // a collector that is down never fails an invocation
    const lines = [...logLines(run.stdout), ...logLines(run.stderr)];
    expect(lines.find((l) => l['message'] === 'staleness sweep done')).toBeDefined();
    expect(lines.find((l) => String(l['message']).includes('exporting'))).toMatchObject({ level: 'WARN' });
    for (const l of lines) expect(l).toMatchObject({ trace_id: '5759e988bd862e3fe1be46a994272793', span_id: expect.stringMatching(/^[0-9a-f]{16}$/), xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793' });
  });

  it('carries the tiny exporter, not the OpenTelemetry SDK or its exporters', () => {
    const code = fs.readFileSync(bundle.file, 'utf8');
    expect(code).not.toMatch(/@opentelemetry\/(sdk-|exporter-|otlp-|resources)/);
    expect(code).toContain('resourceSpans'); // sizes against the 500 KB limit: test/lambda/bundles.test.ts, `npm run bench -- bundles`
  });
});

describe('the log-ingest Cloud Run bundle with tracing on', () => {
  let run: RunningCloudRunBundle;
  beforeAll(async () => {
    const config = { MM_GCP_PROJECT: 'acme-migration', MM_ALERT_EMAILS: 'oncall@example.com', MM_TRACKER_URL: 'http://127.0.0.1:9', MM_LOG_INGEST_FILTER: 'resource.type="cloud_run_job"' };
    run = await startCloudRunBundle('logIngest', 'log-ingest', config, {
      MM_HANDLER: 'log-ingest',
      MM_TRACKER_URL: 'http://127.0.0.1:9',
      MM_TRACKER_TOKEN: 't',
      GOOGLE_CLOUD_PROJECT: 'acme-migration',
      K_SERVICE: 'mm-prod-log-ingest',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '0',
    });
  }, 120_000);
  afterAll(() => run?.stop());

  it('answers in a server span continuing the caller\'s trace, and its log line links to the trace in Cloud Trace', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const r = await fetch(`http://127.0.0.1:${run.port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x.e30.', traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      body: JSON.stringify({ message: { data: Buffer.from('not json').toString('base64'), messageId: 'm1' }, subscription: 'projects/acme-migration/subscriptions/s' }),
    });
    expect(r.status).toBe(200); // a malformed entry is acknowledged (never redelivered), not an error
    const spans = await receiver.waitFor((s) => s.some((x) => x.traceId === traceId));
    const server = spans.find((s) => s.traceId === traceId)!;
    expect(server).toMatchObject({ name: 'POST', kind: 'server', parentSpanId: 'b7ad6b7169203331', attributes: expect.objectContaining({ 'http.response.status_code': 200, 'migration.service': 'log-ingest' }) });
    expect(server.resource).toMatchObject({ 'cloud.provider': 'gcp', 'faas.name': 'mm-prod-log-ingest', 'cloud.account.id': 'acme-migration' });
    const lines = run.output.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = lines.find((l) => (l['httpRequest'] as { status?: number } | undefined)?.status === 200)!;
    expect(access).toMatchObject({ 'logging.googleapis.com/trace': `projects/acme-migration/traces/${traceId}`, 'logging.googleapis.com/spanId': server.spanId, 'logging.googleapis.com/trace_sampled': true });
  });
});
