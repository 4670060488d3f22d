import fs from 'node:fs';
import path from 'node:path';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { ManualClock } from '../../../lib/core/clock';
import { LogAnalyzer, parseLogWatchConfig, trackerSink, type LogWatchConfigInput } from '../../../lib/core/logwatch';
import type { Observation } from '../../../lib/core/metrics/observation';
import { Tracker } from '../../../lib/core/tracker/service';

export const fixture = (name: string) => path.join(__dirname, 'fixtures', name);

/** A real tracker over the in-memory embedded store, a manual clock and an analyzer feeding it in-process. */
export function setup(config: LogWatchConfigInput = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
  const tracker = new Tracker({ store: FileStore.inMemory(), clock });
  const observed: Observation[] = [];
  const analyzer = new LogAnalyzer({ sink: trackerSink(tracker), config: parseLogWatchConfig(config), clock, observations: { record: (o) => observed.push(o) } });
  return { clock, tracker, analyzer, observed };
}

/** Feed lines one by one (a second apart), keyed by source and line number as the tailer keys them by offset. */
export async function feed(analyzer: LogAnalyzer, lines: string[], source = 'app.log', clock?: ManualClock) {
  const outcomes = [];
  for (const [i, text] of lines.entries()) {
    clock?.advance(1000);
    outcomes.push(await analyzer.process({ text, source, key: `${source}:${i}` }));
  }
  return outcomes;
}

export const readLines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');

/** The parts of a migration a log replay must get exactly right. */
export async function summary(tracker: Tracker, id: string) {
  const s = await tracker.get(id);
  return {
    phases: s.phases.map((p) => ({ id: p.id, status: p.status, progress: p.progress, runId: p.runId, attempts: p.attempts })),
    alerts: s.alerts.map((a) => `${a.severity}:${a.phaseId ?? '-'}:${a.message}`),
    failedOperations: s.metrics.failedOperations,
    validation: s.lastValidation && { verdict: s.lastValidation.verdict, checks: s.lastValidation.checks.map((c) => `${c.name}/${c.kind}`) },
  };
}
