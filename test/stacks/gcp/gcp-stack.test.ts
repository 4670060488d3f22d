import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ALARMS, METRICS } from '../../../lib/core/metrics/spec';
import { loadGcpConfig, GcpConfigError } from '../../../stacks/gcp/config';
import { CI_ENV, configFor, stackJson } from './helpers';

const res = (json: Record<string, any>, type: string) => Object.values(json.resource?.[type] ?? {}) as Record<string, any>[];

/** Asset hashes change with the bundled code; the snapshot should change only when the configuration does. */
function masked(json: Record<string, any>): Record<string, any> {
  return JSON.parse(JSON.stringify(json).replace(/[0-9A-F]{32}/g, '<hash>'));
}

describe('GCP monitoring stack', () => {
  it('matches the snapshot of the whole prod stack', () => {
    expect(masked(stackJson(configFor('prod')))).toMatchSnapshot();
  });

  it('mounts the validation config from Secret Manager on the validation handler only', () => {
    const json = stackJson(configFor('prod'));
    const fns = res(json, 'google_cloudfunctions2_function');
    const secretKeys = (name: string) => fns.find((f) => f.name === name)!.service_config.secret_environment_variables.map((s: any) => s.key);
    expect(secretKeys('mm-prod-validate')).toEqual(['MM_TRACKER_TOKEN', 'VALIDATION_CONFIG']);
    expect(secretKeys('mm-prod-report')).not.toContain('VALIDATION_CONFIG');
  });

  it('composes the report bucket, three handlers with their own accounts, two schedules, alerting and the dashboard', () => {
    const json = stackJson(configFor('prod'));
    expect(res(json, 'google_storage_bucket').map((b) => b.name).sort()).toEqual(['acme-migration-mm-prod-reports', 'acme-migration-mm-prod-sources']);
    expect(res(json, 'google_cloudfunctions2_function').map((f) => f.name).sort()).toEqual(['mm-prod-report', 'mm-prod-search-proxy', 'mm-prod-validate']);
    expect(res(json, 'google_service_account').map((s) => s.account_id).sort()).toEqual(['mm-prod-report', 'mm-prod-scheduler', 'mm-prod-search-proxy', 'mm-prod-validate']);
    const jobs = res(json, 'google_cloud_scheduler_job');
    expect(jobs.map((j) => [j.name, j.schedule, j.time_zone])).toEqual([
      ['mm-prod-daily-report', '0 7 * * *', 'Etc/UTC'],
      ['mm-prod-validation', '*/15 * * * *', 'Etc/UTC'],
    ]);
    // every spec alarm on a metric these services emit has a policy (the tracker's alarms live on AWS, next to
    // it), plus the scheduler-attempt policy and the handler alert-line policies; the notification channels are the configured e-mails
    const emitted = ALARMS.filter((a) => METRICS[a.metric].source !== 'tracker');
    expect(res(json, 'google_monitoring_alert_policy').map((p) => p.user_labels.alarm).sort()).toEqual([...emitted.map((a) => a.id), 'scheduler-job-failed', 'handler-alert-critical', 'handler-alert-error'].sort());
    expect(res(json, 'google_monitoring_notification_channel').map((c) => c.labels.email_address).sort()).toEqual(['lead@example.com', 'oncall@example.com']);
    expect(res(json, 'google_monitoring_dashboard')).toHaveLength(1);
    // the handlers know where the tracker is and which role to assume, never a key
    const report = res(json, 'google_cloudfunctions2_function').find((f) => f.name === 'mm-prod-report')!;
    expect(report.service_config.environment_variables).toMatchObject({
      MM_TRACKER_URL: CI_ENV.MM_TRACKER_URL,
      MM_TRACKER_AWS_ROLE_ARN: CI_ENV.MM_TRACKER_AWS_ROLE_ARN,
      MIGRATION_MONITOR_URL: CI_ENV.MM_TRACKER_URL,
      REPORT_OUTPUTS: 'gcs,slack',
      REPORT_BUCKET: expect.stringMatching(/^\$\{google_storage_bucket\.reports_bucket_[0-9A-F]+\.name\}$/),
    });
    expect(report.build_config.entry_point).toBe('mmHandler');
    expect(report.service_config.secret_environment_variables.map((s: any) => [s.key, s.secret])).toEqual([
      ['MIGRATION_MONITOR_TOKEN', 'mm-prod-tracker-api-credentials'],
      ['SLACK_WEBHOOK_URL', 'mm-prod-slack-webhook'],
    ]);
    expect(Object.keys(json.output)).toEqual(expect.arrayContaining(['report_service_account_unique_id', 'report_url', 'report_bucket']));
    expect(json.terraform.backend).toEqual({ local: { path: 'terraform.migration-monitor-gcp-prod.tfstate' } });
  });

  it('the report handler may create and read reports and replace only latest.json; validation may only create', () => {
    const json = stackJson(configFor('prod'));
    const grants = res(json, 'google_storage_bucket_iam_member').map((g) => ({ role: g.role, member: g.member.replace(/\$\{google_service_account\.([a-z-]+)_sa_[0-9A-F]+\.email\}/, '$1'), condition: g.condition?.expression }));
    const key = (g: { role: string; member: string }) => `${g.member} ${g.role}`;
    expect(grants.sort((a, b) => key(a).localeCompare(key(b)))).toEqual([
      { role: 'roles/storage.objectCreator', member: 'serviceAccount:report', condition: undefined },
      { role: 'roles/storage.objectUser', member: 'serviceAccount:report', condition: 'resource.name.endsWith("/latest.json")' },
      { role: 'roles/storage.objectViewer', member: 'serviceAccount:report', condition: undefined },
      { role: 'roles/storage.objectCreator', member: 'serviceAccount:validate', condition: undefined },
    ]);
  });

  it('differs by environment like the AWS stack: dev is disposable, prod keeps data', () => {
    const dev = stackJson(configFor('dev'));
    const prod = stackJson(configFor('prod'));
    const reports = (j: Record<string, any>) => res(j, 'google_storage_bucket').find((b) => b.labels.purpose === 'reports')!;
    expect(reports(dev).force_destroy).toBe(true);
    expect(reports(prod).force_destroy).toBe(false);
    expect(res(dev, 'google_cloud_scheduler_job')[1]!.schedule).toBe('0 */1 * * *');
    // dev disables the proxy latency alarm, as on AWS
    expect(res(dev, 'google_monitoring_alert_policy').map((p) => p.user_labels.alarm)).not.toContain('proxy-latency-slo');
  });

  it('declares a project_id variable when no project is configured', () => {
    const json = stackJson(loadGcpConfig('staging', { MM_ALERT_EMAILS: 'oncall@example.com' }));
    expect(json.variable).toEqual({ project_id: expect.objectContaining({ type: 'string' }) });
    expect(json.provider.google[0].project).toBe('${var.project_id}');
  });

  it('uses the GCS backend when a state bucket is configured', () => {
    const json = stackJson(configFor('prod', { MM_TF_STATE_BUCKET: 'acme-tf-state' }));
    expect(json.terraform.backend).toEqual({ gcs: { bucket: 'acme-tf-state', prefix: 'migration-monitor/prod' } });
  });

  it('deploys log ingest only when a log filter is configured: the handler, the sink and its metrics, alerts and outputs', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mm-gcp-cfg-'));
    const file = path.join(dir, 'gcp.json');
    const watch = { phaseMap: { copy: 'bulk-copy' }, patterns: [{ name: 'rows', regex: 'copied (?<count>\\d+) rows', actions: [{ do: 'progress' }] }] };
    writeFileSync(file, JSON.stringify({ prod: { logIngest: { filter: 'resource.type="cloud_run_job"', watch, maxDeliveryAttempts: 20 } } }));
    const json = stackJson(configFor('prod', { MM_GCP_CONFIG: file }));
    const fn = res(json, 'google_cloudfunctions2_function').find((f) => f.name === 'mm-prod-log-ingest')!;
    expect(fn.service_config).toMatchObject({ ingress_settings: 'ALLOW_INTERNAL_ONLY', max_instance_count: 1, timeout_seconds: 60 });
    expect(fn.service_config.environment_variables).toMatchObject({
      MM_HANDLER: 'log-ingest',
      MM_TRACKER_URL: CI_ENV.MM_TRACKER_URL,
      MM_TRACKER_AWS_ROLE_ARN: CI_ENV.MM_TRACKER_AWS_ROLE_ARN,
      LOG_WATCH_CONFIG: JSON.stringify(watch),
    });
    expect(fn.service_config.secret_environment_variables.map((s: any) => s.key)).toEqual(['MM_TRACKER_TOKEN']);
    expect(res(json, 'google_service_account').map((s) => s.account_id)).toEqual(expect.arrayContaining(['mm-prod-log-ingest', 'mm-prod-log-push']));
    // patterns of its own: the sink sends every entry the filter selects; the push subscription targets the handler
    expect(res(json, 'google_logging_project_sink')[0]!.filter).toBe('resource.type="cloud_run_job"');
    const push = res(json, 'google_pubsub_subscription').find((s) => s.push_config)!;
    expect(push.push_config.push_endpoint).toMatch(/^\$\{google_cloudfunctions2_function\.log-ingest_function_[0-9A-F]+\.service_config\[0\]\.uri\}$/);
    expect(push.dead_letter_policy.max_delivery_attempts).toBe(20);
    // its stdout metrics count (log-based metric filters) and its 5xx responses alert like the other handlers'
    const copied = res(json, 'google_logging_metric').find((m) => m.name === 'mm_prod_migration_events_copied_total')!;
    expect(copied.filter).toMatch(/service_name=\(.*"mm-prod-log-ingest"\) AND jsonPayload\.EventsCopied > 0$/);
    for (const m of res(json, 'google_logging_metric').filter((x) => x.filter.includes('jsonPayload.'))) expect(m.filter).toContain('"mm-prod-log-ingest"');
    const fiveXx = res(json, 'google_monitoring_alert_policy').flatMap((p) => p.conditions.map((c: any) => c.condition_threshold?.filter ?? '')).find((f: string) => f.includes('5xx'));
    expect(fiveXx).toContain('"mm-prod-log-ingest"');
    expect(Object.keys(json.output)).toEqual(expect.arrayContaining(['logIngest_url', 'logIngest_service_account_unique_id']));

    const without = stackJson(configFor('prod'));
    expect(res(without, 'google_cloudfunctions2_function').map((f) => f.name)).not.toContain('mm-prod-log-ingest');
    expect(res(without, 'google_logging_project_sink')).toHaveLength(0);
    expect(res(without, 'google_pubsub_topic')).toHaveLength(0);
  });

  it('the well-known events narrow the sink filter by default, as on AWS', () => {
    const json = stackJson(configFor('prod', { MM_LOG_INGEST_FILTER: 'resource.labels.job_name="tenant-migrator"' }));
    expect(res(json, 'google_logging_project_sink')[0]!.filter).toMatch(/^\(resource\.labels\.job_name="tenant-migrator"\) AND \("Migration started" OR /);
  });

  it('puts the search proxy behind a load balancer only when asked', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mm-gcp-cfg-'));
    const file = path.join(dir, 'gcp.json');
    writeFileSync(file, JSON.stringify({ prod: { searchProxyLoadBalancer: { domain: 'search.example.com' } } }));
    const json = stackJson(configFor('prod', { MM_GCP_CONFIG: file }));
    const proxy = res(json, 'google_cloudfunctions2_function').find((f) => f.name === 'mm-prod-search-proxy')!;
    expect(proxy.service_config.ingress_settings).toBe('ALLOW_INTERNAL_AND_GCLB');
    expect(res(json, 'google_compute_region_network_endpoint_group')[0]).toMatchObject({ network_endpoint_type: 'SERVERLESS' });
    expect(res(json, 'google_compute_managed_ssl_certificate')[0]!.managed.domains).toEqual(['search.example.com']);
    const plain = stackJson(configFor('prod'));
    expect(res(plain, 'google_compute_backend_service')).toHaveLength(0);
  });
});

describe('GCP stack config', () => {
  it('refuses secrets, unknown keys, unknown alarms and bad values with a message naming the field', () => {
    expect(() => loadGcpConfig('prod', { MM_TRACKER_URL: 'https://user:hunter2secret@tracker.example.com' })).toThrow(/must not hold secret values.*URL with a password/);
    const dir = mkdtempSync(path.join(tmpdir(), 'mm-gcp-cfg-'));
    const write = (v: unknown) => {
      const f = path.join(dir, `${Math.random()}.json`);
      writeFileSync(f, JSON.stringify(v));
      return { MM_GCP_CONFIG: f, MM_ALERT_EMAILS: 'oncall@example.com' };
    };
    expect(() => loadGcpConfig('prod', write({ prod: { slackWebhookUrl: 'x' } }))).toThrow(/Unrecognized key.*slackWebhookUrl/);
    expect(() => loadGcpConfig('prod', write({ prod: { alerts: { overrides: { nope: {} } } } }))).toThrow(/unknown alarm id\(s\) in alerts.overrides: nope/);
    // overrides are checked by the spec's alarmOverrideSchema, as on AWS and in the CLI
    expect(() => loadGcpConfig('prod', write({ prod: { alerts: { overrides: { 'error-rate-high': { thresold: 5 } } } } }))).toThrow(/Unrecognized key.*thresold/);
    expect(() => loadGcpConfig('prod', write({ prod: { alerts: { overrides: { 'error-rate-high': { severity: 'page' } } } } }))).toThrow(/alerts.overrides.error-rate-high.severity/);
    expect(loadGcpConfig('prod', write({ prod: { alerts: { overrides: { 'error-rate-high': { threshold: 5 } } } } })).alerts.overrides['error-rate-high']).toMatchObject({ threshold: 5 });
    expect(() => loadGcpConfig('prod', write({ qa: {} }))).toThrow(/unknown environment key\(s\) qa/);
    expect(() => loadGcpConfig('prod', write({ prod: { schedules: { timeZone: 'Mars/Olympus' } } }))).toThrow(/not an IANA time zone/);
    expect(() => loadGcpConfig('prod', write({ prod: { reportBucket: { forceDestroy: true } } }))).toThrow(/forceDestroy is only allowed in dev/);
    expect(() => loadGcpConfig('qa', {})).toThrow(GcpConfigError);
    expect(() => loadGcpConfig('prod', { MM_GCP_PROJECT: 'X' })).toThrow(/project: must be a GCP project id/);
    // log ingest: a filter that selects something, a valid analyzer config, and a tracker to report to
    expect(() => loadGcpConfig('prod', write({ prod: { logIngest: { filter: '  ' } } }))).toThrow(/logIngest.filter: must select the migration jobs' logs/);
    expect(() => loadGcpConfig('prod', { ...write({ prod: { logIngest: { filter: 'x', watch: { phaseMapp: {} } } } }), MM_TRACKER_URL: 'https://t.example.com' })).toThrow(/logIngest.watch: .*phaseMapp/);
    expect(() => loadGcpConfig('prod', { MM_LOG_INGEST_FILTER: 'resource.type="cloud_run_job"' })).toThrow(/logIngest needs tracker.apiUrl \(MM_TRACKER_URL\)/);
    expect(() => loadGcpConfig('prod', write({ prod: { logIngest: { filter: 'x', maxDeliveryAttempts: 3 } } }))).toThrow(/logIngest.maxDeliveryAttempts/);
  });

  it('reads per-environment variables before plain ones', () => {
    const cfg = loadGcpConfig('prod', { MM_GCP_PROJECT: 'acme-shared', MM_GCP_PROJECT_PROD: 'acme-prod', MM_ALERT_EMAILS: 'oncall@example.com' });
    expect(cfg.project).toBe('acme-prod');
    expect(loadGcpConfig('dev', { MM_GCP_PROJECT: 'acme-shared', MM_GCP_PROJECT_PROD: 'acme-prod' }).project).toBe('acme-shared');
  });
});
