import * as z from 'zod';
import { METRICS } from '../metrics/spec';
import { idSchema, validatePlan, type PhaseDef } from '../plan';
import { parseOrThrow } from '../validation-util';
import { DEFAULT_PATTERNS, DEFAULT_PHASE_MAP, LOG_PLAN } from './defaults';
import { fieldMatcherSchema, patternSchema, type LogAction, type LogPattern, type ObservableMetric } from './pattern';

/** A regular expression given as text: compiled once here so a bad one is a config error, not a crash later. */


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
