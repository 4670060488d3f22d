import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProgressTable } from '../../../lib/constructs/aws/progress-table';
import { TrackerApi } from '../../../lib/constructs/aws/tracker-api';
import { handlerDefaults, resources, template, testStack } from './helpers';

function build() {
  const stack = testStack();
  const table = new ProgressTable(stack, 'T', { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY });
  const api = new TrackerApi(stack, 'Api', {
    handlerDefaults: handlerDefaults(),
    table,
    errorRatePercent: 12,
    stallMinutes: 45,
    activityTtlDays: 30,
    throttleRateLimit: 25,
    throttleBurstLimit: 50,
  });
  return { stack, api };
}

describe('TrackerApi', () => {
  it('runs the tracker Lambda on arm64 with X-Ray, Powertools settings and the table from config', () => {
    const { stack } = build();
    const t = template(stack);
    const [[, fn]] = resources(t, 'AWS::Lambda::Function') as [[string, any]];
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Runtime).toMatch(/^nodejs\d+\.x$/);
    expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.Properties.MemorySize).toBe(512);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'migration-monitor',
      POWERTOOLS_METRICS_NAMESPACE: 'MigrationMonitor/test',
      ERROR_RATE_PERCENT: '12',
      STALL_MINUTES: '45',
      ACTIVITY_TTL_DAYS: '30',
      TABLE_NAME: { Ref: expect.stringMatching(/^T/) },
    });
    // Its own role, no AWS managed policies, log group with retention.
    t.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: Match.objectLike({}), ManagedPolicyArns: Match.absent() });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['dynamodb:Query', 'dynamodb:PutItem']) })]) },
    });
  });

  it('requires IAM (SigV4) on every route, throttles the stage and writes JSON access logs', () => {
    const { stack } = build();
    const t = template(stack);
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default', AuthorizationType: 'AWS_IAM' });
    t.resourcePropertiesCountIs('AWS::ApiGatewayV2::Route', { AuthorizationType: Match.absent() }, 0);
    const [[, stage]] = resources(t, 'AWS::ApiGatewayV2::Stage') as [[string, any]];
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', caller: '$context.identity.userArn', status: '$context.status' });
    t.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  it('gives callers execute-api:Invoke on this API only, through a managed policy or grantInvoke', () => {
    const { stack, api } = build();
    const ci = new iam.Role(stack, 'CiRole', { assumedBy: new iam.AccountRootPrincipal() });
    api.grantInvoke(ci);
    const t = template(stack);
    const apiId = stack.getLogicalId(api.api.node.defaultChild as never);
    const arn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', { Ref: apiId }, '/*/*/*']] };
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', { PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: arn }] } });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(ci.node.defaultChild as never) }],
      PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: arn }] },
    });
  });
});
