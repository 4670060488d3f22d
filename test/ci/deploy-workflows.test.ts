/**
 * The committed CI deploy path: both workflows pass GitHub's own workflow parser (@actions/workflow-parser),
 * use only actions that run on Node 24, diff/plan on pull requests and deploy on main behind an environment;
 * the deploy identities (AWS OIDC role, GCP Workload Identity) exist as code and allow no more than they must.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { buildSync } from 'esbuild';
import YAML from 'yaml';
import { buildApp } from '../../stacks/aws/main';
import { synthGcp } from '../../stacks/gcp/main';
import { CI_ENV } from '../stacks/gcp/helpers';
import { cdkJsonContext } from '../stacks/variants';
import { ACCOUNT, CfnResolver, REGION } from '../support/cfn-resolve';

const ROOT = path.join(__dirname, '../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-workflows-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Actions allowed in workflows, each a release whose action.yml runs `using: node24`. */
const NODE24_ACTIONS = new Set(['actions/checkout@v5', 'actions/setup-node@v5', 'aws-actions/configure-aws-credentials@v6', 'google-github-actions/auth@v3']);

type Parser = typeof import('@actions/workflow-parser');
let parser: Parser;

beforeAll(() => {
  // The parser is an ES module importing JSON (Node 20 needs import attributes): bundled to CommonJS for jest.
  const out = path.join(scratch, 'workflow-parser.cjs');
  buildSync({ stdin: { contents: "export * from '@actions/workflow-parser';", resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'silent' });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  parser = require(out) as Parser;
});

async function lint(name: string, content: string): Promise<string[]> {
  const r = parser.parseWorkflow({ name, content }, new parser.NoOperationTraceWriter());
  const errors = r.context.errors.getErrors().map((e) => e.message);
  if (r.value) {
    const t = await parser.convertWorkflowTemplate(r.context, r.value);
    errors.push(...(t.errors ?? []).map((e) => e.Message));
  }
  return [...new Set(errors)];
}

const WORKFLOWS = ['deploy-aws.yml', 'deploy-gcp.yml'];
const read = (f: string) => fs.readFileSync(path.join(ROOT, '.github/workflows', f), 'utf8');

describe('deploy workflows', () => {
  it("the linter is real: it refuses a broken workflow", async () => {
    expect((await lint('bad.yml', 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - bogus: 1\n')).length).toBeGreaterThan(0);
  });

  it.each(WORKFLOWS)('%s passes the GitHub workflow parser', async (f) => {
    expect(await lint(f, read(f))).toEqual([]);
  });

  it.each(WORKFLOWS)('%s uses only actions that run on Node 24', (f) => {
    const uses = [...read(f).matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]);
    expect(uses.length).toBeGreaterThan(2);
    expect(uses.filter((u) => !NODE24_ACTIONS.has(u))).toEqual([]);
  });

  it.each([
    ['deploy-aws.yml', 'diff', /cdk diff/, 'deploy', /cdk deploy/],
    ['deploy-gcp.yml', 'plan', /terraform plan/, 'apply', /terraform apply/],
  ])('%s: %s on pull requests, %s on main behind an environment, keyless', (f, check, checkRun, deploy, deployRun) => {
    const w = YAML.parse(read(f)) as any;
    expect(w.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    const c = w.jobs[check];
    expect(c.if).toBe("github.event_name == 'pull_request'");
    expect(c.environment).toBeUndefined();
    expect(JSON.stringify(c.steps)).toMatch(checkRun);
    const d = w.jobs[deploy];
    expect(d.if).toContain("github.ref == 'refs/heads/main'");
    expect(d.environment).toBe('${{ matrix.env }}');
    expect(d.strategy.matrix.env).toEqual(['staging', 'prod']);
    expect(d.strategy['max-parallel']).toBe(1);
    expect(JSON.stringify(d.steps)).toMatch(deployRun);
    // no stored credentials: OIDC / Workload Identity only
    expect(read(f)).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|credentials_json|secrets\./);
  });
});

describe('deploy identities as code', () => {
  it('AWS: the GitHub OIDC role may assume the CDK bootstrap roles and nothing else', async () => {
    const outdir = fs.mkdtempSync(path.join(scratch, 'aws-'));
    const app = new App({ outdir, analyticsReporting: false, builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], env: 'dev', ciRepository: 'acme/migration-monitor' } });
    buildApp(app);
    const template = app.synth().getStackByName('MigrationMonitoring-ci').template;
    const cfn = new CfnResolver(template, 'MigrationMonitoring-ci');
    const [[roleId, role]] = cfn.ofType('AWS::IAM::Role');
    const trust = cfn.resolve(role.Properties!.AssumeRolePolicyDocument);
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]).toMatchObject({
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' }, StringLike: { 'token.actions.githubusercontent.com:sub': ['repo:acme/migration-monitor:environment:dev', 'repo:acme/migration-monitor:environment:staging', 'repo:acme/migration-monitor:environment:prod', 'repo:acme/migration-monitor:pull_request'] } },
    });
    expect(cfn.ofType('AWS::IAM::OIDCProvider')).toHaveLength(1);
    const identity = cfn.rolePolicies(roleId);
    const ask = async (action: string, resource: string) => {
      const r = await runSimulation({ request: { principal: `arn:aws:iam::${ACCOUNT}:role/ci`, action, resource: { resource, accountId: ACCOUNT }, contextVariables: {} }, identityPolicies: identity, serviceControlPolicies: [], resourceControlPolicies: [] }, {});
      if (r.resultType === 'error') throw new Error(r.errors.message);
      return r.overallResult;
    };
    for (const kind of ['deploy', 'file-publishing', 'lookup']) expect(await ask('sts:AssumeRole', `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-${kind}-role-${ACCOUNT}-${REGION}`)).toBe('Allowed');
    expect(await ask('sts:AssumeRole', `arn:aws:iam::${ACCOUNT}:role/OrganizationAccountAccessRole`)).not.toBe('Allowed');
    expect(await ask('iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/x`)).not.toBe('Allowed');
    expect(await ask('s3:GetObject', 'arn:aws:s3:::any-bucket/x')).not.toBe('Allowed');
    expect(await ask('cloudformation:CreateStack', `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/x/1`)).not.toBe('Allowed');
  }, 120_000);

  it('GCP: a Workload Identity pool that accepts only this repository, and a deploy account only it may impersonate', () => {
    const outdir = fs.mkdtempSync(path.join(scratch, 'gcp-'));
    synthGcp(['--env=dev', `--outdir=${outdir}`, '--skip-bundling'], { ...CI_ENV, MM_CI_REPOSITORY: 'acme/migration-monitor', MM_GCP_PROJECT_NUMBER: '123456789012' });
    const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks/migration-monitor-gcp-ci/cdk.tf.json'), 'utf8'));
    const provider = Object.values<any>(json.resource.google_iam_workload_identity_pool_provider)[0];
    expect(provider.attribute_condition).toBe('assertion.repository == "acme/migration-monitor"');
    expect(provider.oidc.issuer_uri).toBe('https://token.actions.githubusercontent.com');
    const binding = Object.values<any>(json.resource.google_service_account_iam_member)[0];
    expect(binding).toMatchObject({ role: 'roles/iam.workloadIdentityUser', member: 'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/mm-github/attribute.repository/acme/migration-monitor' });
    const roles = Object.values<any>(json.resource.google_project_iam_member).map((m) => m.role);
    expect(roles).not.toContain('roles/owner');
    expect(roles).not.toContain('roles/editor');
    expect(Object.keys(json.output).sort()).toEqual(['deploy_service_account', 'workload_identity_provider']);
  }, 120_000);
});
