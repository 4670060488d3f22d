import { z } from 'zod';
import type { PhaseDef, SubTaskDef } from './plan';

export type PhaseStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'skipped';
export type MigrationStatus = 'not_started' | 'in_progress' | 'paused' | 'completed' | 'failed';
export const ALERT_SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export interface SubTaskState extends SubTaskDef {
  status: PhaseStatus;
  progress: number;
  startedAt?: number;
  completedAt?: number;
  updatedAt?: number;
  error?: string;
  skipReason?: string;
}

export interface PhaseState extends Omit<PhaseDef, 'subTasks'> {
  status: PhaseStatus;
  /** 0–100. Derived from sub-tasks when the phase has any. */
  progress: number;
  startedAt?: number;
  completedAt?: number;
  /** Last time a reporter said anything about this phase. */
  updatedAt?: number;
  /** Last time the progress value changed (stall detection). */
  progressChangedAt?: number;
  /** Minutes, set on completion/failure. */
  actualDuration?: number;
  error?: string;
  skipReason?: string;
  attempts: number;
  /** When the reporter promised its next update (from `nextUpdateSeconds`). */
  nextUpdateDueAt?: number;
  /** The reporter's promised interval, renewed by each of its reports. */
  nextUpdateSeconds?: number;
  /** Set by the staleness sweep when the reporter went quiet past nextUpdateDueAt. */
  stale: boolean;
  metadata: Record<string, unknown>;
  errors: string[];
  warnings: string[];
  subTasks: SubTaskState[];
  /** Who is working the phase: set on start, used to detect two runs on one phase. */
  runId?: string;
}

export interface Alert {
  id: string;
  severity: AlertSeverity;
  message: string;
  phaseId?: string;
  createdAt: number;
  source: 'reporter' | 'system';
  acknowledged: boolean;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
}

export const metricsSchema = z.strictObject({
  /** bytes */
  totalDataMigrated: z.number().nonnegative(),
  /** bytes per second */
  migrationSpeed: z.number().nonnegative(),
  /** percent 0–100 */
  errorRate: z.number().min(0).max(100),
  successfulOperations: z.number().int().nonnegative(),
  failedOperations: z.number().int().nonnegative(),
  /** milliseconds */
  averageOperationTime: z.number().nonnegative(),
  resourceUtilization: z.strictObject({
    /** percent */
    cpu: z.number().min(0).max(100),
    /** percent */
    memory: z.number().min(0).max(100),
    /** bytes per second */
    network: z.number().nonnegative(),
    /** bytes */
    storage: z.number().nonnegative(),
  }),
  costMetrics: z.strictObject({
    estimatedCost: z.number().nonnegative(),
    actualCost: z.number().nonnegative(),
    costPerGB: z.number().nonnegative(),
    /** ISO 4217 code of the cost figures (default USD, as seed 003 documents). */
    currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as USD or EUR').optional(),
  }),
});
export type MigrationMetrics = z.output<typeof metricsSchema>;

export const emptyMetrics = (): MigrationMetrics => ({
  totalDataMigrated: 0,
  migrationSpeed: 0,
  errorRate: 0,
  successfulOperations: 0,
  failedOperations: 0,
  averageOperationTime: 0,
  resourceUtilization: { cpu: 0, memory: 0, network: 0, storage: 0 },
  costMetrics: { estimatedCost: 0, actualCost: 0, costPerGB: 0 },
});

export interface ControlEvent {
  type: 'pause' | 'resume';
  at: number;
  actor: string;
  reason?: string;
}

/** The whole state of one migration: one document in every store. */
export interface MigrationState {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  /** First phase start; the ETA's clock starts here. */
  startedAt?: number;
  completedAt?: number;
  paused: boolean;
  pausedAt?: number;
  /** Total milliseconds spent paused before the current pause (ETA excludes paused time). */
  pausedMs: number;
  phases: PhaseState[];
  alerts: Alert[];
  metrics: MigrationMetrics;
  metricsUpdatedAt?: number;
  controlEvents: ControlEvent[];
  /** Monotonic counter for alert ids. */
  alertSeq: number;
  /** Metric fields a reporter has set at least once (`totalDataMigrated`, `resourceUtilization.cpu`...): the others show "—", not 0. */
  metricsReported?: string[];
  /** Progress reports received (phase and sub-task updates and completions): the ETA's sample count. */
  progressSamples?: number;
  /** The latest validation run posted to the tracker (reports show it). */
  lastValidation?: ValidationSummary;
  /** Status reports delivered for this migration: count per channel, and the latest. */
  reports?: { produced: Record<string, number>; lastAt: number; lastReportId: string };
}

/** A validation run as the tracker keeps it: verdict and one line per check. */
export interface ValidationSummary {
  at: number;
  runId?: string;
  verdict: 'pass' | 'fail';
  checks: Array<{ name: string; kind: string; passed: boolean; summary: string }>;
}

/** One line of the activity log: every change, who made it and when. */
export interface ActivityEntry {
  at: number;
  actor: string;
  action: string;
  message: string;
  phaseId?: string;
  subTaskId?: string;
  details?: Record<string, unknown>;
  /** Version of the migration document this change produced (stores use it to de-duplicate). */
  version?: number;
}

/** Bounds that keep the document small enough for every store (DynamoDB items are ≤ 400 KB). */
export const LIMITS = {
  maxAlerts: 300,
  maxControlEvents: 100,
  maxPhaseMessages: 20,
  maxMetadataBytes: 4096,
  maxBodyBytes: 256 * 1024,
  /** Deepest nesting of objects and arrays a request body may have (checked on the raw text, before parsing). */
  maxJsonDepth: 32,
} as const;
