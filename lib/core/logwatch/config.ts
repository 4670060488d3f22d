import { z } from 'zod';
import { ALERT_SEVERITIES } from '../model';
import { METRICS, type MetricName } from '../monitoring-spec';
import { idSchema, validatePlan, type PhaseDef } from '../plan';
import { parseOrThrow } from '../validation-util';
import { DEFAULT_PATTERNS, DEFAULT_PHASE_MAP, LOG_PLAN } from './defaults';

/** A regular expression given as text: compiled once here so a bad one is a config error, not a crash later. */
const regexText = z
  .string()
  .min(1)
  .max(1000)
  .refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, 'is not a valid regular expression');

const regexFlags = z.string().regex(/^[imsu]*$/, 'flags may only use i, m, s, u').default('i');

/** A JSON field matcher: a string is an exact (case-insensitive) match, `{regex}` a regular expression. */
const fieldMatcherSchema = z.union([z.string().max(1000), z.number(), z.boolean(), z.strictObject({ regex: regexText, flags: regexFlags })]);

const phaseRef = z.string().min(1).max(100);

/** Metrics an action can feed (by monitoring-spec name). */
const observableMetrics = ['EventsCopied', 'EventsTotal', 'SyncLag', 'DualWriteFailures', 'CutoverPause', 'VerificationViolations'] as const satisfies readonly MetricName[];

/**
 * What a matched line does. Phases named here go through `phaseMap`; an action without `phase` uses the
 * line's `phase` field and, for complete/fail, falls back to the phases this run has in progress.
 */
export const actionSchema = z.discriminatedUnion('do', [
  /** `fallbackPhase`: started when the line names no known phase. */
  z.strictObject({ do: z.literal('start_phase'), phase: phaseRef.optional(), fallbackPhase: phaseRef.optional() }),
  /** Progress from the `progress` field (0-100) or events_count / events_total; a heartbeat when neither is there. */
  z.strictObject({ do: z.literal('progress'), phase: phaseRef.optional() }),
  z.strictObject({ do: z.literal('complete_phase'), phase: phaseRef.optional() }),
  z.strictObject({ do: z.literal('fail_phase'), phase: phaseRef.optional() }),
  z.strictObject({
    do: z.literal('alert'),
    severity: z.enum(ALERT_SEVERITIES),
    phase: phaseRef.optional(),
    /** Message template: `{message}`, `{line}` and any `{field}` are replaced. Default: the line's message. */
    message: z.string().min(1).max(500).optional(),
  }),
  /** One more failed operation on the tracker's metrics (drives the error-rate alarm). */
  z.strictObject({ do: z.literal('count_failure') }),
  /** A failed verification recorded as a validation run (raises the tracker's validation alert). */
  z.strictObject({ do: z.literal('validation_failed'), check: z.string().min(1).max(200).default('consistency') }),
  /** Feed a monitoring-spec metric (Prometheus / EMF), not the tracker. */
  z.strictObject({
    do: z.literal('observe'),
    metric: z.enum(observableMetrics),
    /**
     * one: count 1; duration: the duration_ms field (converted to the metric's unit); events / events_total /
     * sync_lag: those fields. A counter whose field is missing counts 1; a gauge or histogram is left alone.
     */
    value: z.enum(['one', 'duration', 'events', 'events_total', 'sync_lag']).default('one'),
    /** The field is a running total (e.g. events copied so far): a counter is set to it, not added to. */
    cumulative: z.boolean().default(false),
  }),
]);
export type LogAction = z.output<typeof actionSchema>;
export type ObservableMetric = (typeof observableMetrics)[number];

export const patternSchema = z
  .strictObject({
    name: z.string().min(1).max(100),
    /** Tested against the line (plain text) or its message field (JSON). Named groups become fields. */
    regex: regexText.optional(),
    flags: regexFlags,
    /** Every listed field must match (JSON fields, `key=value` pairs of plain lines, or regex groups). */
    fields: z.record(z.string().min(1).max(200), fieldMatcherSchema).optional(),
    actions: z.array(actionSchema).min(1).max(10),
  })
  .refine((p) => p.regex !== undefined || (p.fields !== undefined && Object.keys(p.fields).length > 0), {
    message: 'a pattern needs "regex" or at least one entry in "fields"',
  });
export type LogPattern = z.output<typeof patternSchema>;
export type LogPatternInput = z.input<typeof patternSchema>;

/** Where the well-known structured fields are found (dot paths reach into nested JSON). */
const fieldNamesSchema = z.strictObject({
  migrationId: z.string().default('migration_id'),
  tenantId: z.string().default('tenant_id'),
  phase: z.string().default('phase'),
  operation: z.string().default('operation'),
  durationMs: z.string().default('duration_ms'),
  eventsCount: z.string().default('events_count'),
  eventsTotal: z.string().default('events_total'),
  progress: z.string().default('progress'),
  syncLag: z.string().default('sync_lag_events'),
  runId: z.string().default('run_id'),
  error: z.string().default('error'),
});

export const logWatchConfigSchema = z.strictObject({
  /** Tracker migration for lines that carry no migration_id. */
  defaultMigrationId: idSchema.default('default'),
  /** Your patterns, tried in order before the defaults. */
  patterns: z.array(patternSchema).max(200).default([]),
  /** Keep the well-known events (Migration started, Bulk copy progress, ...) after your patterns. */
  useDefaultPatterns: z.boolean().default(true),
  /** Log phase names (and the defaults' phase ids) → tracker phase ids. Names are compared lower-case with `_` as `-`. */
  phaseMap: z.record(z.string().min(1).max(100), idSchema).default({}),
  fields: fieldNamesSchema.default(() => fieldNamesSchema.parse({})),
  /** JSON fields that hold the message, first present wins. */
  messageFields: z.array(z.string().min(1)).min(1).max(10).default(['message', 'msg', 'event']),
  /** Create an unknown migration with `plan` on its first line (otherwise its lines are rejected). */
  autoInitialize: z.boolean().default(true),
  /** Plan for auto-initialized migrations. Default: bulk-copy → dual-write → cutover. */
  plan: z.array(z.unknown()).optional(),
  /** Tell the tracker to expect another line within this many seconds (silence marks the phase stale). */
  expectUpdateWithinSeconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
  /** Lines longer than this are malformed (counted and skipped). */
  maxLineBytes: z.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024),
});
export type LogWatchConfigInput = z.input<typeof logWatchConfigSchema>;

export interface CompiledPattern {
  name: string;
  regex?: RegExp;
  fields: Array<{ name: string; test: (v: unknown) => boolean }>;
  actions: LogAction[];
}

export interface LogWatchConfig extends Omit<z.output<typeof logWatchConfigSchema>, 'patterns' | 'plan'> {
  patterns: CompiledPattern[];
  plan: PhaseDef[];
}

/** Validate a config object (from JSON/YAML or code); errors name the offending path. */
export function parseLogWatchConfig(input: unknown = {}): LogWatchConfig {
  const c = parseOrThrow(logWatchConfigSchema, input ?? {}, 'log-watch config');
  const plan = c.plan === undefined ? LOG_PLAN : validatePlan(c.plan);
  const patterns = [...c.patterns, ...(c.useDefaultPatterns ? DEFAULT_PATTERNS.map((p) => patternSchema.parse(p)) : [])].map(compilePattern);
  return { ...c, plan, patterns, phaseMap: { ...DEFAULT_PHASE_MAP, ...normalizeKeys(c.phaseMap) } };
}

function compilePattern(p: LogPattern): CompiledPattern {
  return {
    name: p.name,
    regex: p.regex === undefined ? undefined : new RegExp(p.regex, p.flags),
    fields: Object.entries(p.fields ?? {}).map(([name, m]) => ({ name, test: fieldTest(m) })),
    actions: p.actions,
  };
}

function fieldTest(m: z.output<typeof fieldMatcherSchema>): (v: unknown) => boolean {
  if (typeof m === 'object') {
    const re = new RegExp(m.regex, m.flags);
    return (v) => v !== undefined && v !== null && re.test(String(v));
  }
  const want = String(m).toLowerCase();
  return (v) => v !== undefined && v !== null && String(v).toLowerCase() === want;
}

/** Log phase names are compared lower-case, with `_` and spaces read as `-`. */
export const normalizePhaseName = (s: string): string => s.trim().toLowerCase().replace(/[\s_]+/g, '-');

function normalizeKeys(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [normalizePhaseName(k), v]));
}

export const metricUnitOf = (m: ObservableMetric) => METRICS[m].unit;
