import { DASHBOARD_PANELS, METRICS, prometheusKind, type AlarmSpec, type MetricName, type MetricSpec, type MonitoringSpec } from '../metrics/spec';
import { PROM_OP, alarmLabels, conditionExpr, promDuration, promLabel, promName, statisticExpr } from './promql';
import { alarmWindow, alertName } from './prometheus-rules';

export interface GrafanaOptions {
  title?: string;
  uid?: string;
  /** Same as the rule file's: alarm panels show the very expression the alert evaluates. */
  minRangeSeconds?: number;
  runbookUrl?: string;
}

interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
  datasource: { type: 'prometheus'; uid: string };
}

type Panel = Record<string, unknown> & { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number } };

/** The data source of every query: a fresh object each time, so YAML output has no anchors and aliases. */
const ds = () => ({ type: 'prometheus' as const, uid: '${datasource}' });
const MIGRATION_FILTER = 'migration_id=~"$migration_id"';

/** Grafana unit of a spec metric as Prometheus stores it (base units), and as a per-second rate for counters. */
function unitOf(spec: MetricSpec, rate: boolean): string {
  if (rate) return spec.unit === 'Bytes' ? 'Bps' : 'cps';
  if (spec.prometheus?.endsWith('_ratio')) return 'percentunit';
  if (spec.prometheus?.endsWith('_timestamp_seconds')) return 'dateTimeAsIso';
  switch (spec.unit) {
    case 'Percent':
      return 'percent';
    case 'Bytes':
      return 'bytes';
    case 'Bytes/Second':
      return 'Bps';
    case 'Seconds':
    case 'Milliseconds':
      return 's';
    case 'Count':
      return 'short';
    default:
      return 'none';
  }
}

/** Grafana annotations (event markers on every time panel) for phase changes, from the phase counters. */
export const PHASE_ANNOTATIONS: ReadonlyArray<{ name: string; metric: MetricName; title: string; color: string }> = [
  { name: 'Phase started', metric: 'PhaseStarted', title: 'Phase {{phase}} started', color: 'blue' },
  { name: 'Phase completed', metric: 'PhaseCompleted', title: 'Phase {{phase}} completed', color: 'green' },
  { name: 'Phase failed', metric: 'PhaseFailed', title: 'Phase {{phase}} failed', color: 'red' },
];

const hasMigration = (name: MetricName) => METRICS[name].dimensions.includes('MigrationId');
const legend = (name: MetricName, suffix = '') => {
  const labels = METRICS[name].dimensions.map(promLabel);
  const l = labels.map((x) => `{{${x}}}`).join(' ');
  const state = METRICS[name].states ? ' {{state}}' : '';
  return `${promName(name)}${suffix}${l ? ` ${l}` : ''}${state}`;
};

/** The queries that draw one metric: the gauge itself, a counter's rate, a histogram's p50/p95/p99. */
function metricTargets(name: MetricName, nextRef: () => string): Target[] {
  const spec = METRICS[name];
  const labels = spec.dimensions.map(promLabel);
  const matchers = hasMigration(name) ? MIGRATION_FILTER : undefined;
  const kind = prometheusKind(spec);
  if (spec.prometheus === null) {
    // computed from other series (a phase's duration from its start and end timestamps)
    const expr = spec.prometheusExpr?.(matchers ?? '');
    return expr ? [{ refId: nextRef(), expr, legendFormat: `${spec.name} ${labels.map((x) => `{{${x}}}`).join(' ')}`, datasource: ds() }] : [];
  }
  if (kind === 'gauge') {
    return [{ refId: nextRef(), expr: `${promName(name)}${matchers ? `{${matchers}}` : ''}`, legendFormat: legend(name), datasource: ds() }];
  }
  if (kind === 'counter') {
    const by = labels.length ? ` by (${labels.join(', ')})` : '';
    return [{ refId: nextRef(), expr: `sum${by} (rate(${promName(name)}${matchers ? `{${matchers}}` : ''}[$__rate_interval]))`, legendFormat: legend(name, ' /s'), datasource: ds() }];
  }
  return (['p50', 'p95', 'p99'] as const).map((q) => ({
    refId: nextRef(),
    expr: statisticExpr(name, q, { by: labels, range: '$__rate_interval', matchers }),
    legendFormat: legend(name, ` ${q}`),
    datasource: ds(),
  }));
}

function thresholdSteps(a: AlarmSpec, value: number) {
  const bad = a.severity === 'critical' ? 'red' : 'orange';
  return a.comparison === 'gt' || a.comparison === 'gte'
    ? [
        { color: 'green', value: null },
        { color: bad, value },
      ]
    : [
        { color: bad, value: null },
        { color: 'green', value },
      ];
}

/**
 * The monitoring spec as a Grafana dashboard (JSON model, Prometheus data source chosen at import):
 * a summary row (migration state, overall progress, firing alerts), one panel per alarm drawing the
 * expression its alert evaluates with the threshold as a line, and one panel per DASHBOARD_PANELS entry
 * showing each of its metrics (gauges as they are, counters as rates, histograms as p50/p95/p99).
 */
export function grafanaDashboard(spec: MonitoringSpec, opts: GrafanaOptions = {}) {
  let id = 0;
  let y = 0;
  const panels: Panel[] = [];
  const row = (title: string) => {
    panels.push({ id: ++id, type: 'row', title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
  };
  /** Lays panels out left to right, `perRow` per row, each `h` high. */
  const grid = (items: Array<Omit<Panel, 'id' | 'gridPos'>>, perRow: number, h: number) => {
    const w = 24 / perRow;
    items.forEach((p, i) => panels.push({ ...p, id: ++id, gridPos: { x: (i % perRow) * w, y: y + Math.floor(i / perRow) * h, w, h } } as Panel));
    y += Math.ceil(items.length / perRow) * h;
  };

  row('Summary');
  grid(
    [
      {
        type: 'stat',
        title: 'Migration state',
        datasource: ds(),
        // A state is a label set: the series whose value is 1 names the current state.
        targets: [{ refId: 'A', expr: `${promName('MigrationState')}{${MIGRATION_FILTER}} == 1`, legendFormat: '{{migration_id}}: {{state}}', datasource: ds() }],
        fieldConfig: { defaults: { unit: 'none' }, overrides: [] },
        options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'none', textMode: 'name' },
      },
      {
        type: 'gauge',
        title: 'Overall progress',
        datasource: ds(),
        targets: [{ refId: 'A', expr: `${promName('OverallProgress')}{${MIGRATION_FILTER}}`, legendFormat: '{{migration_id}}', datasource: ds() }],
        fieldConfig: { defaults: { unit: 'percentunit', min: 0, max: 1 }, overrides: [] },
        options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
      },
      {
        type: 'stat',
        title: 'Firing migration-monitor alerts',
        datasource: ds(),
        targets: [{ refId: 'A', expr: `count(ALERTS{alertstate="firing", alarm_id!=""}) or vector(0)`, legendFormat: 'firing', datasource: ds() }],
        fieldConfig: { defaults: { unit: 'none', thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }] } }, overrides: [] },
        options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background' },
      },
    ],
    3,
    5,
  );

  row('Alarms');
  grid(
    spec.alarms.map((a) => {
      const { rangeSeconds, forSeconds } = alarmWindow(a, opts.minRangeSeconds);
      const m = METRICS[a.metric];
      const cond = conditionExpr(a, { by: alarmLabels(a), range: promDuration(rangeSeconds), matchers: hasMigration(a.metric) ? MIGRATION_FILTER : undefined });
      const threshold = cond.threshold;
      return {
        type: 'timeseries',
        title: `${a.title} [${a.severity}]`,
        description: `Alert ${alertName(a.id)} (alarm_id ${a.id}): ${a.statistic} over ${promDuration(rangeSeconds)} ${PROM_OP[a.comparison]} ${threshold}${forSeconds ? ` for ${promDuration(forSeconds)}` : ''}. Runbook: ${a.runbook}`,
        datasource: ds(),
        targets: [
          {
            refId: 'A',
            expr: cond.value,
            legendFormat: alarmLabels(a).map((l) => `{{${l}}}`).join(' ') || a.id,
            datasource: ds(),
          },
        ],
        fieldConfig: {
          defaults: {
            unit: prometheusKind(m) === 'counter' || m.states ? 'short' : unitOf(m, false),
            thresholds: { mode: 'absolute', steps: thresholdSteps(a, threshold) },
            custom: { thresholdsStyle: { mode: 'line' }, drawStyle: 'line', fillOpacity: 10 },
            links: opts.runbookUrl ? [{ title: 'Runbook', url: `${opts.runbookUrl}#${a.id}` }] : [],
          },
          overrides: [],
        },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      };
    }),
    3,
    7,
  );

  row('Metrics');
  grid(
    DASHBOARD_PANELS.map((p) => {
      let ref = 0;
      const nextRef = () => String.fromCharCode(65 + ref++);
      const perMetric = p.metrics.map((name) => ({ name, targets: metricTargets(name, nextRef) }));
      const [first, ...rest] = perMetric;
      const unit = (name: MetricName) => unitOf(METRICS[name], prometheusKind(METRICS[name]) === 'counter');
      return {
        type: 'timeseries',
        title: p.title,
        description: p.metrics.map((n) => `${METRICS[n].prometheus ?? n}: ${METRICS[n].help}`).join('\n'),
        datasource: ds(),
        targets: perMetric.flatMap((x) => x.targets),
        fieldConfig: {
          defaults: { unit: first ? unit(first.name) : 'short', custom: { drawStyle: 'line', fillOpacity: 5 } },
          // Metrics in another unit than the first go on the right axis with their own unit.
          overrides: rest
            .filter((x) => first && unit(x.name) !== unit(first.name))
            .flatMap((x) =>
              x.targets.map((t) => ({
                matcher: { id: 'byFrameRefID', options: t.refId },
                properties: [
                  { id: 'unit', value: unit(x.name) },
                  { id: 'custom.axisPlacement', value: 'right' },
                ],
              })),
            ),
        },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      };
    }),
    2,
    8,
  );

  return {
    title: opts.title ?? 'Migration monitor',
    uid: opts.uid ?? 'migration-monitor',
    description: 'Generated by `migration-monitor export grafana-dashboard` from the monitoring spec.',
    tags: ['migration-monitor'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    graphTooltip: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        ...PHASE_ANNOTATIONS.map((x) => ({
          name: x.name,
          datasource: ds(),
          enable: true,
          hide: false,
          iconColor: x.color,
          // The phase counters start at 0 for every known phase, so the steps that saw the change have an increase
          // (Grafana joins consecutive steps into one marker); $__rate_interval spans enough scrapes for increase().
          expr: `sum by (migration_id, phase) (increase(${promName(x.metric)}{${MIGRATION_FILTER}}[$__rate_interval])) > 0`,
          step: '1m',
          titleFormat: x.title,
          textFormat: 'migration {{migration_id}}',
          tagKeys: 'migration_id,phase',
          useValueForTime: false,
        })),
      ],
    },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', options: [] },
        {
          name: 'migration_id',
          label: 'Migration',
          type: 'query',
          datasource: ds(),
          definition: `label_values(${promName('MigrationState')}, migration_id)`,
          query: { query: `label_values(${promName('MigrationState')}, migration_id)`, refId: 'migration_id' },
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: { selected: true, text: ['All'], value: ['$__all'] },
          refresh: 2,
          sort: 1,
          hide: 0,
          options: [],
        },
      ],
    },
    panels,
  };
}

export type GrafanaDashboard = ReturnType<typeof grafanaDashboard>;
