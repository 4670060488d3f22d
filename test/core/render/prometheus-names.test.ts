import { METRICS, SERVER_METRICS, prometheusKind } from '../../../lib/core/metrics/spec';
import { promDuration, promLabel, toPrometheusValue } from '../../../lib/core/render/promql';

const UNIT_SUFFIX: Record<string, RegExp> = {
  Seconds: /_seconds$/,
  Milliseconds: /_seconds$/,
  Bytes: /_bytes$/,
  'Bytes/Second': /_bytes_per_second$/,
  // the naming guide: ratios 0-1, never percentages
  Percent: /_ratio$/,
};

const inPrometheus = Object.values(METRICS).filter((m) => m.prometheus !== null);

describe('Prometheus names of the spec metrics (the Prometheus naming guide)', () => {
  it.each(inPrometheus.map((m) => [m.prometheus, m] as const))('%s follows the naming conventions', (name, m) => {
    expect(name).toMatch(/^[a-z][a-z0-9_]*[a-z0-9]$/);
    // one application prefix
    expect(name).toMatch(/^migration_/);
    const base = name!.replace(/_total$/, '');
    if (prometheusKind(m) === 'counter') expect(name).toMatch(/_total$/);
    else expect(name).not.toMatch(/_total$/);
    const unit = UNIT_SUFFIX[m.unit];
    if (unit) expect(base).toMatch(unit);
    expect(name).not.toMatch(/percent/);
    // a state is a label set, never a number to decode
    if (m.unit === 'None' && /_(state|health)$/.test(name!)) expect(m.states?.length).toBeGreaterThan(1);
    // an elapsed time is a timestamp to subtract from, not a gauge that moves with the clock
    expect(name).not.toBe('migration_duration_seconds');
  });

  it('keeps running totals as counters (rate() is the throughput) and Prometheus-less metrics have a stated replacement', () => {
    expect(prometheusKind(METRICS.DataMigrated)).toBe('counter');
    expect(METRICS.DataMigrated.kind).toBe('gauge'); // CloudWatch keeps its gauge of the total
    for (const m of Object.values(METRICS).filter((x) => x.prometheus === null)) expect(m.help).toMatch(/Prometheus: .*_timestamp_seconds/);
  });

  it('are unique, and labels and values convert to Prometheus form', () => {
    const names = [...inPrometheus.map((m) => m.prometheus), ...Object.values(SERVER_METRICS).map((m) => m.prometheus)];
    expect(new Set(names).size).toBe(names.length);
    expect(['MigrationId', 'ToState', 'ViolationType'].map((d) => promLabel(d as never))).toEqual(['migration_id', 'to_state', 'violation_type']);
    expect(toPrometheusValue(METRICS.ProxyLatency, 30)).toBe(0.03);
    expect(toPrometheusValue(METRICS.ShadowOverlap, 80)).toBe(0.8);
    expect(toPrometheusValue(METRICS.ErrorRate, 10)).toBe(0.1);
    expect([30, 120, 300, 3600, 93600].map(promDuration)).toEqual(['30s', '2m', '5m', '1h', '26h']);
  });
});

describe('docs/prometheus.md', () => {
  const doc = require('node:fs').readFileSync(require('node:path').join(__dirname, '../../../docs/prometheus.md'), 'utf8') as string;
  it('lists every spec and server metric under its Prometheus name and type', () => {
    for (const m of inPrometheus) expect([m.prometheus, doc.includes(`| \`${m.prometheus}\` | ${prometheusKind(m)} |`)]).toEqual([m.prometheus, true]);
    for (const m of Object.values(SERVER_METRICS)) expect([m.prometheus, doc.includes(`| \`${m.prometheus}\` | ${m.kind} |`)]).toEqual([m.prometheus, true]);
  });

  it('maps every former name to its new one, for existing queries', () => {
    for (const m of Object.values(METRICS).filter((x) => x.formerPrometheus)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${m.formerPrometheus}\` |`));
      expect([m.formerPrometheus, row?.includes(m.prometheus ?? 'migration_phase_start_timestamp_seconds')]).toEqual([m.formerPrometheus, true]);
    }
  });
});
