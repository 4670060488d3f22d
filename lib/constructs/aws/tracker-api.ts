import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { HandlerFunction, type HandlerDefaults } from './handler-function';
import { nagRef } from './nag-refs';
import type { ProgressTable } from './progress-table';
import type { AlertTopic } from './alert-topic';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { AlertRoutingInput } from '../../core/alerts/config';

/** esbuild defines of the tracker API bundle (also used for the prebuilt asset, scripts/build-assets.ts). */
export const TRACKER_API_BUNDLE_DEFINE: Record<string, string> = { 'process.env.MM_BUNDLE_OMIT_SMTP': '"true"' };

export interface TrackerApiProps {
  handlerDefaults: HandlerDefaults;
  table: ProgressTable;
  /** Health thresholds the API reports against (same numbers as the alarms). */
  errorRatePercent: number;
  stallMinutes: number;
  activityTtlDays: number;
  /** Steady-state requests per second and burst for the whole API (stage default route settings). */
  throttleRateLimit: number;
  throttleBurstLimit: number;
  memoryMb?: number;
  timeoutSeconds?: number;
  /**
   * Alert routing from the tracker: critical alerts published to the (KMS-encrypted) alert topic with message
   * attributes, error and warning alerts to Slack through the webhook secret. The function gets sns:Publish on the
   * topic, kms:GenerateDataKey and kms:Decrypt on its key and read access to the secret. Unset = alerts stay on the dashboard.
   */
  alerts?: {
    topic: AlertTopic;
    slackWebhook?: ISecret;
    /** lib/core/alerts/config.ts; default: the rules' defaults with no burst wait. */
    routing?: AlertRoutingInput;
    /** The pager topic (`pager` destination: critical alerts by default); the function may publish to it and nothing else new. */
    pager?: sns.ITopic;
  };
}

/** Access log line: JSON (structured, queryable in Logs Insights), with the IAM caller. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  method: '$context.httpMethod',
  route: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  responseBytes: '$context.responseLength',
  error: '$context.error.message',
  integrationError: '$context.integrationErrorMessage',
};

/**
 * The tracker HTTP API on AWS: a Lambda (NodejsFunction, arm64, Powertools) behind an API Gateway HTTP API
 * whose every route requires IAM auth (SigV4, service `execute-api`), with stage throttling and JSON access
 * logs. Callers get `execute-api:Invoke` through `grantInvoke` or the `invokePolicy` managed policy.
 */
export class TrackerApi extends Construct {
  readonly handler: HandlerFunction;
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** Attach to the role of a migration job / CI runner to let it call the API. */
  readonly invokePolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: TrackerApiProps) {
    super(scope, id);
    const d = props.handlerDefaults;
    this.handler = new HandlerFunction(this, 'Handler', {
      ...d,
      entry: path.join(__dirname, '../../../lambda/tracker-api.ts'),
      description: 'Migration tracker HTTP API and staleness sweep',
      memorySize: props.memoryMb ?? 512,
      timeout: Duration.seconds(props.timeoutSeconds ?? 10),
      // Alerts reach e-mail through the alert topic on AWS: the SMTP adapter (nodemailer) stays out of the bundle.
      define: TRACKER_API_BUNDLE_DEFINE,
      environment: {
        TABLE_NAME: props.table.table.tableName,
        ERROR_RATE_PERCENT: String(props.errorRatePercent),
        STALL_MINUTES: String(props.stallMinutes),
        ACTIVITY_TTL_DAYS: String(props.activityTtlDays),
      },
    });
    props.table.grantStore(this.handler.role);
    const alerts = props.alerts;
    if (alerts) {
      // Each invocation sends what is due before it answers: no burst wait unless the environment asks for one.
      this.handler.function.addEnvironment('ALERT_TOPIC_ARN', alerts.topic.topic.topicArn);
      this.handler.function.addEnvironment('ALERT_ROUTING', JSON.stringify({ groupSeconds: 0, ...alerts.routing }));
      alerts.topic.grantPublish(this.handler.role);
      if (alerts.pager) {
        this.handler.function.addEnvironment('ALERT_PAGER_TOPIC_ARN', alerts.pager.topicArn);
        // the created pager topic shares the alert topic's key; a topic of your own brings its key (if any) in its grant
        if (alerts.pager === alerts.topic.pagerTopic) alerts.topic.grantPublish(this.handler.role, alerts.pager);
        else alerts.pager.grantPublish(this.handler.role);
      }
      if (alerts.slackWebhook) {
        this.handler.function.addEnvironment('SLACK_WEBHOOK_SECRET_ARN', alerts.slackWebhook.secretArn);
        alerts.slackWebhook.grantRead(this.handler.role);
      }
    }

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      // Named after the stack (which carries the environment): dev, staging and prod APIs tell apart in one account.
      apiName: `${Stack.of(this).stackName}-tracker`,
      description: 'Migration tracker API (IAM auth)',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('Tracker', this.handler.function, { payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0 }),
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: d.logRetention, removalPolicy: d.removalPolicy });
    this.stage = new apigw.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    Validations.of(this.stage).acknowledge({
      id: 'Serverless-APIGWXrayEnabled',
      reason: 'API Gateway HTTP APIs do not support X-Ray tracing; the Lambda behind it has active tracing.',
    });

    this.invokePolicy = new iam.ManagedPolicy(this, 'InvokePolicy', {
      description: 'Call the migration tracker API (execute-api:Invoke on every route of this API only)',
      statements: [new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [this.invokeArn()] })],
    });
    this.acknowledgeInvoke(this.invokePolicy);
  }

  /** cdk-nag: the invoke grant's wildcards are its stage, methods and paths, of this one API. */
  private acknowledgeInvoke(scope: IConstruct): void {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:${nagRef(this.api)}/*/*/*]`,
      reason: 'Invoke permission is scoped to this one API; the wildcards cover its stage, methods and paths, all of which a reporter uses.',
    });
  }

  /** Base URL of the API (the `$default` stage has no path prefix). */
  get url(): string {
    return this.api.apiEndpoint;
  }

  /** Let a role (migration job, CI runner, another Lambda) call every route. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.invokeArn()] });
    if (Construct.isConstruct(grantee.grantPrincipal)) this.acknowledgeInvoke(grantee.grantPrincipal);
    return grant;
  }

  private invokeArn(): string {
    return Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: '*/*/*' });
  }
}
