import { METRICS } from '../../../lib/core/metrics/spec';
import { promDuration, promLabel, toPrometheusValue } from '../../../lib/core/render/promql';

const UNIT_SUFFIX: Record<string, RegExp> = {
  Seconds: /_seconds$/,
  Milliseconds: /_seconds$/,
  Bytes: /_bytes$/,
  'Bytes/Second': /_bytes_per_second$/,
  Percent: /_(percent|ratio)$/,
};

describe('Prometheus names of the spec metrics', () => {
  it.each(Object.values(METRICS).map((m) => [m.prometheus, m] as const))('%s follows the naming conventions', (_name, m) => {
    expect(m.prometheus).toMatch(/^[a-z][a-z0-9_]*[a-z0-9]$/);
    const base = m.prometheus.replace(/_total$/, '');
    if (m.kind === 'counter') expect(m.prometheus).toMatch(/_total$/);
    else expect(m.prometheus).not.toMatch(/_total$/);
    const unit = UNIT_SUFFIX[m.unit];
    if (unit) expect(base).toMatch(unit);
  });

  it('are unique, and labels and values convert to Prometheus form', () => {
    const names = Object.values(METRICS).map((m) => m.prometheus);
    expect(new Set(names).size).toBe(names.length);
    expect(['MigrationId', 'ToState', 'ViolationType'].map((d) => promLabel(d as never))).toEqual(['migration_id', 'to_state', 'violation_type']);
    expect(toPrometheusValue(METRICS.ProxyLatency, 30)).toBe(0.03);
    expect(toPrometheusValue(METRICS.ShadowOverlap, 80)).toBe(0.8);
    expect(toPrometheusValue(METRICS.ErrorRate, 10)).toBe(10);
    expect([30, 120, 300, 3600, 93600].map(promDuration)).toEqual(['30s', '2m', '5m', '1h', '26h']);
  });
});

describe('docs/prometheus.md', () => {
  it('lists every spec metric under its Prometheus name and type', () => {
    const doc = require('node:fs').readFileSync(require('node:path').join(__dirname, '../../../docs/prometheus.md'), 'utf8') as string;
    for (const m of Object.values(METRICS)) expect([m.prometheus, doc.includes(`| \`${m.prometheus}\` | ${m.kind} |`)]).toEqual([m.prometheus, true]);
  });
});
