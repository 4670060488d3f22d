/** `migration-monitor/aws`: the AWS CDK constructs (peer dependencies: aws-cdk-lib, constructs). */
export { MigrationMonitoring, settingsOf, type MigrationMonitoringProps, type ExtensionFactory, type ExtensionHandler } from './migration-monitoring';
export { CONFIGS, ConfigError, envConfigSchema, type EnvConfig } from '../../config/aws-settings';
export { ENVIRONMENTS, type EnvName } from '../../config/environments';
export { AlertTopic, type AlertTopicProps } from './alert-topic';
export { ProgressTable, type ProgressTableProps } from './progress-table';
export { TrackerApi } from './tracker-api';
export { ReportFunction } from './report-function';
export { ValidationFunction } from './validation-function';
export { SearchProxy } from './search-proxy';
export { LogSubscription } from './log-subscription';
export { MigrationAlarms } from './migration-alarms';
export { MigrationDashboard } from './migration-dashboard';
export { HandlerFunction, type HandlerDefaults, type HandlerFunctionProps } from './handler-function';
