import * as z from './zod';
import type { PhaseDef, SubTaskDef } from './plan';

export type PhaseStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'skipped';
export type MigrationStatus = 'not_started' | 'in_progress' | 'paused' | 'completed' | 'failed' | 'rolled_back';
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
  /** Set when a validation run failed the phase (record_validation): health reads whether it was a gate. */
  failedBy?: { kind: 'validation'; gate: boolean; runId?: string };
  /** Last activity entry for a report that did not move the progress (heartbeats log once a minute). */
  heartbeatLoggedAt?: number;
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
  /** The condition a system alert stands for: when it clears (phase retried, reporter back), a resolved notice goes out. */
  condition?: AlertCondition;
}

export const ALERT_CONDITIONS = ['phase_failed', 'phase_stale', 'validation_failed'] as const;
export type AlertCondition = (typeof ALERT_CONDITIONS)[number];

/** Who an alert notice goes to (lib/core/alerts/config.ts). */
export type NoticeDestination = 'email' | 'pager' | 'slack';

/** One alert key (severity, phase, message with numbers masked) while it notifies: notified once, then counted. */
export interface AlertIncident {
  key: string;
  severity: AlertSeverity;
  phaseId?: string;
  condition?: AlertCondition;
  /** The latest message of the key. */
  message: string;
  firstAt: number;
  lastAt: number;
  /** Alerts raised under this key (all of them, the deduplicated included). */
  count: number;
  /** The newest alert ids of the key (bounded). */
  alertIds: string[];
  state: 'open' | 'acknowledged' | 'resolved';
  closedAt?: number;
  closedBy?: string;
  /** Destinations a notice of this incident reached (a resolved notice goes to these). */
  delivered: NoticeDestination[];
  /** Last time a notice of it was queued (alert or reminder): the dedup window and re-notify interval count from here. */
  lastNotifiedAt?: number;
  reminders: number;
}

/** A message waiting in the durable outbox (the tracker's store): sent at least once, retried with backoff. */
export interface AlertNotice {
  id: string;
  destination: NoticeDestination;
  kind: 'alert' | 'reminder' | 'resolved';
  incidentKey: string;
  createdAt: number;
  /** Not before: the end of the burst window or of the digest interval. */
  dueAt: number;
  attempts: number;
  nextAttemptAt: number;
  /** A dispatcher is sending it until then (another one leaves it alone). */
  claimedUntil?: number;
  lastError?: string;
}

/** Alert routing state of one migration, committed with the change that raised the alert (a transactional outbox). */
export interface NotificationState {
  seq: number;
  incidents: AlertIncident[];
  outbox: AlertNotice[];
  /** Messages delivered and attempts failed, per destination (cumulative). */
  delivered: Partial<Record<NoticeDestination, number>>;
  failed: Partial<Record<NoticeDestination, number>>;
  /** Notices given up after the last retry. */
  dropped: number;
  lastFailure?: { at: number; destination: NoticeDestination; error: string };
}

export const metricsSchema = z.strictObject({
  /** bytes */
  totalDataMigrated: z.number().check(z.nonnegative()),
  /** bytes per second */
  migrationSpeed: z.number().check(z.nonnegative()),
  /** percent 0–100 */
  errorRate: z.number().check(z.gte(0), z.lte(100)),
  successfulOperations: z.number().check(z.int(), z.nonnegative()),
  failedOperations: z.number().check(z.int(), z.nonnegative()),
  /** milliseconds */
  averageOperationTime: z.number().check(z.nonnegative()),
  resourceUtilization: z.strictObject({
    /** percent */
    cpu: z.number().check(z.gte(0), z.lte(100)),
    /** percent */
    memory: z.number().check(z.gte(0), z.lte(100)),
    /** bytes per second */
    network: z.number().check(z.nonnegative()),
    /** bytes */
    storage: z.number().check(z.nonnegative()),
  }),
  costMetrics: z.strictObject({
    estimatedCost: z.number().check(z.nonnegative()),
    actualCost: z.number().check(z.nonnegative()),
    costPerGB: z.number().check(z.nonnegative()),
    /** ISO 4217 code of the cost figures (default USD, as seed 003 documents). */
    currency: z.optional(z.string().check(z.regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as USD or EUR'))),
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
  /** Whom the actor said they acted for (X-Actor). */
  onBehalfOf?: string;
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
  /**
   * The search proxy's last stage move (`migration-monitor cutover` / `rollback`): to which stage, by whom, why.
   * `rolledBack` makes the migration's status `rolled_back` until the next cutover.
   */
  cutover?: { stage: string; from?: string; at: number; actor: string; onBehalfOf?: string; reason?: string; forced: boolean; rolledBack: boolean };
  /** Status reports delivered for this migration: count per channel, and the latest. */
  reports?: { produced: Record<string, number>; lastAt: number; lastReportId: string };
  /** Alert notifications: incidents, the outbox of messages to send, delivery counts (lib/core/alerts). */
  notifications?: NotificationState;
}

/** A validation run as the tracker keeps it: verdict and one line per check. */
export interface ValidationSummary {
  at: number;
  runId?: string;
  verdict: 'pass' | 'fail';
  /** The whole run is a cutover gate: its failure makes the migration unhealthy (otherwise degraded). */
  gate?: boolean;
  /** `gate` on a check: its failure alone makes the migration unhealthy. */
  checks: Array<{ name: string; kind: string; passed: boolean; summary: string; gate?: boolean }>;
}

/** One line of the activity log: every change, who made it and when. */
export interface ActivityEntry {
  at: number;
  /** The authenticated author (token name, IAM principal, or `anonymous` without auth). */
  actor: string;
  /** Whom the author said they acted for (X-Actor): a claim, kept beside the authenticated name. */
  onBehalfOf?: string;
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
