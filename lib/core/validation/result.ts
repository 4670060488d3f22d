import type { CheckKind } from './config';

/** The outcome of one check: pass/fail, a one-line summary and the evidence behind it. */
export interface CheckResult {
  name: string;
  kind: CheckKind;
  passed: boolean;
  /** One line, e.g. `p95 24.1 ms <= 30 ms over 100 requests`. */
  summary: string;
  /** Counts, percentiles, mismatching keys (up to the configured limit) ... kind-specific. */
  evidence: Record<string, unknown>;
  durationMs: number;
  /** Set when the check could not run (connection refused, permission denied...): it then fails. */
  error?: string;
  /** The result was carried over from an interrupted run (`--resume`). */
  resumed?: boolean;
}

/** A metric value emitted by the run, by its monitoring-spec name. */
export interface EmittedMetric {
  name: string;
  value: number;
  dimensions: Record<string, string>;
  mode: 'add' | 'set' | 'observe';
}

export interface ValidationReport {
  name?: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  verdict: 'pass' | 'fail';
  totals: { checks: number; passed: number; failed: number; notRun: number };
  checks: CheckResult[];
  /** Checks not run because of failFast or an abort. */
  notRun: string[];
  /** The run continued from a checkpoint. */
  resumed: boolean;
  /** The run was stopped (signal) before every check ran; its checkpoint is kept for --resume. */
  interrupted: boolean;
  warnings: string[];
  metrics: EmittedMetric[];
  /** What was posted to the tracker, when a tracker is configured. */
  tracker?: TrackerPosting;
}

export interface TrackerPosting {
  url: string;
  migrationId?: string;
  phase: string;
  /** What happened to the phase: started, already in progress, blocked by dependencies, not in the plan... */
  phaseStatus: string;
  progressUpdates: number;
  recorded: boolean;
  problems: string[];
}

/** Thrown inside a check when its own input is unusable; the engine turns it into a failed result. */
export class CheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckError';
  }
}
