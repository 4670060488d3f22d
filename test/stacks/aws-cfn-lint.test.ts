/**
 * cfn-lint (AWS's CloudFormation linter, installed by pip; `scripts/ensure-test-deps.js` checks for it) on
 * every synthesized variant: zero errors, and every warning either fixed or justified in ALLOWED_WARNINGS.
 * Also: the CDK's own schema check (`@aws-cdk/core:validateAgainstDefaultRules` in cdk.json) fails synth.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { buildApp } from '../../stacks/aws/main';
import { AWS_VARIANTS, cdkJsonContext } from './variants';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-cfn-lint-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Warnings we keep, each with the reason. Anything else cfn-lint warns about fails the test. */
const ALLOWED_WARNINGS: Array<{ rule: string; resource: RegExp; why: string }> = [
  {
    rule: 'W3005',
    resource: /Function[0-9A-F]{8}$/,
    why: "aws-cdk-lib's Function adds DependsOn its role (and the role's default policy) so the policy exists before the first invocation; the role half is redundant with the GetAtt, harmless, and not ours to remove.",
  },
];

interface Finding {
  Rule: { Id: string };
  Level: string;
  Message: string;
  Filename: string;
  Location: { Path: Array<string | number> };
}

const templates: Record<string, string> = {};
let findings: Finding[] = [];

beforeAll(() => {
  for (const [name, context] of Object.entries(AWS_VARIANTS)) {
    const outdir = fs.mkdtempSync(path.join(scratch, `${name}-`));
    const app = new App({ outdir, analyticsReporting: false, builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
    buildApp(app);
    app.synth();
    // every stack of the app: the monitoring stack, and the CI deploy-role stack where configured
    for (const f of fs.readdirSync(outdir).filter((x) => x.endsWith('.template.json'))) templates[`${name}/${f}`] = path.join(outdir, f);
  }
  const r = spawnSync('cfn-lint', ['--format', 'json', '--', ...Object.values(templates)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`cfn-lint is not installed (pip install cfn-lint): ${r.error.message}`);
  findings = JSON.parse(r.stdout || '[]');
}, 300_000);

const show = (f: Finding) => `${path.basename(path.dirname(f.Filename))} ${f.Rule.Id} ${f.Location.Path.slice(0, 3).join('/')}: ${f.Message.slice(0, 200)}`;

describe('cfn-lint on every variant (dev, staging, prod, everything on)', () => {
  it('linted the templates of all four variants, the CI deploy-role stack included', () => {
    expect(Object.keys(templates).sort()).toEqual([
      'dev/MigrationMonitoring-dev.template.json',
      'everything/MigrationMonitoring-ci.template.json',
      'everything/MigrationMonitoring-prod.template.json',
      'prod/MigrationMonitoring-prod.template.json',
      'staging/MigrationMonitoring-staging.template.json',
    ]);
  });

  it('finds no errors', () => {
    expect(findings.filter((f) => f.Level === 'Error').map(show)).toEqual([]);
  });

  it('finds no warning that is not justified in ALLOWED_WARNINGS', () => {
    const unjustified = findings.filter((f) => f.Level !== 'Error' && !ALLOWED_WARNINGS.some((a) => a.rule === f.Rule.Id && a.resource.test(String(f.Location.Path[1]))));
    expect(unjustified.map(show)).toEqual([]);
  });

  it('every justification is still needed (no stale entries)', () => {
    for (const a of ALLOWED_WARNINGS) expect(findings.some((f) => f.Rule.Id === a.rule && a.resource.test(String(f.Location.Path[1])))).toBe(true);
  });
});

describe("the CDK's schema check is a gate", () => {
  it('cdk.json turns on validateAgainstDefaultRules', () => {
    expect(cdkJsonContext()['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
  });

  it('fails synth on a character IAM refuses (the check cfn-lint calls E3031), which without the flag only warns', () => {
    const synth = (flag: boolean) => {
      const app = new App({ outdir: fs.mkdtempSync(path.join(scratch, 'bad-')), analyticsReporting: false, context: { ...cdkJsonContext(), '@aws-cdk/core:validateAgainstDefaultRules': flag } });
      const stack = new Stack(app, 'Bad');
      new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: 'logs → tracker' });
      return () => app.synth();
    };
    expect(synth(false)).not.toThrow();
    expect(synth(true)).toThrow(/Description|pattern|u0009/);
  }, 120_000);
});
