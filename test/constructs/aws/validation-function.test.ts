import * as iam from 'aws-cdk-lib/aws-iam';
import { ValidationFunction, validationBundleDefine, type ValidationFunctionProps } from '../../../lib/constructs/aws/validation-function';
import { handlerDefaults, resources, template, testStack } from './helpers';

function build(over: Partial<ValidationFunctionProps> = {}) {
  const stack = testStack();
  new ValidationFunction(stack, 'Validation', { handlerDefaults: handlerDefaults(), configParameter: '/migration/validation-config', ...over });
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

  it('bundles only the connector drivers named (default: all but redis); unknown types are refused at synth', () => {
    expect(validationBundleDefine()).toEqual({ 'process.env.MM_BUNDLE_OMIT_REDIS': '"true"' });
    expect(validationBundleDefine(['redis', 'file'])).toEqual({ 'process.env.MM_BUNDLE_OMIT_POSTGRES': '"true"' });
    expect(validationBundleDefine(['postgres', 'redis', 'dynamodb'])).toEqual({});
    expect(() => build({ connectors: ['postgres', 'mongodb' as 'postgres'] })).toThrow(/unknown connector type\(s\) mongodb \(known: postgres, dynamodb, redis, http-json, file\)/);
  });

  it('refuses a parameter name that is not one', () => {
    expect(() => build({ configParameter: 'validation-config' })).toThrow(/must be an SSM parameter name starting with \//);
  });
});
