import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { METRICS, resolveSpec } from '../../../lib/core/metrics/spec';
import { alarmWindow, alertName, prometheusRules, prometheusRulesYaml, COMPOSITE_ALERT } from '../../../lib/core/render/prometheus-rules';

const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0 ? 'promtool' : null;
/** promtool is the real PromQL parser here (Debian package `prometheus`; scripts/ensure-test-deps.js installs it). */
function requirePromtool(): string {
  if (!promtool) throw new Error('promtool is not installed: apt-get install prometheus (it carries promtool, the reference PromQL parser)');
  return promtool;
}

const duration = z.string().regex(/^(0|\d+(ms|s|m|h|d|w|y))+$/, 'a Prometheus duration');
const ruleFileSchema = z.strictObject({
  groups: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        interval: duration.optional(),
        rules: z.array(
          z.strictObject({
            alert: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/),
            expr: z.string().min(1),
            for: duration,
            labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()),
            annotations: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()),
          }),
        ),
      }),
    )
    .min(1),
});

/** Every metric name an expression reads: identifiers left once strings, matchers, ranges, grouping clauses and function calls are removed. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset']);
  return [...stripped.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g)].map((m) => m[0]).filter((w) => !keywords.has(w) && !/^\d/.test(w));
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

const known = new Set(
  Object.values(METRICS).flatMap((m) => (m.prometheus === null ? [] : m.kind === 'histogram' ? [`${m.prometheus}_bucket`, `${m.prometheus}_sum`, `${m.prometheus}_count`] : [m.prometheus])),
);

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rules-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `promtool test rules` on a copy of the rule file without annotations (promtool would compare rendered text). */
function runRuleTests(tests: unknown[], file = prometheusRules(resolveSpec())) {
  const tool = requirePromtool();
  for (const r of file.groups[0].rules) r.annotations = {};
  fs.writeFileSync(path.join(dir, 'sem-rules.yml'), YAML.stringify(file, { lineWidth: 0 }));
  const testFile = path.join(dir, 'sem-tests.yml');
  fs.writeFileSync(testFile, YAML.stringify({ rule_files: ['sem-rules.yml'], evaluation_interval: '1m', tests }, { lineWidth: 0 }));
  const r = spawnSync(tool, ['test', 'rules', testFile], { encoding: 'utf8', cwd: dir });
  if (r.status !== 0) throw new Error(`promtool test rules failed:\n${r.stdout}\n${r.stderr}`);
}

describe('Prometheus rule file', () => {
  const spec = resolveSpec();
  const text = prometheusRulesYaml(spec, { runbookUrl: 'https://runbooks.example/migration' });

  it('parses as YAML into the rule-file schema (groups/rules/alert/expr/for/labels/annotations), checked with zod', () => {
    const file = ruleFileSchema.parse(YAML.parse(text));
    expect(file.groups[0]!.rules.map((r) => r.alert)).toEqual([...spec.alarms.map((a) => alertName(a.id)), COMPOSITE_ALERT]);
  });

  it('gives every spec alarm a rule with for, severity and alarm_id labels, summary/description/runbook annotations', () => {
    const rules = ruleFileSchema.parse(YAML.parse(text)).groups[0]!.rules;
    for (const a of spec.alarms) {
      const r = rules.find((x) => x.labels['alarm_id'] === a.id);
      expect(r).toBeDefined();
      expect(r!.labels['severity']).toBe(a.severity);
      expect(r!.annotations['summary']).toContain(a.title);
      expect(r!.annotations['description']).toContain(METRICS[a.metric].prometheus);
      expect(r!.annotations['runbook']).toBe(a.runbook);
      expect(r!.annotations['runbook_url']).toBe(`https://runbooks.example/migration#${a.id}`);
    }
  });

  it('writes expressions with balanced brackets that read only metrics from the spec (and ALERTS)', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, x) (rate(foo_bucket{a="b(c"}[5m]))) > 0.03 and on (x) bar')).toEqual(['foo_bucket', 'bar']);
    expect(balanced('sum(rate(x[5m])')).toBe(false);
    const stalled = prometheusRules(spec).groups[0]!.rules.find((r) => r.labels['alarm_id'] === 'migration-stalled')!;
    expect(new Set(metricNames(stalled.expr))).toEqual(new Set(['migration_progress_updates_total', 'migration_phases_running']));
    for (const r of prometheusRules(spec).groups[0]!.rules) {
      expect(balanced(r.expr)).toBe(true);
      const names = metricNames(r.expr);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(known.has(n) || (r.alert === COMPOSITE_ALERT && n === 'ALERTS')).toBe(true);
    }
  });

  it('passes `promtool check rules` (the reference PromQL parser and template checker)', () => {
    const tool = requirePromtool();
    const f = path.join(dir, 'rules.yml');
    fs.writeFileSync(f, text);
    const out = execFileSync(tool, ['check', 'rules', f], { encoding: 'utf8' });
    expect(out).toMatch(`SUCCESS: ${spec.alarms.length + 1} rules found`);
  });

  it('maps windows like the CloudWatch and Cloud Monitoring renderings: absence over N periods, breach for M-1 periods', () => {
    const byId = (id: string) => spec.alarms.find((a) => a.id === id)!;
    expect(alarmWindow(byId('migration-stalled'))).toEqual({ rangeSeconds: 1800, conditionRangeSeconds: 300, forSeconds: 0 });
    expect(alarmWindow(byId('proxy-latency-slo'))).toEqual({ rangeSeconds: 300, conditionRangeSeconds: 300, forSeconds: 300 });
    expect(alarmWindow(byId('phase-failed'))).toEqual({ rangeSeconds: 120, conditionRangeSeconds: 120, forSeconds: 0 });
    expect(alarmWindow(byId('phase-failed'), 60).rangeSeconds).toBe(60);
    const rules = prometheusRules(spec).groups[0]!.rules;
    // 30 ms in the spec is 0.03 s in Prometheus base units.
    expect(rules.find((r) => r.labels['alarm_id'] === 'proxy-latency-slo')!.expr).toMatch(/> 0\.03$/);
  });

  it('follows per-environment overrides and drops disabled alarms', () => {
    const s = resolveSpec({ 'error-rate-high': { threshold: 25, evaluationPeriods: 3, datapointsToAlarm: 2 }, 'report-missing': { enabled: false } });
    const rules = prometheusRules(s, { extraLabels: { team: 'data' } }).groups[0]!.rules;
    const er = rules.find((r) => r.labels['alarm_id'] === 'error-rate-high')!;
    // 25 % in the spec (CloudWatch) is the ratio 0.25 in Prometheus
    expect(er.expr).toMatch(/> 0\.25$/);
    expect(er.for).toBe('5m');
    expect(er.labels['team']).toBe('data');
    expect(rules.some((r) => r.labels['alarm_id'] === 'report-missing')).toBe(false);
  });
});

/**
 * Alert behaviour on synthetic series, evaluated by Prometheus' own rule engine (`promtool test rules`).
 * Annotations are left out of these copies of the rules (promtool would compare rendered text); the
 * expressions, `for` and labels are exactly the exported ones.
 */
describe('Prometheus rule semantics (promtool test rules)', () => {

  it('PhaseFailed fires as soon as a phase fails and holds while it stays failed; it clears when the phase is retried', () => {
    runRuleTests([
      {
        interval: '1m',
        input_series: [
          // m1: a phase fails at 3m and stays failed until it is retried at 20m
          { series: 'migration_phases_failed{migration_id="m1"}', values: '0 0 0 1x16 0x10' },
          { series: 'migration_phases_failed{migration_id="m2"}', values: '0x30' },
        ],
        alert_rule_test: [
          { eval_time: '2m', alertname: 'PhaseFailed', exp_alerts: [] },
          { eval_time: '4m', alertname: 'PhaseFailed', exp_alerts: [{ exp_labels: { severity: 'critical', alarm_id: 'phase-failed', migration_id: 'm1' } }] },
          { eval_time: '15m', alertname: 'PhaseFailed', exp_alerts: [{ exp_labels: { severity: 'critical', alarm_id: 'phase-failed', migration_id: 'm1' } }] },
          { eval_time: '25m', alertname: 'PhaseFailed', exp_alerts: [] },
        ],
      },
    ]);
  });

  it('MigrationStalled fires after 30 min without progress while a phase runs, not when nothing runs', () => {
    runRuleTests([
      {
        interval: '1m',
        input_series: [
          // m1 reports for 10 min then goes quiet while its phase still runs.
          { series: 'migration_progress_updates_total{migration_id="m1"}', values: '0+1x10 10x40' },
          { series: 'migration_phases_running{migration_id="m1"}', values: '1x50' },
          // m2 is quiet but idle (no phase running): no alert.
          { series: 'migration_progress_updates_total{migration_id="m2"}', values: '5x50' },
          { series: 'migration_phases_running{migration_id="m2"}', values: '0x50' },
          // m3 runs a phase but never reported at all: silence counts as breaching.
          { series: 'migration_phases_running{migration_id="m3"}', values: '1x50' },
        ],
        alert_rule_test: [
          { eval_time: '30m', alertname: 'MigrationStalled', exp_alerts: [{ exp_labels: { severity: 'warning', alarm_id: 'migration-stalled', migration_id: 'm3' } }] },
          {
            eval_time: '45m',
            alertname: 'MigrationStalled',
            exp_alerts: [
              { exp_labels: { severity: 'warning', alarm_id: 'migration-stalled', migration_id: 'm1' } },
              { exp_labels: { severity: 'warning', alarm_id: 'migration-stalled', migration_id: 'm3' } },
            ],
          },
        ],
      },
    ]);
  });

  it('ProxyLatencySlo needs p99 over 30 ms for 5 more minutes; ErrorRateHigh and BreakerOpen fire on their gauges', () => {
    runRuleTests([
      {
        interval: '1m',
        input_series: [
          // 10 fast requests and 90 at 25-50 ms per minute: p99 ≈ 50 ms.
          { series: 'migration_search_proxy_latency_seconds_bucket{backend="primary",le="0.025"}', values: '0+10x20' },
          { series: 'migration_search_proxy_latency_seconds_bucket{backend="primary",le="0.05"}', values: '0+100x20' },
          { series: 'migration_search_proxy_latency_seconds_bucket{backend="primary",le="+Inf"}', values: '0+100x20' },
          { series: 'migration_error_ratio{migration_id="m1"}', values: '0.02 0.02 0.02 0.4 0.4 0.4' },
          // the breaker's state as a label set: closed, then open for 2 minutes, half-open, closed again
          { series: 'migration_circuit_breaker_state{breaker="vector-search",state="closed"}', values: '1 1 0 0 0 1 1 1' },
          { series: 'migration_circuit_breaker_state{breaker="vector-search",state="half_open"}', values: '0 0 0 0 1 0 0 0' },
          { series: 'migration_circuit_breaker_state{breaker="vector-search",state="open"}', values: '0 0 1 1 0 0 0 0' },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'ProxyLatencySlo', exp_alerts: [] },
          { eval_time: '12m', alertname: 'ProxyLatencySlo', exp_alerts: [{ exp_labels: { severity: 'warning', alarm_id: 'proxy-latency-slo', backend: 'primary' } }] },
          { eval_time: '2m', alertname: 'ErrorRateHigh', exp_alerts: [] },
          { eval_time: '4m', alertname: 'ErrorRateHigh', exp_alerts: [{ exp_labels: { severity: 'critical', alarm_id: 'error-rate-high', migration_id: 'm1' } }] },
          { eval_time: '3m', alertname: 'BreakerOpen', exp_alerts: [{ exp_labels: { severity: 'critical', alarm_id: 'breaker-open', breaker: 'vector-search' } }] },
          { eval_time: '7m', alertname: 'BreakerOpen', exp_alerts: [] },
        ],
      },
    ]);
  });

  it('ReportMissing fires when no report was ever produced, and not while reports keep coming', () => {
    runRuleTests([
      { interval: '1h', input_series: [], alert_rule_test: [{ eval_time: '1h', alertname: 'ReportMissing', exp_alerts: [{ exp_labels: { severity: 'warning', alarm_id: 'report-missing' } }] }] },
      {
        interval: '1h',
        input_series: [{ series: 'migration_reports_produced_total{channel="email"}', values: '0+1x30' }],
        alert_rule_test: [{ eval_time: '28h', alertname: 'ReportMissing', exp_alerts: [] }],
      },
    ]);
  });
});

describe('former names (export prometheus-rules --former-names)', () => {
  it('records every renamed metric under its former name with its former value, checked by promtool check rules and test rules', () => {
    const tool = requirePromtool();
    const file = prometheusRules(resolveSpec(), { formerNames: true });
    const recorded = file.groups[1]!.rules.map((r) => r.record);
    for (const m of Object.values(METRICS)) {
      if (!m.formerPrometheus || m.formerPrometheus === m.prometheus) continue;
      const base = m.kind === 'histogram' ? `${m.formerPrometheus}_bucket` : m.formerPrometheus;
      expect([m.formerPrometheus, recorded.includes(base)]).toEqual([m.formerPrometheus, true]);
    }
    // the state metrics that kept their names cannot be recorded under them
    expect(recorded).not.toContain('migration_state');
    fs.writeFileSync(path.join(dir, 'former.yml'), YAML.stringify(file, { lineWidth: 0 }));
    expect(execFileSync(tool, ['check', 'rules', path.join(dir, 'former.yml')], { encoding: 'utf8' })).toMatch('SUCCESS');
    runRuleTests(
      [
        {
          interval: '1m',
          input_series: [
            { series: 'migration_dual_write_sync_lag_events{tenant_id="t1"}', values: '30 30' },
            { series: 'migration_error_ratio{migration_id="m1"}', values: '0.125 0.125' },
            { series: 'migration_circuit_breaker_state{breaker="b",state="closed"}', values: '0 0' },
            { series: 'migration_circuit_breaker_state{breaker="b",state="half_open"}', values: '0 0' },
            { series: 'migration_circuit_breaker_state{breaker="b",state="open"}', values: '1 1' },
            { series: 'migration_phase_start_timestamp_seconds{migration_id="m1",phase="p"}', values: '0 0' },
            { series: 'migration_phase_end_timestamp_seconds{migration_id="m1",phase="p"}', values: '90 90' },
          ],
          promql_expr_test: [
            { expr: 'dual_write_sync_lag_events', eval_time: '1m', exp_samples: [{ labels: 'dual_write_sync_lag_events{tenant_id="t1"}', value: 30 }] },
            { expr: 'migration_error_rate_percent', eval_time: '1m', exp_samples: [{ labels: 'migration_error_rate_percent{migration_id="m1"}', value: 12.5 }] },
            { expr: 'circuit_breaker_state', eval_time: '1m', exp_samples: [{ labels: 'circuit_breaker_state{breaker="b"}', value: 2 }] },
            { expr: 'migration_duration_seconds', eval_time: '1m', exp_samples: [{ labels: 'migration_duration_seconds{migration_id="m1",phase="p"}', value: 90 }] },
          ],
        },
      ],
      file,
    );
  });
});
