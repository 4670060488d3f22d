import { createHash } from 'node:crypto';
import type { LogAnalyzer } from '../logwatch/analyzer';
import type { PhaseDefInput } from '../plan';
import type { TrackerSink } from '../logwatch/sink';
import type { ProgressOperation } from '../tracker/operations';

/** How the tool ended: its exit code, or the signal that killed it. */
export interface ToolExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunRelayOptions {
  sink: TrackerSink;
  /** Built once the first lines are in (so a profile can be detected from them). */
  makeAnalyzer: (firstLines: string[]) => LogAnalyzer;
  migrationId: string;
  phaseId: string;
  subTaskId?: string;
  /** Identifies this invocation: the run that owns the phase, and the prefix of every idempotency key. */
  runId: string;
  /** The command, for the tracker's metadata and the failure message. */
  command: string;
  /** The staleness promise: another report comes within this many seconds while the tool lives. */
  expectUpdateSeconds: number;
  /** Plan for a migration the tracker does not know yet. Default: the one phase (and sub-task). */
  plan?: PhaseDefInput[];
  /** Lines kept while the tracker is unreachable; beyond it the oldest lines are dropped (never the start or the end). */
  maxQueuedLines?: number;
  /**
   * Lines to wait for before the analyzer is built: at most `detectWaitMs` after the tool's first line (a tool
   * slow to start, such as a cold Python CLI on a loaded machine, still has its first lines looked at).
   */
  detectLines?: number;
  detectWaitMs?: number;
  log?: (s: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

type Item = { kind: 'line'; text: string; n: number } | { kind: 'op'; name: string; build: () => Promise<ProgressOperation | null> };

/** Lines kept for the failure message: error-looking ones are preferred. */
const ERROR_WORDS = /\b(error|fatal|failed|failure|denied|could not|cannot|refused|no such|invalid)\b/i;

/**
 * Carries a tool's output to the tracker without ever holding the tool up: lines are queued as they come and
 * a single loop feeds them, in order, through the analyzer. When the tracker cannot be reached the loop keeps
 * the item and retries with backoff; every update carries an idempotency key derived from the run id and the
 * line number (or the run's own step), so a retried item never applies twice.
 */
export class RunRelay {
  private readonly queue: Item[] = [];
  private analyzer: LogAnalyzer | undefined;
  private readonly sample: string[] = [];
  private lineNo = 0;
  private heartbeats = 0;
  private dropped = 0;
  private finished = false;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private stopped = false;
  private unreachableSince: number | undefined;
  private readonly tail: string[] = [];
  private readonly errorTail: string[] = [];
  private readonly refusals: string[] = [];
  private readonly startedAt = Date.now();
  private firstLineAt: number | undefined;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: RunRelayOptions) {
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.queue.push({ kind: 'op', name: 'start', build: () => this.startOp() });
    this.loop = this.pump();
  }

  /** A line of the tool's output (never blocks). */
  push(text: string): void {
    this.remember(text);
    this.firstLineAt ??= Date.now();
    if (this.sample.length < (this.o.detectLines ?? 20)) this.sample.push(text);
    this.queue.push({ kind: 'line', text, n: this.lineNo++ });
    const max = this.o.maxQueuedLines ?? 100_000;
    let lines = 0;
    for (const it of this.queue) if (it.kind === 'line') lines++;
    if (lines > max) {
      const i = this.queue.findIndex((it) => it.kind === 'line');
      this.queue.splice(i, 1);
      this.dropped++;
    }
    this.wake?.();
  }

  /** Renew the staleness promise (the tool is alive), unless a renewal is already waiting. */
  heartbeat(): void {
    if (this.queue.some((it) => it.kind === 'op' && it.name.startsWith('heartbeat'))) return;
    const n = this.heartbeats++;
    this.queue.push({ kind: 'op', name: `heartbeat:${n}`, build: async () => this.analyzerNow().heartbeatOp(this.o.migrationId, this.o.phaseId, this.o.subTaskId, this.o.expectUpdateSeconds) });
    this.wake?.();
  }

  /** The tool ended: complete (exit 0) or fail the phase, after every line before it. */
  finish(exit: ToolExit): void {
    this.finished = true;
    this.queue.push({ kind: 'op', name: 'end', build: async () => this.endOp(exit) });
    this.wake?.();
  }

  /** Wait until everything is delivered or `timeoutMs` passed. */
  async drain(timeoutMs: number): Promise<{ delivered: boolean; pending: number; dropped: number; refusals: string[] }> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length && Date.now() < deadline) await this.sleep(50);
    this.stopped = true;
    this.wake?.();
    await this.loop;
    return { delivered: this.queue.length === 0, pending: this.queue.length, dropped: this.dropped, refusals: [...this.refusals] };
  }

  /** The analyzer (built from the first lines; now, if it is needed before they came). */
  analyzerNow(): LogAnalyzer {
    this.analyzer ??= this.o.makeAnalyzer(this.sample);
    return this.analyzer;
  }

  /** The last error-looking lines of the tool's output (else its last lines), for the failure alert. */
  errorLines(): string[] {
    return this.errorTail.length ? [...this.errorTail] : this.tail.slice(-5);
  }

  private remember(text: string): void {
    const t = text.trim();
    if (!t) return;
    this.tail.push(t.slice(0, 300));
    if (this.tail.length > 20) this.tail.shift();
    if (ERROR_WORDS.test(t)) {
      this.errorTail.push(t.slice(0, 300));
      if (this.errorTail.length > 5) this.errorTail.shift();
    }
  }

  private key(name: string): string {
    return `run:${createHash('sha256').update(`${this.o.runId}#${name}`).digest('hex').slice(0, 40)}`;
  }

  private async send(name: string, op: ProgressOperation): Promise<void> {
    const r = await this.o.sink.send(this.o.migrationId, op, this.key(name));
    this.analyzer?.forget(this.o.migrationId);
    if (!r.ok) {
      const msg = `${op.action} refused (${r.code}): ${r.message}`;
      this.refusals.push(msg);
      this.o.log?.(msg);
    }
  }

  private async startOp(): Promise<ProgressOperation | null> {
    const { sink, migrationId, phaseId, subTaskId } = this.o;
    let phases = await sink.phases(migrationId);
    if (!phases) {
      const plan = this.o.plan ?? [{ id: phaseId, name: phaseId, estimatedDuration: 60, ...(subTaskId ? { subTasks: [{ id: subTaskId, name: subTaskId }] } : {}) }];
      const r = await sink.initialize(migrationId, { name: migrationId, plan });
      if (!r.ok && r.code !== 'conflict') throw new Error(`cannot create migration "${migrationId}": ${r.message}`);
      phases = await sink.phases(migrationId);
    }
    const metadata = { source: 'run', command: this.o.command.slice(0, 500), runId: this.o.runId };
    const promise = { nextUpdateSeconds: this.o.expectUpdateSeconds };
    if (subTaskId) return { action: 'start_subtask', phaseId, subTaskId, metadata, ...promise };
    return { action: 'start_phase', phaseId, runId: this.o.runId, metadata, ...promise };
  }

  private endOp(exit: ToolExit): ProgressOperation {
    const { phaseId, subTaskId } = this.o;
    const code = exit.code ?? 128;
    if (exit.code === 0) {
      const metadata = { exitCode: 0, durationSeconds: Math.round((Date.now() - this.startedAt) / 1000) };
      return subTaskId ? { action: 'complete_subtask', phaseId, subTaskId } : { action: 'complete_phase', phaseId, metadata };
    }
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${code}`;
    const lines = this.errorLines();
    const error = `${this.o.command.split(' ')[0]} ${how}${lines.length ? `: ${lines.join(' | ')}` : ''}`.slice(0, 2000);
    return subTaskId ? { action: 'fail_subtask', phaseId, subTaskId, error } : { action: 'fail_phase', phaseId, error };
  }

  private async pump(): Promise<void> {
    let delay = 200;
    for (;;) {
      const item = this.queue[0];
      if (!item) {
        if (this.stopped) return;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      if (item.kind === 'line' && !this.analyzer && !this.finished && this.sample.length < (this.o.detectLines ?? 20) && Date.now() - (this.firstLineAt ?? 0) < (this.o.detectWaitMs ?? 2000)) {
        await this.sleep(50);
        continue;
      }
      try {
        if (item.kind === 'line') {
          await this.analyzerNow().process({ text: item.text, source: this.o.runId, key: `run:${this.o.runId}:${item.n}` });
        } else {
          const op = await item.build();
          if (op) await this.send(item.name, op);
        }
        this.queue.shift();
        if (this.unreachableSince !== undefined) this.o.log?.(`tracker reachable again after ${Math.round((Date.now() - this.unreachableSince) / 1000)} s: replaying ${this.queue.length} queued updates`);
        this.unreachableSince = undefined;
        delay = 200;
      } catch (e) {
        if (this.stopped) return;
        if (this.unreachableSince === undefined) {
          this.unreachableSince = Date.now();
          this.o.log?.(`tracker not reachable, buffering (the tool keeps running): ${(e as Error).message}`);
        }
        await this.sleep(delay);
        delay = Math.min(5000, delay * 2);
      }
    }
  }
}
