import { createHash, randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock';
import { CHECK_RUNNERS } from './checks';
import type { CheckContext, CheckRunner, ProbeFetch } from './checks/context';
import type { CheckConfig, ConnectorConfig, ValidationConfig } from './config';
import type { ScanOptions, SourceConnector } from './connector';
import { traceBatches, traceMethods, tracer, withSpan } from '../tracing';
import { canonical } from './hash';
import type { CheckpointStore, MetricsSink, ResourceChecker, RunCheckpoint, Spooler, Timer, ValidationObserver } from './ports';
import type { CheckResult, EmittedMetric, ValidationReport } from './result';
import { MemorySpooler } from './streams';
import { failsGate, isGateCheck } from './gate';

/** The adapters a run uses. Only `createConnector` is required; the rest have local defaults. */
export interface ValidationDeps {
  /** Build the connector for a named entry of `connectors:` (composition root: lib/adapters/validation-deps.ts). */
  createConnector(name: string, cfg: ConnectorConfig): SourceConnector;
  resources?: { aws?: ResourceChecker; gcp?: ResourceChecker };
  fetch?: ProbeFetch;
  /** Monotonic ms for latency measurements (default performance.now). */
  timer?: Timer;
  /** Wall clock for report times and run ids. */
  clock?: Clock;
  /** Default: in-memory sort (fine for tests; the CLI and handlers pass the file spooler). */
  spooler?: Spooler;
  checkpoints?: CheckpointStore;
  metrics?: MetricsSink;
  observer?: ValidationObserver;
}

export interface RunOptions {
  /** Continue the interrupted run of this same config, if its checkpoint exists. */
  resume?: boolean;
  runId?: string;
  signal?: AbortSignal;
}

/** Hash of a config: a checkpoint is resumed only by the config that wrote it. */
export const configHash = (cfg: ValidationConfig): string => createHash('sha256').update(canonical(cfg)).digest('hex');
export const checkpointKey = (cfg: ValidationConfig): string => `validation-${configHash(cfg).slice(0, 16)}`;

/**
 * Run every check of a config, in order: pass/fail with evidence per check, a verdict, the metrics it
 * emitted. A check that cannot run (connection refused...) fails with its error; the run goes on.
 */
export function runValidation(cfg: ValidationConfig, deps: ValidationDeps, opts: RunOptions = {}): Promise<ValidationReport> {
  return withSpan('migration.validation.run', { attributes: { 'migration.validation.name': cfg.name, 'migration.validation.checks': cfg.checks.length } }, async (span) => {
    const r = await runChecks(cfg, deps, opts);
    span.setAttributes({ 'migration.validation.run_id': r.runId, 'migration.outcome': r.verdict, 'migration.validation.failed': r.totals.failed });
    return r;
  });
}

async function runChecks(cfg: ValidationConfig, deps: ValidationDeps, opts: RunOptions): Promise<ValidationReport> {
  const clock = deps.clock ?? systemClock;
  const t0 = clock.now();
  const emitted: EmittedMetric[] = [];
  const metrics: MetricsSink = {
    record(o) {
      emitted.push({ name: o.metric, value: o.value, dimensions: o.labels as Record<string, string>, mode: o.mode });
      deps.metrics?.record(o);
    },
  };
  const hash = configHash(cfg);
  const key = checkpointKey(cfg);
  const store = deps.checkpoints;
  const warnings: string[] = [];

  let cp: RunCheckpoint | null = null;
  if (opts.resume) {
    if (!store) warnings.push('--resume has no effect: no checkpoint store is configured');
    else {
      cp = await store.load(key);
      if (cp && cp.configHash !== hash) cp = null;
      if (!cp) warnings.push('nothing to resume: no checkpoint of an interrupted run of this config; starting from the beginning');
    }
  }
  const resumed = cp !== null;
  const runId = cp?.runId ?? opts.runId ?? `val-${new Date(t0).toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
  const state: RunCheckpoint = cp ?? { version: 1, runId, configHash: hash, startedAt: new Date(t0).toISOString(), savedAt: new Date(t0).toISOString(), done: {} };
  const save = async () => {
    if (!store) return;
    state.savedAt = new Date(clock.now()).toISOString();
    await store.save(key, state);
  };
  await save();

  const connectors = new Map<string, SourceConnector>();
  const connector = (name: string): SourceConnector => {
    let c = connectors.get(name);
    if (!c) {
      const conf = cfg.connectors[name];
      if (!conf) throw new Error(`unknown connector "${name}"`);
      c = deps.createConnector(name, conf);
      connectors.set(name, c);
    }
    return c;
  };

  await deps.observer?.onRunStart?.({ runId, checks: cfg.checks.map((c) => c.name), resumed });
  const results: CheckResult[] = [];
  const notRun: string[] = [];
  let interrupted = false;
  let errored = false;
  try {
    for (let i = 0; i < cfg.checks.length; i++) {
      const check = cfg.checks[i]!;
      if (interrupted || (cfg.options.failFast && results.some((r) => !r.passed))) {
        notRun.push(check.name);
        continue;
      }
      const prior = state.done[check.name];
      if (prior) {
        results.push({ ...prior, resumed: true });
        await deps.observer?.onCheckDone?.(results[results.length - 1]!, i, cfg.checks.length);
        continue;
      }
      const ctx: CheckContext = {
        config: cfg,
        connector: (name) => tracedConnector(namedSide(connector(name), sideOf(check, name), name), name, sideOf(check, name)),
        resources: deps.resources ?? {},
        fetch: deps.fetch ?? defaultFetch,
        timer: deps.timer ?? { now: () => performance.now() },
        spooler: deps.spooler ?? new MemorySpooler(),
        metrics,
        signal: opts.signal,
        resumeState: state.inProgress?.check === check.name ? state.inProgress.state : undefined,
        saveState: async (s) => {
          state.inProgress = { check: check.name, state: s };
          await save();
        },
      };
      const started = clock.now();
      let result: CheckResult;
      try {
        const out = await withSpan('migration.validation.check', { attributes: { 'migration.check.name': check.name, 'migration.check.kind': check.kind, 'migration.validation.run_id': runId } }, async (span) => {
          const r = await (CHECK_RUNNERS[check.kind] as CheckRunner<CheckConfig['kind']>)(check as never, ctx);
          span.setAttribute('migration.outcome', r.passed ? 'pass' : 'fail');
          return r;
        });
        result = { name: check.name, kind: check.kind, ...out, durationMs: clock.now() - started };
      } catch (e) {
        if (opts.signal?.aborted) {
          interrupted = true;
          notRun.push(check.name);
          continue;
        }
        errored = true;
        const msg = (e as Error).message ?? String(e);
        const saved = state.inProgress?.check === check.name ? '; progress was saved: run again with --resume to continue' : '';
        result = { name: check.name, kind: check.kind, passed: false, summary: `could not run: ${msg}`, evidence: {}, durationMs: clock.now() - started, error: msg + saved };
      }
      metrics.record({ metric: 'ValidationChecks', labels: { Check: check.name, Result: result.passed ? 'pass' : 'fail' }, value: 1, mode: 'add' });
      results.push(result);
      if (!result.error) {
        state.done[check.name] = result;
        if (state.inProgress?.check === check.name) delete state.inProgress;
        await save();
      }
      await deps.observer?.onCheckDone?.(result, i, cfg.checks.length);
    }
  } finally {
    for (const [name, c] of connectors) {
      await c.close().catch((e: Error) => warnings.push(`closing connector "${name}" failed: ${e.message}`));
    }
  }

  const passed = results.filter((r) => r.passed).length;
  const verdict = !interrupted && notRun.length === 0 && results.every((r) => r.passed) ? 'pass' : 'fail';
  metrics.record({ metric: 'ValidationFailed', labels: {}, value: verdict === 'fail' ? 1 : 0, mode: 'add' });
  const passedNames = new Set(results.filter((r) => r.passed).map((r) => r.name));
  const gateFailed = failsGate({ verdict, gate: cfg.options.gate, checks: cfg.checks.map((c) => ({ passed: passedNames.has(c.name), gate: isGateCheck(c, cfg.options) })) });
  metrics.record({ metric: 'ValidationGateFailed', labels: {}, value: gateFailed ? 1 : 0, mode: 'add' });
  await deps.metrics?.flush?.();
  if (store && !interrupted && !errored) await store.clear(key);
  const t1 = clock.now();
  return {
    ...(cfg.name ? { name: cfg.name } : {}),
    runId,
    startedAt: state.startedAt,
    finishedAt: new Date(t1).toISOString(),
    durationMs: t1 - t0,
    verdict,
    totals: { checks: cfg.checks.length, passed, failed: results.length - passed, notRun: notRun.length },
    checks: results,
    notRun,
    resumed,
    interrupted,
    warnings,
    metrics: emitted,
  };
}

/** Connector reads as client spans `migration.validation.connector.<method>`; each scanned batch its own span. */
function tracedConnector(c: SourceConnector, name: string, side: string): SourceConnector {
  if (!tracer().enabled) return c;
  const attributes = { 'migration.connector': name, 'migration.connector.side': side, 'migration.connector.label': c.label };
  const traced = traceMethods(c, (m) => `migration.validation.connector.${m}`, () => attributes, 'client');
  return new Proxy(traced, {
    get(t, prop, receiver) {
      if (prop !== 'scan') return Reflect.get(t, prop, receiver) as unknown;
      return (opts: ScanOptions) => traceBatches(c.scan(opts), 'migration.validation.connector.batch', attributes, (rows) => rows.length);
    },
  });
}

const defaultFetch: ProbeFetch = (url, init) => fetch(url, init);

/** Which side of a check a connector is on, for error messages. */
function sideOf(check: CheckConfig, name: string): string {
  const c = check as { source?: string; target?: string };
  return name === c.source ? 'source' : name === c.target ? 'target' : 'connector';
}

/**
 * The connector with every failure prefixed by the side and the connector, so "password authentication
 * failed" reads "target connector "dst" (postgres:public.items): password authentication failed".
 */
function namedSide(c: SourceConnector, side: string, name: string): SourceConnector {
  const prefix = () => `${side} connector "${name}" (${c.label})`;
  const wrap = (e: unknown): never => {
    const err = e instanceof Error ? e : new Error(String(e));
    if (!err.message.startsWith(`${side} connector "`)) err.message = `${prefix()}: ${err.message.startsWith(`${c.label}: `) ? err.message.slice(c.label.length + 2) : err.message}`;
    throw err;
  };
  return new Proxy(c, {
    get(target, prop, receiver) {
      // what the engine itself reports about this connector (order, duplicate keys) names the side too
      if (prop === 'label') return prefix();
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        let out: unknown;
        try {
          out = (v as (...a: unknown[]) => unknown).apply(target, args);
        } catch (e) {
          return wrap(e);
        }
        if (out instanceof Promise) return out.catch(wrap);
        if (out && typeof (out as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
          const it = out as AsyncIterable<unknown>;
          return (async function* () {
            try {
              yield* it;
            } catch (e) {
              wrap(e);
            }
          })();
        }
        return out;
      };
    },
  });
}
