/**
 * A status report over 1,000,000 activity events (the last 24 h of a busy migration) must build and render
 * in ≤ 5 s with ≤ 512 MB peak memory. Measured in a child process, so the peak RSS is the report's alone
 * (it includes the 1,000,000 events held in memory, as a store's readActivity returns them). Baseline in the
 * same run: one bare loop over the same events counting actions.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { ActivityEntry } from '../lib/core/model';
import { validatePlan } from '../lib/core/plan';
import { buildStatusReport } from '../lib/core/report/model';
import { render } from '../lib/core/report/render';
import { newMigration } from '../lib/core/tracker/service';

const EVENTS = Number(process.env['BENCH_REPORT_EVENTS'] ?? 1_000_000);
const LIMIT_MS = 5000;
const LIMIT_MB = 512;

type Mode = 'array' | 'stream';

function measure(mode: Mode) {
  const now = Date.UTC(2026, 2, 2, 8, 0);
  const plan = validatePlan(
    Array.from({ length: 12 }, (_x, i) => ({ id: `phase-${i}`, name: `Phase ${i}`, estimatedDuration: 60 + i * 10, dependencies: i ? [`phase-${i - 1}`] : [] })),
  );
  const state = newMigration('bench', 'Benchmark migration', plan, now - 30 * 3600_000);
  state.startedAt = now - 30 * 3600_000;
  state.phases.forEach((p, i) => {
    if (i < 6) Object.assign(p, { status: 'completed', progress: 100, startedAt: state.startedAt! + i * 3600_000, completedAt: state.startedAt! + (i + 1) * 3600_000, actualDuration: 60 });
    if (i === 6) Object.assign(p, { status: 'in_progress', progress: 42, startedAt: now - 20 * 3600_000, progressChangedAt: now - 600_000, runId: 'run-1' });
  });
  const actions = ['phase.progress', 'subtask.progress', 'metrics.update', 'alert.create', 'phase.stale'];
  const event = (i: number): ActivityEntry => ({
    at: now - 24 * 3600_000 + Math.floor((i * 24 * 3600_000) / EVENTS),
    actor: `worker-${i % 16}`,
    action: actions[i % actions.length]!,
    message: `Phase 6 at ${(i % 10000) / 100}% (batch ${i})`,
    phaseId: 'phase-6',
    details: { runId: 'run-1' },
  });
  function* stream() {
    for (let i = 0; i < EVENTS; i++) yield event(i);
  }
  const t0 = performance.now();
  const activity: Iterable<ActivityEntry> = mode === 'array' ? Array.from({ length: EVENTS }, (_x, i) => event(i)) : { [Symbol.iterator]: stream };
  const genMs = performance.now() - t0;

  let baselineMs = Infinity;
  const counts = new Map<string, number>();
  for (let k = 0; k < 2; k++) {
    const b0 = performance.now();
    for (const a of activity) if (a.at >= now - 24 * 3600_000) counts.set(a.action, (counts.get(a.action) ?? 0) + 1);
    baselineMs = Math.min(baselineMs, performance.now() - b0);
  }

  const r0 = performance.now();
  const report = buildStatusReport({ state, activity, now, options: { includeMetrics: true } });
  const built = performance.now();
  const sizes = (['markdown', 'html', 'json'] as const).map((f) => render(report, f).length);
  const reportMs = performance.now() - r0;
  if (report.activity.total !== EVENTS) throw new Error(`counted ${report.activity.total} events, expected ${EVENTS}`);
  return {
    mode,
    events: EVENTS,
    generateMs: Math.round(genMs),
    baselineMs: Math.round(baselineMs),
    buildMs: Math.round(built - r0),
    reportMs: Math.round(reportMs),
    renderedBytes: sizes,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1024 / 1024),
    keep: counts.size,
  };
}

function inChild(mode: Mode): ReturnType<typeof measure> {
  const child = spawnSync(process.execPath, ['--import', 'tsx', __filename], { env: { ...process.env, REPORT_BENCH_CHILD: mode }, encoding: 'utf8', timeout: 180_000 });
  if (child.status !== 0) throw new Error(`report bench child failed: ${child.stderr || child.error?.message}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ReturnType<typeof measure>;
}

export async function run(): Promise<void> {
  let failed = '';
  for (const mode of ['array', 'stream'] as const) failed += report(inChild(mode));
  if (failed) throw new Error(`report bench over its limits:${failed}`);
}

function report(r: ReturnType<typeof measure>): string {
  const lines = [
    r.mode === 'array'
      ? `-- ${r.events.toLocaleString('en')} events held in memory, as a store's readActivity returns them (made in ${r.generateMs} ms)`
      : `-- ${r.events.toLocaleString('en')} events streamed through an iterator (one pass, nothing kept)`,
    `report (build + Markdown + HTML + JSON): ${r.reportMs} ms (model ${r.buildMs} ms) — ${(r.reportMs / Math.max(1, r.baselineMs)).toFixed(1)}× a bare counting loop (${r.baselineMs} ms)`,
    `rendered sizes: markdown ${r.renderedBytes[0]} B, html ${r.renderedBytes[1]} B, json ${r.renderedBytes[2]} B`,
    `peak memory: ${r.peakRssMb} MB RSS (heap in use at the end ${r.heapUsedMb} MB)${r.mode === 'array' ? ', the events included' : ''}`,
    `limits: ≤ ${LIMIT_MS} ms, ≤ ${LIMIT_MB} MB → ${r.reportMs <= LIMIT_MS && r.peakRssMb <= LIMIT_MB ? 'PASS' : 'FAIL'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return r.reportMs > LIMIT_MS || r.peakRssMb > LIMIT_MB ? ` ${r.mode}: ${r.reportMs} ms, ${r.peakRssMb} MB` : '';
}

const childMode = process.env['REPORT_BENCH_CHILD'];
if ((childMode === 'array' || childMode === 'stream') && require.main === module) {
  process.stdout.write(`${JSON.stringify(measure(childMode))}\n`);
}
