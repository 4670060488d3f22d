/**
 * What deploys, works: synthesize the app WITH esbuild bundling, then run each handler from its asset
 * bundle in cdk.out (not from source) in a fresh Node process, as the Lambda runtime does (require
 * index.js, call `handler`), with the environment the template gives it, answering realistic events of its
 * trigger against real local servers: dynalite for DynamoDB, a local webhook for Slack. Secrets Manager has
 * no local server here, so a minimal GetSecretValue endpoint stands in for it.
 */
import * as fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { DynamoDbProgressStore } from '../../lib/adapters/aws/dynamodb-store';
import { buildApp } from '../../stacks/aws/main';
import { createProgressTable, dynaliteClient, DYNALITE_CREDENTIALS } from '../adapters/aws/dynalite-table';
import { startDynalite, type DynaliteServer } from '../support/dynalite';
import { apiEvent, runBundle, snsAlarmEvent, type BundleRun } from './bundle-runner';

const REPO = path.join(__dirname, '../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-test-'));
let dynalite: DynaliteServer;
let functions: Record<string, { dir: string; env: Record<string, unknown> }>;

beforeAll(async () => {
  dynalite = await startDynalite();
  const outdir = path.join(scratch, 'cdk.out');
  // Real bundling: no `aws:cdk:bundling-stacks` override.
  const app = new App({ outdir, analyticsReporting: false, builtinCloudFormationValidation: false, context: { env: 'dev', slackWebhookSecret: 'migration/slack-webhook', 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true } });
  const { stack } = buildApp(app);
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, any> };
  functions = {};
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const cdkPath: string = r.Metadata['aws:cdk:path'];
    const name = cdkPath.includes('TrackerApi') ? 'tracker-api' : cdkPath.includes('SlackNotifier') ? 'slack-notifier' : cdkPath;
    functions[name] = { dir: path.join(outdir, r.Metadata['aws:asset:path']), env: r.Properties.Environment?.Variables ?? {} };
  }
  // The Lambda Node.js runtime provides AWS SDK v3 (the bundles leave it out): provide it, and nothing else.
  fs.mkdirSync(path.join(outdir, 'node_modules'), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules/@aws-sdk'), path.join(outdir, 'node_modules/@aws-sdk'));
}, 240_000);

afterAll(async () => {
  await dynalite?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** The template's environment with CloudFormation references replaced by the local equivalents. */
function envFor(fn: { env: Record<string, unknown> }, resolved: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fn.env)) out[k] = typeof v === 'string' ? v : resolved[k] ?? '';
  return out;
}

const awsEnv = (extra: Record<string, string>): Record<string, string> => ({
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: DYNALITE_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DYNALITE_CREDENTIALS.secretAccessKey,
  AWS_LAMBDA_FUNCTION_NAME: 'bundle-test',
  ...extra,
});

describe('handler bundles from cdk.out', () => {
  it('bundles each handler into one file that needs nothing but Node built-ins and the runtime AWS SDK', () => {
    expect(Object.keys(functions).sort()).toEqual(['slack-notifier', 'tracker-api']);
    for (const [name, fn] of Object.entries(functions)) {
      const code = fs.readFileSync(path.join(fn.dir, 'index.js'), 'utf8');
      const requires = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
      const foreign = requires.filter((r) => !r.startsWith('node:') && !r.startsWith('@aws-sdk/') && !require('node:module').builtinModules.includes(r));
      expect({ name, foreign }).toEqual({ name, foreign: [] });
      expect(code).not.toContain('zod/v4/locales'); // the zod shim keeps locales out
    }
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
