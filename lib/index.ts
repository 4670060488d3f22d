/**
 * `migration-monitor`: the tracker client for scripts and jobs (no cloud SDK needed). The constructs are
 * `migration-monitor/aws` (CDK) and `migration-monitor/gcp` (CDKTF); the CLI is the `migration-monitor` bin.
 */
export { TrackerClient, TrackerApiError, type TrackerClientOptions } from './adapters/http/tracker-client';
export type { ProgressOperation, DashboardAction } from './core/tracker/operations';
export type { PhaseDefInput } from './core/plan';
