import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../clock';
import { METRICS, type Dimension } from '../metrics/spec';
import type { ProgressOperation } from '../tracker/operations';
import { idSchema } from '../plan';
import { round2 } from '../progress';
import { normalizePhaseName, parseLogWatchConfig, type LogWatchConfig } from './config';
import type { LogAction } from './pattern';
import { matchPatterns, parseLine, type FieldValue } from './parser';
import { parseSize } from './size';
import type { ObservationSink } from '../metrics/observation';
import type { PhaseView, TrackerSink } from './sink';

/** One line of a log, with where it came from. */
export interface LogLine {
  text: string;
  /** A file path, CloudWatch log group/stream, Cloud Logging log name. Also the run identity when the line has no run_id. */
  source: string;
  /** Stable and unique per line (file identity + byte offset, CloudWatch event id, LogEntry insertId): replays stay idempotent. */
  key: string;
}

export type LineOutcome = 'empty' | 'malformed' | 'ignored' | 'applied' | 'rejected';

export type ConflictKind = 'concurrent_runs' | 'dependency_not_completed' | 'restarted_after_completion';

export interface ConflictRecord {
  at: string;
  kind: ConflictKind;
  migrationId: string;
  phaseId: string;
  runId: string;
  otherRunId?: string;
  blockedBy?: string[];
  message: string;
  source: string;
}

export interface AnalyzerStats {
  lines: number;
  empty: number;
  malformed: number;
  ignored: number;
  matched: number;
  /** Operations the tracker accepted. */
  applied: number;
  /** Operations the tracker refused (illegal transition, unknown phase...): counted, never retried. */
  rejected: number;
  /** Repeats of something already recorded (a second start by the same run, a completed phase completed again). */
  duplicates: number;
  /** Progress or completion lines for a phase that already ended. */
  late: number;
  conflicts: number;
  byPattern: Record<string, number>;
}

export interface Notice {
  at: string;
  source: string;
  key: string;
  reason: string;
  excerpt?: string;
}

export interface LogAnalyzerOptions {
  sink: TrackerSink;
  config?: LogWatchConfig;
  observations?: ObservationSink;
  clock?: Clock;
  /**
   * `run` mode: the tool's exit code completes the phase. Lines never complete it (a profile's final-summary
   * line is noted, not sent) and progress stays below 100 % until then.
   */
  completionByExit?: boolean;
  /** Unit weights (e.g. table sizes from the source catalog), by unit name (`schema.table`, no quotes). */
  itemWeights?: Map<string, number>;
  /** Called after every line with what matched and what it did (`--explain`). */
  explain?: (e: ExplainEntry) => void;
}

/** What one line did: the rule that matched (if any) and each resulting update, refusal or skip. */
export interface ExplainEntry {
  line: LogLine;
  outcome: LineOutcome;
  pattern?: string;
  did: string[];
}

type UnitState = 'declared' | 'started' | 'done' | 'failed';
interface Unit {
  state: UnitState;
  weight?: number;
}

interface LineContext {
  line: LogLine;
  fields: Record<string, FieldValue>;
  message: string;
  pattern: string;
  migrationId: string;
  runId: string;
  tenantId?: string;
  phaseField?: string;
  operation?: string;
  num: { eventsCount?: number; eventsTotal?: number; durationMs?: number; progress?: number; syncLag?: number };
  /** Index of the action being run: part of every idempotency key, with the operation and phase. */
  actionIndex: number;
}

const RECENT = 20;
const done = (p: PhaseView) => p.status === 'completed' || p.status === 'skipped';

/**
 * Turns migration log lines into tracker operations. Stateless about the logs themselves (the tailer keeps
 * offsets); it keeps a view of each migration's phases, loaded from the tracker and updated with every
 * accepted operation, to detect conflicts before they reach the tracker:
 * - two runs active in one phase (a start, progress or end from a run that does not own the running phase),
 * - a phase started before its dependencies completed,
 * - a completed phase started again by another run.
 * Each conflict raises one error alert (idempotent per migration, phase, kind and run).
 */
export class LogAnalyzer {
  readonly config: LogWatchConfig;
  private readonly sink: TrackerSink;
  private readonly observations?: ObservationSink;
  private readonly clock: Clock;
  private readonly views = new Map<string, Map<string, PhaseView>>();
  private readonly raised = new Set<string>();
  private readonly counters: AnalyzerStats = { lines: 0, empty: 0, malformed: 0, ignored: 0, matched: 0, applied: 0, rejected: 0, duplicates: 0, late: 0, conflicts: 0, byPattern: {} };
  /** The largest events_count seen per migration and tenant: `count_success` adds only its growth. */
  private readonly successTotals = new Map<string, number>();
  private readonly conflictLog: ConflictRecord[] = [];
  private readonly malformedLog: Notice[] = [];
  private readonly rejectionLog: Notice[] = [];
  private readonly completionByExit: boolean;
  private readonly itemWeights?: Map<string, number>;
  private readonly explainer?: (e: ExplainEntry) => void;
  /** What the current line did, while explaining. */
  private trace: string[] | null = null;
  private tracePattern: string | undefined;
  /** Units of work (tables, files) per migration and phase. */
  private readonly units = new Map<string, Map<string, Unit>>();
  /** Running totals of `data` fields per migration, run and field: only growth is added. */
  private readonly dataTotals = new Map<string, number>();
  /** Bytes counted per migration and run (phase metadata `bytesCopied`). */
  private readonly bytesByRun = new Map<string, number>();
  /** Progress of the sub-task lines report on (config `subTask`), per migration. */
  private readonly subProgress = new Map<string, number>();
  private finalLineSeen = false;

  constructor(opts: LogAnalyzerOptions) {
    this.sink = opts.sink;
    this.config = opts.config ?? parseLogWatchConfig();
    this.observations = opts.observations;
    this.clock = opts.clock ?? systemClock;
    this.completionByExit = opts.completionByExit ?? false;
    this.itemWeights = opts.itemWeights;
    this.explainer = opts.explain;
  }

  /** Drop the cached phase view of a migration (someone else changed it, e.g. `run` starting the phase). */
  forget(migrationId: string): void {
    this.views.delete(migrationId);
  }

  /** In `run` mode: whether the tool printed its final-summary line (a profile's completion, left to the exit code). */
  sawFinalLine(): boolean {
    return this.finalLineSeen;
  }

  /**
   * The report that renews a phase's staleness promise without moving it (`run`'s heartbeat while the tool
   * lives): its current progress again. Null when the phase is not running.
   */
  async heartbeatOp(migrationId: string, phaseId: string, subTaskId: string | undefined, nextUpdateSeconds: number): Promise<ProgressOperation | null> {
    const p = (await this.sink.phases(migrationId))?.find((x) => x.id === phaseId);
    if (!p || p.status !== 'in_progress') return null;
    const metadata = { source: 'run', heartbeat: true };
    if (subTaskId) return { action: 'update_subtask', phaseId, subTaskId, progress: this.subProgress.get(`${migrationId}\u0000${phaseId}`) ?? 0, nextUpdateSeconds, metadata };
    if (p.hasSubTasks) return null;
    return { action: 'update_phase', phaseId, progress: p.progress, nextUpdateSeconds, metadata };
  }

  /** Units of work seen for a phase: how many are done of how many known (for `run`'s summary). */
  unitCounts(migrationId: string, phaseId: string): { done: number; total: number } {
    const u = this.units.get(`${migrationId}\u0000${phaseId}`);
    const known = new Set([...(u?.keys() ?? []), ...(this.itemWeights?.keys() ?? [])]);
    return { done: [...(u?.values() ?? [])].filter((x) => x.state === 'done').length, total: known.size };
  }

  stats(): AnalyzerStats {
    return { ...this.counters, byPattern: { ...this.counters.byPattern } };
  }
  conflicts(): ConflictRecord[] {
    return [...this.conflictLog];
  }
  recentMalformed(): Notice[] {
    return [...this.malformedLog];
  }
  recentRejections(): Notice[] {
    return [...this.rejectionLog];
  }
  /** Migrations seen in the logs so far. */
  migrations(): string[] {
    return [...this.views.keys()];
  }

  /**
   * Process one line. Resolves with what happened to it; rejects only when the tracker could not be
   * reached or failed (5xx): the caller should retry the same line later (operations carry idempotency
   * keys derived from `line.key`, so the retry does not apply anything twice).
   */
  async process(line: LogLine): Promise<LineOutcome> {
    if (!this.explainer) return this.processLine(line);
    this.trace = [];
    this.tracePattern = undefined;
    try {
      const outcome = await this.processLine(line);
      this.explainer({ line, outcome, ...(this.tracePattern ? { pattern: this.tracePattern } : {}), did: this.trace });
      return outcome;
    } finally {
      this.trace = null;
    }
  }

  private note(s: string): void {
    this.trace?.push(s);
  }

  private async processLine(line: LogLine): Promise<LineOutcome> {
    this.counters.lines += 1;
    const parsed = parseLine(line.text, this.config);
    if (parsed.kind === 'empty') return (this.counters.empty += 1), 'empty';
    if (parsed.kind === 'malformed') return this.malformed(line, parsed.reason);
    const m = matchPatterns(this.config.patterns, parsed.line);
    if (!m) return (this.counters.ignored += 1), 'ignored';
    this.tracePattern = m.pattern.name;
    const ctx = this.context(line, m.fields, parsed.line.message, m.pattern.name);
    if (typeof ctx === 'string') return this.malformed(line, ctx);
    this.counters.matched += 1;
    this.counters.byPattern[ctx.pattern] = (this.counters.byPattern[ctx.pattern] ?? 0) + 1;
    const view = await this.view(ctx.migrationId);
    if (!view) {
      this.reject(ctx, `unknown migration "${ctx.migrationId}" (auto-initialize is off)`);
      return 'rejected';
    }
    const before = this.counters.rejected;
    for (const [i, action] of m.pattern.actions.entries()) {
      ctx.actionIndex = i;
      await this.run(action, ctx, view);
    }
    return this.counters.rejected > before ? 'rejected' : 'applied';
  }

  private malformed(line: LogLine, reason: string): LineOutcome {
    this.counters.malformed += 1;
    pushBounded(this.malformedLog, { at: this.nowIso(), source: line.source, key: line.key, reason, excerpt: line.text.slice(0, 200) });
    return 'malformed';
  }

  private context(line: LogLine, fields: Record<string, FieldValue>, message: string, pattern: string): LineContext | string {
    const f = this.config.fields;
    const str = (name: string) => {
      const v = fields[name];
      return v === undefined || v === null || v === '' ? undefined : String(v);
    };
    if (Object.keys(fields).some((k) => k.startsWith(`${f.migrationId}.`))) return `${f.migrationId} is an object, not an id`;
    const migrationId = str(f.migrationId) ?? this.config.defaultMigrationId;
    if (!idSchema.safeParse(migrationId).success) return `${f.migrationId} "${migrationId.slice(0, 80)}" is not a valid migration id`;
    const num: LineContext['num'] = {};
    const numeric: Array<[keyof LineContext['num'], string]> = [
      ['eventsCount', f.eventsCount],
      ['eventsTotal', f.eventsTotal],
      ['durationMs', f.durationMs],
      ['progress', f.progress],
      ['syncLag', f.syncLag],
    ];
    for (const [k, name] of numeric) {
      const raw = str(name);
      if (raw === undefined) continue;
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) return `${name} "${raw.slice(0, 40)}" is not a non-negative number`;
      num[k] = n;
    }
    if (num.progress !== undefined && num.progress > 100) return `${f.progress} ${num.progress} is over 100`;
    return {
      line,
      fields,
      message: message.slice(0, 1500),
      pattern,
      migrationId,
      runId: (str(f.runId) ?? line.source).slice(0, 100),
      tenantId: str(f.tenantId)?.slice(0, 100),
      phaseField: str(f.phase) ?? this.config.phase,
      operation: str(f.operation)?.slice(0, 100),
      num,
      actionIndex: 0,
    };
  }

  /** The phase view of a migration, loaded once (and reloaded after a refusal); creates the migration when allowed. */
  private async view(migrationId: string): Promise<Map<string, PhaseView> | null> {
    const cached = this.views.get(migrationId);
    if (cached) return cached;
    let phases = await this.sink.phases(migrationId);
    if (!phases && this.config.autoInitialize) {
      const r = await this.sink.initialize(migrationId, { name: migrationId, plan: this.config.plan });
      if (!r.ok && r.code !== 'conflict') throw new Error(`cannot initialize migration "${migrationId}": ${r.message}`);
      phases = await this.sink.phases(migrationId);
    }
    if (!phases) return null;
    const v = new Map(phases.map((p) => [p.id, p]));
    this.views.set(migrationId, v);
    return v;
  }

  private async run(action: LogAction, ctx: LineContext, view: Map<string, PhaseView>): Promise<void> {
    switch (action.do) {
      case 'start_phase': {
        const id = this.phaseFor(ctx, view, action.phase) ?? (action.fallbackPhase ? this.resolve(view, action.fallbackPhase) : undefined);
        if (!id) return this.reject(ctx, this.noPhase(action.phase ?? action.fallbackPhase, 'start'));
        if (action.completeRunning) for (const other of this.running(view, ctx.runId)) if (other !== id) await this.complete(ctx, view, other);
        await this.start(ctx, view, id);
        return;
      }
      case 'progress': {
        const id = this.phaseFor(ctx, view, action.phase);
        if (!id) return this.reject(ctx, this.noPhase(action.phase, 'report progress on'));
        let value = action.value;
        if (value === undefined && action.done && action.total) {
          const d = parseSize(ctx.fields[action.done]);
          const t = parseSize(ctx.fields[action.total]);
          if (d !== null && t !== null && t > 0) value = Math.min(100, (d / t) * 100);
        }
        await this.progress(ctx, view, id, value);
        return;
      }
      case 'item':
        return this.unit(action, ctx, view);
      case 'data':
        return this.data(action, ctx);
      case 'complete_phase':
      case 'fail_phase': {
        const named = this.phaseFor(ctx, view, action.phase);
        if (action.phase && !named) return this.reject(ctx, this.noPhase(action.phase, action.do === 'complete_phase' ? 'complete' : 'fail'));
        const targets = named ? [named] : this.running(view, ctx.runId);
        if (action.do === 'complete_phase' && this.completionByExit) {
          this.finalLineSeen = true;
          this.note('final line seen: completion is left to the exit code');
          return;
        }
        if (action.do === 'complete_phase') {
          if (!targets.length) this.counters.duplicates += 1;
          for (const id of targets) await this.complete(ctx, view, id);
        } else if (!targets.length) {
          await this.send(ctx, { action: 'create_alert', severity: 'error', message: clip(`${ctx.pattern} (no phase running): ${ctx.message}`) });
        } else {
          for (const id of targets) await this.fail(ctx, view, id);
        }
        return;
      }
      case 'alert': {
        const phaseId = this.phaseFor(ctx, view, action.phase);
        const message = clip(action.message ? this.template(action.message, ctx) : ctx.message || ctx.pattern);
        await this.send(ctx, { action: 'create_alert', severity: action.severity, message, ...(phaseId ? { phaseId } : {}) });
        return;
      }
      case 'count_failure':
        await this.send(ctx, { action: 'update_metrics', increment: { failedOperations: 1 } });
        return;
      case 'count_success': {
        const owner = action.phase ? view.get(this.resolve(view, action.phase) ?? '')?.runId : undefined;
        if (owner && ctx.runId && owner !== ctx.runId) return;
        let n = 1;
        if (action.value === 'events') {
          const total = ctx.num.eventsCount;
          if (total === undefined) return;
          const key = `${ctx.migrationId}\u0000${ctx.tenantId ?? ''}`;
          n = Math.max(0, total - (this.successTotals.get(key) ?? 0));
          this.successTotals.set(key, Math.max(total, this.successTotals.get(key) ?? 0));
        }
        if (n > 0) await this.send(ctx, { action: 'update_metrics', increment: { successfulOperations: n } });
        return;
      }
      case 'validation_failed':
        await this.send(ctx, {
          action: 'record_validation',
          verdict: 'fail',
          runId: ctx.runId,
          checks: [{ name: action.check, kind: ctx.operation ?? 'consistency', passed: false, summary: ctx.message.slice(0, 1000) || ctx.pattern }],
        });
        return;
      case 'observe':
        this.observe(action, ctx);
        return;
    }
  }

  private async start(ctx: LineContext, view: Map<string, PhaseView>, id: string): Promise<boolean> {
    const p = view.get(id)!;
    if (p.status === 'in_progress' || done(p)) {
      if (!p.runId || p.runId === ctx.runId) {
        this.counters.duplicates += 1;
        return p.status === 'in_progress';
      }
      if (p.status === 'in_progress') await this.conflict(ctx, p, 'concurrent_runs', `two runs active in phase "${id}": "${p.runId}" and "${ctx.runId}"`);
      else await this.conflict(ctx, p, 'restarted_after_completion', `phase "${id}" (completed by run "${p.runId}") started again by run "${ctx.runId}"`);
      return false;
    }
    const blocking = p.dependencies.filter((d) => !done(view.get(d) ?? { status: 'pending' } as PhaseView));
    if (blocking.length) {
      const states = blocking.map((d) => `"${d}" (${view.get(d)?.status ?? 'unknown'})`).join(', ');
      await this.conflict(ctx, p, 'dependency_not_completed', `phase "${id}" started by run "${ctx.runId}" before its dependencies completed: ${states}`, blocking);
      return false;
    }
    const ok = await this.send(ctx, {
      action: 'start_phase',
      phaseId: id,
      runId: ctx.runId,
      metadata: this.metadata(ctx),
      ...(this.config.expectUpdateWithinSeconds ? { nextUpdateSeconds: this.config.expectUpdateWithinSeconds } : {}),
    });
    if (ok) Object.assign(p, { status: 'in_progress', runId: ctx.runId, progress: 0 });
    return ok;
  }

  /** True when this run owns the running phase; raises the conflict otherwise. */
  private async owns(ctx: LineContext, p: PhaseView): Promise<boolean> {
    if (!p.runId || p.runId === ctx.runId) return true;
    await this.conflict(ctx, p, 'concurrent_runs', `two runs active in phase "${p.id}": "${p.runId}" and "${ctx.runId}"`);
    return false;
  }

  private async progress(ctx: LineContext, view: Map<string, PhaseView>, id: string, given?: number, extra: Record<string, unknown> = {}): Promise<void> {
    const p = view.get(id)!;
    if (done(p)) return void (this.counters.late += 1);
    if (p.status === 'failed') return this.reject(ctx, failedPhase(id, 'a progress line'));
    if (p.status !== 'in_progress' && !(await this.start(ctx, view, id))) return;
    if (!(await this.owns(ctx, p))) return;
    const sub = this.config.subTask && id === this.config.phase ? this.config.subTask : undefined;
    if (p.hasSubTasks && !sub) return this.reject(ctx, `phase "${id}" has sub-tasks: map progress lines to a phase without sub-tasks`);
    const subKey = `${ctx.migrationId}\u0000${id}`;
    const current = sub ? (this.subProgress.get(subKey) ?? 0) : p.progress;
    const { progress, eventsCount, eventsTotal } = ctx.num;
    let value = given ?? progress ?? (eventsCount !== undefined && eventsTotal ? Math.min(100, (eventsCount / eventsTotal) * 100) : current);
    // A tool's own figures may step back (rsync's incremental file list, a total still being counted): the
    // tracker shows the furthest point; under `run` only the exit code takes the phase to 100 %.
    if (this.config.profile || this.completionByExit) value = Math.max(value, current);
    if (this.completionByExit) value = Math.min(value, 99.9);
    value = round2(value);
    const report = {
      progress: value,
      metadata: { ...this.metadata(ctx), ...extra },
      ...(this.config.expectUpdateWithinSeconds ? { nextUpdateSeconds: this.config.expectUpdateWithinSeconds } : {}),
    };
    const ok = await this.send(ctx, sub ? { action: 'update_subtask', phaseId: id, subTaskId: sub, ...report } : { action: 'update_phase', phaseId: id, ...report });
    if (ok && sub) this.subProgress.set(subKey, value);
    else if (ok) p.progress = value;
  }

  /** A unit of work (table, file) changes state; the phase's progress is the done share of the units. */
  private async unit(action: Extract<LogAction, { do: 'item' }>, ctx: LineContext, view: Map<string, PhaseView>): Promise<void> {
    const id = this.phaseFor(ctx, view, action.phase);
    if (!id) return this.reject(ctx, this.noPhase(action.phase, 'track a unit of'));
    const name = this.template(action.item, ctx).replace(/"/g, '');
    if (/\{[\w.-]+\}/.test(name)) return this.reject(ctx, `unit name "${name.slice(0, 80)}": the line has no such field`);
    const key = `${ctx.migrationId}\u0000${id}`;
    let units = this.units.get(key);
    if (!units) this.units.set(key, (units = new Map()));
    const u = units.get(name) ?? { state: 'declared' as UnitState };
    const w = action.weight === undefined ? null : parseSize(ctx.fields[action.weight]);
    if (w !== null && w > 0) u.weight = w;
    if (action.state === 'start' && action.completesPrevious) for (const [n, o] of units) if (o.state === 'started' && n !== name) o.state = 'done';
    if (action.state === 'start' && u.state === 'declared') u.state = 'started';
    if (action.state === 'done') u.state = 'done';
    if (action.state === 'fail' && u.state !== 'done') u.state = 'failed';
    units.set(name, u);
    const catalog = this.itemWeights;
    const fallback = catalog?.size ? [...catalog.values()].reduce((a, b) => a + b, 0) / catalog.size : 1;
    const weight = (n: string, x: Unit) => x.weight ?? catalog?.get(n) ?? fallback;
    let total = 0;
    let doneW = 0;
    let doneN = 0;
    for (const [n, x] of units) {
      total += weight(n, x);
      if (x.state === 'done') (doneW += weight(n, x)), (doneN += 1);
    }
    for (const [n, w2] of catalog ?? []) if (!units.has(n)) total += w2;
    const known = units.size + [...(catalog?.keys() ?? [])].filter((n) => !units.has(n)).length;
    const pct = total > 0 ? Math.min(100, (doneW / total) * 100) : 0;
    await this.progress(ctx, view, id, pct, { currentTask: name, unitsDone: doneN, unitsKnown: known });
  }

  /** Bytes (and rows, errors) a line reports: added to the tracker's metrics. */
  private async data(action: Extract<LogAction, { do: 'data' }>, ctx: LineContext): Promise<void> {
    const v = parseSize(ctx.fields[action.field]);
    const runKey = `${ctx.migrationId}\u0000${ctx.runId}`;
    const totalKey = `${runKey}\u0000${action.field}`;
    const bytes = v === null ? 0 : action.cumulative ? Math.max(0, v - (this.dataTotals.get(totalKey) ?? 0)) : v;
    const count = (f: string | undefined) => {
      const n = f === undefined ? null : parseSize(ctx.fields[f]);
      return n === null ? 0 : Math.round(n);
    };
    const rows = count(action.rows);
    const errors = count(action.errors);
    if (bytes <= 0 && rows <= 0 && errors <= 0) return;
    const increment = { ...(bytes > 0 ? { totalDataMigrated: bytes } : {}), ...(rows > 0 ? { successfulOperations: rows } : {}), ...(errors > 0 ? { failedOperations: errors } : {}) };
    // Totals move only once the tracker took the increment: a line retried after a failure adds the same amount.
    if (!(await this.send(ctx, { action: 'update_metrics', increment }))) return;
    if (v !== null && action.cumulative) this.dataTotals.set(totalKey, Math.max(v, this.dataTotals.get(totalKey) ?? 0));
    this.bytesByRun.set(runKey, (this.bytesByRun.get(runKey) ?? 0) + bytes);
  }

  private async complete(ctx: LineContext, view: Map<string, PhaseView>, id: string): Promise<void> {
    const p = view.get(id)!;
    if (done(p)) return void (this.counters.duplicates += 1);
    // never a silent restart: a failed phase is reopened only by a start line (an explicit retry)
    if (p.status === 'failed') return this.reject(ctx, failedPhase(id, 'a completion line'));
    if (p.status !== 'in_progress' && !(await this.start(ctx, view, id))) return;
    if (!(await this.owns(ctx, p))) return;
    const ok = await this.send(ctx, { action: 'complete_phase', phaseId: id, metadata: this.metadata(ctx) });
    if (ok) Object.assign(p, { status: 'completed', progress: 100 });
  }

  private async fail(ctx: LineContext, view: Map<string, PhaseView>, id: string): Promise<void> {
    const p = view.get(id)!;
    if (p.status === 'failed') return void (this.counters.duplicates += 1);
    if (done(p)) return void (this.counters.late += 1);
    if (p.status === 'in_progress' && !(await this.owns(ctx, p))) return;
    const error = clip(String(ctx.fields[this.config.fields.error] ?? '') || ctx.message || ctx.pattern);
    const ok = await this.send(ctx, { action: 'fail_phase', phaseId: id, error });
    if (ok) p.status = 'failed';
  }

  private async conflict(ctx: LineContext, p: PhaseView, kind: ConflictKind, message: string, blockedBy?: string[]): Promise<void> {
    const dedupe = `${ctx.migrationId}|${p.id}|${kind}|${ctx.runId}`;
    if (this.raised.has(dedupe)) return;
    this.raised.add(dedupe);
    this.counters.conflicts += 1;
    pushBounded(this.conflictLog, {
      at: this.nowIso(),
      kind,
      migrationId: ctx.migrationId,
      phaseId: p.id,
      runId: ctx.runId,
      ...(p.runId && p.runId !== ctx.runId ? { otherRunId: p.runId } : {}),
      ...(blockedBy ? { blockedBy } : {}),
      message,
      source: ctx.line.source,
    });
    const op: ProgressOperation = { action: 'create_alert', severity: 'error', phaseId: p.id, message: clip(`Conflict: ${message}`), conflict: kind };
    await this.send(ctx, op, `log-conflict:${hash(dedupe)}`);
  }

  /**
   * Send one operation. True when accepted; a refusal is counted and recorded (the view is reloaded next
   * time). The idempotency key is derived from the line, the action and the operation's content, so a line
   * retried after a failure sends the same keys, whatever its earlier attempt already got through.
   */
  private async send(ctx: LineContext, op: ProgressOperation, key?: string): Promise<boolean> {
    const phaseId = 'phaseId' in op ? (op.phaseId ?? '') : '';
    const r = await this.sink.send(ctx.migrationId, op, key ?? `log:${hash(`${ctx.line.key}#${ctx.actionIndex}:${op.action}:${phaseId}`)}`);
    if (r.ok) {
      this.counters.applied += 1;
      if (this.trace) this.note(describe(op));
      return true;
    }
    this.views.delete(ctx.migrationId);
    this.reject(ctx, `${op.action} refused (${r.code}): ${r.message}`);
    return false;
  }

  private reject(ctx: LineContext, reason: string): void {
    this.counters.rejected += 1;
    this.note(`refused: ${reason}`);
    pushBounded(this.rejectionLog, { at: this.nowIso(), source: ctx.line.source, key: ctx.line.key, reason: `${ctx.pattern}: ${reason}` });
  }

  private observe(action: Extract<LogAction, { do: 'observe' }>, ctx: LineContext): void {
    if (!this.observations) return;
    const spec = METRICS[action.metric];
    const raw =
      action.value === 'one'
        ? 1
        : action.value === 'duration'
          ? ctx.num.durationMs === undefined
            ? undefined
            : ctx.num.durationMs / (spec.unit === 'Seconds' ? 1000 : 1)
          : action.value === 'events'
            ? ctx.num.eventsCount
            : action.value === 'events_total'
              ? ctx.num.eventsTotal
              : ctx.num.syncLag;
    const value = raw ?? (spec.kind === 'counter' ? 1 : undefined);
    if (value === undefined) return;
    const all: Partial<Record<Dimension, string>> = {
      MigrationId: ctx.migrationId,
      TenantId: ctx.tenantId ?? 'unknown',
      ViolationType: ctx.operation ?? 'consistency',
    };
    const phase = ctx.phaseField ? normalizePhaseName(ctx.phaseField) : undefined;
    if (phase) all.Phase = this.config.phaseMap[phase] ?? phase;
    const labels = Object.fromEntries(spec.dimensions.filter((d) => all[d] !== undefined).map((d) => [d, all[d]!]));
    const mode = spec.kind === 'histogram' ? 'observe' : spec.kind === 'gauge' || (action.cumulative && raw !== undefined) ? 'set' : 'add';
    this.observations.record({ metric: action.metric, labels, value, mode });
  }

  /** The phase an action means: its own `phase` (through phaseMap), else the line's phase field when it names a plan phase. */
  private phaseFor(ctx: LineContext, view: Map<string, PhaseView>, explicit: string | undefined): string | undefined {
    if (explicit) return this.resolve(view, explicit);
    return ctx.phaseField ? this.resolve(view, ctx.phaseField) : undefined;
  }

  private resolve(view: Map<string, PhaseView>, name: string): string | undefined {
    const n = normalizePhaseName(name);
    const id = this.config.phaseMap[n] ?? n;
    return view.has(id) ? id : view.has(name) ? name : undefined;
  }

  private running(view: Map<string, PhaseView>, runId: string): string[] {
    return [...view.values()].filter((p) => p.status === 'in_progress' && (!p.runId || p.runId === runId)).map((p) => p.id);
  }

  private noPhase(name: string | undefined, verb: string): string {
    return name
      ? `cannot ${verb} phase "${name}": not in the migration's plan (map it with phaseMap)`
      : `cannot ${verb} a phase: the line names none (add a "${this.config.fields.phase}" field or give the pattern a phase)`;
  }

  private metadata(ctx: LineContext): Record<string, unknown> {
    const md: Record<string, unknown> = { source: 'log', currentTask: ctx.operation ?? ctx.pattern };
    if (ctx.tenantId) md['tenantId'] = ctx.tenantId;
    if (ctx.num.eventsCount !== undefined) md['eventsCopied'] = ctx.num.eventsCount;
    if (ctx.num.eventsTotal !== undefined) md['eventsTotal'] = ctx.num.eventsTotal;
    if (ctx.num.durationMs !== undefined) md['durationMs'] = ctx.num.durationMs;
    if (ctx.num.syncLag !== undefined) md['syncLagEvents'] = ctx.num.syncLag;
    const bytes = this.bytesByRun.get(`${ctx.migrationId}\u0000${ctx.runId}`);
    if (bytes) md['bytesCopied'] = bytes;
    return md;
  }

  private template(t: string, ctx: LineContext): string {
    return t.replace(/\{([\w.-]+)\}/g, (all, name: string) => {
      if (name === 'message') return ctx.message;
      if (name === 'line') return ctx.line.text.slice(0, 500);
      const v = ctx.fields[name];
      return v === undefined || v === null ? all : String(v);
    });
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

const failedPhase = (id: string, what: string) =>
  `phase "${id}" failed and ${what} does not restart it: log a start line (an explicit retry) for the new attempt first`;
/** One update as `--explain` prints it. */
function describe(op: ProgressOperation): string {
  switch (op.action) {
    case 'update_phase':
      return `progress ${op.phaseId} ${op.progress}%${typeof op.metadata?.['currentTask'] === 'string' ? ` (${op.metadata['currentTask']})` : ''}`;
    case 'update_subtask':
      return `progress ${op.phaseId}/${op.subTaskId} ${op.progress}%`;
    case 'update_metrics':
      return `metrics +${Object.entries(op.increment ?? {}).map(([k, v]) => `${k} ${v}`).join(', +')}`;
    case 'create_alert':
      return `alert ${op.severity}: ${op.message.slice(0, 120)}`;
    case 'start_phase':
    case 'complete_phase':
    case 'fail_phase':
      return `${op.action} ${op.phaseId}`;
    default:
      return op.action;
  }
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 40);
const clip = (s: string) => (s.length > 2000 ? `${s.slice(0, 1997)}...` : s);

function pushBounded<T>(arr: T[], v: T) {
  arr.push(v);
  if (arr.length > RECENT) arr.splice(0, arr.length - RECENT);
}
