import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { MigrationMonitoring, type MigrationMonitoringProps } from '../../lib/constructs/aws/migration-monitoring';
import type { EnvConfig } from './config';

export type { ExtensionFactory, ExtensionHandler } from '../../lib/constructs/aws/migration-monitoring';

export interface MigrationMonitoringStackProps extends StackProps, Pick<MigrationMonitoringProps, 'report' | 'validation' | 'searchProxy'> {
  config: EnvConfig;
}

/**
 * This repository's AWS app: one stack holding the MigrationMonitoring construct, configured from CDK
 * context (stacks/aws/config.ts); the same construct a team adds to its own stack. The construct's id is
 * `Default`, so its resources keep the logical ids they had when this stack held them directly.
 */
export class MigrationMonitoringStack extends Stack {
  readonly monitoring: MigrationMonitoring;

  constructor(scope: Construct, id: string, props: MigrationMonitoringStackProps) {
    super(scope, id, props);
    this.monitoring = new MigrationMonitoring(this, 'Default', { settings: props.config, report: props.report, validation: props.validation, searchProxy: props.searchProxy });
  }

  get config() { return this.monitoring.config; }
  get spec() { return this.monitoring.spec; }
  get handlerDefaults() { return this.monitoring.handlerDefaults; }
  get alertTopic() { return this.monitoring.alertTopic!; }
  get progressTable() { return this.monitoring.progressTable; }
  get trackerApi() { return this.monitoring.trackerApi; }
  get parameters() { return this.monitoring.parameters; }
  get alarms() { return this.monitoring.alarms; }
  get dashboard() { return this.monitoring.dashboard; }
  get schedules() { return this.monitoring.schedules; }
  get failedInvocations() { return this.monitoring.failedInvocations; }
  get report() { return this.monitoring.report; }
  get validation() { return this.monitoring.validation; }
  get gcpKeylessRole() { return this.monitoring.gcpKeylessRole; }
  get logSubscription() { return this.monitoring.logSubscription; }
}
