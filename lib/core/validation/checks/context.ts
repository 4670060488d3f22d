import type { CheckOf, CheckKind, ValidationConfig } from '../config';
import type { SourceConnector } from '../connector';
import type { MetricsSink, ResourceChecker, Spooler, Timer } from '../ports';

/** What a fetch implementation must offer (global fetch fits). */
export type ProbeFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal; redirect?: 'manual' | 'follow' },
) => Promise<{ status: number; text(): Promise<string> }>;

/** Everything a check may use; the engine builds it once per run. */
export interface CheckContext {
  config: ValidationConfig;
  /** The named connector, created on first use and closed when the run ends. */
  connector(name: string): SourceConnector;
  resources: { aws?: ResourceChecker; gcp?: ResourceChecker };
  fetch: ProbeFetch;
  timer: Timer;
  spooler: Spooler;
  metrics: MetricsSink;
  signal?: AbortSignal;
  /** Saved position of this check in an interrupted run, if resuming. */
  resumeState?: unknown;
  /** Save this check's position (streaming checks call it every `checkpointEvery` records). */
  saveState(state: unknown): Promise<void>;
}

export interface CheckOutcome {
  passed: boolean;
  summary: string;
  evidence: Record<string, unknown>;
}

export type CheckRunner<K extends CheckKind> = (check: CheckOf<K>, ctx: CheckContext) => Promise<CheckOutcome>;

export const fmtMs = (x: number): string => `${Math.round(x * 100) / 100} ms`;
export const fmtPct = (x: number): string => `${Math.round(x * 100) / 100}%`;

/** A match percentage that never reads 100 % unless everything matched (rounded down otherwise). */
export const exactPct = (x: number, all: boolean): string => (all ? '100%' : `${Math.min(99.99, Math.floor(x * 100) / 100)}%`);
