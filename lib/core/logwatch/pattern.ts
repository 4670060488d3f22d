/** One log pattern: what a line must look like and what it does to the tracker (the schema users write). */
import * as z from 'zod';
import { ALERT_SEVERITIES } from '../model';
import type { MetricName } from '../metrics/spec';

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
export const fieldMatcherSchema = z.union([z.string().max(1000), z.number(), z.boolean(), z.strictObject({ regex: regexText, flags: regexFlags })]);

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
  /**
   * Successful operations on the tracker's metrics, so failures have a denominator: `one` counts 1; `events`
   * counts the growth of the events_count running total (per migration and tenant, a repeated total adds 0).
   * With `phase`, only lines of the run that owns that phase count (a conflicting run's copies are not trusted).
   */
  z.strictObject({ do: z.literal('count_success'), value: z.enum(['one', 'events']).default('one'), phase: phaseRef.optional() }),
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
