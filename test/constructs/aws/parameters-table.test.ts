import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Parameters, parameterNames } from '../../../lib/constructs/aws/parameters';
import { ProgressTable } from '../../../lib/constructs/aws/progress-table';
import { resources, template, testStack } from './helpers';

describe('Parameters', () => {
  it('publishes topic ARN, API URL, report bucket and thresholds at the prefix and per migration', () => {
    const stack = testStack();
    new Parameters(stack, 'P', {
      prefix: '/migration',
      alertTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
      apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
      reportBucketName: 'reports-bucket',
      thresholds: { 'error-rate-high': 10 },
      migrations: ['tenant-a'],
    });
    const params = Object.fromEntries(resources(template(stack), 'AWS::SSM::Parameter').map(([, r]) => [r.Properties['Name'], r.Properties['Value']]));
    expect(params).toEqual({
      '/migration/alert-topic-arn': 'arn:aws:sns:eu-west-1:123456789012:alerts',
      '/migration/api-url': 'https://abc.execute-api.eu-west-1.amazonaws.com',
      '/migration/report-bucket': 'reports-bucket',
      '/migration/thresholds': '{"error-rate-high":10}',
      '/migration/tenant-a/alert-topic-arn': 'arn:aws:sns:eu-west-1:123456789012:alerts',
      '/migration/tenant-a/api-url': 'https://abc.execute-api.eu-west-1.amazonaws.com',
      '/migration/tenant-a/report-bucket': 'reports-bucket',
      '/migration/tenant-a/thresholds': '{"error-rate-high":10}',
    });
    expect(parameterNames('/x').alertTopicArn).toBe('/x/alert-topic-arn');
  });

  it('leaves the report bucket out until there is one', () => {
    const stack = testStack();
    new Parameters(stack, 'P', { prefix: '/m', alertTopicArn: 'a', apiUrl: 'u', thresholds: {}, migrations: [] });
    const names = resources(template(stack), 'AWS::SSM::Parameter').map(([, r]) => r.Properties['Name']);
    expect(names.sort()).toEqual(['/m/alert-topic-arn', '/m/api-url', '/m/thresholds']);
  });

  it('grantRead covers the stack\'s parameters, or one migration\'s only', () => {
    const stack = testStack();
    const p = new Parameters(stack, 'P', { prefix: '/migration', alertTopicArn: 'a', apiUrl: 'u', thresholds: {}, migrations: ['tenant-a'] });
    const ci = new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountRootPrincipal() });
    const job = new iam.Role(stack, 'Job', { assumedBy: new iam.AccountRootPrincipal() });
    p.grantRead(ci);
    p.grantRead(job, 'tenant-a');
    const policies = Object.fromEntries(resources(template(stack), 'AWS::IAM::Policy').map(([, r]) => [r.Properties.Roles[0].Ref as string, r.Properties.PolicyDocument.Statement as any[]]));
    const arns = (role: string) => JSON.stringify(policies[Object.keys(policies).find((k) => k.startsWith(role))!]![0].Resource);
    const ciArns = arns('Ci');
    const jobArns = arns('Job');
    expect(policies[Object.keys(policies).find((k) => k.startsWith('Ci'))!]![0].Action).toEqual(['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath']);
    for (const n of ['alert-topic-arn', 'api-url', 'report-bucket', 'thresholds']) {
      expect(ciArns).toContain(`:parameter/migration/${n}"`);
      expect(jobArns).toContain(`:parameter/migration/tenant-a/${n}"`);
      expect(jobArns).not.toContain(`:parameter/migration/${n}"`);
    }
  });
});

describe('ProgressTable', () => {
  it('is on-demand, point-in-time recoverable, encrypted, with TTL and deletion protection outside dev', () => {
    const stack = testStack();
    new ProgressTable(stack, 'T', { deletionProtection: true, removalPolicy: RemovalPolicy.RETAIN });
    const t = template(stack);
    t.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const [[, table]] = resources(t, 'AWS::DynamoDB::GlobalTable') as [[string, any]];
    const p = table.Properties;
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(p.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(p.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.Replicas[0].DeletionProtectionEnabled).toBe(true);
  });

  it('can be destroyed with a dev stack', () => {
    const stack = testStack();
    new ProgressTable(stack, 'T', { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY });
    const t = template(stack);
    t.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
    const [[, table]] = resources(t, 'AWS::DynamoDB::GlobalTable') as [[string, any]];
    expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
  });
});
