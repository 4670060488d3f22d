import YAML from 'yaml';
import { breaches, evaluationWindow } from '../metrics/alarm-meaning';
import { METRICS, type AlarmSpec, type MetricName, type MonitoringSpec } from '../metrics/spec';
import { PROM_OP, alarmLabels, conditionExpr, promDuration, promName, presenceSeries } from './promql';

export interface PrometheusRulesOptions {
  /**
   * Shortest range vector in seconds. `increase()` and `*_over_time()` need at least two samples in the
   * range, so keep it at two scrape intervals or more. Default 120 (Prometheus' default scrape is 1m).
   */
  minRangeSeconds?: number;
  /** Base URL of the runbook page; each alert gets `runbook_url: <url>#<alarm id>`. */
  runbookUrl?: string;
  /** Rule group name. Default `migration-monitor`. */
  groupName?: string;
  /** Labels added to every alert (e.g. `team`, `env`). */
  extraLabels?: Record<string, string>;
  /**
   * Add a group of recording rules that keep the former Prometheus names alive (`dual_write_sync_lag_events`
   * from `migration_dual_write_sync_lag_events`, `migration_error_rate_percent` as the ratio × 100...), so
   * existing dashboards and queries work while they are moved to the new names.
   */
  formerNames?: boolean;
}

/**
 * Recording rules that give each renamed metric's former name its former value: a prefixed name as it is, a
 * ratio × 100 as the former percent, a histogram's `_bucket`/`_sum`/`_count`, a breaker state as its former
 * code, a phase's elapsed time from its timestamps. `migration_state` and `migration_health` kept their names
 * (only the form changed), so no rule can bring back their codes: queries on them change (docs/prometheus.md).
 */
export function formerNameRules(): RecordingRule[] {
  const rules: RecordingRule[] = [];
  for (const name of Object.keys(METRICS) as MetricName[]) {
    const m = METRICS[name];
    const former = m.formerPrometheus;
    if (!former || former === m.prometheus) continue;
    if (m.prometheus === null) {
      if (m.prometheusExpr) rules.push({ record: former, expr: m.prometheusExpr('') });
    } else if (m.states) {
      const codes = m.states.map((state, i) => `${m.prometheus}{state="${state}"} * ${i}`).join(' or ');
      rules.push({ record: former, expr: `sum without (state) (${codes})` });
    } else if (m.kind === 'histogram') {
      for (const part of ['_bucket', '_sum', '_count']) rules.push({ record: `${former}${part}`, expr: `${m.prometheus}${part}` });
    } else {
      rules.push({ record: former, expr: m.prometheus.endsWith('_ratio') && former.endsWith('_percent') ? `${m.prometheus} * 100` : m.prometheus });
    }
  }
  return rules;
}

export interface PrometheusRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A recording rule: `record` is the series name the expression is stored under. */
export interface RecordingRule {
  record: string;
  expr: string;
}

export interface PrometheusRuleFile {
  /** The alerts, then (with `formerNames`) the recording rules. */
  groups: [{ name: string; rules: PrometheusRule[] }, ...Array<{ name: string; rules: RecordingRule[] }>];
}

/** `phase-failed` → `PhaseFailed`. */
export const alertName = (id: string): string => id.replace(/(^|[-_])([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());

export const COMPOSITE_ALERT = 'MigrationUnhealthy';

/**
 * The window of one alarm: the spec's evaluation window (lib/core/metrics/alarm-meaning.ts, shared with CloudWatch
 * and Cloud Monitoring) with Prometheus' minimum range; the hold time becomes `for`.
 */
export function alarmWindow(a: Pick<AlarmSpec, 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm' | 'statistic' | 'comparison'>, minRangeSeconds = 120) {
  const { rangeSeconds: range, holdSeconds: holdFor } = evaluationWindow(a);
  // A gating condition (`onlyWhile`) is read per period, like CloudWatch reads it in each period.
  return { rangeSeconds: Math.max(range, minRangeSeconds), conditionRangeSeconds: Math.max(a.periodSeconds, minRangeSeconds), forSeconds: holdFor };
}

/**
 * The PromQL of one alarm. Silence counts as breaching where the spec says so (`or absent(...)`, or, with
 * an `onlyWhile` condition, "the condition holds but the metric has no series"); an `onlyWhile` condition
 * gates the alarm (`and on (shared labels)`).
 */
export function alarmExpr(a: AlarmSpec, rangeSeconds: number, conditionRangeSeconds = rangeSeconds): string {
  const labels = alarmLabels(a);
  const { value, expr: main } = conditionExpr(a, { by: labels, range: promDuration(rangeSeconds) });
  const breaching = a.missingData === 'breaching';
  if (a.onlyWhile) {
    const w = a.onlyWhile;
    const shared = alarmLabels({ metric: w.metric }).filter((l) => labels.includes(l));
    const cond = conditionExpr(w, { by: shared, range: promDuration(conditionRangeSeconds) }).expr;
    const on = `on (${shared.join(', ')})`;
    const gated = `(${main}) and ${on} (${cond})`;
    return breaching ? `(${gated}) or ((${cond}) unless ${on} (${value}))` : gated;
  }
  return breaching ? `(${main}) or absent(${presenceSeries(a.metric)})` : main;
}

/** The monitoring spec's alarms as a Prometheus rule file (plus the composite "migration unhealthy" alert). */
export function prometheusRules(spec: MonitoringSpec, opts: PrometheusRulesOptions = {}): PrometheusRuleFile {
  const rules: PrometheusRule[] = spec.alarms.map((a) => {
    const { rangeSeconds, conditionRangeSeconds, forSeconds } = alarmWindow(a, opts.minRangeSeconds);
    const m = METRICS[a.metric];
    const labels = alarmLabels(a);
    const context = labels.length ? ` (${labels.map((l) => `${l} {{ $labels.${l} }}`).join(', ')})` : '';
    const threshold = num(conditionExpr(a, { by: labels, range: promDuration(rangeSeconds) }).threshold);
    const annotations: Record<string, string> = {
      summary: `${a.title}${context}`,
      description:
        `${a.statistic} of ${promName(a.metric)}${m.states ? ` in state ${m.states.filter((_, i) => breaches(a.comparison, i, a.threshold)).join(' or ')}` : ''} over ${promDuration(rangeSeconds)} is {{ $value }}, ${PROM_OP[a.comparison]} ${threshold}` +
        `${forSeconds ? ` for ${promDuration(forSeconds)}` : ''}${a.missingData === 'breaching' ? ' (no data counts as breaching)' : ''}` +
        `${a.onlyWhile ? ` while ${promName(a.onlyWhile.metric)} ${PROM_OP[a.onlyWhile.comparison]} ${a.onlyWhile.threshold}` : ''}. ${m.help}.`,
      runbook: a.runbook,
    };
    if (opts.runbookUrl) annotations['runbook_url'] = `${opts.runbookUrl}#${a.id}`;
    return {
      alert: alertName(a.id),
      expr: alarmExpr(a, rangeSeconds, conditionRangeSeconds),
      for: promDuration(forSeconds),
      labels: { severity: a.severity, alarm_id: a.id, ...opts.extraLabels },
      annotations,
    };
  });
  const members = spec.alarms.filter((a) => a.composite).map((a) => a.id);
  if (members.length) {
    rules.push({
      alert: COMPOSITE_ALERT,
      expr: `count(ALERTS{alertstate="firing", alarm_id=~"${members.join('|')}"}) > 0`,
      for: '0s',
      labels: { severity: 'critical', alarm_id: 'migration-unhealthy', ...opts.extraLabels },
      annotations: {
        summary: 'Migration unhealthy: {{ $value }} migration alarm(s) firing',
        description: `One of the migration alarms is firing (${members.join(', ')}). Open the migration dashboard.`,
        runbook: 'Look at the firing alerts listed with this one and follow their runbooks.',
        ...(opts.runbookUrl ? { runbook_url: `${opts.runbookUrl}#migration-unhealthy` } : {}),
      },
    });
  }
  const groups: PrometheusRuleFile['groups'] = [{ name: opts.groupName ?? 'migration-monitor', rules }];
  if (opts.formerNames) groups.push({ name: `${opts.groupName ?? 'migration-monitor'}-former-names`, rules: formerNameRules() });
  return { groups };
}

/** The rule file as YAML (the format Prometheus' `rule_files` and `promtool check rules` read). */
export function prometheusRulesYaml(spec: MonitoringSpec, opts: PrometheusRulesOptions = {}): string {
  const header = '# Generated by `migration-monitor export prometheus-rules` from the monitoring spec. Re-run it instead of editing.\n';
  return header + YAML.stringify(prometheusRules(spec, opts), { lineWidth: 0 });
}

const num = (n: number) => String(Number(n.toPrecision(12)));
