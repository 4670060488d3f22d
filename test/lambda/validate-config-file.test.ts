/**
 * The validation function given its checks config as a file (ValidationFunction `configFile`): synthesized
 * WITH esbuild bundling, then run from its asset in cdk.out in a fresh Node process, as the Lambda runtime does.
 * The YAML was read and checked at synth; what deploys is JSON beside index.js, no YAML parser, and only the
 * drivers of the connector types the config uses. A `${VAR}` value comes from the Secrets Manager secret the
 * construct's `configSecrets` names (served locally in the AWS JSON protocol), read when the function runs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ValidationFunction } from '../../lib/constructs/aws/validation-function';
import { secretsGetSecretValue, startAwsJsonServer, type AwsJsonServer } from '../adapters/aws/aws-json-server';
import { handlerDefaults } from '../constructs/aws/helpers';
import { LAMBDA_BUNDLE_TARGET_BYTES } from './bundle-helpers';
import { lambdaRuntimeEnv, runBundle } from './bundle-runner';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-validate-config-file-'));
const data = path.join(scratch, 'data');
const DATA_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/data-dir-AbCdEf';
let fn: { dir: string; env: Record<string, string> };
let aws: AwsJsonServer;

beforeAll(async () => {
  aws = await startAwsJsonServer({ 'secretsmanager.GetSecretValue': secretsGetSecretValue({ [DATA_SECRET]: data }) });
  fs.mkdirSync(data);
  const rows = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: i + 1, name: `r${i + 1}` })).join('\n');
  fs.writeFileSync(path.join(data, 'a.jsonl'), rows(30));
  fs.writeFileSync(path.join(data, 'b.jsonl'), rows(28));
  const configFile = path.join(scratch, 'checks.yaml');
  fs.writeFileSync(
    configFile,
    [
      '# checked at synth; DATA_DIR comes from a secret when the function runs',
      'name: from-file',
      'connectors:',
      '  a: { type: file, path: "${DATA_DIR}/a.jsonl", key: id, keyType: number, sorted: true }',
      '  b: { type: file, path: "${DATA_DIR}/b.jsonl", key: id, keyType: number, sorted: true }',
      'checks:',
      '  - { name: rows, kind: count, source: a, target: b, tolerance: 5 }',
      '  - { name: records, kind: diff, source: a, target: b }',
    ].join('\n'),
  );
  const outdir = path.join(scratch, 'cdk.out');
  // real bundling: no `aws:cdk:bundling-stacks` override
  const app = new App({ outdir, analyticsReporting: false, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'ValidationFromFile');
  new ValidationFunction(stack, 'Validation', { handlerDefaults: handlerDefaults(), configFile, configSecrets: { DATA_DIR: secretsmanager.Secret.fromSecretCompleteArn(stack, 'DataDir', DATA_SECRET) } });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, any> };
  const [r] = Object.values(template.Resources).filter((x) => x.Type === 'AWS::Lambda::Function');
  fn = { dir: path.join(outdir, r.Metadata['aws:asset:path']), env: r.Properties.Environment.Variables };
  fs.mkdirSync(path.join(outdir, 'node_modules'));
  fs.symlinkSync(path.join(__dirname, '../../node_modules/@aws-sdk'), path.join(outdir, 'node_modules/@aws-sdk'));
}, 120_000);

afterAll(async () => {
  await aws?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** The template's environment, with the Lambda runtime's variables and Secrets Manager served locally. */
const runEnv = (extra: Record<string, string> = {}) => ({ ...fn.env, ...lambdaRuntimeEnv(), AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url, ...extra });

describe('validation function with its config from a file (cdk.out)', () => {
  it('deploys the config as JSON beside index.js, without the YAML parser or the drivers the config does not use, within 300 KB', () => {
    expect(fn.env['VALIDATION_CONFIG_PATH']).toBe('validation-config.json');
    expect(JSON.parse(fs.readFileSync(path.join(fn.dir, 'validation-config.json'), 'utf8'))).toMatchObject({
      name: 'from-file',
      connectors: { a: { type: 'file', path: '${DATA_DIR}/a.jsonl' } },
    });
    const code = fs.readFileSync(path.join(fn.dir, 'index.js'), 'utf8');
    expect(code).not.toContain('tag:yaml.org,2002'); // the yaml package
    expect(code).not.toMatch(/pg-native|pgpass|PGSSLMODE/); // pg
    expect(code).not.toMatch(/ioredis|ECONNREFUSED.*redis/i);
    expect(code.length).toBeLessThanOrEqual(LAMBDA_BUNDLE_TARGET_BYTES);
  });

  it('runs the shipped config with its variable from the secret, and counts one cold start with the function name', async () => {
    expect(fn.env['DATA_DIR_SECRET_ARN']).toBe(DATA_SECRET);
    const env = runEnv({ VALIDATION_CHECKPOINT_DIR: path.join(scratch, 'tmp') });
    // the runtime's working directory is the code's: VALIDATION_CONFIG_PATH is relative to it
    const run = await runBundle(fn.dir, env, [{ source: 'schedule' }, { source: 'schedule', resume: false }], 60_000, 120_000, fn.dir);
    expect(run.error).toBeUndefined();
    const [first, second] = run.results as any[];
    expect(first).toMatchObject({ verdict: 'fail', totals: { checks: 2, passed: 1, failed: 1 }, failed: [{ name: 'records', summary: expect.stringContaining('2 missing') }] });
    expect(second).toMatchObject({ verdict: 'fail' });
    const emf = run.stdout.split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
    const cold = emf.filter((d) => 'ColdStart' in d);
    expect(cold).toHaveLength(1);
    expect(cold[0]).toMatchObject({ ColdStart: 1, function_name: 'bundle-test', service: 'migration-monitor' });
    expect(cold[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([expect.arrayContaining(['service', 'function_name'])]);
    expect(aws.calls.filter((c) => c === 'secretsmanager.GetSecretValue')).toHaveLength(1); // cached across the two runs
  });

  it('fails the run, naming the variable and its secret, when the secret cannot be read', async () => {
    const run = await runBundle(fn.dir, runEnv({ DATA_DIR_SECRET_ARN: `${DATA_SECRET}-gone`, VALIDATION_CHECKPOINT_DIR: path.join(scratch, 'tmp2') }), [{}], 60_000, 120_000, fn.dir);
    expect(run.error).toMatch(/validate: the config's \$\{DATA_DIR\} comes from DATA_DIR_SECRET_ARN, which cannot be read: /);
  });
});
