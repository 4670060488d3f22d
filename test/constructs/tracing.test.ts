import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../stacks/aws/main';
import { CloudRunHandler } from '../../lib/constructs/gcp/cloud-run-handler';
import { SecureBucket } from '../../lib/constructs/gcp/report-bucket';
import { HandlerSecrets } from '../../lib/constructs/gcp/secrets';
import { cdkJsonContext } from '../stacks/variants';
import { only, placement, resources, synthJson } from './gcp/synth-helpers';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tracing-constructs-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const LAYER = 'arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-collector-arm64-ver-0-117-0:1';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any> }>; Rules?: Record<string, any> };

function synthAws(context: Record<string, unknown>): { template: Template; file: string } {
  const app = new App({ outdir: fs.mkdtempSync(path.join(scratch, 'out-')), analyticsReporting: false, builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], logGroups: '/ecs/x', ...context } });
  const { stack } = buildApp(app);
  const artifact = app.synth().getStackByName(stack.stackName);
  return { template: artifact.template as Template, file: path.join(artifact.assembly.directory, artifact.templateFile) };
}

function lambdas(context: Record<string, unknown>) {
  return Object.values(synthAws(context).template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r) => r.Properties);
}

describe('tracing in the constructs', () => {
  it('AWS: -c tracingLayerArn puts the collector layer and the exporter endpoint on every handler; without it, neither', () => {
    const on = lambdas({ tracingLayerArn: LAYER, tracingSampleRatio: '0.25' });
    expect(on.length).toBeGreaterThanOrEqual(3);
    for (const fn of on) {
      expect(fn['Layers']).toEqual([LAYER]);
      expect(fn['Environment'].Variables).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' });
      expect(fn['TracingConfig']).toEqual({ Mode: 'Active' }); // X-Ray stays on: the collector's default config exports there
    }
    for (const fn of lambdas({})) {
      expect(fn['Layers']).toBeUndefined();
      expect(Object.keys(fn['Environment'].Variables).filter((k) => k.startsWith('OTEL_'))).toEqual([]);
    }
  });

  it('AWS: the template with the layer passes cfn-lint, and refuses at deploy time a region other than the layer\'s', () => {
    const { template, file } = synthAws({ tracingLayerArn: LAYER });
    expect(template.Rules?.['TracingLayerRegion']).toEqual(
      { Assertions: [{ Assert: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }, AssertDescription: expect.stringContaining('Lambda layers are regional') }] },
    );
    expect(synthAws({}).template.Rules?.['TracingLayerRegion']).toBeUndefined();
    const r = spawnSync('cfn-lint', ['--format', 'json', '--', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw new Error(`cfn-lint is not installed (pip install cfn-lint): ${r.error.message}`);
    const findings = JSON.parse(r.stdout || '[]') as Array<{ Rule: { Id: string }; Level: string; Message: string }>;
    // W3005 on every function is the one warning test/stacks/aws-cfn-lint.test.ts justifies (CDK's DependsOn the role)
    expect(findings.filter((f) => f.Rule.Id !== 'W3005').map((f) => `${f.Rule.Id} ${f.Message}`)).toEqual([]);
  });

  it('AWS: an x86 layer is refused (its collector cannot start on the arm64 functions)', () => {
    expect(() => lambdas({ tracingLayerArn: LAYER.replace('arm64', 'amd64') })).toThrow(/built for x86_64, but the functions run on arm64/);
  });

  it('AWS: a layer ARN that is not one is refused naming the setting', () => {
    expect(() => lambdas({ tracingLayerArn: 'aws-otel-collector' })).toThrow(/tracing\.collectorLayerArn: must be a Lambda layer version ARN/);
  });

  const handler = (extra: Partial<ConstructorParameters<typeof CloudRunHandler>[2]> = {}) =>
    synthJson((s) => {
      const sources = new SecureBucket(s, 'sources', { name: 'src', location: 'EU', env: 'prod', versioning: false });
      new CloudRunHandler(s, 'report', { placement, purpose: 'report', entry: 'lambda/report.ts', adapter: 'http', sourceBucket: sources, skipBundling: true, secrets: new HandlerSecrets(s, 'secrets', { placement }), ...extra });
    });

  it('GCP: every handler knows its project (the trace field of its log lines); tracing adds the Cloud Trace endpoint, the sampler and only the trace-writer role', () => {
    const off = handler();
    expect(only(off, 'google_cloudfunctions2_function').service_config.environment_variables).toMatchObject({ GOOGLE_CLOUD_PROJECT: 'test-project' });
    expect(resources(off, 'google_project_iam_member')).toEqual([]);
    const on = handler({ tracing: { sampleRatio: 0.1 } });
    expect(only(on, 'google_cloudfunctions2_function').service_config.environment_variables).toMatchObject({
      GOOGLE_CLOUD_PROJECT: 'test-project',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://telemetry.googleapis.com',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    });
    expect(only(on, 'google_project_iam_member')).toMatchObject({ project: 'test-project', role: 'roles/cloudtrace.agent', member: expect.stringMatching(/^serviceAccount:\$\{google_service_account\./) });
  });
});
