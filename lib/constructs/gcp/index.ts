/** `migration-monitor/gcp`: the GCP CDKTF constructs (peer dependencies: cdktf, @cdktf/provider-google, constructs). */
export { GcpMigrationMonitoring, gcpSettingsOf, type GcpMigrationMonitoringProps } from './migration-monitoring';
export { gcpDefaults, gcpConfigSchema, validateGcpConfig, GcpConfigError, type GcpConfig } from '../../config/gcp-settings';
export { ENVIRONMENTS, type EnvName } from '../../config/environments';
export { CloudRunHandler, type CloudRunHandlerProps } from './cloud-run-handler';
export { ReportBucket, SecureBucket } from './report-bucket';
