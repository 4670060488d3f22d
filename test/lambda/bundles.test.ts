/**
 * What deploys, works: synthesize the app WITH esbuild bundling, then run each handler from its asset
 * bundle in cdk.out (not from source) in a fresh Node process, as the Lambda runtime does (require
 * index.js, call `handler`), with the environment the template gives it, answering realistic events of its
 * trigger (for scheduled handlers: the very input the template's schedule sends) against real local
 * servers: dynalite for DynamoDB, s3rver for S3, a local webhook for Slack. Secrets Manager and SSM have no
 * local server here, so a minimal AWS JSON-protocol endpoint stands in for them.
 */
import * as fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib';
import { DynamoDbProgressStore } from '../../lib/adapters/aws/dynamodb-store';
import { FileStore } from '../../lib/adapters/file/file-store';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';
import { buildApp } from '../../stacks/aws/main';
import { secretsGetSecretValue, ssmGetParameter, startAwsJsonServer, type AwsJsonServer } from '../adapters/aws/aws-json-server';
import { createProgressTable, dynaliteClient, DYNALITE_CREDENTIALS } from '../adapters/aws/dynalite-table';
import { startDynalite, type DynaliteServer } from '../support/dynalite';
import { startS3rver, type RunningS3 } from '../support/s3rver';
import { startIamGateway } from '../support/sigv4-verifier';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { motoQueue, startMoto } from '../support/moto';
import { startCapture } from '../support/http-capture';
import { apiEvent, lambdaRuntimeEnv, runBundle as runBundleOnce, snsAlarmEvent, type BundleRun } from './bundle-runner';
import { bundlesOverLimit, LAMBDA_BUNDLE_TARGET_BYTES } from './bundle-helpers';
import { DemoBackend, DemoIndex } from '../../lib/adapters/demo/demo-backend';

const REPO = path.join(__dirname, '../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-test-'));
const BUCKET = 'mm-bundle-reports';
const REPORT_SLACK_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/report-slack';
let dynalite: DynaliteServer;
let s3: RunningS3;
/** The FilterPolicy of the pager topic's subscriptions in the template. */
let pagerFilterPolicy: unknown;
let functions: Record<string, { dir: string; env: Record<string, unknown>; scheduleInput?: unknown }>;
/** Every CloudWatch alarm's metric(s) in the template, for the telemetry contract. */
let alarmMetrics: Array<{ alarm: string; namespace: string; name: string; dimensions: Record<string, unknown> }>;
/** What every bundle run in this file wrote on stdout (EMF documents among it). */
const emitted: string[] = [];
const runBundle: typeof runBundleOnce = async (...args) => {
  const r = await runBundleOnce(...args);
  emitted.push(r.stdout);
  return r;
};

/** The handler's name from its construct path. */
const NAMES: Array<[RegExp, string]> = [
  [/\/TrackerApi\//, 'tracker-api'],
  [/\/SlackNotifier\//, 'slack-notifier'],
  [/\/Report\//, 'report'],
  [/\/Validation\//, 'validate'],
  [/\/LogSubscription\//, 'log-ingest'],
  [/\/SearchProxy\//, 'search-proxy'],
];

beforeAll(async () => {
  [dynalite, s3] = await Promise.all([startDynalite(), startS3rver([BUCKET])]);
  const outdir = path.join(scratch, 'cdk.out');
  // Real bundling: no `aws:cdk:bundling-stacks` override. Every optional handler on, so each one is bundled.
  const app = new App({
    outdir,
    analyticsReporting: false,
    builtinCloudFormationValidation: false,
    context: {
      env: 'dev',
      slackWebhookSecret: 'migration/slack-webhook',
      pagerEndpoints: 'pager@acme.pagerduty.com',
      reportSlackWebhookSecret: 'migration/report-slack',
      validation: { configParameter: '/migration/validation-config', everyMinutes: 30, migrationId: 'bundle-m' },
      logGroups: '/ecs/tenant-migrator',
      searchProxy: {
        primary: { config: { kind: 'milvus', collection: 'docs', vectorField: 'embedding' }, urlParameter: '/migration/search/primary-url' },
        fallback: { config: { kind: 'opensearch', index: 'docs', vectorField: 'embedding' }, urlParameter: '/migration/search/fallback-url' },
      },
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
    },
  });
  const { stack } = buildApp(app);
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, any> };
  // What each schedule sends to its target, by the target function's logical id.
  const inputs = new Map<string, unknown>();
  for (const r of Object.values(template.Resources)) {
    if (r.Type === 'AWS::Scheduler::Schedule') inputs.set(r.Properties.Target.Arn['Fn::GetAtt'][0], JSON.parse(r.Properties.Target.Input));
  }
  alarmMetrics = [];
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    const p = r.Properties;
    const refs = p.MetricName ? [{ Namespace: p.Namespace, MetricName: p.MetricName, Dimensions: p.Dimensions }] : (p.Metrics ?? []).filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric);
    for (const m of refs) alarmMetrics.push({ alarm: p.AlarmName ?? logicalId, namespace: m.Namespace, name: m.MetricName, dimensions: Object.fromEntries((m.Dimensions ?? []).map((d: any) => [d.Name, d.Value])) });
  }
  const pagerSubs = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::SNS::Subscription' && String(r.Properties.TopicArn?.Ref).includes('PagerTopic'));
  expect(pagerSubs).toHaveLength(1);
  pagerFilterPolicy = pagerSubs[0]![1].Properties.FilterPolicy;
  functions = {};
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const cdkPath: string = r.Metadata['aws:cdk:path'];
    const name = NAMES.find(([re]) => re.test(cdkPath))?.[1] ?? cdkPath;
    functions[name] = { dir: path.join(outdir, r.Metadata['aws:asset:path']), env: r.Properties.Environment?.Variables ?? {}, scheduleInput: inputs.get(logicalId) };
  }
  // The Lambda Node.js runtime provides AWS SDK v3 (the bundles leave it out): provide it, and nothing else.
  fs.mkdirSync(path.join(outdir, 'node_modules'), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules/@aws-sdk'), path.join(outdir, 'node_modules/@aws-sdk'));
}, 240_000);

afterAll(async () => {
  await dynalite?.stop();
  await s3?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** The template's environment with CloudFormation references replaced by the local equivalents. */
function envFor(fn: { env: Record<string, unknown> }, resolved: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fn.env)) out[k] = typeof v === 'string' ? v : resolved[k] ?? '';
  return out;
}

/** pg's optional native binding: required (in a try) only when `pg.native` is used, which the connectors never do. */
const OPTIONAL = ['pg-native'];

/** s3rver checks signatures against these; dynalite and the JSON endpoint accept anything. */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const awsEnv = (extra: Record<string, string>, credentials = DYNALITE_CREDENTIALS): Record<string, string> => ({ ...lambdaRuntimeEnv(credentials), ...extra });

describe('handler bundles from cdk.out', () => {
  it('bundles each handler into one file that needs nothing but Node built-ins and the runtime AWS SDK', () => {
    expect(Object.keys(functions).sort()).toEqual(['log-ingest', 'report', 'search-proxy', 'slack-notifier', 'tracker-api', 'validate']);
    for (const [name, fn] of Object.entries(functions)) {
      const code = fs.readFileSync(path.join(fn.dir, 'index.js'), 'utf8');
      const requires = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
      const foreign = requires.filter((r) => !r.startsWith('node:') && !r.startsWith('@aws-sdk/') && !require('node:module').builtinModules.includes(r) && !OPTIONAL.includes(r));
      expect({ name, foreign }).toEqual({ name, foreign: [] });
      expect(code).not.toContain('zod/v4/locales'); // zod's namespace import keeps locales out
      // GCP adapters are defined out of every AWS bundle, SMTP out of the SES/Slack report
      expect({ name, gcp: /google-auth-library|@google-cloud\/storage|storage\.googleapis\.com/.test(code) }).toEqual({ name, gcp: false });
    }
    const report = fs.readFileSync(path.join(functions['report']!.dir, 'index.js'));
    expect(report.toString()).not.toMatch(/nodemailer/i);
    // the search proxy shares breaker state through DynamoDB on AWS: no Redis client in its bundle
    const proxy = fs.readFileSync(path.join(functions['search-proxy']!.dir, 'index.js'), 'utf8');
    expect(proxy).toContain('BREAKER_STATE_TABLE');
    expect(proxy).not.toMatch(/ioredis|denque|cluster-key-slot/i);
  });

  it('keeps every handler bundle the stack deploys within the 300 KB target (the validation handler with its default drivers included)', () => {
    expect(Object.keys(functions).length).toBeGreaterThanOrEqual(6);
    expect(bundlesOverLimit(Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, path.join(fn.dir, 'index.js')])), LAMBDA_BUNDLE_TARGET_BYTES)).toEqual([]);
  });

  it('tracker-api answers HTTP API v2 events and the scheduled sweep against dynalite', async () => {
    const client = dynaliteClient(dynalite.endpoint);
    const table = await createProgressTable(client, 'bundle');
    const fn = functions['tracker-api']!;
    const env = awsEnv({ ...envFor(fn, { TABLE_NAME: table }), AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint });
    const plan = [
      { id: 'schema', name: 'Schema', estimatedDuration: 10 },
      { id: 'copy', name: 'Copy data', estimatedDuration: 90, dependencies: ['schema'] },
    ];
    const caller = 'arn:aws:sts::123456789012:assumed-role/ci-runner/job-42';
    const run: BundleRun = await runBundle(fn.dir, env, [
      apiEvent('POST', '/api/migrations/bundle-m1/progress', { action: 'initialize', name: 'Bundle test', plan }, { userArn: caller }),
      apiEvent('POST', '/api/migrations/bundle-m1/progress', { action: 'start_phase', phaseId: 'schema' }, { userArn: caller }),
      apiEvent('POST', '/api/migrations/bundle-m1/progress', { action: 'update_phase', phaseId: 'schema', progress: 50 }, { userArn: caller, idempotencyKey: 'upd-1' }),
      apiEvent('POST', '/api/migrations/bundle-m1/progress', { action: 'update_phase', phaseId: 'schema', progress: 50 }, { userArn: caller, idempotencyKey: 'upd-1' }),
      apiEvent('GET', '/api/migrations/bundle-m1/progress'),
      apiEvent('GET', '/api/migrations/bundle-m1/activity'),
      apiEvent('POST', '/api/migrations/bundle-m1/progress', '{"action": "update_phase",', { userArn: caller }),
      { action: 'sweep' },
      { version: '0', id: 'e1', 'detail-type': 'Scheduled Event', source: 'aws.scheduler', detail: {} },
    ]);
    expect(run.error).toBeUndefined();
    const [init, start, upd, replay, get, activity, bad, sweep, scheduled] = run.results as any[];
    expect(init.statusCode).toBe(200);
    expect(JSON.parse(init.body)).toMatchObject({ ok: true, migrationId: 'bundle-m1', created: true, phases: ['schema', 'copy'] });
    expect(start.statusCode).toBe(200);
    expect(upd.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(JSON.parse(get.body)).toMatchObject({ migrationId: 'bundle-m1', status: 'in_progress', overallProgress: 5 });
    const entries = JSON.parse(activity.body).entries as Array<{ actor: string; action: string }>;
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set([caller]));
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error.message).toMatch(/malformed JSON body/);
    expect(sweep).toEqual({ swept: 1 });
    expect(scheduled).toEqual({ swept: 1 });

    // What the bundle wrote is in the table, once (the replay changed nothing).
    const store = new DynamoDbProgressStore({ tableName: table, client });
    const stored = await store.load('bundle-m1');
    expect(stored?.version).toBe(3);
    expect(stored?.state.phases[0]?.progress).toBe(50);
    await store.close();

    // Spec metrics left as EMF on stdout: phase started, heartbeat, the sweep's gauges.
    const emf = run.stdout.split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
    expect(emf.find((d) => 'PhaseStarted' in d)).toMatchObject({ MigrationId: 'bundle-m1', Phase: 'schema', service: 'migration-monitor' });
    expect(emf.filter((d) => 'PhasesRunning' in d).length).toBeGreaterThanOrEqual(3);
    for (const d of emf) expect(d._aws.CloudWatchMetrics[0].Namespace).toBe(env['POWERTOOLS_METRICS_NAMESPACE']);
    // Powertools' own cold-start guard: nine invocations in one process, one ColdStart document (the first),
    // with the function's name from the Lambda context as a dimension
    const cold = emf.filter((d) => 'ColdStart' in d);
    expect(cold).toHaveLength(1);
    expect(cold[0]).toMatchObject({ ColdStart: 1, service: 'migration-monitor', function_name: 'bundle-test' });
    expect(cold[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([expect.arrayContaining(['service', 'function_name'])]);
  });

  it('tracker-api routes alerts: a critical one published once to the alert topic and once to the pager topic (moto SNS, with attributes), an error one to Slack only, a burst counted, an acknowledgement resolved', async () => {
    const moto = await startMoto();
    const webhook = await startCapture();
    const SLACK = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/slack-webhook';
    const secrets = await startAwsJsonServer({ 'secretsmanager.GetSecretValue': secretsGetSecretValue({ [SLACK]: `${webhook.url}/services/T000/B000/ALERTS` }) });
    try {
      const sns = new SNSClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'migration-alerts' }));
      // the topic's subscriber: an SQS queue on moto keeps each notification with its subject and message attributes
      const queue = await motoQueue(moto.endpoint, 'alert-subscriber');
      await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queue.arn }));
      // the pager topic, subscribed with the filter policy the template gives its subscriptions
      const pagerTopic = (await sns.send(new CreateTopicCommand({ Name: 'migration-pager' }))).TopicArn!;
      const pagerQueue = await motoQueue(moto.endpoint, 'pager-subscriber');
      await sns.send(new SubscribeCommand({ TopicArn: pagerTopic, Protocol: 'sqs', Endpoint: pagerQueue.arn, Attributes: { FilterPolicy: JSON.stringify(pagerFilterPolicy) } }));
      const client = dynaliteClient(dynalite.endpoint);
      const table = await createProgressTable(client, 'bundle-alerts');
      const fn = functions['tracker-api']!;
      expect(Object.keys(fn.env)).toEqual(expect.arrayContaining(['ALERT_TOPIC_ARN', 'ALERT_PAGER_TOPIC_ARN', 'ALERT_ROUTING', 'SLACK_WEBHOOK_SECRET_ARN']));
      const env = awsEnv({
        ...envFor(fn, { TABLE_NAME: table, ALERT_TOPIC_ARN: TopicArn!, ALERT_PAGER_TOPIC_ARN: pagerTopic, SLACK_WEBHOOK_SECRET_ARN: SLACK }),
        AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
        AWS_ENDPOINT_URL_SNS: moto.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      });
      const caller = 'arn:aws:sts::123456789012:assumed-role/migration-job/orders';
      const post = (body: unknown, path = 'progress') => apiEvent('POST', `/api/migrations/orders/${path}`, body, { userArn: caller });
      const critical = { action: 'create_alert', severity: 'critical', message: 'target DB replica lag 900s', phaseId: 'copy' };
      const run = await runBundle(fn.dir, env, [
        post({ action: 'initialize', name: 'Orders DB', plan: [{ id: 'copy', name: 'Copy', estimatedDuration: 30 }] }),
        post(critical),
        post({ ...critical, message: 'target DB replica lag 930s' }),
        post({ ...critical, message: 'target DB replica lag 960s' }),
        post({ action: 'create_alert', severity: 'error', message: 'bulk copy of table orders failed' }),
        post({ action: 'acknowledge_alert', alertId: 'A1' }, 'dashboard'),
        { action: 'sweep' },
      ]);
      expect(run.error).toBeUndefined();
      expect(run.results.slice(0, 6).map((r: any) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
      const notes = await queue.receive();
      expect(notes.map((n) => n.Subject)).toEqual(['[CRITICAL] Orders DB: target DB replica lag 900s', '[RESOLVED] Orders DB: target DB replica lag 960s (x3)']);
      expect(notes[0].MessageAttributes).toMatchObject({ severity: { Type: 'String', Value: 'critical' }, migration: { Value: 'orders' }, phase: { Value: 'copy' } });
      expect(notes[0].Message).toContain('CRITICAL in phase copy: target DB replica lag 900s');
      expect(notes[1].Message).toContain(`Raised 3 times`);
      expect(notes[1].Message).toContain(`RESOLVED: acknowledged by ${caller}`);
      expect(webhook.requests.map((r) => JSON.parse(r.body).text)).toEqual(['[ERROR] Orders DB: bulk copy of table orders failed']);
      // the pager: the critical incident once (the burst counted, not paged three times) and its resolution; the error never
      const pages = await pagerQueue.receive();
      expect(pages.map((n) => n.Subject)).toEqual(['[CRITICAL] Orders DB: target DB replica lag 900s', '[RESOLVED] Orders DB: target DB replica lag 960s (x3)']);
      expect(pages.every((n) => n.MessageAttributes.severity.Value === 'critical' && n.MessageAttributes.destination.Value === 'pager')).toBe(true);
      expect(pages.some((n) => /bulk copy/.test(n.Message))).toBe(false);
      expect(run.results[6]).toEqual({ swept: 1, alerts: { sent: 0, failed: 0 } }); // nothing left over
    } finally {
      await Promise.all([moto.stop(), webhook.stop(), secrets.close()]);
    }
  });

  it('tracker-api refuses an event it does not understand, naming it', async () => {
    const fn = functions['tracker-api']!;
    const run = await runBundle(fn.dir, awsEnv({ ...envFor(fn, { TABLE_NAME: 'unused' }), AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint }), [{ Records: [] }]);
    expect(run.error).toMatch(/unsupported event \(keys: Records\)/);
  });

  it('slack-notifier forwards an SNS alarm notification to the webhook named by the secret', async () => {
    const posts: Array<Record<string, any>> = [];
    const webhook = await listen((req, body, res) => {
      posts.push({ path: req.url, body: JSON.parse(body) });
      res.writeHead(200).end('ok');
    });
    const secretIds: string[] = [];
    const secrets = await listen((req, body, res) => {
      expect(req.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
      const id = JSON.parse(body).SecretId as string;
      secretIds.push(id);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}`, Name: id, SecretString: JSON.stringify({ url: `${webhook.url}/services/T000/B000/XXXX` }) }));
    });
    try {
      const fn = functions['slack-notifier']!;
      const env = awsEnv({ ...envFor(fn, { SLACK_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/slack-webhook' }), AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url });
      expect(Object.keys(fn.env)).toContain('SLACK_WEBHOOK_SECRET_ARN');
      expect(JSON.stringify(fn.env)).not.toContain('hooks.slack.com');
      const run = await runBundle(fn.dir, env, [snsAlarmEvent('MigrationMonitoring-dev-phase-failed', 'ALARM'), snsAlarmEvent('MigrationMonitoring-dev-phase-failed', 'OK')]);
      expect(run.error).toBeUndefined();
      expect(run.results).toEqual([{ delivered: 1 }, { delivered: 1 }]);
      expect(secretIds).toHaveLength(1); // fetched once, cached across warm invocations
      expect(posts).toHaveLength(2);
      expect(posts[0]!.path).toBe('/services/T000/B000/XXXX');
      expect(posts[0]!.body.text).toBe('MigrationMonitoring-dev-phase-failed: ALARM');
      expect(posts[0]!.body.blocks[0].text.text).toContain('Threshold Crossed: 1 datapoint [1.0] was greater than or equal to the threshold (1.0)');
      expect(posts[1]!.body.text).toBe('MigrationMonitoring-dev-phase-failed: OK');
    } finally {
      await webhook.close();
      await secrets.close();
    }
  });
});

describe('scheduled handlers from cdk.out', () => {
  let aws: AwsJsonServer;
  const posts: Array<{ path?: string; body: any }> = [];
  let webhook: Awaited<ReturnType<typeof listen>>;
  const params: Record<string, string> = {};
  beforeAll(async () => {
    webhook = await listen((req, body, res) => {
      posts.push({ path: req.url, body: JSON.parse(body) });
      res.writeHead(200).end('ok');
    });
    // the report's Slack secret in its JSON form, as the alert notifier's may be
    aws = await startAwsJsonServer({
      'secretsmanager.GetSecretValue': secretsGetSecretValue({ [REPORT_SLACK_SECRET]: JSON.stringify({ url: `${webhook.url}/services/T000/B000/REPORT` }) }),
      'AmazonSSM.GetParameter': ssmGetParameter(params),
    });
  });
  afterAll(async () => {
    await webhook?.close();
    await aws?.close();
  });

  it('report answers its schedule\'s event: reads the table (dynalite), stores the report in S3 (s3rver), posts to Slack; a retried event delivers nothing twice', async () => {
    const client = dynaliteClient(dynalite.endpoint);
    const table = await createProgressTable(client, 'report');
    const store = new DynamoDbProgressStore({ tableName: table, client });
    const tracker = new Tracker({ store });
    await tracker.initialize('bundle-r1', { name: 'Orders database', plan: [{ id: 'copy', name: 'Copy data', estimatedDuration: 60 }] });
    await tracker.apply('bundle-r1', { action: 'start_phase', phaseId: 'copy' });
    await tracker.apply('bundle-r1', { action: 'update_phase', phaseId: 'copy', progress: 40 });
    await store.close();

    const fn = functions['report']!;
    expect(fn.scheduleInput).toEqual({ source: 'schedule', kind: 'daily-report' });
    expect(fn.env).toMatchObject({ REPORT_OUTPUTS: 's3,slack', REPORT_PREFIX: 'reports' });
    const env = awsEnv(
      {
        ...envFor(fn, { TABLE_NAME: table, REPORT_BUCKET: BUCKET, SLACK_WEBHOOK_SECRET_ARN: REPORT_SLACK_SECRET }),
        AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
      },
      S3RVER_CREDENTIALS,
    );
    const run = await runBundle(fn.dir, env, [fn.scheduleInput, fn.scheduleInput]);
    expect(run.error).toBeUndefined();
    const [first, retried] = run.results as any[];
    expect(first.ok).toBe(true);
    expect(first.reports.map((r: any) => r.migrationId)).toEqual(['bundle-r1']);
    expect(first.reports[0].results.map((r: any) => `${r.channel}:${r.outcome}`)).toEqual(['s3:delivered', 'slack:delivered']);
    expect(retried.reports[0].results.map((r: any) => r.outcome)).toEqual(['already-delivered', 'already-delivered']);

    // the report object, under the prefix, named by migration and day
    const s3c = s3.client();
    const keys = ((await s3c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'reports/' }))).Contents ?? []).map((o) => o.Key!);
    const reportKey = keys.find((k) => /^reports\/bundle-r1\/\d{4}-\d{2}-\d{2}\.html$/.test(k));
    expect(reportKey).toBeDefined();
    const html = await (await s3c.send(new GetObjectCommand({ Bucket: BUCKET, Key: reportKey }))).Body!.transformToString();
    expect(html).toContain('Orders database');
    expect(html).toContain('40');

    expect(posts.filter((p) => p.path === '/services/T000/B000/REPORT')).toHaveLength(1);
    expect(JSON.stringify(run.stdout + run.stderr)).not.toContain('/services/T000/B000/REPORT'); // the URL is never logged
    // ReportsProduced with the `service` rollup that the report-missing alarm reads
    const emf = run.stdout.split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
    const produced = emf.find((d) => d.ReportsProduced === 1 && d.Channel === 's3');
    expect(produced._aws.CloudWatchMetrics[0].Dimensions).toEqual(expect.arrayContaining([['service']]));
    expect(produced._aws.CloudWatchMetrics[0].Namespace).toBe(env['POWERTOOLS_METRICS_NAMESPACE']);
  });

  it('report refuses an output its bundle left out, saying what to use', async () => {
    const fn = functions['report']!;
    const env = awsEnv({ ...envFor(fn, { TABLE_NAME: 'unused', REPORT_BUCKET: BUCKET }), REPORT_OUTPUTS: 'gcs', AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint });
    const run = await runBundle(fn.dir, env, [fn.scheduleInput]);
    expect(run.error).toMatch(/--output=gcs is not part of this AWS Lambda bundle: reports on AWS go to S3/);
  });

  describe('validate', () => {
    const tracker = new Tracker({ store: FileStore.inMemory() });
    let gateway: Awaited<ReturnType<typeof startIamGateway>>;
    let data: string;
    beforeAll(async () => {
      // The tracker API behind a stand-in for API Gateway's IAM auth: only requests whose SigV4 signature
      // verifies (with the credentials the function runs as) get through.
      gateway = await startIamGateway(trackerApi({ tracker }), S3RVER_CREDENTIALS, 'eu-west-1');
      await tracker.initialize('bundle-m', { plan: [{ id: 'validation', name: 'Validation', estimatedDuration: 30 }] });
      data = fs.mkdtempSync(path.join(scratch, 'validate-'));
    });
    afterAll(() => gateway?.close());

    /** The template's environment, with the tracker URL, SSM, S3 and /tmp pointed at the local servers. */
    const validateEnv = () =>
      awsEnv(
        {
          ...envFor(functions['validate']!, { MM_REPORT_BUCKET: BUCKET, MIGRATION_MONITOR_URL: gateway.url }),
          AWS_ENDPOINT_URL_SSM: aws.url,
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          VALIDATION_CHECKPOINT_DIR: path.join(data, 'checkpoints'), // Lambda's /tmp
        },
        S3RVER_CREDENTIALS,
      );

    it('answers its schedule\'s event with the checks config from SSM, checks a table on dynalite, stores its report in S3, posts to the tracker with SigV4', async () => {
      const client = dynaliteClient(dynalite.endpoint);
      const table = await createProgressTable(client, 'checked');
      const rows = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: i + 1, name: `r${i + 1}` })).join('\n');
      fs.writeFileSync(path.join(data, 'a.jsonl'), rows);
      fs.writeFileSync(path.join(data, 'b.jsonl'), rows);
      // the parameter holds JSON: the deployed function has no YAML parser (a YAML file goes through configFile)
      params['/migration/validation-config'] = JSON.stringify({
        name: 'bundle-check',
        connectors: {
          a: { type: 'file', path: `${data}/a.jsonl`, key: 'id', keyType: 'number', sorted: true },
          b: { type: 'file', path: `${data}/b.jsonl`, key: 'id', keyType: 'number', sorted: true },
        },
        checks: [
          { name: 'rows', kind: 'count', source: 'a', target: 'b' },
          { name: 'table', kind: 'aws-resource', resource: 'dynamodb-table', resourceName: table, endpoint: dynalite.endpoint, region: 'us-east-1' },
        ],
      });

      const fn = functions['validate']!;
      expect(fn.scheduleInput).toEqual({ source: 'schedule', kind: 'validation' });
      expect(fn.env).toMatchObject({ VALIDATION_CONFIG_PARAMETER: '/migration/validation-config', MM_REPORT_SINK: 's3', MM_REPORT_PREFIX: 'validation', MIGRATION_MONITOR_SIGV4: 'true', MIGRATION_MONITOR_MIGRATION: 'bundle-m' });
      const run = await runBundle(fn.dir, validateEnv(), [fn.scheduleInput], 60_000, 120_000);
      expect(run.error).toBeUndefined();
      const [summary] = run.results as any[];
      expect(summary).toMatchObject({ verdict: 'pass', totals: { checks: 2, passed: 2, failed: 0 }, interrupted: false, tracker: { recorded: true, problems: [] } });
      expect(summary.reports).toEqual([`s3://${BUCKET}/validation/${summary.runId}.json`, `s3://${BUCKET}/validation/${summary.runId}.md`]);
      const stored = await (await s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: `validation/${summary.runId}.json` }))).Body!.transformToString();
      expect(JSON.parse(stored)).toMatchObject({ verdict: 'pass', runId: summary.runId });
      expect(aws.calls).toContain('AmazonSSM.GetParameter');
      const emf = run.stdout.split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
      expect(emf.find((d) => 'ValidationFailed' in d)).toMatchObject({ ValidationFailed: 0 });
      // Every call to the tracker was signed, and the signature verified independently (@smithy/signature-v4).
      expect(gateway.seen.verified).toBeGreaterThanOrEqual(2);
      expect(gateway.seen.rejected).toBe(0);
      expect((await tracker.get('bundle-m')).lastValidation).toMatchObject({ verdict: 'pass', runId: summary.runId });
    });

    it('refuses a YAML config in its parameter, saying how to give JSON: the YAML parser is not in what deploys', async () => {
      params['/migration/validation-config'] = ['checks:', '  - { name: rows, kind: count, source: a, target: b }'].join('\n');
      const fn = functions['validate']!;
      const run = await runBundle(fn.dir, validateEnv(), [fn.scheduleInput]);
      expect(run.error).toMatch(/^validate: SSM parameter \/migration\/validation-config: invalid validation config: .* is not JSON, and this bundle reads the config as JSON only .*configFile; -c validationConfigFile=checks\.yaml/);
      expect(fs.readFileSync(path.join(fn.dir, 'index.js'), 'utf8')).not.toContain('tag:yaml.org,2002'); // the yaml package
    });

    it('refuses, before any check, a config using a connector type its bundle was built without (redis by default), naming the setting', async () => {
      params['/migration/validation-config'] = JSON.stringify({
        connectors: { cache: { type: 'redis', url: 'redis://127.0.0.1:1', prefix: 'doc:' }, b: { type: 'file', path: `${data}/b.jsonl`, key: 'id', keyType: 'number', sorted: true } },
        checks: [{ name: 'rows', kind: 'count', source: 'cache', target: 'b' }],
      });
      const before = gateway.seen.verified;
      const fn = functions['validate']!;
      const run = await runBundle(fn.dir, validateEnv(), [fn.scheduleInput]);
      expect(run.error).toBe(
        'connector type(s) redis (used by "cache") are not part of this validation bundle: add them to the stack\'s validation.connectors (-c validationConnectors=postgres,dynamodb,redis,http-json,file) and deploy again',
      );
      expect(gateway.seen.verified).toBe(before);
      // and the driver is really absent from what deploys
      expect(fs.readFileSync(path.join(fn.dir, 'index.js'), 'utf8')).not.toMatch(/ioredis|denque/i);
    });
  });
});

async function listen(onRequest: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => onRequest(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('telemetry contract on AWS: every custom metric a CloudWatch alarm reads is produced by a deployed bundle, as the alarm reads it', () => {
  let aws: AwsJsonServer;
  let primary: DemoBackend;
  let fallback: Awaited<ReturnType<typeof listen>>;
  /** The new store, answering as Milvus REST v2 does (the template's primary is Milvus): id -> version upserted. */
  let milvus: Awaited<ReturnType<typeof listen>>;
  let milvusUp = false;
  const milvusRecords = new Map<string, number>();
  const params: Record<string, string> = {};
  beforeAll(async () => {
    milvus = await listen((req, body, res) => {
      if (!milvusUp) return void res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 503, message: 'unavailable' }));
      if (req.method === 'POST' && req.url === '/v2/vectordb/entities/upsert') {
        const data = (JSON.parse(body) as { data: Array<{ id: string; version: number }> }).data;
        for (const d of data) milvusRecords.set(d.id, d.version);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 0, data: { upsertCount: data.length } }));
      }
      res.writeHead(404).end();
    });
    primary = await DemoBackend.start({ name: 'primary', index: new DemoIndex() });
    await primary.setMode({ mode: 'down' });
    // the app's fallback is an OpenSearch k-NN index: answer as OpenSearch does
    fallback = await listen((req, _body, res) => {
      if (req.method === 'POST' && req.url === '/docs/_search') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hits: { hits: [{ _id: 'old-1', _score: 0.8, _source: {} }] } }));
      // its bulk API, as OpenSearch answers it: one result per action line (a document line follows each index action)
      if (req.method === 'POST' && req.url === '/_bulk') {
        const actions = _body.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => 'index' in l || 'delete' in l);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: false, items: actions.map((a) => ('index' in a ? { index: { status: 201 } } : { delete: { status: 200 } })) }));
      }
      res.writeHead(404).end();
    });
    aws = await startAwsJsonServer({ 'AmazonSSM.GetParameter': ssmGetParameter(params) });
  });
  afterAll(async () => {
    await Promise.all([primary?.close(), fallback?.close(), milvus?.close(), aws?.close()]);
  });

  it('runs the paths that feed the alarms: a failed phase, an error rate, the sweep, a search that falls back', async () => {
    const client = dynaliteClient(dynalite.endpoint);
    const table = await createProgressTable(client, 'contract');
    const tracker = functions['tracker-api']!;
    const plan = [{ id: 'copy', name: 'Copy', estimatedDuration: 30 }];
    const run = await runBundle(tracker.dir, awsEnv({ ...envFor(tracker, { TABLE_NAME: table }), AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint }), [
      apiEvent('POST', '/api/migrations/c1/progress', { action: 'initialize', name: 'Contract', plan }),
      apiEvent('POST', '/api/migrations/c1/progress', { action: 'start_phase', phaseId: 'copy' }),
      apiEvent('POST', '/api/migrations/c1/progress', { action: 'update_metrics', increment: { successfulOperations: 10, failedOperations: 5 } }),
      apiEvent('POST', '/api/migrations/c1/progress', { action: 'fail_phase', phaseId: 'copy', error: 'target rejected writes' }),
      { action: 'sweep' },
    ]);
    expect(run.error).toBeUndefined();
    expect((run.results as any[]).slice(0, 4).map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);

    // log ingest, from its CloudWatch Logs subscription: the lines move the tracker in the same table
    const ingest = functions['log-ingest']!;
    const logs = { messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: '/ecs/tenant-migrator', logStream: 's1', subscriptionFilters: ['migration-monitor'], logEvents: [{ id: '1', timestamp: Date.UTC(2026, 11, 2), message: JSON.stringify({ message: 'Migration started', migration_id: 'logs-1', tenant_id: 't1' }) }] };
    const lrun = await runBundle(ingest.dir, awsEnv({ ...envFor(ingest, { TABLE_NAME: table }), AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint }), [{ awslogs: { data: gzipSync(Buffer.from(JSON.stringify(logs))).toString('base64') } }]);
    expect(lrun.error).toBeUndefined();
    expect(lrun.results[0]).toMatchObject({ applied: 1 });
    const logged = await new DynamoDbProgressStore({ tableName: table, client }).load('logs-1');
    expect(logged?.state.phases[0]?.status).toBe('in_progress');

    const proxy = functions['search-proxy']!;
    const breakers = await createProgressTable(client, 'breakers');
    // the switch parameter's name is a Ref in the template: CloudFormation gives the function the parameter's name
    const penv = envFor(proxy, { BREAKER_STATE_TABLE: breakers, REPLAY_QUEUE_TABLE: breakers, BREAKER_SWITCH_PARAMETER: '/migration-monitor/dev/search-proxy/switch' });
    params[penv['PRIMARY_URL_PARAMETER']!] = primary.url;
    params[penv['FALLBACK_URL_PARAMETER']!] = fallback.url;
    if (penv['BREAKER_SWITCH_PARAMETER']) params[penv['BREAKER_SWITCH_PARAMETER']] = 'auto';
    const search = apiEvent('POST', '/search', { vector: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], topK: 3 });
    const prun = await runBundle(proxy.dir, awsEnv({ ...penv, AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, AWS_ENDPOINT_URL_SSM: aws.url }), Array.from({ length: 6 }, () => search));
    expect(prun.error).toBeUndefined();
    expect((prun.results as any[]).map((r) => `${r.statusCode} ${JSON.parse(r.body).servedBy ?? r.body}`)).toEqual(Array(6).fill('200 fallback'));

    // dual-write, moved through the operator switch as `migration-monitor cutover` does: the old store (OpenSearch)
    // acknowledges, the new one (down) misses the writes, which are queued: failures, latency and lag are measured
    expect(penv['BREAKER_SWITCH_PARAMETER']).toBe('/migration-monitor/dev/search-proxy/switch');
    params[penv['BREAKER_SWITCH_PARAMETER']!] = JSON.stringify({ mode: 'dual-write', '*': 'auto' });
    const upsert = (n: number) => apiEvent('POST', '/upsert', { vectors: Array.from({ length: 3 }, (_, i) => ({ id: `v-${n}-${i}`, vector: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], version: 1 })) });
    const wrun = await runBundle(proxy.dir, awsEnv({ ...penv, AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, AWS_ENDPOINT_URL_SSM: aws.url }), [upsert(1), upsert(2)]);
    expect(wrun.error).toBeUndefined();
    expect((wrun.results as any[]).map((r) => r.statusCode)).toEqual([200, 200]);
  });

  it('a write the new store missed survives a cold start (the replay queue in the template\'s table) and is replayed once the store recovers: lag back to 0', async () => {
    const client = dynaliteClient(dynalite.endpoint);
    const proxy = functions['search-proxy']!;
    const t = await createProgressTable(client, 'replay');
    // the template points the queue at the breaker-state table (here the progress table: both are its Ref)
    expect(proxy.env['REPLAY_QUEUE_TABLE']).toEqual(proxy.env['BREAKER_STATE_TABLE']);
    const penv = envFor(proxy, { BREAKER_STATE_TABLE: t, REPLAY_QUEUE_TABLE: t, BREAKER_SWITCH_PARAMETER: '/migration-monitor/dev/search-proxy/switch' });
    params[penv['PRIMARY_URL_PARAMETER']!] = milvus.url;
    params[penv['FALLBACK_URL_PARAMETER']!] = fallback.url;
    params[penv['BREAKER_SWITCH_PARAMETER']!] = JSON.stringify({ mode: 'dual-write', '*': 'auto' });
    // One setting changed from the template's: the write breaker that opens while the store is down is shared
    // through the table too, so the new process adopts it; its replay is the probe once resetTimeoutMs (30 s) has passed.
    expect(penv['SEARCH_PROXY_SETTINGS']).toBe('{}');
    const env = awsEnv({ ...penv, SEARCH_PROXY_SETTINGS: JSON.stringify({ resetTimeoutMs: 1000 }), AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, AWS_ENDPOINT_URL_SSM: aws.url });
    const ids = ['r-1', 'r-2', 'r-3'];
    const upsert = (version: number) => apiEvent('POST', '/upsert', { vectors: ids.map((id) => ({ id, vector: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], version })) });
    const health = apiEvent('GET', '/health');
    const queued = async () => (await client.send(new QueryCommand({ TableName: t, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'REPLAY#search' } } }))).Items?.length ?? 0;

    milvusUp = false;
    const first = await runBundle(proxy.dir, env, [upsert(1), upsert(2), health]);
    expect(first.error).toBeUndefined();
    const [a, b, h] = first.results as Array<{ statusCode: number; body: string }>;
    expect([a!.statusCode, b!.statusCode]).toEqual([200, 200]);
    expect(JSON.parse(b!.body)).toMatchObject({ acknowledgedBy: 'fallback', follower: { backend: 'primary', status: 'queued' }, syncLag: 3 });
    expect(JSON.parse(h!.body).writes).toMatchObject({ syncLag: 3, queue: 'dynamodb' });
    expect(await queued()).toBe(3); // one entry per id (version 2), in the table: the process that queued them is gone

    // the store recovers; a new process (a cold start) reads the queue, replays after its first answer
    milvusUp = true;
    await new Promise((r) => setTimeout(r, 1100));
    const second = await runBundle(proxy.dir, env, [health, health]);
    expect(second.error).toBeUndefined();
    const [h1, h2] = (second.results as Array<{ body: string }>).map((r) => JSON.parse(r.body).writes);
    expect(h1).toMatchObject({ syncLag: 3, queue: 'dynamodb' });
    expect(h2).toMatchObject({ syncLag: 0 });
    expect(await queued()).toBe(0);
    expect(milvusRecords).toEqual(new Map(ids.map((id) => [id, 2])));
  });

  it('finds, for every alarm on a custom metric, an EMF document with its namespace, name, dimension set and values', () => {
    const docs = emitted.join('\n').split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, any>);
    const custom = alarmMetrics.filter((m) => !m.namespace.startsWith('AWS/'));
    expect(custom.length).toBeGreaterThanOrEqual(6);
    const missing = custom.filter((m) => {
      const wanted = Object.keys(m.dimensions).sort();
      return !docs.some((d) =>
        (d['_aws'].CloudWatchMetrics as Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }>).some(
          (cw) =>
            cw.Namespace === m.namespace &&
            cw.Metrics.some((x) => x.Name === m.name) &&
            cw.Dimensions.some((set) => JSON.stringify([...set].sort()) === JSON.stringify(wanted)) &&
            Object.entries(m.dimensions).every(([k, v]) => d[k] === v) &&
            (typeof d[m.name] === 'number' || (Array.isArray(d[m.name]) && d[m.name].every((x: unknown) => typeof x === 'number'))),
        ),
      );
    });
    expect(missing.map((m) => `${m.alarm}: ${m.namespace}/${m.name} ${JSON.stringify(m.dimensions)}`)).toEqual([]);
  });
});
