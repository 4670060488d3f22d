/**
 * The AWS stack's permissions, evaluated by a real IAM policy evaluator (@cloud-copilot/iam-simulate) on the
 * synthesized template: every alarm action reaches its topic and key; every handler role allows exactly the
 * SDK calls its bundle makes (found by reading the bundle, so the table cannot go stale) and keeps a deny
 * list denied; the scheduler role reaches its targets and dead-letter queue.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { buildApp } from '../../stacks/aws/main';
import { ACCOUNT, CfnResolver, PARTITION, REGION, type CfnTemplate } from '../support/cfn-resolve';
import { cdkJsonContext, EVERYTHING_CONTEXT } from './variants';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-iam-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

let template: CfnTemplate;
let cfn: CfnResolver;
let outdir: string;
let stackName: string;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(scratch, 'out-'));
  // Bundling on: the handler bundles are read for the SDK commands they issue.
  const app = new App({ outdir, analyticsReporting: false, builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), ...EVERYTHING_CONTEXT } });
  const { stack } = buildApp(app);
  app.synth();
  stackName = stack.stackName;
  template = JSON.parse(fs.readFileSync(path.join(outdir, `${stackName}.template.json`), 'utf8'));
  cfn = new CfnResolver(template, stackName);
}, 180_000);

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

async function evaluate(s: { principal: string; action: string; resource: string; identity?: Array<{ name: string; policy: any }>; resourcePolicy?: any; context?: Record<string, string | string[]> }): Promise<Decision> {
  const sim: Simulation = {
    request: { principal: s.principal, action: s.action, resource: { resource: s.resource, accountId: ACCOUNT }, contextVariables: { 'aws:SecureTransport': 'true', ...s.context } },
    identityPolicies: s.identity ?? [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: s.resourcePolicy,
  };
  const r = await runSimulation(sim, {});
  if (r.resultType === 'error') throw new Error(`simulation of ${s.action} on ${s.resource}: ${r.errors.message} ${JSON.stringify(r.errors)}`);
  return r.overallResult;
}

const arn = (service: string, res: string) => `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${res}`;
const OTHER_ACCOUNT = '444455556666';

describe('alarm actions → topic → key', () => {
  const alarms = () => [...cfn.ofType('AWS::CloudWatch::Alarm'), ...cfn.ofType('AWS::CloudWatch::CompositeAlarm')];

  it('every alarm and OK action of every alarm may publish to its topic and use the topic key (cloudwatch.amazonaws.com)', async () => {
    expect(alarms().length).toBeGreaterThan(15);
    const checked: string[] = [];
    // Composite members notify through the composite (one incident, one mail): they alone carry no actions.
    const members = JSON.stringify(cfn.ofType('AWS::CloudWatch::CompositeAlarm').map(([, c]) => c.Properties!.AlarmRule));
    for (const [id, alarm] of alarms()) {
      const actions = [...(alarm.Properties!.AlarmActions ?? []), ...(alarm.Properties!.OKActions ?? [])];
      if (members.includes(id)) {
        expect(actions).toEqual([]);
        checked.push(id);
        continue;
      }
      expect(actions.length).toBeGreaterThan(0);
      const alarmArn = cfn.getAtt(id, 'Arn');
      for (const action of actions) {
        const topicId = (action as any).Ref as string;
        expect(cfn.resource(topicId).Type).toBe('AWS::SNS::Topic');
        const topicArn = cfn.ref(topicId);
        const policies = cfn.ofType('AWS::SNS::TopicPolicy').filter(([, p]) => p.Properties!.Topics.some((t: any) => t.Ref === topicId));
        expect(policies).toHaveLength(1); // a topic policy replaces SNS's default one: it must allow the alarms itself
        const context = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': alarmArn };
        const publish = await evaluate({ principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topicArn, resourcePolicy: cfn.resolve(policies[0][1].Properties!.PolicyDocument), context });
        expect(`${id} → ${publish}`).toBe(`${id} → Allowed`);
        const keyId = cfn.resource(topicId).Properties!.KmsMasterKeyId['Fn::GetAtt'][0] as string;
        const keyPolicy = cfn.resolve(cfn.resource(keyId).Properties!.KeyPolicy);
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          const r = await evaluate({ principal: 'cloudwatch.amazonaws.com', action, resource: cfn.getAtt(keyId, 'Arn'), resourcePolicy: keyPolicy, context });
          expect(`${id} ${action} → ${r}`).toBe(`${id} ${action} → Allowed`);
        }
        checked.push(id);
      }
    }
    expect(new Set(checked).size).toBe(alarms().length);
  });

  it('the topic refuses alarms of another account, of another environment, and publishing without TLS', async () => {
    const [topicId] = cfn.ofType('AWS::SNS::Topic')[0];
    const policy = cfn.resolve(cfn.ofType('AWS::SNS::TopicPolicy')[0][1].Properties!.PolicyDocument);
    const topic = cfn.ref(topicId);
    const publish = (context: Record<string, string>) => evaluate({ principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topic, resourcePolicy: policy, context });
    const own = arn('cloudwatch', `alarm:${stackName}-error-rate-high`);
    expect(await publish({ 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': own })).toBe('Allowed');
    expect(await publish({ 'aws:SourceAccount': OTHER_ACCOUNT, 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${OTHER_ACCOUNT}:alarm:${stackName}-error-rate-high` })).not.toBe('Allowed');
    expect(await publish({ 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': arn('cloudwatch', 'alarm:MigrationMonitoring-staging-error-rate-high') })).not.toBe('Allowed');
    expect(await publish({ 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': own, 'aws:SecureTransport': 'false' })).toBe('ExplicitlyDenied');
  });
});

/** The IAM action an SDK v3 command needs (lib-dynamodb's document commands included); `null`: an unsigned call. */
const COMMAND_ACTIONS: Record<string, string | null> = {
  GetCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  BatchWriteCommand: 'dynamodb:BatchWriteItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  DescribeTableCommand: 'dynamodb:DescribeTable',
  DescribeTimeToLiveCommand: 'dynamodb:DescribeTimeToLive',
  DescribeContinuousBackupsCommand: 'dynamodb:DescribeContinuousBackups',
  GetSecretValueCommand: 'secretsmanager:GetSecretValue',
  GetParameterCommand: 'ssm:GetParameter',
  PutObjectCommand: 's3:PutObject',
  GetObjectCommand: 's3:GetObject',
  HeadObjectCommand: 's3:GetObject',
  HeadBucketCommand: 's3:ListBucket',
  GetFunctionCommand: 'lambda:GetFunction',
  SendEmailCommand: 'ses:SendEmail',
  PublishCommand: 'sns:Publish',
  AssumeRoleWithWebIdentityCommand: null,
};

interface Call {
  resource: string;
  context?: Record<string, string | string[]>;
  /** The resource's own policy, where the service always consults it (a KMS key policy). */
  resourcePolicy?: unknown;
}
/** What a handler's role must allow for one command: the calls it makes, or why the bundled command is never issued here. */
type Row = Call[] | { notIssued: string };
interface Handler {
  /** Logical-id prefix of the function in the template. */
  fn: string;
  calls: Record<string, Row>;
  /** Calls that are not SDK commands (SigV4 to the tracker API). */
  otherCalls?: Array<Call & { action: string }>;
  /** Must stay denied, besides the common deny list. */
  denied?: Array<Call & { action: string }>;
  /** Actions of the common deny list this handler is meant to have, with why. */
  exempt?: Record<string, string>;
}

/** Resolved environment variables of a function. */
const envOf = (fnId: string): Record<string, string> => cfn.resolve(cfn.resource(fnId).Properties!.Environment?.Variables ?? {});
const functionId = (prefix: string) => {
  const ids = cfn.ofType('AWS::Lambda::Function').map(([id]) => id).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
};
const progressTable = () => cfn.getAtt(cfn.ofType('AWS::DynamoDB::GlobalTable')[0][0], 'Arn');
const reportBucket = () => cfn.ref(cfn.ofType('AWS::S3::Bucket').find(([id]) => id.startsWith('ReportBucket'))![0]);
const secret = (name: string) => arn('secretsmanager', `secret:${name}-AbCdEf`);
/** A secret named by name only: at run time its complete ARN carries Secrets Manager's 6-character suffix. */
const completeSecretArn = (partial: string) => `${partial}-AbCdEf`;
const param = (name: string) => arn('ssm', `parameter${name}`);
const table4 = (row: () => Call[]) => ({ GetCommand: row, PutCommand: row, QueryCommand: row, BatchWriteCommand: row });

/** One table per handler: every SDK command its bundle contains, with the resources it calls it on. */
const HANDLERS: Record<string, () => Handler> = {
  'tracker-api': () => {
    const env = envOf(functionId('TrackerApiHandler'));
    const topicId = alertTopicId();
    const topic = cfn.resource(topicId);
    const keyId = topic.Properties!.KmsMasterKeyId['Fn::GetAtt'][0] as string;
    const key = cfn.getAtt(keyId, 'Arn');
    const keyPolicy = cfn.resolve(cfn.resource(keyId).Properties!.KeyPolicy);
    return {
      fn: 'TrackerApiHandler',
      calls: {
        ...Object.fromEntries(Object.entries(table4(() => [{ resource: progressTable() }])).map(([k, f]) => [k, f()])),
        // routed alerts: critical to the alert topic and the pager topic (one KMS key), error and warning to Slack
        PublishCommand: [{ resource: cfn.ref(topicId) }, { resource: cfn.ref(pagerTopicId()) }],
        GetSecretValueCommand: [{ resource: completeSecretArn(env.SLACK_WEBHOOK_SECRET_ARN) }],
      },
      otherCalls: [
        { action: 'kms:GenerateDataKey', resource: key, resourcePolicy: keyPolicy },
        { action: 'kms:Decrypt', resource: key, resourcePolicy: keyPolicy },
      ],
      denied: [
        { action: 'sns:Publish', resource: arn('sns', 'some-other-topic') },
        { action: 'kms:GenerateDataKey', resource: arn('kms', 'key/1234abcd-12ab-34cd-56ef-1234567890ab') },
        { action: 'secretsmanager:GetSecretValue', resource: secret('migration/report-slack') },
      ],
      exempt: { 'sns:Publish': 'the tracker publishes its routed critical alerts to the alert topic and the pager topic' },
    };
  },
  report: () => {
    const env = envOf(functionId('ReportHandler'));
    return {
      fn: 'ReportHandler',
      calls: {
        ...Object.fromEntries(Object.entries(table4(() => [{ resource: progressTable() }])).map(([k, f]) => [k, f()])),
        GetSecretValueCommand: [{ resource: completeSecretArn(env.SLACK_WEBHOOK_SECRET_ARN) }],
        PutObjectCommand: [{ resource: `arn:aws:s3:::${reportBucket()}/reports/tenant-a/2026-12-02.html` }],
        GetObjectCommand: [{ resource: `arn:aws:s3:::${reportBucket()}/reports/tenant-a/2026-12-02.delivered` }],
        HeadObjectCommand: [{ resource: `arn:aws:s3:::${reportBucket()}/reports/tenant-a/2026-12-02.html` }],
        SendEmailCommand: [{ resource: arn('ses', 'identity/example.com'), context: { 'ses:FromAddress': 'reports@example.com' } }],
      },
      denied: [
        { action: 'ses:SendEmail', resource: arn('ses', 'identity/example.com'), context: { 'ses:FromAddress': 'ceo@example.com' } },
        { action: 's3:PutObject', resource: `arn:aws:s3:::${reportBucket()}/validation/x.json` },
      ],
    };
  },
  validation: () => {
    const env = envOf(functionId('ValidationHandler'));
    return {
      fn: 'ValidationHandler',
      calls: {
        ScanCommand: [{ resource: arn('dynamodb', 'table/orders') }],
        BatchGetCommand: [{ resource: arn('dynamodb', 'table/orders') }],
        DescribeTableCommand: [{ resource: arn('dynamodb', 'table/orders') }],
        // the schema check of a DynamoDB table: TTL and point-in-time recovery
        DescribeTimeToLiveCommand: [{ resource: arn('dynamodb', 'table/orders') }],
        DescribeContinuousBackupsCommand: [{ resource: arn('dynamodb', 'table/orders') }],
        HeadBucketCommand: [{ resource: 'arn:aws:s3:::acme-data' }],
        GetFunctionCommand: [{ resource: arn('lambda', 'function:orders-api') }],
        GetParameterCommand: [{ resource: param(env.VALIDATION_CONFIG_PARAMETER) }],
        PutObjectCommand: [{ resource: `arn:aws:s3:::${reportBucket()}/validation/tenant-a/run.json` }],
        GetObjectCommand: [{ resource: `arn:aws:s3:::${reportBucket()}/validation/tenant-a/run.json` }],
        HeadObjectCommand: [{ resource: `arn:aws:s3:::${reportBucket()}/validation/tenant-a/run.json` }],
        GetSecretValueCommand: { notIssued: 'reads a bearer-token secret only when no SigV4 access is configured; the stack gives it SigV4 (MIGRATION_MONITOR_SIGV4)' },
      },
      otherCalls: [{ action: 'execute-api:Invoke', resource: arn('execute-api', `${cfn.getAtt(cfn.ofType('AWS::ApiGatewayV2::Api')[0][0], 'ApiId')}/$default/POST/migrations/tenant-a/phases/validation/runs`) }],
      denied: [
        { action: 'dynamodb:PutItem', resource: arn('dynamodb', 'table/orders') },
        { action: 'dynamodb:Scan', resource: progressTable() },
        { action: 's3:PutObject', resource: `arn:aws:s3:::${reportBucket()}/reports/tenant-a/2026-12-02.html` },
        { action: 's3:GetObject', resource: 'arn:aws:s3:::acme-data/customers.csv' },
      ],
    };
  },
  'search-proxy': () => {
    const env = envOf(functionId('SearchProxyHandler'));
    const breaker = { 'dynamodb:LeadingKeys': ['BREAKER#primary'] };
    const replay = { 'dynamodb:LeadingKeys': ['REPLAY#search'] };
    return {
      fn: 'SearchProxyHandler',
      calls: {
        GetCommand: [{ resource: progressTable(), context: breaker }],
        PutCommand: [{ resource: progressTable(), context: breaker }],
        // the replay queue of writes a store missed, in the same table under REPLAY#
        QueryCommand: [{ resource: progressTable(), context: replay }],
        UpdateCommand: [{ resource: progressTable(), context: replay }],
        DeleteCommand: [{ resource: progressTable(), context: replay }],
        GetParameterCommand: [env.PRIMARY_URL_PARAMETER, env.FALLBACK_URL_PARAMETER, env.BREAKER_SWITCH_PARAMETER].map((p) => ({ resource: param(p) })),
        GetSecretValueCommand: [{ resource: completeSecretArn(env.BACKEND_CREDENTIALS_SECRET) }],
      },
      denied: [
        { action: 'dynamodb:GetItem', resource: progressTable(), context: { 'dynamodb:LeadingKeys': ['MIGRATION#tenant-a'] } },
        { action: 'dynamodb:Query', resource: progressTable(), context: { 'dynamodb:LeadingKeys': ['MIGRATION#tenant-a'] } },
        { action: 'dynamodb:UpdateItem', resource: progressTable(), context: { 'dynamodb:LeadingKeys': ['MIGRATION#tenant-a'] } },
        { action: 'dynamodb:DeleteItem', resource: progressTable(), context: breaker },
      ],
    };
  },
  'log-ingest': () => ({
    fn: 'LogSubscriptionHandler',
    calls: {
      ...Object.fromEntries(Object.entries(table4(() => [{ resource: progressTable() }])).map(([k, f]) => [k, f()])),
      GetSecretValueCommand: { notIssued: 'the token path of the shared tracker access (lib/compose/tracker-access.ts); on Lambda log ingest writes the table in-process, and the keyless GCP path is defined out of the bundle' },
    },
  }),
  'slack-notifier': () => ({
    fn: 'AlertsSlackNotifier',
    calls: { GetSecretValueCommand: [{ resource: secret('migration/slack-webhook') }] },
  }),
};

/** The SDK commands the deployed bundle of a function contains (its minified index.js: command names survive, the SDK is external). */
function bundleCommands(fnId: string): string[] {
  const key = String(cfn.resource(fnId).Properties!.Code.S3Key);
  const file = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.js');
  expect(fs.existsSync(file)).toBe(true);
  const src = fs.readFileSync(file, 'utf8');
  return [...new Set([...src.matchAll(/\b([A-Z][A-Za-z0-9]+Command)\b/g)].map((m) => m[1]))].sort();
}

/** The on-call alert topic and the pager topic (critical alerts of the tracker only). */
const alertTopicId = () => cfn.ofType('AWS::SNS::Topic').find(([id]) => !id.includes('PagerTopic'))![0];
const pagerTopicId = () => cfn.ofType('AWS::SNS::Topic').find(([id]) => id.includes('PagerTopic'))![0];

const roleOf = (fnId: string) => cfn.resource(fnId).Properties!.Role['Fn::GetAtt'][0] as string;
const roleArn = (roleId: string) => cfn.getAtt(roleId, 'Arn');

/** Denied for every role. */
const COMMON_DENIED = (): Array<Call & { action: string }> => [
  { action: 'iam:PassRole', resource: arn('iam', 'role/Admin').replace(`:${REGION}:`, '::') },
  { action: 'iam:CreateUser', resource: `arn:aws:iam::${ACCOUNT}:user/intruder` },
  { action: 'sns:Publish', resource: arn('sns', 'some-other-topic') },
  { action: 'sns:Publish', resource: cfn.ref(alertTopicId()) },
  { action: 'sns:Publish', resource: cfn.ref(pagerTopicId()) },
  { action: 'dynamodb:GetItem', resource: arn('dynamodb', 'table/MigrationMonitoring-staging-ProgressTable-1X2Y3Z') },
  { action: 's3:GetObject', resource: 'arn:aws:s3:::migrationmonitoring-staging-reportbucket/reports/tenant-a/x.html' },
  { action: 'secretsmanager:GetSecretValue', resource: secret('prod/database-password') },
  { action: 'ssm:GetParameter', resource: param('/migration-staging/api-url') },
  { action: 'kms:Decrypt', resource: arn('kms', 'key/1234abcd-12ab-34cd-56ef-1234567890ab') },
];

describe('handler roles', () => {
  it('the tables cover every handler Lambda of the stack', () => {
    const fns = cfn.ofType('AWS::Lambda::Function').map(([id]) => id);
    const covered = Object.values(HANDLERS).map((h) => functionId(h().fn));
    expect(fns.filter((f) => !covered.includes(f))).toEqual([]);
  });

  for (const name of Object.keys(HANDLERS)) {
    describe(name, () => {
      it("lists exactly the SDK commands of the handler's bundle", () => {
        const h = HANDLERS[name]();
        const found = bundleCommands(functionId(h.fn));
        expect(found.filter((c) => !(c in COMMAND_ACTIONS))).toEqual([]); // a new command: add its IAM action to COMMAND_ACTIONS
        expect(Object.keys(h.calls).sort()).toEqual(found);
      });

      it('allows every call it makes (and its logs, traces and dead-letter queue)', async () => {
        const h = HANDLERS[name]();
        const fnId = functionId(h.fn);
        const roleId = roleOf(fnId);
        const identity = cfn.rolePolicies(roleId);
        const calls: Array<Call & { action: string }> = [...(h.otherCalls ?? [])];
        for (const [command, row] of Object.entries(h.calls)) {
          const action = COMMAND_ACTIONS[command];
          if (action === null || !Array.isArray(row)) continue;
          calls.push(...row.map((c) => ({ ...c, action })));
        }
        const logGroup = cfn.getAtt(cfn.resource(fnId).Properties!.LoggingConfig.LogGroup.Ref, 'Arn').replace(/:\*$/, '');
        calls.push({ action: 'logs:PutLogEvents', resource: `${logGroup}:log-stream:2026/12/02/[$LATEST]abc` }, { action: 'logs:CreateLogStream', resource: `${logGroup}:log-stream:2026/12/02/[$LATEST]abc` });
        calls.push({ action: 'xray:PutTraceSegments', resource: '*' });
        const dlq = cfn.resource(fnId).Properties!.DeadLetterConfig?.TargetArn;
        if (dlq) calls.push({ action: 'sqs:SendMessage', resource: cfn.resolve(dlq) });
        const results: string[] = [];
        for (const c of calls) results.push(`${c.action} ${c.resource} → ${await evaluate({ principal: roleArn(roleId), identity, ...c })}`);
        expect(results.filter((r) => !r.endsWith('→ Allowed'))).toEqual([]);
      });

      it('keeps the deny list denied, including the commands its bundle holds but never issues here', async () => {
        const h = HANDLERS[name]();
        const roleId = roleOf(functionId(h.fn));
        const identity = cfn.rolePolicies(roleId);
        const exemptTopics = [cfn.ref(alertTopicId()), cfn.ref(pagerTopicId())];
        const denied = [...COMMON_DENIED().filter((c) => !(c.action in (h.exempt ?? {}) && exemptTopics.includes(c.resource))), ...(h.denied ?? [])];
        for (const [command, row] of Object.entries(h.calls)) {
          const action = COMMAND_ACTIONS[command];
          if (action && !Array.isArray(row)) denied.push({ action, resource: action.startsWith('secretsmanager') ? secret('any/secret') : '*' });
        }
        const results: string[] = [];
        for (const c of denied) {
          if (c.resource === '*') continue; // an unissued command with no resource: nothing specific to ask
          results.push(`${c.action} ${c.resource} → ${await evaluate({ principal: roleArn(roleId), identity, ...c })}`);
        }
        expect(results.filter((r) => r.endsWith('→ Allowed'))).toEqual([]);
        expect(results.length).toBeGreaterThanOrEqual(COMMON_DENIED().length - Object.keys(h.exempt ?? {}).length);
      });
    });
  }
});

describe('scheduler role', () => {
  it('may invoke every schedule target and send to its dead-letter queue, and nothing else', async () => {
    const schedules = cfn.ofType('AWS::Scheduler::Schedule');
    expect(schedules.length).toBeGreaterThanOrEqual(3);
    for (const [id, s] of schedules) {
      const t = s.Properties!.Target;
      const roleId = t.RoleArn['Fn::GetAtt'][0] as string;
      const identity = cfn.rolePolicies(roleId);
      const principal = roleArn(roleId);
      expect(`${id} ${await evaluate({ principal, identity, action: 'lambda:InvokeFunction', resource: cfn.resolve(t.Arn) })}`).toBe(`${id} Allowed`);
      expect(`${id} ${await evaluate({ principal, identity, action: 'sqs:SendMessage', resource: cfn.resolve(t.DeadLetterConfig.Arn) })}`).toBe(`${id} Allowed`);
      expect(await evaluate({ principal, identity, action: 'lambda:InvokeFunction', resource: arn('lambda', 'function:orders-api') })).not.toBe('Allowed');
      for (const c of COMMON_DENIED()) expect(`${c.action} ${await evaluate({ principal, identity, ...c })}`).not.toBe(`${c.action} Allowed`);
    }
  });
});

describe('GCP keyless role', () => {
  it('may call the tracker API and nothing else', async () => {
    const [roleId] = cfn.ofType('AWS::IAM::Role').find(([id]) => id.startsWith('GcpKeyless'))!;
    const identity = cfn.rolePolicies(roleId);
    const principal = roleArn(roleId);
    const api = cfn.getAtt(cfn.ofType('AWS::ApiGatewayV2::Api')[0][0], 'ApiId');
    expect(await evaluate({ principal, identity, action: 'execute-api:Invoke', resource: arn('execute-api', `${api}/$default/GET/migrations`) })).toBe('Allowed');
    expect(await evaluate({ principal, identity, action: 'execute-api:Invoke', resource: arn('execute-api', 'otherapi/$default/GET/migrations') })).not.toBe('Allowed');
    for (const c of COMMON_DENIED()) expect(`${c.action} ${await evaluate({ principal, identity, ...c })}`).not.toBe(`${c.action} Allowed`);
  });
});

describe('GCP keyless role trust policy (AssumeRoleWithWebIdentity from accounts.google.com)', () => {
  const SA = '103984732984732984732'; // EVERYTHING_CONTEXT's gcpServiceAccountIds
  /**
   * The trust policy's own decision. A web identity has no identity policies (the simulator, seeing no account for
   * the federated principal, would also ask for one); STS decides on the role's trust policy alone.
   */
  async function trust(context: Record<string, string>): Promise<Decision> {
    const [roleId, role] = cfn.ofType('AWS::IAM::Role').find(([id]) => id.startsWith('GcpKeyless'))!;
    const r = await runSimulation(
      {
        request: { principal: 'accounts.google.com', action: 'sts:AssumeRoleWithWebIdentity', resource: { resource: cfn.resolve(roleArn(roleId)), accountId: ACCOUNT }, contextVariables: context },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: cfn.resolve(role.Properties!.AssumeRolePolicyDocument),
      },
      {},
    );
    if (r.resultType !== 'single') throw new Error(JSON.stringify(r));
    return (r.result.analysis.resourceAnalysis?.result ?? 'ImplicitlyDenied') as Decision;
  }
  // What STS puts in the request context for a Google service account ID token (aud = azp, oaud = aud).
  const token = (sub: string, session: string, oaud = 'sts.amazonaws.com') => ({ 'accounts.google.com:aud': sub, 'accounts.google.com:sub': sub, 'accounts.google.com:oaud': oaud, 'sts:RoleSessionName': session });

  it('lets the service account in only under a session named after its verified subject, so the recorded actor is that identity', async () => {
    expect(await trust(token(SA, SA))).toBe('Allowed');
    // a session name the caller picks (someone else's name, the old fixed name) is refused
    expect(await trust(token(SA, 'alice'))).not.toBe('Allowed');
    expect(await trust(token(SA, 'migration-monitor-gcp'))).not.toBe('Allowed');
    // another Google account naming its session after ours is refused by the subject pins
    expect(await trust(token('999999999999999999999', SA))).not.toBe('Allowed');
    // a token minted for another audience is refused
    expect(await trust(token(SA, SA, 'https://example.com'))).not.toBe('Allowed');
  });
});

describe('service → Lambda wires (function resource policies)', () => {
  /** The resource policy Lambda builds from a function's AWS::Lambda::Permission resources. */
  function functionPolicy(fnArn: string) {
    const Statement = cfn
      .ofType('AWS::Lambda::Permission')
      .map(([, p]) => cfn.resolve(p.Properties))
      .filter((p) => p.FunctionName === fnArn || p.FunctionName === fnArn.split(':').pop())
      .map((p) => {
        const condition: Record<string, Record<string, string>> = {};
        if (p.SourceArn) condition['ArnLike'] = { 'aws:SourceArn': p.SourceArn };
        if (p.SourceAccount) condition['StringEquals'] = { 'aws:SourceAccount': p.SourceAccount };
        return { Effect: 'Allow', Principal: { Service: p.Principal }, Action: p.Action, Resource: fnArn, ...(Object.keys(condition).length ? { Condition: condition } : {}) };
      });
    return { Version: '2012-10-17', Statement };
  }
  const invoke = (service: string, fnArn: string, sourceArn: string, account = ACCOUNT) =>
    evaluate({ principal: service, action: 'lambda:InvokeFunction', resource: fnArn, resourcePolicy: functionPolicy(fnArn), context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': account } });

  it('every SNS → Lambda subscription may invoke its function, and only from its topic', async () => {
    const subs = cfn.ofType('AWS::SNS::Subscription').filter(([, s]) => s.Properties!.Protocol === 'lambda');
    expect(subs.length).toBeGreaterThanOrEqual(1);
    for (const [, s] of subs) {
      const fn = cfn.resolve(s.Properties!.Endpoint);
      expect(await invoke('sns.amazonaws.com', fn, cfn.resolve(s.Properties!.TopicArn))).toBe('Allowed');
      expect(await invoke('sns.amazonaws.com', fn, arn('sns', 'some-other-topic'))).not.toBe('Allowed');
    }
  });

  it('every log subscription filter may invoke log ingest, and only from its log group', async () => {
    const filters = cfn.ofType('AWS::Logs::SubscriptionFilter');
    expect(filters.length).toBe(2);
    for (const [, f] of filters) {
      const fn = cfn.resolve(f.Properties!.DestinationArn);
      expect(await invoke('logs.amazonaws.com', fn, arn('logs', `log-group:${f.Properties!.LogGroupName}:*`))).toBe('Allowed');
      expect(await invoke('logs.amazonaws.com', fn, arn('logs', 'log-group:/some/other/group:*'))).not.toBe('Allowed');
    }
  });

  it('the HTTP API may invoke the tracker handler, and no other API may', async () => {
    const [[, integration]] = cfn.ofType('AWS::ApiGatewayV2::Integration');
    const fn = cfn.resolve(integration.Properties!.IntegrationUri);
    const api = cfn.getAtt(cfn.ofType('AWS::ApiGatewayV2::Api')[0][0], 'ApiId');
    expect(await invoke('apigateway.amazonaws.com', fn, arn('execute-api', `${api}/$default/GET/api/migration/progress`))).toBe('Allowed');
    expect(await invoke('apigateway.amazonaws.com', fn, arn('execute-api', 'otherapi/$default/GET/api/migration/progress'))).not.toBe('Allowed');
  });
});
