import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import { Construct } from 'constructs';
import { DEFAULT_PATTERNS } from '../../core/logwatch/defaults';
import { logWatchConfigSchema, parseLogWatchConfig, type LogWatchConfigInput } from '../../core/logwatch/config';
import { HandlerFunction, type HandlerDefaults } from './handler-function';
import type { ProgressTable } from './progress-table';

export interface LogSubscriptionProps {
  handlerDefaults: HandlerDefaults;
  /** The tracker's table: the handler applies updates in-process, like the tracker API Lambda. */
  table: ProgressTable;
  /** Log groups of the migration jobs, left as they are: a subscription filter is added to each. */
  logGroups: logs.ILogGroup[];
  /** Patterns, phase map, fields (validated at synth; passed as LOG_WATCH_CONFIG). */
  config?: LogWatchConfigInput;
  /**
   * Which events reach the handler. Default: the well-known events' texts (case-sensitive phrases) when
   * only the default patterns are used, every event when you add patterns of your own.
   */
  filterPattern?: logs.IFilterPattern;
  /** Default 1: lines of a migration are applied in order. Raise it for many busy log groups. */
  reservedConcurrentExecutions?: number;
  activityTtlDays?: number;
}

/** Where the handler's code is (bundled by HandlerFunction). */
export const LOG_INGEST_ENTRY = path.join(__dirname, '../../../lambda/log-ingest.ts');

/** Lambda's environment is limited to 4 KB in all; the config has to fit in what is left. */
const MAX_CONFIG_BYTES = 3000;

/**
 * Zero-code tracking on AWS: CloudWatch Logs subscription filters on the migration jobs' log groups send
 * matching events to the log-ingest Lambda, which turns them into tracker updates (phase start/complete/
 * fail, progress, conflicts) in the tracker's table, and into the spec's EMF metrics. The log groups and
 * the jobs writing them are not changed. Failed deliveries are retried by Lambda and then go to the
 * handler defaults' dead-letter queue.
 */
export class LogSubscription extends Construct {
  readonly handler: HandlerFunction;
  readonly filters: logs.SubscriptionFilter[] = [];

  constructor(scope: Construct, id: string, props: LogSubscriptionProps) {
    super(scope, id);
    if (!props.logGroups.length) throw new Error('LogSubscription needs at least one log group');
    // Fail the synth, not the first invocation, on a bad config.
    parseLogWatchConfig(props.config ?? {});
    const configJson = props.config ? JSON.stringify(logWatchConfigSchema.parse(props.config)) : undefined;
    if (configJson && Buffer.byteLength(configJson) > MAX_CONFIG_BYTES) {
      throw new Error(`LogSubscription config is ${Buffer.byteLength(configJson)} bytes as JSON; Lambda environment variables allow about ${MAX_CONFIG_BYTES}`);
    }
    this.handler = new HandlerFunction(this, 'Handler', {
      ...props.handlerDefaults,
      entry: LOG_INGEST_ENTRY,
      description: 'Migration monitor: tracks migrations from their CloudWatch Logs (subscription filter → tracker updates)',
      timeout: Duration.seconds(60),
      memorySize: 256,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 1,
      environment: {
        TABLE_NAME: props.table.table.tableName,
        ACTIVITY_TTL_DAYS: String(props.activityTtlDays ?? 90),
        ...(configJson ? { LOG_WATCH_CONFIG: configJson } : {}),
      },
    });
    props.table.grantStore(this.handler.role);
    // Subscription deliveries are asynchronous invocations: retried twice, then (with the event) to the dead-letter queue.
    const dlq = props.handlerDefaults.deadLetterQueue;
    this.handler.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      ...(dlq ? { onFailure: new lambdaDestinations.SqsDestination(dlq) } : {}),
    });

    const filterPattern = props.filterPattern ?? defaultFilterPattern(props.config);
    const destination = new destinations.LambdaDestination(this.handler.function);
    props.logGroups.forEach((logGroup, i) => {
      this.filters.push(new logs.SubscriptionFilter(this, `Subscription${i}`, { logGroup, destination, filterPattern, filterName: 'migration-monitor' }));
    });
  }
}

/** The well-known events' texts when only the defaults are in use; everything once you add your own patterns. */
export function defaultFilterPattern(config?: LogWatchConfigInput): logs.IFilterPattern {
  const custom = (config?.patterns?.length ?? 0) > 0 || config?.useDefaultPatterns === false;
  return custom ? logs.FilterPattern.allEvents() : logs.FilterPattern.anyTerm(...DEFAULT_PATTERNS.map((p) => p.name));
}
