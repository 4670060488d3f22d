/**
 * The runtime matrix, GCP column: every Cloud Run function exactly as `cdktf synth` deploys it. The stack is
 * synthesized with real bundling into cdktf.out; each function's zip is unpacked from its asset and started as
 * `node index.js` on $PORT (container mode) in a fresh process, with the environment variables read from the
 * synthesized `cdk.tf.json` (plain variables; the Secret Manager ones get test values), and local stand-ins for
 * the clouds: a metadata server (Google ID token), STS (AssumeRoleWithWebIdentity), a SigV4-verifying gateway in
 * front of the tracker (the AWS API Gateway's IAM auth), a GCS JSON API, a Slack webhook, two vector backends, and
 * for the Memorystore instance the stack creates a real redis-server with AUTH that speaks only TLS (its own CA):
 * the attributes the cloud computes (host, port, AUTH string, server CA) are that server's, and every reference
 * in the function's configuration is resolved from them, as Terraform would.
 * Each function gets the trigger its scheduler job or route sends, the effect is checked, and then the telemetry
 * contract: every log-based metric an alert policy reads is produced by these artifacts, in a line the metric's
 * filter from cdk.tf.json selects and whose value extractor yields a number.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DemoBackend, DemoIndex } from '../../lib/adapters/demo/demo-backend';
import { FileStore } from '../../lib/adapters/file/file-store';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';
import { synthGcp } from '../../stacks/gcp/main';
import { startGcsStandIn } from '../adapters/gcp/gcs-stand-in';
import { cloudRunEntry, extract, matchesFilter } from '../support/cloud-logging-filter';
import { startCapture, type CaptureServer } from '../support/http-capture';
import { freePort, waitForPort } from '../support/ports';
import { startIamGateway } from '../support/sigv4-verifier';
import { RedisBreakerStateStore } from '../../lib/adapters/redis/breaker-state';
import { startTlsRedis, type TlsRedisServer } from '../support/redis';
import { startTrackerServer, type TrackerServer } from '../support/tracker-server';
import { runCli } from '../support/cli';
import { until } from '../support/until';

const REPO = path.join(__dirname, '../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-matrix-gcp-'));
const ROLE = 'arn:aws:iam::123456789012:role/mm-gcp-keyless';
const STS_CREDS = { accessKeyId: 'ASIAMATRIX', secretAccessKey: 'matrix-secret', sessionToken: 'matrix-session' };
const SUB_CLAIM = '10648';
const JWT = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ aud: 'sts.amazonaws.com', sub: SUB_CLAIM, email: 'mm-prod-report@acme-migration.iam.gserviceaccount.com' })).toString('base64url')}.c2ln`;
const BEARER = `Bearer ${JWT}`;

type Tf = { resource: Record<string, Record<string, any>>; output: Record<string, { value: any }> };
interface Fn {
  name: string;
  purpose: string;
  env: Record<string, string>;
  dir: string;
  port: number;
  child: ChildProcess;
  lines: string[];
}
const REDIS_AUTH = 'memorystore-auth-string-0123456789';
let redis: TlsRedisServer;
let cliTracker: TrackerServer;

let tf: Tf;
let tracker: Tracker;
let gateway: Awaited<ReturnType<typeof startIamGateway>>;
let gcs: Awaited<ReturnType<typeof startGcsStandIn>>;
let slack: CaptureServer;
let primary: DemoBackend;
let fallback: DemoBackend;
const stand: Array<{ close(): Promise<void> }> = [];
const sts: string[] = [];
/** Role session names STS granted (the trust policy admits only the token's `sub`). */
const sessions: string[] = [];
let store: FileStore;
const fns: Record<string, Fn> = {};

async function standIn(handle: (body: string, req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handle(body, req, res));
  });
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  stand.push({ close: () => new Promise<void>((ok) => (s.close(() => ok()), s.closeAllConnections())) });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/**
 * What the cloud computes at apply time for resources the stack creates (attributes absent from the configuration):
 * the local stand-ins' values. The Memorystore instance is the TLS redis-server started by the test.
 */
const computed = (): Record<string, Record<string, unknown>> => ({
  google_redis_instance: { host: '127.0.0.1', port: redis.port, auth_string: REDIS_AUTH, server_ca_certs: [{ cert: redis.ca }] },
});

function attribute(type: string, id: string, attr: string): unknown {
  const r = tf.resource[type]?.[id];
  if (!r) throw new Error(`${type}.${id} is not in cdk.tf.json`);
  return r[attr] ?? computed()[type]?.[attr];
}

/** The Terraform expressions the stack puts in a function's variables: `${type.id.attr}` and `${join("sep", type.id.list[*].attr)}`. */
function resolveRefs(v: string): string {
  return v
    .replace(/\$\{join\("((?:[^"\\]|\\.)*)", ([\w-]+)\.([\w-]+)\.(\w+)\[\*\]\.(\w+)\)\}/g, (m, sep: string, type: string, id: string, list: string, attr: string) => {
      const items = attribute(type, id, list);
      if (!Array.isArray(items)) throw new Error(`cannot resolve ${m}: ${type}.${id}.${list} is not a list`);
      return items.map((x: Record<string, unknown>) => String(x[attr])).join(JSON.parse(`"${sep}"`) as string);
    })
    .replace(/\$\{([\w-]+)\.([\w-]+)\.(\w+)\}/g, (m, type: string, id: string, attr: string) => {
      const r = attribute(type, id, attr);
      if (typeof r !== 'string' && typeof r !== 'number') throw new Error(`cannot resolve ${m} from cdk.tf.json`);
      return String(r);
    });
}

/** A Secret Manager secret's value: the version the stack writes (resolved), else the value an operator adds (`added`). */
function secretValue(secretName: string, added: Record<string, string>): string {
  const [secretRes] = Object.entries(tf.resource['google_secret_manager_secret']!).find(([, x]) => x.secret_id === secretName) ?? [];
  const version = Object.values(tf.resource['google_secret_manager_secret_version'] ?? {}).find((x) => x.secret === `\${google_secret_manager_secret.${secretRes}.id}`);
  if (version) return resolveRefs(version.secret_data ?? version.secret_data_wo);
  const id = Object.keys(added).find((k) => secretName.endsWith(k));
  if (!id) throw new Error(`no test value for secret ${secretName}`);
  return added[id]!;
}

let metadataUrl: string;
let stsUrl: string;

/** Start a function's unpacked bundle as `node index.js` on its port, with exactly its environment (plus the cloud stand-ins). */
function launch(f: Omit<Fn, 'child'>): Fn {
  const child = spawn(process.execPath, [path.join(f.dir, 'index.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: String(f.port),
      ...f.env,
      // stand-ins for the cloud endpoints (a real function reaches the real ones)
      MM_GCP_METADATA_URL: `${metadataUrl}/identity`,
      AWS_ENDPOINT_URL_STS: stsUrl,
      STORAGE_EMULATOR_HOST: gcs.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  const take = (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    f.lines.push(...parts.filter(Boolean));
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  return { ...f, child };
}

async function stop(f: Fn): Promise<void> {
  if (f.child.exitCode !== null || f.child.signalCode !== null) return;
  const exited = new Promise((r) => f.child.once('exit', r));
  f.child.kill('SIGTERM');
  await exited;
}

const SOURCE = path.join(scratch, 'source.jsonl');
const TARGET = path.join(scratch, 'target.jsonl');

beforeAll(async () => {
  store = FileStore.inMemory();
  tracker = new Tracker({ store });
  await tracker.initialize('default', { name: 'Orders DB to Aurora' });
  // API Gateway's IAM auth hands the tracker the caller's ARN: the role session STS issued these credentials to.
  gateway = await startIamGateway(trackerApi({ tracker, defaultMigrationId: 'default' }), STS_CREDS, 'eu-west-1', 'execute-api', () => `arn:aws:sts::123456789012:assumed-role/mm-gcp-keyless/${sessions.at(-1)}`);
  metadataUrl = await standIn((_b, req, res) => {
    if (req.headers['metadata-flavor'] !== 'Google') return void res.writeHead(403).end('Missing Metadata-Flavor:Google header.');
    res.writeHead(200, { 'Metadata-Flavor': 'Google', 'content-type': 'application/text' }).end(JWT);
  });
  stsUrl = await standIn((body, _req, res) => {
    const p = new URLSearchParams(body);
    sts.push(`${p.get('Action')} ${p.get('RoleArn')}`);
    if (p.get('Action') !== 'AssumeRoleWithWebIdentity' || p.get('WebIdentityToken') !== JWT) return void res.writeHead(400).end('<ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>');
    // the keyless role's trust policy: sts:RoleSessionName must equal ${accounts.google.com:sub}
    if (p.get('RoleSessionName') !== SUB_CLAIM) return void res.writeHead(403).end('<ErrorResponse><Error><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>');
    sessions.push(p.get('RoleSessionName')!);
    const exp = new Date(Date.now() + 3600_000).toISOString();
    res.writeHead(200, { 'content-type': 'text/xml' }).end(
      `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${STS_CREDS.accessKeyId}</AccessKeyId><SecretAccessKey>${STS_CREDS.secretAccessKey}</SecretAccessKey><SessionToken>${STS_CREDS.sessionToken}</SessionToken><Expiration>${exp}</Expiration></Credentials></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
    );
  });
  gcs = await startGcsStandIn();
  slack = await startCapture();
  redis = await startTlsRedis(REDIS_AUTH);
  cliTracker = await startTrackerServer('tok');
  await cliTracker.tracker.initialize('default', {});
  primary = await DemoBackend.start({ name: 'primary', index: new DemoIndex() });
  fallback = await DemoBackend.start({ name: 'fallback', index: new DemoIndex() });
  await primary.setMode({ mode: 'down' });

  // The deployment's own settings go through the stack config, as a team would set them.
  const configFile = path.join(scratch, 'gcp.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      prod: {
        handlers: {
          searchProxy: {
            environment: {
              PRIMARY_BACKEND: JSON.stringify({ kind: 'generic', url: primary.url }),
              FALLBACK_BACKEND: JSON.stringify({ kind: 'generic', url: fallback.url }),
              // short probe, refresh and replay periods, so recovery and a moved stage show within the test
              SEARCH_PROXY_SETTINGS: JSON.stringify({ consecutiveFailures: 2, primaryTimeoutMs: 500, deadlineMs: 3000, resetTimeoutMs: 1000, replayBatch: 1000, queueRefreshMs: 200, stageRefreshMs: 200 }),
            },
          },
        },
      },
    }),
  );
  const outdir = path.join(scratch, 'cdktf.out');
  const cwd = process.cwd();
  process.chdir(REPO); // handler entries are relative to the repository, as in `npm run synth:gcp`
  try {
    synthGcp(['--env=prod', `--outdir=${outdir}`], {
      MM_GCP_PROJECT: 'acme-migration',
      MM_ALERT_EMAILS: 'oncall@example.com',
      MM_TRACKER_URL: gateway.url,
      MM_TRACKER_AWS_ROLE_ARN: ROLE,
      MM_LOG_INGEST_FILTER: 'resource.type="cloud_run_job"',
      MM_GCP_CONFIG: configFile,
    });
  } finally {
    process.chdir(cwd);
  }
  const stackDir = path.join(outdir, 'stacks', 'migration-monitor-gcp-prod');
  tf = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as Tf;

  fs.writeFileSync(SOURCE, ['{"id":1,"name":"alpha"}', '{"id":2,"name":"beta"}', '{"id":3,"name":"gamma"}'].join('\n') + '\n');
  fs.writeFileSync(TARGET, ['{"id":1,"name":"alpha"}', '{"id":2,"name":"beta"}'].join('\n') + '\n');
  // Secret Manager values the functions mount as variables (the secret's short id → value).
  const secrets: Record<string, string> = {
    'tracker-api-credentials': 'unused: the keyless path wins',
    'slack-webhook': slack.url,
    'validation-config': [
      'name: nightly parity',
      'connectors:',
      `  source: { type: file, path: ${SOURCE}, key: id, keyType: number }`,
      `  target: { type: file, path: ${TARGET}, key: id, keyType: number }`,
      'checks:',
      '  - { name: row-count, kind: count, source: source, target: target, gate: true }',
    ].join('\n'),
  };
  for (const [, f] of Object.entries(tf.resource['google_cloudfunctions2_function']!)) {
    const purpose = f.service_config.environment_variables.MM_HANDLER as string;
    const objectRef = /\$\{google_storage_bucket_object\.([\w-]+)\.name\}/.exec(f.build_config.source.storage_source.object)![1]!;
    const zip = path.join(stackDir, tf.resource['google_storage_bucket_object']![objectRef].source);
    const dir = path.join(scratch, 'fn', purpose);
    fs.mkdirSync(dir, { recursive: true });
    const unzip = spawnSync('unzip', ['-q', zip, '-d', dir]);
    if (unzip.status !== 0) throw new Error(`unzip ${zip}: ${unzip.stderr}`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(f.service_config.environment_variables as Record<string, string>)) env[k] = resolveRefs(v);
    for (const s of f.service_config.secret_environment_variables ?? []) env[s.key] = secretValue(String(s.secret), secrets);
    fns[purpose] = launch({ name: f.name, purpose, env, dir, port: await freePort(), lines: [] });
  }
  await Promise.all(Object.values(fns).map((f) => waitForPort(f.port, 30_000)));
}, 300_000);

afterAll(async () => {
  for (const f of Object.values(fns)) await stop(f);
  await Promise.all([gateway?.close(), gcs?.close(), slack?.stop(), primary?.close(), fallback?.close(), redis?.stop(), cliTracker?.stop(), ...stand.map((s) => s.close())]);
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** What Cloud Scheduler sends to a job's target: its body, JSON content type, an OIDC token. */
function schedulerCall(purpose: string, job: string, scheduleTime: string) {
  const j = Object.values(tf.resource['google_cloud_scheduler_job']!).find((x) => x.name === `mm-prod-${job}`)!;
  return fetch(`http://127.0.0.1:${fns[purpose]!.port}/`, {
    method: j.http_target.http_method,
    headers: { ...j.http_target.headers, authorization: BEARER, 'x-cloudscheduler': 'true', 'x-cloudscheduler-jobname': j.name, 'x-cloudscheduler-scheduletime': scheduleTime },
    body: Buffer.from(j.http_target.body, 'base64').toString('utf8'),
  });
}

describe('GCP functions from cdktf.out, with the environment their template gives them', () => {
  it('deploys exactly the four handlers, each bundled with nothing left to install', () => {
    expect(Object.keys(fns).sort()).toEqual(['log-ingest', 'report', 'search-proxy', 'validate']);
    for (const f of Object.values(fns)) expect(JSON.parse(fs.readFileSync(path.join(f.dir, 'package.json'), 'utf8')).dependencies ?? {}).toEqual({});
  });

  it('report: reads the AWS tracker keyless (metadata token → STS → SigV4), writes the report to GCS and posts to Slack; a failed Slack post is a 500 the scheduler retries', async () => {
    slack.queue({ status: 500, body: 'slack is down' });
    const failed = await schedulerCall('report', 'daily-report', '2026-12-02T07:00:00Z');
    expect(failed.status).toBe(500);
    expect(JSON.stringify(await failed.json())).toMatch(/slack/);
    const ok = await schedulerCall('report', 'daily-report', '2026-12-02T07:00:00Z');
    expect(ok.status).toBe(200);
    const okBody = await ok.json();
    expect(okBody).toMatchObject({ ok: true, reports: [{ results: expect.arrayContaining([{ channel: 'slack', outcome: 'delivered', to: expect.anything() }]) }] });
    expect(sts).toContain(`AssumeRoleWithWebIdentity ${ROLE}`);
    expect(gateway.seen.rejected).toBe(0);
    expect(gateway.seen.verified).toBeGreaterThan(0);
    const objects = [...gcs.objects.keys()].filter((k) => k.includes('/reports/default/'));
    expect(objects.length).toBeGreaterThan(0);
    expect(slack.requests).toHaveLength(2); // the failed post and its retry; GCS kept the first run's archive
  });

  it('validate: runs the checks from its Secret Manager config, records the failing run on the AWS tracker, stores the report in GCS', async () => {
    const r = await schedulerCall('validate', 'validation', '2026-12-02T07:15:00Z');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ verdict: 'fail', tracker: { recorded: true } });
    expect((await tracker.get('default')).lastValidation?.verdict).toBe('fail');
    // the audit trail names the verified Google identity (the session the trust policy pins to the token's sub)
    const activity = await store.readActivity('default', { limit: 50 });
    // every change the GCP functions made (the failed report delivery's alert, the run, its alert), none by the test's setup
    const recorded = activity.filter((a) => a.action !== 'migration.initialize');
    expect(recorded.map((a) => a.action)).toContain('validation.record');
    for (const a of recorded) expect(a.actor).toBe(`arn:aws:sts::123456789012:assumed-role/mm-gcp-keyless/${SUB_CLAIM}`);
    expect([...gcs.objects.keys()].some((k) => /\/validation\/.+\.json$/.test(k))).toBe(true);
  });

  it('search proxy: serves from the fallback while the primary is down, and its breaker opens', async () => {
    const vector = Array.from({ length: 8 }, (_, i) => i / 8);
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`http://127.0.0.1:${fns['search-proxy']!.port}/search`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BEARER }, body: JSON.stringify({ vector, topK: 3 }) });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ servedBy: 'fallback', degraded: true });
    }
  });

  it('search proxy state: the stack creates a Memorystore with AUTH and in-transit encryption, and gives the proxy the variables, secret and VPC path to reach it', () => {
    const [instanceId, instance] = Object.entries(tf.resource['google_redis_instance'] ?? {})[0] ?? [];
    expect(instance).toMatchObject({ auth_enabled: true, transit_encryption_mode: 'SERVER_AUTHENTICATION', tier: 'STANDARD_HA', redis_configs: { 'maxmemory-policy': 'noeviction' } });
    const f = Object.values(tf.resource['google_cloudfunctions2_function']!).find((x) => x.service_config.environment_variables.MM_HANDLER === 'search-proxy')!;
    expect(f.service_config.environment_variables).toMatchObject({
      BREAKER_STATE_REDIS_URL: `rediss://\${google_redis_instance.${instanceId}.host}:\${google_redis_instance.${instanceId}.port}`,
      BREAKER_STATE_REDIS_CA: `\${join("\\n", google_redis_instance.${instanceId}.server_ca_certs[*].cert)}`,
      BREAKER_SWITCH_REDIS_KEY: 'mm:search-proxy:switch',
    });
    // the AUTH string only through Secret Manager, written from the instance (write-only: not in the version's state)
    expect(f.service_config.secret_environment_variables).toContainEqual(expect.objectContaining({ key: 'BREAKER_STATE_REDIS_AUTH', secret: 'mm-prod-search-proxy-redis-auth' }));
    expect(JSON.stringify(f.service_config.environment_variables)).not.toContain('auth_string');
    expect(Object.values(tf.resource['google_secret_manager_secret_version']!)).toContainEqual(expect.objectContaining({ secret_data_wo: `\${google_redis_instance.${instanceId}.auth_string}` }));
    expect(f.service_config).toMatchObject({ vpc_connector: expect.stringMatching(/^\$\{google_vpc_access_connector\.[\w-]+\.id\}$/), vpc_connector_egress_settings: 'PRIVATE_RANGES_ONLY' });
    // resolved as Terraform would, the running proxy got the instance's TLS URL, CA and AUTH string
    expect(fns['search-proxy']!.env).toMatchObject({ BREAKER_STATE_REDIS_URL: redis.url, BREAKER_STATE_REDIS_CA: redis.ca, BREAKER_STATE_REDIS_AUTH: REDIS_AUTH });
  });

  it('search proxy writes: the old store misses are queued in Memorystore (depth = sync lag), survive a restart of the proxy, and are replayed when it recovers', async () => {
    const proxyUrl = () => `http://127.0.0.1:${fns['search-proxy']!.port}`;
    const health = async () => (await (await fetch(`${proxyUrl()}/health`, { headers: { authorization: BEARER } })).json()) as { stage: string; writes: { syncLag: number; queue: string } };
    const state = await RedisBreakerStateStore.connect(redis.url, { password: REDIS_AUTH, ca: redis.ca });
    const queued = () => state.client.hlen('mm:replay:search:m');
    await primary.setMode({ mode: 'ok' });
    await fallback.setMode({ mode: 'down' });
    try {
      for (let b = 0; b < 2; b++) {
        const vectors = Array.from({ length: 600 }, (_, i) => ({ id: `w-${b}-${i}`, vector: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], version: 1 }));
        const r = await fetch(`${proxyUrl()}/upsert`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BEARER }, body: JSON.stringify({ vectors }) });
        expect(r.status).toBe(200);
      }
      expect(await health()).toMatchObject({ writes: { syncLag: 1200, queue: 'redis' } });
      expect(await queued()).toBe(1200);

      // a new instance (restart, scale-out, cold start) sees the same queue and lag
      await stop(fns['search-proxy']!);
      fns['search-proxy'] = launch({ ...fns['search-proxy']!, port: await freePort() });
      await waitForPort(fns['search-proxy'].port, 30_000);
      await until('the restarted proxy to report the queued writes', async () => (await health()).writes.syncLag === 1200, 20_000);
      expect(await queued()).toBe(1200);

      await fallback.setMode({ mode: 'ok' });
      await until('the replay to bring the lag back to 0', async () => (await health()).writes.syncLag === 0, 60_000);
      expect(await queued()).toBe(0);
      for (let b = 0; b < 2; b++) for (let i = 0; i < 600; i++) expect(fallback.records.has(`w-${b}-${i}`)).toBe(true);
    } finally {
      await primary.setMode({ mode: 'down' });
      await fallback.setMode({ mode: 'ok' });
      await state.close();
    }
  });

  it('cutover and rollback: the CLI, given the variables and secret the stack outputs, moves the stage the running proxy reads', async () => {
    const [, out] = Object.entries(tf.output).find(([k]) => k.includes('search_proxy_switch'))!;
    const { secret, ...vars } = out.value as Record<string, string>;
    // what docs/search-proxy.md has an operator run: `terraform output search_proxy_switch` and the secret named there
    const env: Record<string, string> = { ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, resolveRefs(v)])), BREAKER_STATE_REDIS_AUTH: secretValue(secret!, {}) };
    const cli = (args: string[]) => runCli([...args, '--actor', 'ops'], { env: { ...env, MIGRATION_MONITOR_URL: cliTracker.url, MIGRATION_MONITOR_TOKEN: 'tok' } });
    // the stage a client's search is answered in (the proxy reads the switch as requests come, every stageRefreshMs)
    const stage = async () => {
      const r = await fetch(`http://127.0.0.1:${fns['search-proxy']!.port}/search`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BEARER }, body: JSON.stringify({ vector: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], topK: 1 }) });
      return ((await r.json()) as { stage: string }).stage;
    };
    expect(await stage()).toBe('new-primary'); // the deployment's settings (mode primary-only): no stage in the switch yet

    const rb = await cli(['rollback', '--to', 'old-only']);
    expect(rb).toMatchObject({ code: 0, stderr: '' });
    expect(rb.stdout).toMatch(/-> old-only in Redis key mm:search-proxy:switch/);
    await until('the proxy to read old-only', async () => (await stage()) === 'old-only', 10_000);
    const co = await cli(['cutover']);
    expect(co).toMatchObject({ code: 0, stderr: '' });
    await until('the proxy to read dual-write', async () => (await stage()) === 'dual-write', 10_000);
    expect((await cliTracker.tracker.get('default')).cutover).toMatchObject({ stage: 'dual-write', onBehalfOf: 'ops' });
  });

  it('log ingest: a Pub/Sub push of a log entry moves the AWS tracker, keyless', async () => {
    const data = Buffer.from(JSON.stringify({ insertId: 'e1', logName: 'projects/acme-migration/logs/run.googleapis.com%2Fstdout', resource: { type: 'cloud_run_job', labels: { job_name: 'migrator' } }, jsonPayload: { message: 'Migration started', migration_id: 'gcp-logs-1' } })).toString('base64');
    const r = await fetch(`http://127.0.0.1:${fns['log-ingest']!.port}/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BEARER }, body: JSON.stringify({ message: { data, messageId: 'e1' }, subscription: 'projects/acme-migration/subscriptions/mm-prod-migration-logs-push' }) });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ applied: 1 });
    expect((await tracker.get('gcp-logs-1')).phases[0]!.status).toBe('in_progress');
  });

  it('alert contract: each handler alert (failed validation, breaker opening, undelivered report) is one structured line the log-match policy of its severity selects, routed to the on-call channels', () => {
    const policies = Object.values(tf.resource['google_monitoring_alert_policy']!).filter((p) => p.conditions.some((c: any) => c.condition_matched_log));
    expect(policies.map((p) => p.user_labels.alarm).sort()).toEqual(['handler-alert-critical', 'handler-alert-error']);
    const channel = Object.entries(tf.resource['google_monitoring_notification_channel']!).find(([, c]) => c.labels.email_address === 'oncall@example.com')!;
    const byFn = (purpose: string) => fns[purpose]!.lines.map((l) => cloudRunEntry(fns[purpose]!.name, l)).filter((e): e is NonNullable<typeof e> => !!e);
    const alertsOf = (purpose: string) => byFn(purpose).filter((e) => 'alert' in e.jsonPayload);
    const matchedBy = (e: ReturnType<typeof byFn>[number]) =>
      policies.filter((p) => matchesFilter(p.conditions[0].condition_matched_log.filter, e)).map((p) => p.user_labels.alarm as string);
    // the same severity the tracker gives the alert it raises for the event (lib/core/alerts/severity.ts: a failed
    // run and an undelivered report are errors; the run's check is a cutover gate, so it fails a gate too: critical)
    const expected: Array<[string, string, string, (e: ReturnType<typeof byFn>[number]) => boolean]> = [
      ['validate', 'validation-failed', 'handler-alert-error', (e) => e.jsonPayload['ValidationFailed'] === 1],
      ['validate', 'validation-gate-failed', 'handler-alert-critical', (e) => e.jsonPayload['ValidationGateFailed'] === 1],
      ['search-proxy', 'breaker-open', 'handler-alert-critical', (e) => e.jsonPayload['BreakerTransitions'] === 1 && e.jsonPayload['ToState'] === 'open'],
      ['report', 'report-undelivered', 'handler-alert-error', (e) => e.jsonPayload['ReportDeliveryFailures'] === 1],
    ];
    for (const [purpose, id, alarm, event] of expected) {
      const lines = alertsOf(purpose).filter((e) => (e.jsonPayload['alert'] as { id: string }).id === id);
      const events = byFn(purpose).filter(event).length;
      expect(events).toBeGreaterThan(0);
      expect(`${purpose}: ${lines.length}`).toBe(`${purpose}: ${events}`); // one alert line per event (run failed, breaker opened, post failed)
      const e = lines[0]!;
      expect(e.severity).toBe(alarm === 'handler-alert-critical' ? 'CRITICAL' : 'ERROR');
      expect(matchedBy(e)).toEqual([alarm]); // exactly the policy of its severity
      const p = policies.find((x) => x.user_labels.alarm === alarm)!;
      for (const x of Object.values(p.conditions[0].condition_matched_log.label_extractors as Record<string, string>)) expect(typeof extract(x, e)).toBe('string');
      expect(p.notification_channels).toContain(`\${google_monitoring_notification_channel.${channel[0]}.name}`);
    }
    // ordinary lines (access log, metric lines) match no alert policy
    const quiet = Object.keys(fns).flatMap(byFn).filter((e) => !('alert' in e.jsonPayload));
    expect(quiet.length).toBeGreaterThan(10);
    expect(quiet.filter((e) => matchedBy(e).length)).toEqual([]);
  });

  it('telemetry contract: every log-based metric an alert policy reads is produced by these artifacts, in a line its filter selects with a numeric value', () => {
    const metrics = new Map(Object.values(tf.resource['google_logging_metric']!).map((m) => [m.name as string, m]));
    const serviceOf = new Map(Object.values(fns).map((f) => [f.name, f]));
    const missing: string[] = [];
    let checked = 0;
    for (const policy of Object.values(tf.resource['google_monitoring_alert_policy']!)) {
      for (const c of policy.conditions as Array<{ condition_threshold?: { filter: string } }>) {
        if (!c.condition_threshold) continue; // a log-match condition: the alert contract above
        const name = /metric\.type="logging\.googleapis\.com\/user\/([\w]+)"/.exec(c.condition_threshold.filter)?.[1];
        if (!name) continue; // a platform metric (Cloud Run request count): not the artifacts' to produce
        const m = metrics.get(name);
        if (!m) {
          missing.push(`${policy.display_name}: log metric ${name} is not defined`);
          continue;
        }
        if (!/resource\.type="cloud_run_revision"/.test(m.filter)) continue; // a platform log (Cloud Scheduler attempts)
        const services = [...m.filter.matchAll(/"(mm-prod-[\w-]+)"/g)].map((x: RegExpMatchArray) => x[1]!).filter((s: string) => serviceOf.has(s));
        const hit = services.some((s: string) =>
          serviceOf.get(s)!.lines.some((l) => {
            const e = cloudRunEntry(s, l);
            if (!e || !matchesFilter(m.filter, e)) return false;
            if (m.value_extractor && typeof extract(m.value_extractor, e) !== 'number') return false;
            return Object.values((m.label_extractors ?? {}) as Record<string, string>).every((x) => typeof extract(x, e) === 'string');
          }),
        );
        checked++;
        if (!hit) missing.push(`${policy.display_name}: nothing writes a line that ${name} selects (${m.filter.replace(/^.*\) AND /, '')})`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});
