/**
 * The validation handler as it deploys: lambda/validate.ts bundled by esbuild with the Lambda construct's
 * options (AWS SDK external), invoked with a scheduled event. The checks config comes from SSM and
 * the tracker token from Secrets Manager, both served locally in the AWS JSON protocol (no SSM or Secrets
 * Manager emulator runs here; the real SDK clients reach them through AWS_ENDPOINT_URL_*). The tracker is
 * the real tracker API over the embedded store. The Cloud Run entry is tested from source.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { FileReportSink } from '../../lib/adapters/file/file-report-sink';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { json } from '../../lib/core/http';
import { createValidateHttpHandler, createValidationRun, validateDepsFromEnv as depsFromEnv, type ValidationSummary } from '../../lib/compose/validate';
import { secretsGetSecretValue, ssmGetParameter, startAwsJsonServer, type AwsJsonServer } from '../adapters/aws/aws-json-server';
import { startTrackerServer, type TrackerServer } from '../support/tracker-server';
import { bundleEntry, captureStdout, emfDocuments, loadHandler, localAwsEnv } from './bundle-helpers';

let bundle: { file: string; cleanup(): void };
let data: string;
let aws: AwsJsonServer;
let tracker: TrackerServer;
const params: Record<string, string | undefined> = {};
const savedEnv = { ...process.env };

const context = (remainingMs = 60_000): Context =>
  ({ functionName: 'validate', awsRequestId: 'r1', getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

type Handler = (event: unknown, ctx?: Context) => Promise<ValidationSummary>;
const loadBundle = () => loadHandler<Handler>(bundle.file);

const config = (dir: string) => `
name: nightly
connectors:
  a: { type: file, path: ${dir}/a.jsonl, key: id, keyType: number, sorted: true }
  b: { type: file, path: ${dir}/b.jsonl, key: id, keyType: number, sorted: true }
checks:
  - { name: rows, kind: count, source: a, target: b, tolerance: 5 }
  - { name: records, kind: diff, source: a, target: b }
`;

beforeAll(async () => {
  bundle = await bundleEntry('lambda/validate.ts');
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-validate-lambda-'));
  const rows = (skip: number[]) =>
    Array.from({ length: 100 }, (_, i) => i + 1)
      .filter((i) => !skip.includes(i))
      .map((i) => JSON.stringify({ id: i, v: i * 2 }))
      .join('\n');
  fs.writeFileSync(path.join(data, 'a.jsonl'), rows([]));
  fs.writeFileSync(path.join(data, 'b.jsonl'), rows([10, 20]));
  params['/mm/test/validation-config'] = config(data);
  aws = await startAwsJsonServer({
    'AmazonSSM.GetParameter': ssmGetParameter(params),
    'secretsmanager.GetSecretValue': secretsGetSecretValue({ 'mm/tracker-token': 'tok' }),
  });
  tracker = await startTrackerServer('tok');
  await tracker.tracker.initialize('prod', { plan: [{ id: 'validation', name: 'Validation', estimatedDuration: 30 }] });
});

afterAll(async () => {
  process.env = savedEnv;
  await aws?.close();
  await tracker?.stop();
  bundle?.cleanup();
  fs.rmSync(data, { recursive: true, force: true });
});

describe('validation Lambda (bundle)', () => {
  beforeEach(() => {
    process.env = {
      ...savedEnv,
      ...localAwsEnv(aws.url),
      AWS_LAMBDA_FUNCTION_NAME: 'validate',
      VALIDATION_CONFIG_PARAMETER: '/mm/test/validation-config',
      VALIDATION_CHECKPOINT_DIR: path.join(data, 'cp'),
      MIGRATION_MONITOR_URL: tracker.url,
      MIGRATION_MONITOR_TOKEN_SECRET_ARN: 'mm/tracker-token',
      MIGRATION_MONITOR_MIGRATION: 'prod',
    };
  });

  it('runs the config from SSM, posts to the tracker with the token from Secrets Manager, writes EMF', async () => {
    const handler = loadBundle();
    const { result, lines } = await captureStdout(() => handler({ source: 'schedule', kind: 'validation' }, context()));
    expect(result).toMatchObject({
      verdict: 'fail',
      totals: { checks: 2, passed: 1, failed: 1 },
      failed: [{ name: 'records', kind: 'diff', summary: expect.stringContaining('2 missing') }],
      interrupted: false,
      tracker: { recorded: true, phaseStatus: 'started; failed (verdict fail)', problems: [] },
    });
    const s = await tracker.tracker.get('prod');
    expect(s.lastValidation).toMatchObject({ verdict: 'fail', runId: result.runId });
    expect(aws.calls).toEqual(expect.arrayContaining(['AmazonSSM.GetParameter', 'secretsmanager.GetSecretValue']));
    const emf = emfDocuments(lines);
    expect(emf.find((d) => 'ValidationFailed' in d)).toMatchObject({ ValidationFailed: 1, service: 'migration-monitor' });
    expect(emf.find((d) => d['Check'] === 'records' && 'ValidationChecks' in d)).toMatchObject({ Result: 'fail', ValidationChecks: 1 });
    expect(emf.find((d) => d['ViolationType'] === 'missing')).toMatchObject({ VerificationViolations: 2 });
  });

  it('a bad config is a handler error naming the problem', async () => {
    params['/mm/test/bad'] = 'checks:\n  - { kind: count, source: a }\n';
    process.env['VALIDATION_CONFIG_PARAMETER'] = '/mm/test/bad';
    await expect(loadBundle()({}, context())).rejects.toThrow(/validate: SSM parameter \/mm\/test\/bad: invalid validation config: checks\[0\]\.target: Invalid input: expected string, received undefined/);
    process.env['VALIDATION_CONFIG_PARAMETER'] = '/mm/test/missing';
    await expect(loadBundle()({}, context())).rejects.toThrow(/cannot read SSM parameter \/mm\/test\/missing: ParameterNotFound/);
  });
});

describe('validation on Cloud Run (source)', () => {
  it('POST runs the checks and answers the summary; GET is refused; reports go to the sink', async () => {
    const env = { VALIDATION_CONFIG: config(data), VALIDATION_CHECKPOINT_DIR: path.join(data, 'cp2') };
    const deps = await depsFromEnv(env);
    const sinkDir = path.join(data, 'reports');
    const h = createValidateHttpHandler({ ...deps, sink: new FileReportSink(sinkDir) });
    const post = await h({ method: 'POST', path: '/', query: {}, headers: {}, body: '' });
    expect(post.status).toBe(200);
    const summary = JSON.parse(post.body) as ValidationSummary;
    expect(summary).toMatchObject({ verdict: 'fail', reports: [expect.stringContaining('.json'), expect.stringContaining('.md')] });
    expect(fs.readFileSync(path.join(sinkDir, `${summary.runId}.md`), 'utf8')).toContain('# Validation FAILED: nightly');
    expect((await h({ method: 'GET', path: '/', query: {}, headers: {} })).status).toBe(405);
    expect((await h({ method: 'POST', path: '/', query: {}, headers: { 'content-type': 'application/json' }, body: '{"resume": "yes"}' })).status).toBe(400);
  });

  it('refuses an environment without exactly one config source', async () => {
    await expect(depsFromEnv({})).rejects.toThrow(/set exactly one of VALIDATION_CONFIG_PARAMETER, VALIDATION_CONFIG_PATH, VALIDATION_CONFIG/);
    await expect(depsFromEnv({ VALIDATION_CONFIG: 'x', MM_REPORT_SINK: 'gcs' })).rejects.toThrow(/MM_REPORT_SINK=gcs needs MM_REPORT_BUCKET/);
  });

  it('stops before the time budget runs out, and the next invocation resumes', async () => {
    let stall = true;
    const api: RunningServer = await serveHttp(async (req) => {
      const offset = Number(req.query['offset'] ?? 0);
      if (stall && offset >= 50) await new Promise((r) => setTimeout(r, 5000));
      return json(200, { items: Array.from({ length: 100 }, (_, i) => ({ id: i + 1, v: (i + 1) * 2 })).slice(offset, offset + 25) });
    });
    try {
      const cfg = `connectors:
  api: { type: http-json, url: "${api.url}/items", key: id, keyType: number, ordered: true, pageSize: 25 }
  a: { type: file, path: ${data}/a.jsonl, key: id, keyType: number, sorted: true }
checks:
  - { name: records, kind: diff, source: api, target: a, batchSize: 10, checkpointEvery: 10 }
`;
      const run = createValidationRun({ ...(await depsFromEnv({ VALIDATION_CONFIG: cfg, VALIDATION_CHECKPOINT_DIR: path.join(data, 'cp3') })), safetyMs: 0 });
      const first = await run({}, () => 1000); // 1 s left: the stalled page outlives it
      expect(first).toMatchObject({ interrupted: true, verdict: 'fail' });
      stall = false;
      const second = await run({}, () => 60_000);
      expect(second).toMatchObject({ interrupted: false, resumed: true, runId: first.runId, verdict: 'pass' });
    } finally {
      await api.close();
    }
  });
});
