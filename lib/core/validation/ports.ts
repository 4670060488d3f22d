import type { ObservationSink } from '../metrics/observation';
import type { Key, KeyRange, Row } from './connector';
import type { CheckResult } from './result';

/**
 * Receives monitoring-spec metric observations (the EMF sink in Lambda, the Prometheus registry locally);
 * flushed at the end of a run when it buffers.
 */
export type MetricsSink = ObservationSink & { flush?(): Promise<void> | void };

/** Checks whether a cloud resource exists and is ready (DynamoDB table ACTIVE, bucket present, Lambda Active). */
export interface ResourceChecker {
  check(spec: ResourceSpec, signal?: AbortSignal): Promise<ResourceStatus>;
}
export type ResourceSpec =
  | { cloud: 'aws'; resource: 'dynamodb-table' | 's3-bucket' | 'lambda-function'; name: string; region?: string; endpoint?: string }
  | { cloud: 'gcp'; resource: 'gcs-bucket'; name: string; projectId?: string; apiEndpoint?: string };
export interface ResourceStatus {
  ok: boolean;
  /** `ACTIVE`, `exists`, `not found`, `CREATING`... */
  state: string;
  details: Record<string, unknown>;
}

/** Where a run keeps its progress so `--resume` continues after an interruption. */
export interface CheckpointStore {
  load(runKey: string): Promise<RunCheckpoint | null>;
  save(runKey: string, cp: RunCheckpoint): Promise<void>;
  clear(runKey: string): Promise<void>;
}

export interface RunCheckpoint {
  version: 1;
  runId: string;
  /** Hash of the config: a checkpoint of another config is never resumed. */
  configHash: string;
  startedAt: string;
  savedAt: string;
  /** Checks already finished, by name. */
  done: Record<string, CheckResult>;
  /** Position of a streaming check in progress. */
  inProgress?: { check: string; state: unknown };
}

/**
 * Sorts rows of an unordered connector by key with bounded memory (runs spilled to disk and merged) and
 * serves range scans over the result.
 */
export interface Spooler {
  sort(rows: AsyncIterable<Row[]>, opts: { label: string; signal?: AbortSignal }): Promise<SortedRows>;
}
export interface SortedRows {
  readonly count: number;
  scan(range: KeyRange, batchSize: number): AsyncIterable<Row[]>;
  close(): Promise<void>;
}

/** A monotonic time source in milliseconds for latency measurements (tests substitute a manual one). */
export interface Timer {
  now(): number;
}

/** Progress callbacks (the tracker poster implements them). */
export interface ValidationObserver {
  onRunStart?(info: { runId: string; checks: string[]; resumed: boolean }): Promise<void> | void;
  onCheckDone?(result: CheckResult, index: number, total: number): Promise<void> | void;
}

export type { Key };
