import { readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveSpec, ALARMS, METRICS, DASHBOARD_PANELS as SPEC_PANELS } from '../../../lib/core/metrics/spec';
import { Alerting, windowOf, MAX_ALIGNMENT_SECONDS } from '../../../lib/constructs/gcp/alerting';
import { MigrationDashboard, DASHBOARD_PANELS } from '../../../lib/constructs/gcp/dashboard';
import { only, placement, resources, synthJson } from './synth-helpers';

const services = ['mm-prod-report', 'mm-prod-validate', 'mm-prod-search-proxy'];
const channels = [
  { purpose: 'on-call', emails: ['oncall@example.com'], severities: ['critical' as const, 'warning' as const] },
  { purpose: 'migration-leads', emails: ['lead@example.com'], severities: ['critical' as const] },
];

function alerting(overrides = {}) {
  return synthJson((s) => new Alerting(s, 'alerting', { placement, spec: resolveSpec(overrides), services, schedulerJobs: ['mm-prod-daily-report'], channels, runbookUrl: 'https://example.com/runbook' }));
}

const policies = (json: ReturnType<typeof alerting>) => resources(json, 'google_monitoring_alert_policy').map(([, p]) => p);
const policy = (json: ReturnType<typeof alerting>, id: string) => policies(json).find((p) => p.user_labels.alarm === id)!;

describe('Alerting', () => {
  const json = alerting();

  it('renders one policy per spec alarm plus the scheduler-failure policy, with severity and runbook documentation', () => {
    const ids = policies(json).map((p) => p.user_labels.alarm).sort();
    expect(ids).toEqual([...ALARMS.map((a) => a.id), 'scheduler-job-failed', 'handler-alert-critical', 'handler-alert-error'].sort());
    for (const alarm of ALARMS) {
      const p = policy(json, alarm.id);
      expect(p.severity).toBe(alarm.severity === 'critical' ? 'CRITICAL' : 'WARNING');
      expect(p.display_name).toBe(`mm-prod: ${alarm.title}`);
      expect(p.documentation.mime_type).toBe('text/markdown');
      expect(p.documentation.content).toContain(alarm.runbook);
      expect(p.documentation.links).toContainEqual({ display_name: 'Runbook', url: `https://example.com/runbook#${alarm.id}` });
      expect(p.enabled).toBe(true);
    }
  });

  it('routes critical alarms to both channel groups and warnings to on-call only', () => {
    const ch = resources(json, 'google_monitoring_notification_channel').map(([, c]) => c);
    expect(ch.map((c) => c.display_name).sort()).toEqual(['mm-prod migration-leads (critical): lead@example.com', 'mm-prod on-call (critical+warning): oncall@example.com']);
    expect(ch.every((c) => c.type === 'email')).toBe(true);
    expect(policy(json, 'breaker-open').notification_channels).toHaveLength(2);
    expect(policy(json, 'report-missing').notification_channels).toHaveLength(1);
  });

  it('breaker open: a counter of log lines where BreakerState >= 2, any in the window', () => {
    const c = policy(json, 'breaker-open').conditions[0].condition_threshold;
    expect(c).toMatchObject({ comparison: 'COMPARISON_GT', threshold_value: 0, duration: '0s' });
    expect(c.aggregations[0]).toEqual({ alignment_period: '60s', per_series_aligner: 'ALIGN_DELTA', cross_series_reducer: 'REDUCE_SUM' });
    const metric = resources(json, 'google_logging_metric').map(([, m]) => m).find((m) => m.name === 'mm_prod_alarm_breaker_open')!;
    expect(metric.filter).toBe('resource.type="cloud_run_revision" AND resource.labels.service_name=("mm-prod-report" OR "mm-prod-validate" OR "mm-prod-search-proxy") AND jsonPayload.BreakerState >= 2');
    expect(c.filter).toBe('metric.type="logging.googleapis.com/user/mm_prod_alarm_breaker_open" AND resource.type="cloud_run_revision"');
    expect(policy(json, 'breaker-open').depends_on).toEqual([expect.stringMatching(/^google_logging_metric\..*breaker_open/)]);
  });

  it('proxy latency: p99 of the distribution metric over 5 min, breached for 2 consecutive periods', () => {
    const c = policy(json, 'proxy-latency-slo').conditions[0].condition_threshold;
    expect(c).toMatchObject({ comparison: 'COMPARISON_GT', threshold_value: 30, duration: '300s' });
    expect(c.aggregations[0]).toMatchObject({ alignment_period: '300s', per_series_aligner: 'ALIGN_PERCENTILE_99', cross_series_reducer: 'REDUCE_MAX' });
    const metric = resources(json, 'google_logging_metric').map(([, m]) => m).find((m) => m.name === 'mm_prod_search_proxy_latency_seconds')!;
    expect(metric).toMatchObject({ value_extractor: 'EXTRACT(jsonPayload.ProxyLatency)', metric_descriptor: { metric_kind: 'DELTA', value_type: 'DISTRIBUTION', unit: 'ms' } });
    expect(metric.label_extractors).toEqual({ backend: 'EXTRACT(jsonPayload.Backend)' });
  });

  it('no report in 26 h: 25 h window (the API maximum) + 1 h duration, missing data breaching', () => {
    const c = policy(json, 'report-missing').conditions[0].condition_threshold;
    expect(c).toMatchObject({ comparison: 'COMPARISON_LT', threshold_value: 1, duration: '3600s', evaluation_missing_data: 'EVALUATION_MISSING_DATA_ACTIVE' });
    expect(c.aggregations[0].alignment_period).toBe(`${MAX_ALIGNMENT_SECONDS}s`);
  });

  it('stalled migration: no progress for 30 min AND a phase running', () => {
    const p = policy(json, 'migration-stalled');
    expect(p.combiner).toBe('AND');
    expect(p.conditions).toHaveLength(2);
    expect(p.conditions[0].condition_threshold).toMatchObject({ comparison: 'COMPARISON_LT', threshold_value: 1, evaluation_missing_data: 'EVALUATION_MISSING_DATA_ACTIVE' });
    expect(p.conditions[0].condition_threshold.aggregations[0].alignment_period).toBe('1800s');
    expect(p.conditions[1].display_name).toMatch(/^only while Maximum of PhasesRunning gte 1/);
  });

  it('handler errors: the HandlerErrors log metric OR Cloud Run 5xx responses of the handlers', () => {
    const p = policy(json, 'handler-errors');
    expect(p.combiner).toBe('OR');
    expect(p.conditions[1].condition_threshold.filter).toBe(
      'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND metric.labels.response_code_class="5xx" AND resource.labels.service_name=("mm-prod-report" OR "mm-prod-validate" OR "mm-prod-search-proxy")',
    );
  });

  it('handler alerts: one log-match policy per severity on the structured alert line, labelled, rate-limited and auto-closing', () => {
    const critical = policy(json, 'handler-alert-critical');
    expect(critical.severity).toBe('CRITICAL');
    expect(critical.conditions).toEqual([
      {
        display_name: 'a handler logged a critical alert line',
        condition_matched_log: {
          filter: 'resource.type="cloud_run_revision" AND resource.labels.service_name=("mm-prod-report" OR "mm-prod-validate" OR "mm-prod-search-proxy") AND jsonPayload.alert.severity="critical"',
          label_extractors: { alert_id: 'EXTRACT(jsonPayload.alert.id)', title: 'EXTRACT(jsonPayload.alert.title)', detail: 'EXTRACT(jsonPayload.alert.detail)', service: 'EXTRACT(resource.labels.service_name)' },
        },
      },
    ]);
    // a log-match policy needs a notification rate limit; it closes itself when the lines stop
    expect(critical.alert_strategy).toEqual({ notification_rate_limit: { period: '300s' }, auto_close: '1800s' });
    // critical: both groups; error: the group that takes warnings (on-call)
    expect(critical.notification_channels).toHaveLength(2);
    const error = policy(json, 'handler-alert-error');
    expect(error.severity).toBe('ERROR');
    expect(error.notification_channels).toHaveLength(1);
    expect(error.conditions[0].condition_matched_log.filter).toMatch(/jsonPayload\.alert\.severity="error"$/);
    // the mail names what happened: Terraform's $${ escape leaves Cloud Monitoring's own ${log.extracted_label.*} variables
    expect(critical.documentation.subject).toBe('[CRITICAL] $${log.extracted_label.title} (prod)');
    expect(critical.documentation.content).toContain('$${log.extracted_label.detail}');
    // what to do, for the alerts of that severity only (the spec alarm's runbook where the alarm exists)
    expect(critical.documentation.content).toContain(ALARMS.find((a) => a.id === 'breaker-open')!.runbook);
    expect(critical.documentation.content).not.toContain('report-undelivered');
    expect(error.documentation.content).toContain('`report-undelivered` (Status report could not be delivered)');
    expect(error.documentation.content).toContain(ALARMS.find((a) => a.id === 'validation-failed')!.runbook);
  });

  it('scheduler job failures: failed attempts of the named jobs', () => {
    const m = resources(json, 'google_logging_metric').map(([, x]) => x).find((x) => x.name === 'mm_prod_scheduler_attempt_failures')!;
    expect(m.filter).toBe('resource.type="cloud_scheduler_job" AND resource.labels.job_id=("mm-prod-daily-report") AND severity>=ERROR');
  });

  it('applies per-environment overrides and disabled alarms from the spec', () => {
    const j = alerting({ 'breaker-open': { enabled: false }, 'error-rate-high': { threshold: 25 } });
    expect(policies(j).map((p) => p.user_labels.alarm)).not.toContain('breaker-open');
    const m = resources(j, 'google_logging_metric').map(([, x]) => x).find((x) => x.name === 'mm_prod_alarm_error_rate_high')!;
    expect(m.filter).toMatch(/jsonPayload\.ErrorRate > 25$/);
  });

  it('refuses statistics it cannot express instead of rendering a wrong alert', () => {
    const spec = resolveSpec();
    spec.alarms = [{ ...spec.alarms[0]!, statistic: 'Average' }];
    expect(() => synthJson((s) => new Alerting(s, 'a', { placement, spec, services, schedulerJobs: [], channels }))).toThrow(/statistic Average cannot be rendered/);
    expect(() => synthJson((s) => new Alerting(s, 'a', { placement, spec: resolveSpec(), services, schedulerJobs: [], channels: [{ purpose: 'x', emails: ['nope'], severities: ['critical'] }] }))).toThrow(/"nope" is not an e-mail address/);
  });

  it('window arithmetic', () => {
    expect(windowOf({ periodSeconds: 60, evaluationPeriods: 1, datapointsToAlarm: 1, missingData: 'notBreaching', comparison: 'gte', statistic: 'Sum' })).toEqual({ alignmentPeriod: '60s', duration: '0s', evaluationMissingData: undefined });
    expect(windowOf({ periodSeconds: 300, evaluationPeriods: 3, datapointsToAlarm: 3, missingData: 'notBreaching', comparison: 'gt', statistic: 'p99' }).duration).toBe('600s');
  });
});

describe('MigrationDashboard', () => {
  const json = synthJson((s) => {
    const a = new Alerting(s, 'alerting', { placement, spec: resolveSpec(), services, schedulerJobs: [], channels: [] });
    new MigrationDashboard(s, 'dashboard', { placement, metrics: a.metrics, services });
  });
  const d = only(json, 'google_monitoring_dashboard');
  const body = JSON.parse(d.dashboard_json);

  it('is a 12-column mosaic with the same panels as the CloudWatch dashboard', () => {
    expect(body.mosaicLayout.columns).toBe(12);
    const titles = body.mosaicLayout.tiles.map((t: any) => t.widget.title);
    expect(titles).toEqual(DASHBOARD_PANELS.map((p) => p.title));
    // every graph of the CloudWatch dashboard has a panel of the same title here
    const aws = readFileSync(path.join(__dirname, '../../../lib/constructs/aws/migration-dashboard.ts'), 'utf8');
    const awsGraphs = [...aws.matchAll(/graph\('([^']+)'/g)].map((m) => m[1]);
    expect(awsGraphs.length).toBeGreaterThan(5);
    for (const g of awsGraphs) expect(titles).toContain(g);
    expect(titles).toEqual(expect.arrayContaining(['Alarms', 'Handler health', 'Logs']));
    for (const t of body.mosaicLayout.tiles) expect(t.xPos + t.width).toBeLessThanOrEqual(12);
    // no two tiles overlap
    const cells = new Set<string>();
    for (const t of body.mosaicLayout.tiles) for (let x = t.xPos; x < t.xPos + t.width; x++) for (let y = t.yPos; y < t.yPos + t.height; y++) {
      expect(cells.has(`${x},${y}`)).toBe(false);
      cells.add(`${x},${y}`);
    }
  });

  it('charts the log-based spec metrics and the Cloud Run platform metrics, and shows warning logs', () => {
    const tile = (title: string) => body.mosaicLayout.tiles.find((t: any) => t.widget.title === title).widget;
    const events = tile('Migration events (phase started / completed / failed)').xyChart.dataSets;
    expect(events.map((x: any) => x.legendTemplate)).toEqual(['PhaseStarted', 'PhaseCompleted', 'PhaseFailed']);
    expect(events[0].timeSeriesQuery.timeSeriesFilter.filter).toBe('metric.type="logging.googleapis.com/user/mm_prod_migration_phase_started_total" AND resource.type="cloud_run_revision"');
    const health = tile('Handler health').xyChart.dataSets.map((x: any) => x.timeSeriesQuery.timeSeriesFilter.filter);
    expect(health.some((f: string) => f.startsWith('metric.type="run.googleapis.com/request_count"'))).toBe(true);
    expect(tile('Logs').logsPanel.filter).toContain('severity>=WARNING');
    expect(tile('Alarms').incidentList).toEqual({});
    // every charted log metric exists in the same configuration
    const names = new Set(resources(json, 'google_logging_metric').map(([, m]) => m.name));
    for (const t of body.mosaicLayout.tiles) {
      for (const ds of t.widget.xyChart?.dataSets ?? []) {
        const m = /logging\.googleapis\.com\/user\/([a-z0-9_]+)/.exec(ds.timeSeriesQuery.timeSeriesFilter.filter);
        if (m) expect(names).toContain(m[1]);
      }
    }
    expect(d.depends_on.length).toBeGreaterThan(5);
  });

  it('derives its metric panels from the spec: every spec metric is charted, each spec panel the CloudWatch graphs do not cover is shown whole', () => {
    const legends = (title: string) => body.mosaicLayout.tiles.find((t: any) => t.widget.title === title)?.widget.xyChart.dataSets.map((x: any) => x.legendTemplate).filter((l: string) => l in METRICS);
    const charted = new Set(body.mosaicLayout.tiles.flatMap((t: any) => (t.widget.xyChart?.dataSets ?? []).map((x: any) => x.legendTemplate)));
    for (const name of Object.keys(METRICS)) expect(charted).toContain(name);
    const aws = readFileSync(path.join(__dirname, '../../../lib/constructs/aws/migration-dashboard.ts'), 'utf8');
    const awsGraphs = new Set([...aws.matchAll(/graph\('([^']+)'/g)].map((m) => m[1]));
    const cloudWatch = new Set(DASHBOARD_PANELS.filter((p) => awsGraphs.has(p.title)).flatMap((p) => p.metrics));
    for (const p of SPEC_PANELS) {
      if (p.metrics.every((m) => cloudWatch.has(m))) continue;
      expect([p.title, legends(p.title)]).toEqual([p.title, p.metrics]);
    }
    // log ingest's observations have panels of their own (they fill on GCP: the log-ingest handler prints them)
    expect(legends('Bulk copy: events copied and total')).toEqual(['EventsCopied', 'EventsTotal']);
    expect(legends('Dual-write: sync lag and target write failures')).toEqual(['SyncLag', 'DualWriteFailures']);
    // a CloudWatch graph with exactly a spec panel's metrics takes them from the spec
    expect(legends('Data migrated (bytes) and speed (bytes/s)')).toEqual(SPEC_PANELS.find((p) => p.title === 'Data migrated and speed')!.metrics);
  });
});
