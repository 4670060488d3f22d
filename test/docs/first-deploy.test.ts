/**
 * The offline part of the documented first deploy (docs/aws.md, docs/gcp.md "First deploy"), run in order
 * with the real CLIs: what the docs tell a user to type synthesizes (or refuses, naming the setting) as they
 * say. Deploys, applies and subscription confirmations need the clouds and are not run here.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'first-deploy-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const doc = (f: string) => fs.readFileSync(path.join(ROOT, 'docs', f), 'utf8');
const run = (cmd: string, args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TMPDIR: scratch, CDK_DISABLE_CLI_TELEMETRY: 'true', CHECKPOINT_DISABLE: '1', ...env }, timeout: 240_000 });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
};

describe('first deploy, offline steps in the documented order', () => {
  it('AWS: the CI role stack and staging synthesize; staging without on-call addresses is refused, naming onCallEmails', () => {
    const text = doc('aws.md');
    // the commands the doc gives (this test breaks when they change, so doc and test move together)
    expect(text).toContain('npx cdk deploy MigrationMonitoring-ci -c ciRepository=acme/migration-monitor');
    expect(text).toContain('npx cdk deploy -c env=staging -c onCallEmails=oncall@example.com MigrationMonitoring-staging');
    const out = path.join(scratch, 'cdk.out');
    const refused = run('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', out, '-c', 'env=staging', 'MigrationMonitoring-staging']);
    expect(refused.status).not.toBe(0);
    expect(refused.out).toMatch(/staging needs on-call addresses.*onCallEmails/);
    const ok = run('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', out, '-c', 'env=staging', '-c', 'onCallEmails=oncall@example.com', '-c', 'ciRepository=acme/migration-monitor']);
    expect(ok.out).not.toMatch(/Error/);
    expect(ok.status).toBe(0);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.template.json')).sort()).toEqual(['MigrationMonitoring-ci.template.json', 'MigrationMonitoring-staging.template.json']);
  }, 300_000);

  it('GCP: the CI identity stack and prod synthesize with the documented variables; prod without MM_ALERT_EMAILS is refused', () => {
    const text = doc('gcp.md');
    expect(text).toContain('MM_GCP_PROJECT=acme-migration MM_GCP_PROJECT_NUMBER=123456789012 MM_CI_REPOSITORY=acme/migration-monitor npm run synth:gcp');
    const out = path.join(scratch, 'cdktf.out');
    const base = { MM_GCP_PROJECT: 'acme-migration', CDKTF_OUTDIR: out, MM_SKIP_BUNDLING: '1' };
    const refused = run('npx', ['tsx', 'stacks/gcp/main.ts'], { ...base, MM_ENV: 'prod' });
    expect(refused.status).toBe(2);
    expect(refused.out).toMatch(/prod needs on-call addresses.*MM_ALERT_EMAILS/);
    const ok = run('npx', ['tsx', 'stacks/gcp/main.ts'], { ...base, MM_ENV: 'prod', MM_ALERT_EMAILS: 'oncall@acme.example', MM_GCP_PROJECT_NUMBER: '123456789012', MM_CI_REPOSITORY: 'acme/migration-monitor' });
    expect(ok.status).toBe(0);
    expect(fs.readdirSync(path.join(out, 'stacks')).sort()).toEqual(['migration-monitor-gcp-ci', 'migration-monitor-gcp-prod']);
  }, 300_000);
});
