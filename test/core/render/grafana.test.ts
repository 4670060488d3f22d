import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { DASHBOARD_PANELS, METRICS, resolveSpec } from '../../../lib/core/metrics/spec';
import { grafanaDashboard } from '../../../lib/core/render/grafana';
import { prometheusRules } from '../../../lib/core/render/prometheus-rules';
import { conditionExpr } from '../../../lib/core/render/promql';

type P = { id: number; type: string; title: string; description?: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Array<{ expr: string; refId: string }>; fieldConfig?: { defaults: { thresholds?: { steps: Array<{ value: number | null; color: string }> } } } };

const spec = resolveSpec();
type Annotation = { name: string; expr?: string; titleFormat?: string; datasource: { type: string } };
const dash = JSON.parse(JSON.stringify(grafanaDashboard(spec, { runbookUrl: 'https://runbooks.example/m' }))) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: P[];
  templating: { list: Array<{ name: string }> };
  annotations: { list: Annotation[] };
};
const annotations = dash.annotations.list.filter((a) => a.expr);
const targets = [...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, ...t }))), ...annotations.map((a) => ({ expr: a.expr!.replace(/\$__interval/g, '$__rate_interval') }))];

describe('Grafana dashboard', () => {
  it('is a dashboard JSON model with a Prometheus data-source variable and a migration selector', () => {
    expect(dash).toMatchObject({ uid: 'migration-monitor', title: 'Migration monitor', schemaVersion: 39 });
    expect(dash.templating.list.map((v) => v.name)).toEqual(['datasource', 'migration_id']);
  });

  it('lays panels on the 24-column grid without overlaps, with unique ids', () => {
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    const cells = new Set<string>();
    for (const p of dash.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('has a panel per alarm drawing the expression its alert evaluates, with the threshold as a line', () => {
    const rules = prometheusRules(spec).groups[0]!.rules;
    for (const a of spec.alarms) {
      const panel = dash.panels.find((p) => p.description?.includes(`(alarm_id ${a.id})`));
      expect(panel).toBeDefined();
      const expr = panel!.targets![0]!.expr.replace(/\{migration_id=~"\$migration_id"\}/g, '');
      expect(rules.find((r) => r.labels['alarm_id'] === a.id)!.expr).toContain(expr);
      const steps = panel!.fieldConfig!.defaults.thresholds!.steps;
      expect(steps.map((s) => s.value)).toContain(conditionExpr(a, { by: [], range: '5m' }).threshold);
    }
  });

  it('shows every spec metric in the panel DASHBOARD_PANELS puts it in', () => {
    for (const p of DASHBOARD_PANELS) {
      const panel = dash.panels.find((x) => x.title === p.title);
      expect(panel).toBeDefined();
      // a metric without a Prometheus series is drawn from the ones it is computed from (PhaseDuration: the phase timestamps)
      for (const m of p.metrics) expect(panel!.targets!.some((t) => new RegExp(`\\b${METRICS[m].prometheus ?? 'migration_phase_start_timestamp_seconds'}(_bucket)?\\b`).test(t.expr))).toBe(true);
    }
    const shown = new Set(DASHBOARD_PANELS.flatMap((p) => p.metrics));
    expect(Object.keys(METRICS).filter((m) => !shown.has(m as keyof typeof METRICS))).toEqual([]);
  });

  it('marks phase start, completion and failure on every panel (annotations from the phase counters)', () => {
    expect(annotations.map((a) => a.name)).toEqual(['Phase started', 'Phase completed', 'Phase failed']);
    for (const [a, metric] of annotations.map((x, i) => [x, ['migration_phase_started_total', 'migration_phase_completed_total', 'migration_phase_failed_total'][i]] as const)) {
      expect(a.datasource.type).toBe('prometheus');
      expect(a.expr).toContain(`increase(${metric}{migration_id=~"$migration_id"}`);
      expect(a.titleFormat).toMatch(/^Phase \{\{phase\}\} /);
    }
  });

  it('writes only queries Prometheus parses (each checked by promtool as a recording rule, Grafana variables filled in)', () => {
    if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('promtool is not installed: apt-get install prometheus');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grafana-'));
    try {
      const rules = targets.map((t, i) => ({ record: `grafana:panel_${i}`, expr: t.expr.replace(/\$__rate_interval/g, '5m').replace(/\$migration_id/g, '.*') }));
      const f = path.join(dir, 'queries.yml');
      fs.writeFileSync(f, YAML.stringify({ groups: [{ name: 'grafana-queries', rules }] }, { lineWidth: 0 }));
      expect(execFileSync('promtool', ['check', 'rules', f], { encoding: 'utf8' })).toMatch(`SUCCESS: ${targets.length} rules found`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
