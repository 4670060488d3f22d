import { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ProgressTable } from '../../../lib/constructs/aws/progress-table';
import { ReportFunction, type ReportFunctionProps } from '../../../lib/constructs/aws/report-function';
import { handlerDefaults, resources, template, testStack } from './helpers';

const SLACK = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/report-slack-AbCdEf';
const SMTP = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/smtp-password-GhIjKl';

function build(over: Partial<ReportFunctionProps> = {}, removalPolicy = RemovalPolicy.DESTROY) {
  const stack = testStack();
  const table = new ProgressTable(stack, 'T', { deletionProtection: false, removalPolicy });
  const report = new ReportFunction(stack, 'Report', {
    handlerDefaults: handlerDefaults({ removalPolicy }),
    table,
    retentionDays: 90,
    timeZone: 'Europe/Berlin',
    thresholds: { stallMinutes: 30, errorRatePercent: 10, activityTtlDays: 90 },
    ...over,
  });
  const t = template(stack);
  const [[, fn]] = resources(t, 'AWS::Lambda::Function') as [[string, any]];
  const statements = resources(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
  return { stack, report, t, fn, env: fn.Properties.Environment.Variables as Record<string, any>, statements };
}

const actionsOf = (statements: any[]) => statements.flatMap((s) => [s.Action].flat() as string[]);

describe('ReportFunction', () => {
  it('stores reports in an encrypted, private, TLS-only, versioned bucket with a lifecycle and access logs', () => {
    const { t, stack, report } = build();
    const buckets = resources(t, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(2);
    const [, bucket] = buckets.find(([id]) => id.startsWith('ReportBucket'))!;
    const p = bucket.Properties;
    expect(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(p.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(p.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(p.LifecycleConfiguration.Rules[0]).toMatchObject({ ExpirationInDays: 90, NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' });
    expect(p.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: stack.getLogicalId(report.accessLogs!.node.defaultChild as never) }, LogFilePrefix: 'report-bucket/' });
    expect(p.OwnershipControls.Rules[0].ObjectOwnership).toBe('BucketOwnerEnforced');
    // enforceSSL and TLS 1.2: deny statements in the bucket policy; logs delivered by bucket policy, not ACL
    const policies = resources(t, 'AWS::S3::BucketPolicy').map(([, r]) => JSON.stringify(r.Properties.PolicyDocument));
    expect(policies.every((d) => d.includes('"aws:SecureTransport":"false"') && d.includes('"s3:TlsVersion":1.2'))).toBe(true);
    expect(policies.some((d) => d.includes('logging.s3.amazonaws.com'))).toBe(true);
    expect(JSON.stringify(buckets)).not.toContain('LogDeliveryWrite');
    for (const [, b] of buckets) expect(b.DeletionPolicy).toBe('Delete');
  });

  it('keeps the buckets when the environment retains data', () => {
    const { t } = build({}, RemovalPolicy.RETAIN);
    for (const [, b] of resources(t, 'AWS::S3::Bucket')) expect(b.DeletionPolicy).toBe('Retain');
  });

  it('configures the handler from its props: S3 only by default, the time zone and thresholds of the stack', () => {
    const { env, fn } = build();
    expect(env).toMatchObject({
      TABLE_NAME: { Ref: expect.stringMatching(/^T/) },
      REPORT_OUTPUTS: 's3',
      REPORT_BUCKET: { Ref: expect.stringMatching(/^ReportBucket/) },
      REPORT_PREFIX: 'reports',
      REPORT_FORMAT: 'html',
      REPORT_METRICS: 'true',
      REPORT_TIME_ZONE: 'Europe/Berlin',
      STALL_MINUTES: '30',
      ERROR_RATE_PERCENT: '10',
      ACTIVITY_TTL_DAYS: '90',
    });
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.Timeout).toBe(300);
  });

  it('grants least privilege: the table items it uses, get/put on its prefix, nothing for email or Slack it does not send', () => {
    const { statements } = build();
    const actions = actionsOf(statements);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 's3:GetObject', 's3:PutObject', 's3:ListBucket']));
    for (const a of ['dynamodb:DeleteItem', 'dynamodb:Scan', 'dynamodb:UpdateItem', 's3:DeleteObject', 's3:*', 'ses:SendEmail', 'secretsmanager:GetSecretValue']) expect(actions).not.toContain(a);
    const objects = statements.find((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(objects.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^ReportBucket/), 'Arn'] }, '/reports/*']] });
  });

  it('sends email through SES for the configured sender only, and reads only its own Slack secret (an ARN, never the URL)', () => {
    const stack0 = testStack();
    const slack = secretsmanager.Secret.fromSecretCompleteArn(stack0, 'S', SLACK);
    const { env, statements } = build({ email: { from: 'reports@example.com', recipients: ['team@example.com', 'cto@example.com'] }, slackWebhookSecret: slack });
    expect(env).toMatchObject({ REPORT_OUTPUTS: 's3,email,slack', REPORT_EMAIL_VIA: 'ses', REPORT_EMAIL_FROM: 'reports@example.com', REPORT_RECIPIENTS: 'team@example.com,cto@example.com', SLACK_WEBHOOK_SECRET_ARN: SLACK });
    expect(JSON.stringify(env)).not.toMatch(/hooks\.slack\.com|SLACK_WEBHOOK_URL|SMTP_PASSWORD"/);
    const ses = statements.find((s) => s.Action === 'ses:SendEmail');
    expect(ses.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'reports@example.com' } });
    expect(JSON.stringify(ses.Resource)).toContain(':identity/example.com');
    const secrets = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(secrets.map((s) => s.Resource)).toEqual([SLACK]);
  });

  it('sends over SMTP with the password from Secrets Manager (its ARN only), without SES rights', () => {
    const stack0 = testStack();
    const password = secretsmanager.Secret.fromSecretCompleteArn(stack0, 'P', SMTP);
    const { env, statements } = build({ email: { from: 'reports@example.com', recipients: ['team@example.com'], via: 'smtp', smtp: { host: 'smtp.example.com', user: 'reports', passwordSecret: password } } });
    expect(env).toMatchObject({ REPORT_EMAIL_VIA: 'smtp', SMTP_HOST: 'smtp.example.com', SMTP_PORT: '587', SMTP_USER: 'reports', SMTP_PASSWORD_SECRET_ARN: SMTP });
    expect(env['SMTP_PASSWORD']).toBeUndefined();
    expect(actionsOf(statements)).not.toContain('ses:SendEmail');
    expect(statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).map((s) => s.Resource)).toEqual([SMTP]);
  });

  it('refuses settings that cannot work, at synth', () => {
    expect(() => build({ email: { from: 'reports', recipients: ['team@example.com'] } })).toThrow(/"reports" is not an email address/);
    expect(() => build({ email: { from: 'r@example.com', recipients: [] } })).toThrow(/at least one recipient/);
    expect(() => build({ email: { from: 'r@example.com', recipients: ['t@example.com'], via: 'smtp' } })).toThrow(/smtp needs smtp.host/);
    expect(() => build({ prefix: 'daily/reports' })).toThrow(/no slashes/);
  });
});
