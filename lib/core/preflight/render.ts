import { bytes } from '../report/format';
import type { ProgressOperation } from '../tracker/operations';
import type { TrackerPort } from '../validation/tracker-reporter';
import type { PreflightResult, SideReport } from './preflight';

const VERDICT: Record<PreflightResult['verdict'], string> = { ready: 'READY FOR MIGRATION', not_ready: 'NOT READY', could_not_check: 'COULD NOT CHECK' };
const MARK: Record<string, string> = { ok: '✅', insufficient: '❌', too_long: '❌', unknown: '❔' };

export function renderPreflight(r: PreflightResult, format: 'json' | 'markdown'): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  const out = [`# Preflight${r.name ? `: ${r.name}` : ''}: ${r.verdict === 'ready' ? '✅' : r.verdict === 'not_ready' ? '❌' : '❔'} ${VERDICT[r.verdict]}`, '', `Checked ${r.at}.`, ''];
  if (r.reasons.length) out.push(...r.reasons.map((x) => `- **${x}**`), '');
  out.push('| item | status | detail |', '|---|---|---|');
  for (const s of [r.sides.source, r.sides.target]) out.push(`| ${s.side} | ${s.reachable ? '✅' : '❌'} | ${cell(sideLine(s))} |`);
  const d = r.disk;
  out.push(`| disk on the target | ${MARK[d.status]} | ${cell(`${d.requiredBytes === null ? '? ' : bytes(d.requiredBytes)} required (source × ${d.replicationFactor}), ${d.availableBytes === null ? '?' : bytes(d.availableBytes)} available: ${d.basis}`)} |`);
  const m = r.memory;
  out.push(`| memory for the copy | ${MARK[m.status]} | ${cell(`${m.requiredBytes === null ? '?' : bytes(m.requiredBytes)} required, ${bytes(m.availableBytes)} available: ${m.basis}`)} |`);
  const e = r.estimate;
  out.push(
    `| estimated time | ${MARK[e.status]} | ${cell(
      e.plan
        ? `${e.total} (${e.rows} rows at ${e.copyRatePerSecond} rows/s, ${e.rateBasis}; copy ${Math.round(e.plan.bulkCopySeconds)} s + catch-up ${Math.round(e.plan.catchUpSeconds)} s + cutover ${e.plan.cutoverSeconds} s, × ${e.plan.bufferFactor})`
        : e.rateBasis,
    )} |`,
  );
  out.push('');
  for (const s of [r.sides.source, r.sides.target]) {
    if (!s.reachable || !s.tables.length) continue;
    out.push(`## ${s.side}: ${s.label}`, '', '| table | rows | size |', '|---|---:|---:|');
    for (const t of s.tables) out.push(`| ${cell(t.name)} | ${t.exact ? '' : '~'}${t.rows} | ${t.bytes === null ? '?' : bytes(t.bytes)} |`);
    out.push('');
  }
  if (r.warnings.length) out.push('Warnings:', '', ...r.warnings.map((w) => `- ${w}`), '');
  return out.join('\n');
}

function sideLine(s: SideReport): string {
  if (!s.reachable) return s.error;
  return `${s.connector} (${s.type}) ${s.label}${s.version ? `, version ${s.version}` : ''}: ${s.tables.length} table(s), ~${s.rows} rows, ${s.bytes === null ? 'size unknown' : bytes(s.bytes)}${s.sizeBasis ? ` (${s.sizeBasis})` : ''}`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One line for the tracker's activity and the phase's current task. */
export function preflightSummary(r: PreflightResult): string {
  const head = `preflight ${VERDICT[r.verdict].toLowerCase()}`;
  return (r.reasons.length ? `${head}: ${r.reasons.join('; ')}` : `${head}: ${r.sides.source.reachable ? `~${r.sides.source.rows} rows` : ''}${r.estimate.total ? `, about ${r.estimate.total}` : ''}`).slice(0, 2000);
}

/** What the phase keeps of a preflight (phase metadata is bounded: a few small fields). */
export function preflightMetadata(r: PreflightResult): Record<string, unknown> {
  return {
    currentTask: preflightSummary(r).slice(0, 200),
    preflight: {
      verdict: r.verdict,
      at: r.at,
      sourceRows: r.sides.source.reachable ? r.sides.source.rows : null,
      sourceBytes: r.sides.source.reachable ? r.sides.source.bytes : null,
      diskRequiredBytes: r.disk.requiredBytes,
      diskAvailableBytes: r.disk.availableBytes,
      estimatedSeconds: r.estimate.plan?.totalSeconds ?? null,
    },
  };
}

/**
 * The tracker operations that post a preflight to a phase: on a sub-task (e.g. `initialization/preflight`
 * of the default plan) start it, then complete it when ready or fail it with the reasons; on a phase without
 * that sub-task, the same on the phase itself (start, progress 100, complete or fail). Starting a failed
 * sub-task or phase again is the explicit retry the tracker records.
 */
export function preflightOperations(r: PreflightResult, phase: { id: string; status: string; subTasks: Array<{ id: string; status: string }> }, subTaskId: string): ProgressOperation[] {
  const metadata = preflightMetadata(r);
  const summary = preflightSummary(r);
  const sub = phase.subTasks.find((t) => t.id === subTaskId);
  if (sub) {
    const ops: ProgressOperation[] = [];
    if (sub.status !== 'in_progress') ops.push({ action: 'start_subtask', phaseId: phase.id, subTaskId, metadata });
    else ops.push({ action: 'update_subtask', phaseId: phase.id, subTaskId, progress: 100, metadata });
    ops.push(r.verdict === 'ready' ? { action: 'complete_subtask', phaseId: phase.id, subTaskId } : { action: 'fail_subtask', phaseId: phase.id, subTaskId, error: summary });
    return ops;
  }
  const ops: ProgressOperation[] = [];
  if (phase.status !== 'in_progress') ops.push({ action: 'start_phase', phaseId: phase.id, metadata });
  ops.push({ action: 'update_phase', phaseId: phase.id, progress: 100, metadata });
  ops.push(r.verdict === 'ready' ? { action: 'complete_phase', phaseId: phase.id, metadata: { preflight: metadata['preflight'] } } : { action: 'fail_phase', phaseId: phase.id, error: summary });
  return ops;
}

/** What posting a preflight to the tracker did (never changes the verdict or the exit code). */
export interface PreflightPosting {
  phase: string;
  subTask?: string;
  sent: string[];
  problems: string[];
}

/**
 * Post a preflight to the tracker's phase (default plan: `initialization`, sub-task `preflight`): progress,
 * then completed when ready or failed with the reasons, each one an activity line. A refusal (the sub-task is
 * already completed, the migration is paused) is listed in `problems`, not thrown.
 */
export async function postPreflight(client: TrackerPort, r: PreflightResult, where: { phase: string; subTask: string }): Promise<PreflightPosting> {
  const posting: PreflightPosting = { phase: where.phase, sent: [], problems: [] };
  let phase: { id: string; status: string; subTasks: Array<{ id: string; status: string }> } | undefined;
  try {
    phase = (await client.overview<{ phases?: Array<{ id: string; status: string; subTasks: Array<{ id: string; status: string }> }> }>()).phases?.find((p) => p.id === where.phase);
  } catch (e) {
    posting.problems.push(`reading the migration failed: ${(e as Error).message}`);
    return posting;
  }
  if (!phase) {
    posting.problems.push(`phase "${where.phase}" is not in the migration's plan: nothing posted`);
    return posting;
  }
  if (phase.subTasks.some((t) => t.id === where.subTask)) posting.subTask = where.subTask;
  for (const op of preflightOperations(r, phase, where.subTask)) {
    try {
      await client.send(op);
      posting.sent.push(op.action);
    } catch (e) {
      posting.problems.push(`${op.action} refused: ${(e as Error).message}`);
      break;
    }
  }
  return posting;
}
