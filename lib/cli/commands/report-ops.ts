import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TrackerApiError, type TrackerClient } from '../../adapters/http/tracker-client';
import type { ProgressOperation } from '../../core/tracker/operations';
import { progressOperationSchema } from '../../core/tracker/operations';
import { formatZodError } from '../../core/validation-util';
import { CliError } from '../errors';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';
import { fields, outputFormat, renderData, withFormat } from '../output';

/**
 * Commands a migration script calls to report: `phase start|progress|complete|fail|skip`, `subtask ...`,
 * `alert`, `metrics`, `init`, `pause`, `resume`. Each sends one validated operation; exit 0 on success,
 * 1 when the tracker refused it (message printed), 2 on bad arguments.
 */
async function send(opts: Common, op: unknown, via: (c: TrackerClient, op: ProgressOperation, key?: string) => Promise<unknown> = (c, o, k) => c.send(o, k)) {
  const parsed = progressOperationSchema.safeParse(op);
  if (!parsed.success) throw new CliError(`invalid arguments: ${formatZodError(parsed.error)}`, 2);
  await run(opts, (c) => via(c, parsed.data, opts.idempotencyKey));
}

async function run(opts: Common, fn: (c: TrackerClient) => Promise<unknown>) {
  const format = outputFormat(opts);
  const client = await clientFrom(opts);
  try {
    const r = await fn(client);
    process.stdout.write(renderData(r, format, (md) => summarize(r, md)) + '\n');
  } catch (e) {
    if (e instanceof TrackerApiError) throw new CliError(`refused (HTTP ${e.status} ${e.code}): ${e.message}`, 1);
    throw new CliError((e as Error).message, 1);
  }
}

/** The tracker's answer, readable: one line for a phase or an alert (scripts grep it), else (and in Markdown) its fields. */
function summarize(r: unknown, markdown: boolean): string {
  const o = r as { phase?: { id: string; status: string; progress: number }; overallProgress?: number; alert?: { id: string; severity: string }; status?: string };
  const scalar = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));
  if (o.phase && !markdown) return `${o.phase.id}: ${o.phase.status} ${o.phase.progress}% (overall ${o.overallProgress}%)`;
  if (o.alert && !markdown) return `alert ${o.alert.id} (${o.alert.severity})`;
  if (o.phase) return fields([['phase', o.phase.id], ['status', o.phase.status], ['progress', `${o.phase.progress}%`], ['overall', `${o.overallProgress}%`]], true);
  if (o.alert) return fields([['alert', o.alert.id], ['severity', o.alert.severity]], true);
  return r !== null && typeof r === 'object' ? fields(Object.entries(r).map(([k, v]) => [k, scalar(v)]), markdown) : scalar(r);
}

const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`${flag} must be a number (got "${v}")`, 2);
  return n;
};

function parseMeta(pairs: string[] | undefined): Record<string, unknown> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i < 1) throw new CliError(`--meta must be key=value (got "${p}")`, 2);
    const v = p.slice(i + 1);
    out[p.slice(0, i)] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

type Common = ApiOptions & { idempotencyKey?: string; json?: boolean; format?: string };
const common = (c: Command) =>
  withFormat(withApiOptions(c).option('--idempotency-key <key>', 'make a retried call apply once (default: a fresh key per call)'), { legacyJson: true });

export function registerReportOps(program: Command): void {
  const phase = program.command('phase').description('report phase progress from a script');
  common(phase.command('start <phaseId>').description('start a phase (refused until its dependencies are done)'))
    .option('--next-update <seconds>', 'promise the next update within this many seconds (else the phase turns stale)', num('--next-update'))
    .option('--run-id <id>', 'identify this run (two runs on one phase raise a conflict)')
    .option('--meta <key=value>', 'metadata (repeatable)', collect)
    .action((id: string, o: Common & { nextUpdate?: number; runId?: string; meta?: string[] }) =>
      send(o, { action: 'start_phase', phaseId: id, nextUpdateSeconds: o.nextUpdate, runId: o.runId, metadata: parseMeta(o.meta) }),
    );
  common(phase.command('progress <phaseId> <percent>').description('update progress 0-100'))
    .option('--task <text>', 'what is happening now (metadata.currentTask)')
    .option('--next-update <seconds>', 'promise the next update within this many seconds', num('--next-update'))
    .option('--meta <key=value>', 'metadata (repeatable)', collect)
    .action((id: string, pct: string, o: Common & { task?: string; nextUpdate?: number; meta?: string[] }) => {
      const metadata = { ...parseMeta(o.meta), ...(o.task ? { currentTask: o.task } : {}) };
      return send(o, { action: 'update_phase', phaseId: id, progress: num('<percent>')(pct), nextUpdateSeconds: o.nextUpdate, metadata: Object.keys(metadata).length ? metadata : undefined });
    });
  common(phase.command('complete <phaseId>').description('mark a phase done (progress 100)')).action((id: string, o: Common) => send(o, { action: 'complete_phase', phaseId: id }));
  common(phase.command('fail <phaseId> <error>').description('mark a phase failed with the reason')).action((id: string, error: string, o: Common) => send(o, { action: 'fail_phase', phaseId: id, error }));
  common(phase.command('skip <phaseId> <reason>').description('skip a phase (counts as done for its dependants)')).action((id: string, reason: string, o: Common) => send(o, { action: 'skip_phase', phaseId: id, reason }));

  const sub = program.command('subtask').description('report sub-task progress from a script');
  common(sub.command('start <phaseId> <subTaskId>').description('start a sub-task')).action((p: string, s: string, o: Common) => send(o, { action: 'start_subtask', phaseId: p, subTaskId: s }));
  common(sub.command('progress <phaseId> <subTaskId> <percent>').description('update a sub-task 0-100')).action((p: string, s: string, pct: string, o: Common) =>
    send(o, { action: 'update_subtask', phaseId: p, subTaskId: s, progress: num('<percent>')(pct) }),
  );
  common(sub.command('complete <phaseId> <subTaskId>').description('mark a sub-task done')).action((p: string, s: string, o: Common) => send(o, { action: 'complete_subtask', phaseId: p, subTaskId: s }));
  common(sub.command('fail <phaseId> <subTaskId> <error>').description('mark a sub-task failed')).action((p: string, s: string, error: string, o: Common) => send(o, { action: 'fail_subtask', phaseId: p, subTaskId: s, error }));
  common(sub.command('skip <phaseId> <subTaskId> <reason>').description('skip a sub-task')).action((p: string, s: string, reason: string, o: Common) => send(o, { action: 'skip_subtask', phaseId: p, subTaskId: s, reason }));

  common(program.command('alert <severity> <message>').description('raise an alert: info, warning, error or critical'))
    .option('--phase <phaseId>', 'the phase it concerns')
    .action((severity: string, message: string, o: Common & { phase?: string }) => send(o, { action: 'create_alert', severity, message, phaseId: o.phase }));

  common(program.command('metrics').description('report metrics (absolute values, or --add-* increments)'))
    .option('--data-migrated <bytes>', 'total data migrated (bytes)', num('--data-migrated'))
    .option('--speed <bytesPerSecond>', 'migration speed (B/s)', num('--speed'))
    .option('--error-rate <percent>', 'error rate (%)', num('--error-rate'))
    .option('--avg-op-ms <ms>', 'average operation time (ms)', num('--avg-op-ms'))
    .option('--cpu <percent>', 'CPU utilization (%)', num('--cpu'))
    .option('--memory <percent>', 'memory utilization (%)', num('--memory'))
    .option('--cost <usd>', 'actual cost so far (USD)', num('--cost'))
    .option('--add-data <bytes>', 'add to data migrated', num('--add-data'))
    .option('--add-ok <n>', 'add successful operations', num('--add-ok'))
    .option('--add-failed <n>', 'add failed operations', num('--add-failed'))
    .action((o: Common & Record<string, number | undefined>) => {
      const metrics = clean({
        totalDataMigrated: o['dataMigrated'],
        migrationSpeed: o['speed'],
        errorRate: o['errorRate'],
        averageOperationTime: o['avgOpMs'],
        resourceUtilization: clean({ cpu: o['cpu'], memory: o['memory'] }),
        costMetrics: clean({ actualCost: o['cost'] }),
      });
      const increment = clean({ totalDataMigrated: o['addData'], successfulOperations: o['addOk'], failedOperations: o['addFailed'] });
      return send(o, { action: 'update_metrics', metrics, increment });
    });

  common(program.command('init').description('create (or with --reset replace) a migration with the default plan or --plan FILE'))
    .option('--plan <file>', 'JSON file with the phases [{id, name, dependencies, estimatedDuration, subTasks}]')
    .option('--name <name>', 'display name')
    .option('--reset', 'replace a migration that has already started')
    .action(async (o: Common & { plan?: string; name?: string; reset?: boolean }) => {
      let plan: unknown;
      if (o.plan) {
        try {
          plan = JSON.parse(readFileSync(o.plan, 'utf8'));
        } catch (e) {
          throw new CliError(`cannot read --plan ${o.plan}: ${(e as Error).message}`, 2);
        }
        if (!Array.isArray(plan)) throw new CliError(`--plan ${o.plan} must hold a JSON array of phases`, 2);
      }
      await run(o, (c) => c.initialize({ name: o.name, plan: plan as never, reset: o.reset }, o.idempotencyKey));
    });

  for (const action of ['pause', 'resume'] as const) {
    common(program.command(action).description(`${action} the whole migration (recorded as a control event)`))
      .option('--reason <text>', 'why')
      .action((o: Common & { reason?: string }) => run(o, (c) => c.dashboardAction({ action, reason: o.reason }, o.idempotencyKey)));
  }
  common(program.command('ack <alertId>').description('acknowledge an alert (ids from `migration-monitor alerts`)')).action((alertId: string, o: Common) =>
    run(o, (c) => c.dashboardAction({ action: 'acknowledge_alert', alertId }, o.idempotencyKey)),
  );
}

function clean<T extends Record<string, unknown>>(o: T): T | undefined {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined);
  return entries.length ? (Object.fromEntries(entries) as T) : undefined;
}
