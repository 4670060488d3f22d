import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { backendConfigSchema } from '../../adapters/http/vector-backend';
import { resolveSpec, type MonitoringSpec } from '../../core/metrics/spec';
import { proxySettingsSchema, type ProxySettings } from '../../core/search/settings';
import { formatZodError } from '../../core/validation-util';
import { HandlerFunction, PROJECT_ROOT, type HandlerDefaults } from './handler-function';
import { SpecAlarmFactory } from './spec-alarm-factory';

export interface SearchProxyBackend {
  /** Backend config without its URL: `{kind: 'milvus', collection: 'docs', vectorField: 'embedding'}` (see docs/search-proxy.md). */
  config: Record<string, unknown>;
  /** SSM parameter (or its name) that holds the backend URL; read by the Lambda at cold start. */
  urlParameter: ssm.IStringParameter | string;
}

export interface SearchProxyProps {
  handlerDefaults: HandlerDefaults;
  primary: SearchProxyBackend;
  fallback: SearchProxyBackend;
  /** Secrets Manager secret `{"primary": {"type": "bearer", "token": "…"}, "fallback": {…}}`. */
  credentialsSecret?: secretsmanager.ISecret;
  /** Proxy settings (mode, deadline, breaker thresholds); checked at synth. */
  settings?: Partial<ProxySettings>;
  /**
   * Shared breaker state, so every instance opens together: `create` (default) makes a small table, a table
   * (e.g. the progress table: same pk/sk layout) is shared, `none` keeps state per instance.
   */
  sharedState?: 'create' | 'none' | { table: dynamodb.ITable };
  /**
   * Operator switch: `create` (default) makes a parameter holding `auto` under `parameterPrefix`; give an
   * existing parameter, or `none`.
   */
  operatorSwitch?: 'create' | 'none' | ssm.IStringParameter;
  /** Prefix for created parameters, e.g. `/migration/search-proxy`. Default `/migration-monitor/search-proxy`. */
  parameterPrefix?: string;
  /** Principals allowed to call the function URL (lambda:InvokeFunctionUrl). */
  invokers?: iam.IGrantable[];
  /**
   * Render the spec alarms `breaker-open` and `proxy-latency-slo` here. Leave unset when the stack's
   * MigrationAlarms already renders the whole spec (it does), so they are not created twice.
   */
  alarms?: { topic: sns.ITopic; alarmNamePrefix: string; spec?: MonitoringSpec };
  memoryMb?: number;
  reservedConcurrency?: number;
}

/** The spec alarms that belong to the proxy. */
export const SEARCH_PROXY_ALARM_IDS = ['breaker-open', 'proxy-latency-slo'] as const;

/** Shared breaker state is DynamoDB on AWS: the Redis adapter and ioredis (~180 KB) stay out of the bundle. */
export const SEARCH_PROXY_BUNDLE_DEFINE: Record<string, string> = { 'process.env.MM_BUNDLE_OMIT_REDIS': '"true"' };

/**
 * The search proxy on AWS: a Lambda (arm64, bundled by the local esbuild) behind a function URL with
 * AWS_IAM auth. Backend URLs come from Parameter Store and credentials from Secrets Manager at cold start
 * (never in environment variables); breaker state and the replay queue of writes a store missed are shared
 * in DynamoDB; an SSM parameter is the operator switch. Metrics go out as EMF under the handler defaults' namespace and `service`.
 */
export class SearchProxy extends Construct {
  readonly handler: HandlerFunction;
  readonly url: lambda.FunctionUrl;
  readonly stateTable?: dynamodb.ITable;
  readonly switchParameter?: ssm.IStringParameter;
  readonly alarms = new Map<string, cw.Alarm>();

  constructor(scope: Construct, id: string, props: SearchProxyProps) {
    super(scope, id);
    const settings = proxySettingsSchema.safeParse(props.settings ?? {});
    if (!settings.success) throw new Error(`SearchProxy ${this.node.path}: invalid settings: ${formatZodError(settings.error)}`);
    const prefix = props.parameterPrefix ?? '/migration-monitor/search-proxy';
    const primaryUrl = this.parameter('PrimaryUrl', props.primary.urlParameter);
    const fallbackUrl = this.parameter('FallbackUrl', props.fallback.urlParameter);
    const env: Record<string, string> = {
      PRIMARY_BACKEND: backendJson('primary', props.primary.config),
      FALLBACK_BACKEND: backendJson('fallback', props.fallback.config),
      PRIMARY_URL_PARAMETER: primaryUrl.parameterName,
      FALLBACK_URL_PARAMETER: fallbackUrl.parameterName,
      SEARCH_PROXY_SETTINGS: JSON.stringify(props.settings ?? {}),
    };
    if (props.credentialsSecret) env['BACKEND_CREDENTIALS_SECRET'] = props.credentialsSecret.secretArn;

    const shared = props.sharedState ?? 'create';
    if (shared === 'create') {
      this.stateTable = new dynamodb.TableV2(this, 'BreakerState', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: props.handlerDefaults.removalPolicy,
      });
    } else if (shared !== 'none') this.stateTable = shared.table;
    if (this.stateTable) {
      env['BREAKER_STATE_TABLE'] = this.stateTable.tableName;
      // the replay queue (writes a store missed) in the same table, under REPLAY#<breakerPrefix>: durable across cold starts
      env['REPLAY_QUEUE_TABLE'] = this.stateTable.tableName;
    }

    const sw = props.operatorSwitch ?? 'create';
    if (sw === 'create') {
      this.switchParameter = new ssm.StringParameter(this, 'BreakerSwitch', {
        parameterName: `${prefix}/breaker-switch`,
        stringValue: 'auto',
        description: 'Search proxy operator switch: auto, open, closed, or {"<breaker>": "open", "*": "auto"} (read within 5 s)',
      });
    } else if (sw !== 'none') this.switchParameter = sw;
    if (this.switchParameter) env['BREAKER_SWITCH_PARAMETER'] = this.switchParameter.parameterName;

    // Budget: the whole deadline, plus cold start (SSM, Secrets Manager) and the shadow copy.
    const timeout = Duration.seconds(Math.ceil((settings.data.deadlineMs * 2) / 1000) + 5);
    this.handler = new HandlerFunction(this, 'Handler', {
      ...props.handlerDefaults,
      // Synchronous invocations only (function URL): Lambda never retries them into a DLQ.
      deadLetterQueue: undefined,
      entry: path.join(PROJECT_ROOT, 'lambda/search-proxy.ts'),
      description: 'Search proxy: primary vector backend behind a circuit breaker, fallback to the old system',
      memorySize: props.memoryMb ?? 512,
      timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      define: SEARCH_PROXY_BUNDLE_DEFINE,
      environment: env,
    });
    Validations.of(this.handler.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked synchronously only (function URL): the caller gets the error; there is no asynchronous event to dead-letter.',
    });
    const role = this.handler.role;
    primaryUrl.grantRead(role);
    fallbackUrl.grantRead(role);
    this.switchParameter?.grantRead(role);
    props.credentialsSecret?.grantRead(role);
    if (this.stateTable) {
      // Only the breaker items, even in a shared table.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [this.stateTable.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['BREAKER#*'] } },
        }),
      );
      // The replay queue's items only: read the queue, put/lease entries conditionally, delete settled ones.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [this.stateTable.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REPLAY#*'] } },
        }),
      );
      this.stateTable.encryptionKey?.grantEncryptDecrypt(role);
    }

    this.url = this.handler.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    for (const g of props.invokers ?? []) this.url.grantInvokeUrl(g);

    if (props.alarms) this.renderAlarms(props.alarms, props.handlerDefaults);
  }

  private parameter(id: string, p: ssm.IStringParameter | string): ssm.IStringParameter {
    return typeof p === 'string' ? ssm.StringParameter.fromStringParameterName(this, id, p) : p;
  }

  private renderAlarms(a: NonNullable<SearchProxyProps['alarms']>, d: HandlerDefaults): void {
    const spec = a.spec ?? resolveSpec();
    const factory = new SpecAlarmFactory({ metrics: { namespace: d.metricsNamespace, serviceName: d.serviceName }, alarmNamePrefix: a.alarmNamePrefix, topic: a.topic });
    for (const id of SEARCH_PROXY_ALARM_IDS) {
      const s = spec.alarms.find((x) => x.id === id);
      if (!s) continue; // disabled by an environment override
      this.alarms.set(id, factory.create(this, `Alarm-${id}`, s));
    }
  }
}

/** Check a backend config at synth (with a stand-in URL: the real one is read from SSM at run time). */
function backendJson(role: string, config: Record<string, unknown>): string {
  if ('url' in config) throw new Error(`SearchProxy ${role} backend: give the URL through urlParameter, not in config`);
  const r = backendConfigSchema.safeParse({ ...config, url: 'https://backend.invalid' });
  if (!r.success) throw new Error(`SearchProxy ${role} backend config is invalid: ${formatZodError(r.error)}`);
  if ('auth' in config) throw new Error(`SearchProxy ${role} backend: credentials go in credentialsSecret, never in the config (it becomes an environment variable)`);
  return JSON.stringify(config);
}
