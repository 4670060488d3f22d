import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ValidationFunction, validationBundleDefine, type ValidationFunctionProps } from '../../../lib/constructs/aws/validation-function';
import { handlerDefaults, resources, template, testStack } from './helpers';

function build(over: Partial<ValidationFunctionProps> = {}) {
  const stack = testStack();
  new ValidationFunction(stack, 'Validation', { handlerDefaults: handlerDefaults(), ...(over.configFile ? {} : { configParameter: '/migration/validation-config' }), ...over });
  const t = template(stack);
  const [[, fn]] = resources(t, 'AWS::Lambda::Function') as [[string, any]];
  const statements = resources(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
  return { t, fn, env: fn.Properties.Environment.Variables as Record<string, any>, statements };
}

const bySid = (statements: any[], sid: string) => statements.find((s) => s.Sid === sid);

describe('ValidationFunction', () => {
  it('reads its checks config from the one SSM parameter, runs one at a time, and may touch nothing else by default', () => {
    const { env, fn, statements } = build();
    expect(env['VALIDATION_CONFIG_PARAMETER']).toBe('/migration/validation-config');
    expect(env['MIGRATION_MONITOR_URL']).toBeUndefined();
    expect(env['MM_REPORT_SINK']).toBeUndefined();
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Properties.Timeout).toBe(300);
    expect(fn.Properties.MemorySize).toBe(1024);
    const ssm = bySid(statements, 'ReadChecksConfig');
    expect(ssm.Action).toBe('ssm:GetParameter');
    expect(JSON.stringify(ssm.Resource)).toContain(':parameter/migration/validation-config"');
    const actions = statements.flatMap((s) => [s.Action].flat() as string[]);
    expect(actions.filter((a) => /^(dynamodb|s3|lambda|execute-api|ssm):/.test(a))).toEqual(['ssm:GetParameter']);
  });

  it('may describe and read exactly the resources its checks name', () => {
    const { statements } = build({ resources: { dynamodbTables: ['orders'], s3Buckets: ['acme-data'], lambdaFunctions: ['orders-api'] } });
    const tables = bySid(statements, 'ReadCheckedTables');
    expect(tables.Action).toEqual(['dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:DescribeContinuousBackups', 'dynamodb:Scan', 'dynamodb:BatchGetItem']);
    expect(JSON.stringify(tables.Resource)).toMatch(/:table\/orders"\]\]\}$/);
    expect(bySid(statements, 'HeadCheckedBuckets')).toMatchObject({ Action: 's3:ListBucket', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::acme-data']] } });
    const fns = bySid(statements, 'GetCheckedFunctions');
    expect(fns.Action).toBe('lambda:GetFunction');
    expect(JSON.stringify(fns.Resource)).toContain(':function:orders-api"');
  });

  it('posts to the tracker with SigV4 when given a migration, and stores its reports through the grant it is handed', () => {
    const granted: string[] = [];
    const { env } = build({
      tracker: { url: 'https://abc.execute-api.eu-west-1.amazonaws.com', migrationId: 'tenant-a', grantInvoke: (g) => (granted.push('invoke'), iam.Grant.drop(g, 'test')) },
      reports: { bucketName: 'acme-reports', prefix: 'validation', grant: (_role, prefix) => granted.push(`s3:${prefix}`) },
    });
    expect(env).toMatchObject({ MIGRATION_MONITOR_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com', MIGRATION_MONITOR_SIGV4: 'true', MIGRATION_MONITOR_MIGRATION: 'tenant-a', MM_REPORT_SINK: 's3', MM_REPORT_BUCKET: 'acme-reports', MM_REPORT_PREFIX: 'validation' });
    expect(granted).toEqual(['invoke', 's3:validation']);
  });

  it('bundles only the connector drivers named (default: all but redis) and never the YAML parser; unknown types are refused at synth', () => {
    const noYaml = { 'process.env.MM_BUNDLE_OMIT_YAML': '"true"' };
    expect(validationBundleDefine()).toEqual({ ...noYaml, 'process.env.MM_BUNDLE_OMIT_REDIS': '"true"' });
    expect(validationBundleDefine(['redis', 'file'])).toEqual({ ...noYaml, 'process.env.MM_BUNDLE_OMIT_POSTGRES': '"true"' });
    expect(validationBundleDefine(['postgres', 'redis', 'dynamodb'])).toEqual(noYaml);
    expect(() => build({ connectors: ['postgres', 'mongodb' as 'postgres'] })).toThrow(/unknown connector type\(s\) mongodb \(known: postgres, dynamodb, redis, http-json, file\)/);
  });

  describe('configFile: the config checked at synth and shipped as JSON', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-validation-construct-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const pgConfig = [
      'connectors:',
      '  src: { type: postgres, url: "${SOURCE_DB_URL}", table: orders, key: id }',
      '  dst: { type: dynamodb, table: orders, key: id }',
      'checks:',
      '  - { name: rows, kind: count, source: src, target: dst }',
    ].join('\n');

    it('fails the synth on a bad config, naming the file and the path of each problem', () => {
      const bad = file('bad.yaml', ['connectors:', '  a: { type: file, path: a.csv, key: id, delimiter: 7 }', 'checks:', '  - { kind: count, source: a, target: missing }', '  - { kind: latency, url: "not a url" }'].join('\n'));
      const err = (() => {
        try {
          build({ configFile: bad });
        } catch (e) {
          return (e as Error).message;
        }
        return 'no error';
      })();
      expect(err).toContain(`ValidationFunction: invalid validation config: ${bad}: `);
      expect(err).toMatch(/connectors\.a\.delimiter: /);
      expect(err).toMatch(/checks\[0\]\.target: unknown connector "missing" \(defined: a\)/);
      expect(err).toMatch(/checks\[1\]\.url: /);
      expect(() => build({ configFile: file('broken.yaml', 'checks: [ { kind: count') })).toThrow(/broken\.yaml is not valid YAML/);
      expect(() => build({ configFile: path.join(dir, 'absent.yaml') })).toThrow(/cannot read configFile .*absent\.yaml/);
    });

    const DB_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/source-db-AbCdEf';
    const dbSecret = (stack: import('aws-cdk-lib').Stack, id = 'DbSecret') => ({ SOURCE_DB_URL: secretsmanager.Secret.fromSecretCompleteArn(stack, id, DB_SECRET) });

    it('ships the config as JSON (variables left for the function to resolve, secrets by ARN) and reads no parameter', () => {
      const stack = testStack();
      new ValidationFunction(stack, 'Validation', { handlerDefaults: handlerDefaults(), configFile: file('checks.yaml', pgConfig), configSecrets: dbSecret(stack) });
      const t = template(stack);
      const [[, fn]] = resources(t, 'AWS::Lambda::Function') as [[string, any]];
      const env = fn.Properties.Environment.Variables as Record<string, string>;
      const statements = resources(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
      expect(env['VALIDATION_CONFIG_PATH']).toBe('validation-config.json');
      expect(env['SOURCE_DB_URL_SECRET_ARN']).toBe(DB_SECRET);
      expect(env['VALIDATION_CONFIG_PARAMETER']).toBeUndefined();
      expect(bySid(statements, 'ReadChecksConfig')).toBeUndefined();
      // the role may read that one secret
      expect(statements.find((st) => [st.Action].flat().includes('secretsmanager:GetSecretValue'))?.Resource).toBe(DB_SECRET);
      expect(JSON.stringify(t)).not.toContain('${SOURCE_DB_URL}'); // the config is in the code, not the template
    });

    it('fails the synth on a variable the function will have no value for, and takes one with a default or from the runtime', () => {
      expect(() => build({ configFile: file('unset.yaml', pgConfig) })).toThrow(
        /unset\.yaml: connectors\.src\.url: \$\{SOURCE_DB_URL\} has no value in the function: name a secret for it in configSecrets, or give it a default/,
      );
      const defaults = ['connectors:', '  src: { type: postgres, url: "${SOURCE_DB_URL:-postgres://db:5432/orders}", table: orders, key: id }', '  dst: { type: dynamodb, region: "${AWS_REGION}", table: orders, key: id }', 'checks:', '  - { kind: count, source: src, target: dst }'];
      expect(() => build({ configFile: file('defaults.yaml', defaults.join('\n')) })).not.toThrow();
      expect(() => build({ configFile: file('c.yaml', pgConfig), configSecrets: { 'not-a-name': {} as secretsmanager.ISecret } })).toThrow(/configSecrets not-a-name/);
    });

    it('bundles the drivers of the connector types the config uses, and no others', () => {
      const stack = testStack();
      const pg = new ValidationFunction(stack, 'Pg', { handlerDefaults: handlerDefaults(), configFile: file('pg.yaml', pgConfig), configSecrets: dbSecret(stack) });
      expect(pg.connectors).toEqual(['postgres', 'dynamodb']);
      const files = new ValidationFunction(stack, 'Files', {
        handlerDefaults: handlerDefaults(),
        configFile: file('files.json', JSON.stringify({ connectors: { a: { type: 'file', path: '/mnt/a.csv', key: 'id' }, b: { type: 'file', path: '/mnt/b.csv', key: 'id' } }, checks: [{ kind: 'count', source: 'a', target: 'b' }] })),
      });
      expect(files.connectors).toEqual(['file']);
      expect(() => new ValidationFunction(stack, 'Narrow', { handlerDefaults: handlerDefaults(), configFile: file('pg2.yaml', pgConfig), configSecrets: dbSecret(stack, 'DbSecret2'), connectors: ['dynamodb', 'file'] })).toThrow(
        /pg2\.yaml uses connector type\(s\) postgres, which connectors \(dynamodb, file\) leaves out/,
      );
      expect(() => new ValidationFunction(stack, 'VarType', { handlerDefaults: handlerDefaults(), configFile: file('var.yaml', pgConfig.replace('type: postgres', 'type: "${KIND:-postgres}"')) })).toThrow(
        /connectors\.src\.type: write the type out, not as a variable/,
      );
    });

    it('takes exactly one of configFile and configParameter', () => {
      const stack = testStack();
      expect(() => new ValidationFunction(stack, 'Both', { handlerDefaults: handlerDefaults(), configFile: file('c.yaml', pgConfig), configParameter: '/v' })).toThrow(/exactly one of configFile .* and configParameter/);
      expect(() => new ValidationFunction(stack, 'None', { handlerDefaults: handlerDefaults() })).toThrow(/exactly one of configFile/);
    });
  });

  it('refuses a parameter name that is not one', () => {
    expect(() => build({ configParameter: 'validation-config' })).toThrow(/must be an SSM parameter name starting with \//);
  });
});
