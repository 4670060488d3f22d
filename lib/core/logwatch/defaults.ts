import { validatePlan, type PhaseDef } from '../plan';
import type { LogPatternInput } from './pattern';

/**
 * The plan an unknown migration gets when the watcher meets it first: the lifecycle the well-known log
 * events describe (bulk copy → dual-write → cutover). Map it onto your own plan with `phaseMap`.
 */
export const LOG_PLAN: PhaseDef[] = validatePlan([
  {
    id: 'bulk-copy',
    name: 'Bulk copy',
    description: 'Existing events copied from the source store to the target',
    estimatedDuration: 120,
  },
  {
    id: 'dual-write',
    name: 'Dual-write',
    description: 'New writes go to both stores while the target catches up',
    dependencies: ['bulk-copy'],
    estimatedDuration: 60,
  },
  {
    id: 'cutover',
    name: 'Cutover',
    description: 'Writes paused, consistency verified, routing switched to the target',
    dependencies: ['dual-write'],
    estimatedDuration: 10,
  },
]);

/** How the migration system's `phase` field values read as plan phases (keys are normalized: lower-case, `-`). */
export const DEFAULT_PHASE_MAP: Record<string, string> = {
  'bulk-copy': 'bulk-copy',
  'dual-write': 'dual-write',
  cutover: 'cutover',
  'cutover-paused': 'cutover',
};

const event = (name: string) => `\\b${name.replace(/ /g, '\\s+')}\\b`;

/**
 * The well-known migration log events, in the order they are tried. Matched case-insensitively in the
 * line (plain text) or its message field (JSON). Phase ids pass through `phaseMap`, so a plan with other
 * phase ids only needs a map, not new patterns.
 */
export const DEFAULT_PATTERNS: LogPatternInput[] = [
  { name: 'Migration started', regex: event('Migration started'), actions: [{ do: 'start_phase', fallbackPhase: 'bulk-copy' }] },
  {
    name: 'Bulk copy progress',
    regex: event('Bulk copy progress'),
    actions: [
      { do: 'progress', phase: 'bulk-copy' },
      { do: 'count_success', value: 'events', phase: 'bulk-copy' },
      { do: 'observe', metric: 'EventsCopied', value: 'events', cumulative: true },
      { do: 'observe', metric: 'EventsTotal', value: 'events_total' },
    ],
  },
  {
    name: 'Bulk copy complete',
    regex: event('Bulk copy complete(?:d)?'),
    actions: [
      { do: 'complete_phase', phase: 'bulk-copy' },
      { do: 'count_success', value: 'events', phase: 'bulk-copy' },
      { do: 'start_phase', phase: 'dual-write' },
      { do: 'observe', metric: 'EventsCopied', value: 'events', cumulative: true },
    ],
  },
  {
    name: 'Target write failed',
    regex: event('Target write failed'),
    actions: [{ do: 'count_failure' }, { do: 'observe', metric: 'DualWriteFailures' }],
  },
  {
    name: 'Cutover initiated',
    regex: event('Cutover initiated'),
    actions: [
      { do: 'complete_phase', phase: 'dual-write' },
      { do: 'start_phase', phase: 'cutover' },
    ],
  },
  {
    name: 'Cutover timeout',
    regex: event('Cutover timeout'),
    actions: [
      { do: 'alert', severity: 'critical', phase: 'cutover', message: 'Cutover timeout: {message}' },
      { do: 'observe', metric: 'CutoverPause', value: 'duration' },
    ],
  },
  {
    name: 'Consistency check failed',
    regex: event('Consistency check failed'),
    actions: [
      { do: 'validation_failed', check: 'consistency' },
      { do: 'observe', metric: 'VerificationViolations', value: 'events' },
    ],
  },
  { name: 'Migration completed', regex: event('Migration completed'), actions: [{ do: 'complete_phase' }] },
  { name: 'Migration failed', regex: event('Migration failed'), actions: [{ do: 'fail_phase' }] },
];
