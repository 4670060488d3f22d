import type { CheckResult, ValidationReport } from './result';

export type ReportFormat = 'json' | 'markdown';

export function renderReport(r: ValidationReport, format: ReportFormat): string {
  return format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : renderMarkdown(r);
}

/** A Markdown report: verdict, a table of checks, then the evidence of each check. */
export function renderMarkdown(r: ValidationReport): string {
  const L: string[] = [];
  L.push(`# Validation ${r.verdict === 'pass' ? 'passed' : 'FAILED'}${r.name ? `: ${esc(r.name)}` : ''}`, '');
  L.push(
    `**Verdict: ${r.verdict.toUpperCase()}** · ${r.totals.passed}/${r.totals.checks} checks passed` +
      (r.totals.notRun ? ` · ${r.totals.notRun} not run` : '') +
      ` · run \`${r.runId}\` · ${r.startedAt} · ${fmtDuration(r.durationMs)}` +
      (r.resumed ? ' · resumed from a checkpoint' : ''),
    '',
  );
  if (r.interrupted) L.push('> The run was interrupted; its progress is saved. Run again with `--resume` to continue.', '');
  for (const w of r.warnings) L.push(`> Warning: ${esc(w)}`, '');
  L.push('| | Check | Kind | Result |', '|---|---|---|---|');
  for (const c of r.checks) L.push(`| ${c.passed ? '✅' : '❌'} | ${esc(c.name)} | ${c.kind} | ${esc(c.summary)} |`);
  for (const n of r.notRun) L.push(`| ⏭️ | ${esc(n)} | | not run |`);
  L.push('');
  for (const c of r.checks) L.push(...checkSection(c));
  if (r.tracker) {
    const t = r.tracker;
    L.push('## Tracker', '', `Posted to ${esc(t.url)}${t.migrationId ? ` (migration \`${t.migrationId}\`)` : ''}: phase \`${t.phase}\` ${esc(t.phaseStatus)}, ${t.progressUpdates} progress updates, validation ${t.recorded ? 'recorded' : 'NOT recorded'}.`);
    for (const p of t.problems) L.push(`- ${esc(p)}`);
    L.push('');
  }
  if (r.metrics.length) {
    L.push('## Metrics', '', '| Metric | Dimensions | Value |', '|---|---|---|');
    for (const m of r.metrics) L.push(`| ${m.name} | ${Object.entries(m.dimensions).map(([k, v]) => `${k}=${esc(v)}`).join(', ')} | ${m.value} |`);
    L.push('');
  }
  return `${L.join('\n')}\n`;
}

function checkSection(c: CheckResult): string[] {
  const L = [`## ${c.passed ? '✅' : '❌'} ${esc(c.name)} (${c.kind})`, '', esc(c.summary), ''];
  if (c.error) L.push(`Error: \`${c.error.replace(/`/g, "'")}\``, '');
  const { mismatches, mismatchingRanges, ...rest } = c.evidence as { mismatches?: unknown; mismatchingRanges?: unknown } & Record<string, unknown>;
  const simple = Object.entries(rest).filter(([, v]) => v !== undefined);
  if (simple.length) {
    L.push('| Evidence | Value |', '|---|---|');
    for (const [k, v] of simple) L.push(`| ${esc(k)} | ${esc(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))} |`);
    L.push('');
  }
  if (Array.isArray(mismatchingRanges) && mismatchingRanges.length) {
    L.push('Mismatching key ranges:', '', '| Range | Source rows | Target rows | Missing | Changed | Orphans |', '|---|---|---|---|---|---|');
    for (const m of mismatchingRanges as Array<Record<string, unknown>>) {
      L.push(`| \`${String(m['range'])}\` | ${m['sourceRows']} | ${m['targetRows']} | ${m['missing']} | ${m['changed']} | ${m['orphans']} |`);
    }
    L.push('');
  }
  if (Array.isArray(mismatches) && mismatches.length) {
    L.push('Mismatching records:', '', '| Key | Problem | Fields | L2 distance |', '|---|---|---|---|');
    for (const m of mismatches as Array<Record<string, unknown>>) {
      const fields = Array.isArray(m['fields']) ? (m['fields'] as string[]).join(', ') : '';
      L.push(`| \`${esc(JSON.stringify(m['key']))}\` | ${m['problem']}${m['detail'] ? ` (${esc(String(m['detail']))})` : ''} | ${esc(fields)} | ${m['vectorDistance'] ?? ''} |`);
    }
    if ((c.evidence as Record<string, unknown>)['mismatchesTruncated']) L.push('', '(list truncated: raise `options.maxReportedKeys` to see more)');
    L.push('');
  }
  return L;
}

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

const fmtDuration = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60000).toFixed(1)} min`);
