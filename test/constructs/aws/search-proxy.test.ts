import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { SearchProxy, type SearchProxyProps } from '../../../lib/constructs/aws/search-proxy';
import { resolveSpec } from '../../../lib/core/metrics/spec';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-search-proxy-cdk-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const defaults = {
  serviceName: 'migration-monitor',
  metricsNamespace: 'MigrationMonitor',
  logRetention: logs.RetentionDays.ONE_MONTH,
  removalPolicy: RemovalPolicy.DESTROY,
};

function build(extra: Partial<SearchProxyProps> = {}, nag = false) {
  // Bundling skipped: the construct test checks the template, the Lambda test runs the bundle.
  const app = new App({ outdir: fs.mkdtempSync(path.join(scratch, 'out-')), context: { 'aws:cdk:bundling-stacks': [] } });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  const stack = new Stack(app, 'Test');
  const secret = new secretsmanager.Secret(stack, 'BackendCredentials');
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture: the backend credentials secret belongs to the user, who rotates it with the backend.' });
  const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
  const proxy = new SearchProxy(stack, 'SearchProxy', {
    handlerDefaults: defaults,
    primary: { config: { kind: 'milvus', collection: 'docs', vectorField: 'embedding' }, urlParameter: '/mm/prod/search/primary-url' },
    fallback: { config: { kind: 'opensearch', index: 'docs', vectorField: 'embedding' }, urlParameter: '/mm/prod/search/fallback-url' },
    credentialsSecret: secret,
    settings: { deadlineMs: 800, primaryTimeoutMs: 250 },
    invokers: [caller],
    ...extra,
  });
  return {
    app,
    stack,
    proxy,
    // Synthesized when read (the cdk-nag test synthesizes the app itself).
    get template() {
      return Template.fromStack(stack);
    },
  };
}

describe('SearchProxy construct', () => {
  it('deploys an arm64 Lambda behind a function URL with AWS_IAM auth, configured by names and never by secrets', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Timeout: 7,
      Environment: {
        Variables: Match.objectLike({
          PRIMARY_BACKEND: JSON.stringify({ kind: 'milvus', collection: 'docs', vectorField: 'embedding' }),
          FALLBACK_BACKEND: JSON.stringify({ kind: 'opensearch', index: 'docs', vectorField: 'embedding' }),
          PRIMARY_URL_PARAMETER: '/mm/prod/search/primary-url',
          FALLBACK_URL_PARAMETER: '/mm/prod/search/fallback-url',
          BACKEND_CREDENTIALS_SECRET: { Ref: Match.stringLikeRegexp('BackendCredentials') },
          BREAKER_STATE_TABLE: { Ref: Match.stringLikeRegexp('BreakerState') },
          REPLAY_QUEUE_TABLE: { Ref: Match.stringLikeRegexp('BreakerState') },
          BREAKER_SWITCH_PARAMETER: { Ref: Match.stringLikeRegexp('BreakerSwitch') },
          SEARCH_PROXY_SETTINGS: JSON.stringify({ deadlineMs: 800, primaryTimeoutMs: 250 }),
          POWERTOOLS_SERVICE_NAME: 'migration-monitor',
          POWERTOOLS_METRICS_NAMESPACE: 'MigrationMonitor',
        }),
      },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/migration-monitor/search-proxy/breaker-switch', Value: 'auto' });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('grants exactly what the handler reads: the two URL parameters, the switch, the secret, breaker items only', () => {
    const { template } = build();
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement,
    );
    const ssmReads = statements.filter((s) => JSON.stringify(s['Action']).includes('ssm:GetParameter'));
    const resources = JSON.stringify(ssmReads.map((s) => s['Resource']));
    expect(resources).toContain(':parameter/mm/prod/search/primary-url');
    expect(resources).toContain(':parameter/mm/prod/search/fallback-url');
    expect(resources).toMatch(/BreakerSwitch/);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['BREAKER#*'] } },
      }),
    );
    // the replay queue: its own items only, and no Scan, BatchWrite or table-wide action
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REPLAY#*'] } },
      }),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'] }));
    for (const st of statements) {
      const actions = JSON.stringify(st['Action']);
      expect(actions).not.toMatch(/dynamodb:\*|ssm:\*|secretsmanager:\*/);
      if (/ssm:|dynamodb:|secretsmanager:/.test(actions)) expect(st['Resource']).not.toBe('*');
    }
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'lambda:InvokeFunctionUrl', Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } } })]) },
    });
  });

  it('renders the breaker-open and latency SLO alarms from the spec when asked, and none otherwise', () => {
    expect(build().template.findResources('AWS::CloudWatch::Alarm')).toEqual({});
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Alarms');
    const topic = new sns.Topic(stack, 'Alerts');
    const withAlarms = new SearchProxy(stack, 'WithAlarms', {
      handlerDefaults: defaults,
      primary: { config: { kind: 'generic' }, urlParameter: '/p' },
      fallback: { config: { kind: 'generic' }, urlParameter: '/f' },
      operatorSwitch: 'none',
      sharedState: 'none',
      alarms: { topic, alarmNamePrefix: 'mm-prod', spec: resolveSpec({ 'proxy-latency-slo': { threshold: 50 } }) },
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'mm-prod-breaker-open',
      MetricName: 'BreakerState',
      Namespace: 'MigrationMonitor',
      Dimensions: [{ Name: 'service', Value: 'migration-monitor' }],
      Statistic: 'Maximum',
      Threshold: 2,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Alerts') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('Alerts') }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'mm-prod-proxy-latency-slo',
      MetricName: 'ProxyLatency',
      ExtendedStatistic: 'p99',
      Threshold: 50,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      AlarmDescription: Match.stringLikeRegexp('^\\[warning\\] Search proxy latency over SLO'),
    });
    expect([...withAlarms.alarms.keys()]).toEqual(['breaker-open', 'proxy-latency-slo']);
    const env = (Object.values(t.findResources('AWS::Lambda::Function')).find((f) => JSON.stringify(f).includes('"/p"')) as { Properties: { Environment: { Variables: Record<string, unknown> } } })
      .Properties.Environment.Variables;
    expect(env).not.toHaveProperty('BREAKER_STATE_TABLE');
    expect(env).not.toHaveProperty('REPLAY_QUEUE_TABLE');
    expect(env).not.toHaveProperty('BREAKER_SWITCH_PARAMETER');
  });

  it('shares a given table (e.g. the progress table) instead of creating one', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Shared');
    const table = new dynamodb.TableV2(stack, 'Progress', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING }, sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING } });
    new SearchProxy(stack, 'SearchProxy', {
      handlerDefaults: defaults,
      primary: { config: { kind: 'generic' }, urlParameter: '/p' },
      fallback: { config: { kind: 'generic' }, urlParameter: '/f' },
      sharedState: { table },
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ BREAKER_STATE_TABLE: { Ref: Match.stringLikeRegexp('Progress') } }) } });
  });

  it('refuses at synth what would fail at run time', () => {
    expect(() => build({ settings: { primaryTimeoutMs: 5000, deadlineMs: 1000 } })).toThrow(/primaryTimeoutMs/);
    expect(() => build({ settings: { mode: 'sideways' as never } })).toThrow(/invalid settings: mode/);
    expect(() => build({ primary: { config: { kind: 'milvus' }, urlParameter: '/p' } })).toThrow(/primary backend config is invalid: collection/);
    expect(() => build({ primary: { config: { kind: 'generic', url: 'http://x' }, urlParameter: '/p' } })).toThrow(/through urlParameter/);
    expect(() => build({ fallback: { config: { kind: 'generic', auth: { type: 'bearer', token: 't' } }, urlParameter: '/f' } })).toThrow(/credentials go in credentialsSecret/);
  });

  it('passes the AwsSolutions and Serverless cdk-nag packs', () => {
    const { app } = build({}, true);
    expect(() => app.synth()).not.toThrow();
  });
});
