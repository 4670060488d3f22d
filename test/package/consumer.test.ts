/**
 * Proof as a consumer: `npm pack` (its prepack builds dist/ and the prebuilt handler assets), install the
 * tarball into a fresh app outside the repository (the tarball and registry packages only; the peer
 * dependencies aws-cdk-lib, constructs, cdktf and @cdktf/provider-google are linked from this repository's
 * node_modules instead of downloading ~470 MB again), run the README's two snippets verbatim, assert the
 * synthesized resources, run the packed CLI against a local tracker, and check what the tarball holds.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { trackerApi } from '../../lib/core/tracker/api';
import { Tracker } from '../../lib/core/tracker/service';
import type { AssetManifest } from '../../lib/constructs/prebuilt';
import { bundlesOverLimit, LAMBDA_BUNDLE_TARGET_BYTES } from '../lambda/bundle-helpers';

const ROOT = path.join(__dirname, '../..');
/** Packed size budget: the prebuilt Lambda and Cloud Run bundles are most of it. */
const BUDGET_BYTES = 8 * 1024 * 1024;
const PEERS = ['aws-cdk-lib', 'constructs', 'cdktf', '@cdktf/provider-google'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-consumer-'));
const app = path.join(work, 'app');
let tarball: string;
let files: string[];

/** The README's ```ts block under a heading. */
function snippet(heading: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`## ${heading}`));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error(`README: no ts block under "${heading}"`);
  return m[1]!;
}

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(cmd, args, { cwd, env: { ...process.env, CHECKPOINT_DISABLE: '1', CDK_DISABLE_CLI_TELEMETRY: 'true', ...env }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );

beforeAll(async () => {
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr.slice(-2000)}`);
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  tarball = path.join(work, info[0]!.filename);
  files = info[0]!.files.map((f) => f.path);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, version: '1.0.0' }));
  // peers: linked, not downloaded again (the package declares them; --legacy-peer-deps keeps npm from fetching them)
  const installed = await run('npm', ['install', tarball, '--prefer-offline', '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund'], app);
  if (installed.code !== 0) throw new Error(`npm install of the tarball failed: ${installed.stderr.slice(-2000)}`);
  for (const p of PEERS) {
    const to = path.join(app, 'node_modules', p);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (!fs.existsSync(to)) fs.symlinkSync(path.join(ROOT, 'node_modules', p), to);
  }
}, 1_200_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('the packed package, used from a fresh app', () => {
  it('holds compiled code, types and prebuilt assets; no sources, tests, benches or CI files; stays under its size budget', () => {
    const size = fs.statSync(tarball).size;
    process.stdout.write(`packed ${path.basename(tarball)}: ${(size / 1024 / 1024).toFixed(2)} MB (budget ${BUDGET_BYTES / 1024 / 1024} MB), ${files.length} files\n`);
    expect(size).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'bin/migration-monitor.js', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/constructs/aws/index.d.ts', 'dist/assets/manifest.json', 'dist/assets/aws/tracker-api/index.js', 'dist/assets/gcp/report/index.js']));
    const foreign = files.filter((f) => /^(test|bench|scripts|stacks|lambda|cloud-run|\.ci|\.github|docs)\//.test(f) || (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)) || /\.test\.|tsconfig|jest\.config|cdk\.json|cdktf\.json/.test(f));
    expect(foreign).toEqual([]);
    const pkg = JSON.parse(fs.readFileSync(path.join(app, 'node_modules/migration-monitor/package.json'), 'utf8')) as Record<string, any>;
    expect(pkg['private']).toBeUndefined();
    expect(Object.keys(pkg['peerDependencies'])).toEqual(expect.arrayContaining(PEERS));
    for (const p of PEERS) expect(pkg['dependencies'][p]).toBeUndefined();
    // the install brought no esbuild, tsx or second aws-cdk-lib
    for (const p of ['esbuild', 'tsx', 'typescript']) expect(fs.existsSync(path.join(app, 'node_modules', p))).toBe(false);
    expect(fs.lstatSync(path.join(app, 'node_modules/aws-cdk-lib')).isSymbolicLink()).toBe(true);
  });

  it('ships every prebuilt Lambda bundle (each handler and each variant: connector drivers, report with SMTP) within the 300 KB target', () => {
    const assets = path.join(app, 'node_modules/migration-monitor/dist/assets');
    const manifest = JSON.parse(fs.readFileSync(path.join(assets, 'manifest.json'), 'utf8')) as AssetManifest;
    const dirs = manifest.aws.map((a) => a.dir);
    expect(dirs).toEqual(expect.arrayContaining(['aws/tracker-api', 'aws/report', 'aws/report-smtp', 'aws/validate', 'aws/validate-postgres', 'aws/validate-redis', 'aws/validate-postgres-redis']));
    // the 300 KB target holds for every one: the SMTP report and the validation variants with every driver included
    expect(bundlesOverLimit(Object.fromEntries(dirs.map((d) => [d, path.join(assets, d, 'index.js')])), LAMBDA_BUNDLE_TARGET_BYTES)).toEqual([]);
  });

  it('synthesizes the README\'s CDK app with MigrationMonitoring from prebuilt assets', async () => {
    fs.writeFileSync(path.join(app, 'app.ts'), snippet('Use it in your own CDK app'));
    // tsx from this repository only runs the user's TypeScript; every import resolves in the app
    const r = await run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'app.ts'], app, { CDK_OUTDIR: path.join(app, 'cdk.out') });
    expect({ code: r.code, stderr: r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: expect.any(String) });
    const t = JSON.parse(fs.readFileSync(path.join(app, 'cdk.out/OrdersMigration.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: any; Metadata?: any }> };
    const types = Object.values(t.Resources).map((x) => x.Type);
    const count = (type: string) => types.filter((x) => x === type).length;
    expect(count('AWS::DynamoDB::GlobalTable')).toBe(1);
    expect(count('AWS::ApiGatewayV2::Api')).toBe(1);
    expect(count('AWS::SNS::Topic')).toBe(1);
    expect(count('AWS::CloudWatch::Dashboard')).toBe(1);
    expect(count('AWS::CloudWatch::Alarm')).toBeGreaterThan(5);
    expect(count('AWS::SNS::Subscription')).toBeGreaterThanOrEqual(1);
    const fns = Object.values(t.Resources).filter((x) => x.Type === 'AWS::Lambda::Function');
    expect(fns.length).toBeGreaterThanOrEqual(2); // tracker API and the daily report
    for (const f of fns) expect(f.Properties).toMatchObject({ Handler: 'index.handler', Architectures: ['arm64'], Runtime: 'nodejs24.x' });
    // each function's asset is the package's prebuilt bundle, not a synth-time build
    const assets = fs.readdirSync(path.join(app, 'cdk.out')).filter((d) => d.startsWith('asset.'));
    const bundles = assets.filter((d) => fs.existsSync(path.join(app, 'cdk.out', d, 'index.js')));
    expect(bundles.length).toBeGreaterThanOrEqual(2);
    const tracker = fs.readFileSync(path.join(app, 'node_modules/migration-monitor/dist/assets/aws/tracker-api/index.js'));
    expect(bundles.some((d) => fs.readFileSync(path.join(app, 'cdk.out', d, 'index.js')).equals(tracker))).toBe(true);
    // the grant from the README: the job role may invoke the API
    const policies = Object.values(t.Resources).filter((x) => x.Type === 'AWS::IAM::Policy' && JSON.stringify(x.Properties.Roles).includes('MigrationJob'));
    expect(JSON.stringify(policies)).toContain('execute-api:Invoke');
  }, 600_000);

  it('synthesizes the README\'s CDKTF app with GcpMigrationMonitoring from prebuilt assets', async () => {
    fs.writeFileSync(path.join(app, 'main.ts'), snippet('Use it in your own CDKTF app'));
    const r = await run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'main.ts'], app);
    expect({ code: r.code, stderr: r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: expect.any(String) });
    const tf = JSON.parse(fs.readFileSync(path.join(app, 'cdktf.out/stacks/orders-migration/cdk.tf.json'), 'utf8')) as { resource: Record<string, Record<string, any>>; provider: Record<string, unknown> };
    expect(tf.provider['google']).toBeDefined();
    const fns = Object.values(tf.resource['google_cloudfunctions2_function'] ?? {});
    expect(fns.length).toBe(3); // report, validate, search proxy
    for (const f of fns) expect(f.build_config).toMatchObject({ runtime: 'nodejs24', entry_point: 'mmHandler' });
    expect(Object.keys(tf.resource['google_storage_bucket'] ?? {}).length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(tf.resource['google_cloud_scheduler_job'] ?? {}).length).toBe(2);
    expect(Object.keys(tf.resource['google_monitoring_alert_policy'] ?? {}).length).toBeGreaterThan(3);
    const report = Object.values(tf.resource['google_cloudfunctions2_function']!).find((f) => /report/.test(f.name));
    expect(JSON.stringify(report.service_config.environment_variables)).toContain('execute-api');
  }, 600_000);

  it('runs the packed CLI: --version, and status against a local tracker', async () => {
    const bin = path.join(app, 'node_modules/.bin/migration-monitor');
    const v = await run(bin, ['--version'], app);
    expect(v.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const tracker = new Tracker({ store: FileStore.inMemory() });
    await tracker.initialize('orders', { name: 'Orders DB' });
    const srv: RunningServer = await serveHttp(trackerApi({ tracker, token: 'tok', defaultMigrationId: 'orders' }));
    try {
      const s = await run(bin, ['--url', srv.url, '--token', 'tok', 'status', '-o', 'json'], app);
      expect(s.code).toBe(0);
      expect(JSON.parse(s.stdout)).toMatchObject({ migrationId: 'orders', name: 'Orders DB', status: 'not_started' });
      const t = await run(bin, ['status'], app, { MIGRATION_MONITOR_URL: srv.url, MIGRATION_MONITOR_TOKEN: 'tok' });
      expect(t.stdout).toMatch(/^Health: healthy/m);
    } finally {
      await srv.close();
    }
    // the installed CLI runs the compiled code: no TypeScript in the package to run
    expect(fs.existsSync(path.join(app, 'node_modules/migration-monitor/lib'))).toBe(false);
  }, 300_000);
});
