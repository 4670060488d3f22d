import type { Construct } from 'constructs';
import { Annotations, GcsBackend, LocalBackend, TerraformStack } from 'cdktf';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import type { CloudRunHandler } from '../../lib/constructs/gcp/cloud-run-handler';
import type { LogSink } from '../../lib/constructs/gcp/log-sink';
import { GcpMigrationMonitoring } from '../../lib/constructs/gcp/migration-monitoring';
import type { GcpConfig } from './config';
import { onCallCheck } from '../../lib/config/environments';

export interface GcpStackOptions {
  /** Zip a placeholder instead of running esbuild (unit tests, snapshot). */
  skipBundling?: boolean;
}

/**
 * This repository's GCP app for one environment: backend, Google provider and the GcpMigrationMonitoring
 * construct (the one a team adds to its own CDKTF stack). What it deploys: report bucket, three handlers on Cloud Run
 * (report, validation, search proxy), their schedules, secrets, alerting and dashboard, and, when a log
 * filter is configured, log ingest (a Cloud Logging sink → Pub/Sub → the log-ingest handler). It reads like
 * the list of what it deploys; each piece is one construct in lib/constructs/gcp/.
 */
export class GcpMonitoringStack extends TerraformStack {
  readonly monitoring: GcpMigrationMonitoring;
  readonly handlers: Record<'report' | 'validate' | 'searchProxy', CloudRunHandler> & { logIngest?: CloudRunHandler };
  readonly logSink?: LogSink;

  constructor(scope: Construct, cfg: GcpConfig, opts: GcpStackOptions = {}) {
    super(scope, cfg.stackName);
    // staging and prod refuse to load without on-call addresses (config); dev is allowed, with a warning.
    const onCall = onCallCheck(cfg.env, cfg.alerts.channels.flatMap((c) => c.emails), 'MM_ALERT_EMAILS (or alerts.channels in MM_GCP_CONFIG)');
    if (onCall.warning) Annotations.of(this).addWarning(onCall.warning);
    if (cfg.backend.type === 'gcs') new GcsBackend(this, { bucket: cfg.backend.bucket, prefix: cfg.backend.prefix });
    else new LocalBackend(this, { path: cfg.backend.path ?? `terraform.${cfg.stackName}.tfstate` });

    // id `Default`: the construct's resources keep the ids they had when this stack held them directly
    // (without a configured project it declares the `project_id` variable, which the provider uses too)
    this.monitoring = new GcpMigrationMonitoring(this, 'Default', { settings: cfg, skipBundling: opts.skipBundling });
    new GoogleProvider(this, 'google', { project: this.monitoring.project, region: cfg.region });
    this.handlers = this.monitoring.handlers;
    this.logSink = this.monitoring.logSink;
  }
}
