/**
 * Alert routing, configured once per environment: where each severity goes, and the rules that keep people
 * from being flooded (dedup window, burst grouping, digest, re-notify of unacknowledged alerts, retries).
 */
import * as z from 'zod';
import { ALERT_SEVERITIES, type AlertSeverity } from '../model';

/** Who an alert reaches: an on-call e-mail list, a pager (an SNS subscription filtering on severity on AWS), Slack. */
export const DESTINATIONS = ['email', 'pager', 'slack'] as const;
export type Destination = (typeof DESTINATIONS)[number];

const ruleSchema = z.strictObject({
  /** Destinations; empty = the dashboard only. */
  to: z.array(z.enum(DESTINATIONS)).max(DESTINATIONS.length),
  /** `immediate`: within the burst window; `digest`: collected and sent every `digestSeconds`. */
  mode: z.enum(['immediate', 'digest']).default('immediate'),
  /** Re-notify while the alert stays unacknowledged (escalation), every `renotifySeconds`. */
  renotify: z.boolean().default(false),
});
export type SeverityRule = z.output<typeof ruleSchema>;

const seconds = (max: number) => z.number().int().min(0).max(max);

export const alertRoutingSchema = z.strictObject({
  rules: z
    .strictObject({ critical: ruleSchema.optional(), error: ruleSchema.optional(), warning: ruleSchema.optional(), info: ruleSchema.optional() })
    .default({}),
  /** The same alert (severity, phase, message with numbers masked) within this window notifies once, then counts. */
  dedupSeconds: seconds(7 * 86400).default(900),
  /** A notice waits this long so a burst of alerts leaves as one message. */
  groupSeconds: seconds(3600).default(20),
  /** Digest rules send at most once per this interval. */
  digestSeconds: seconds(86400).default(900),
  /** Unacknowledged alerts of `renotify` rules are sent again after this long. */
  renotifySeconds: z.number().int().min(60).max(7 * 86400).default(1800),
  retry: z
    .strictObject({
      /** First retry after this many seconds; doubles per failure up to maxSeconds. */
      baseSeconds: z.number().int().min(1).max(3600).default(15),
      maxSeconds: z.number().int().min(1).max(86400).default(3600),
      /** Failed attempts before a notice is given up (and counted as dropped). */
      maxAttempts: z.number().int().min(1).max(100).default(20),
    })
    .default({ baseSeconds: 15, maxSeconds: 3600, maxAttempts: 20 }),
  /** Links every message carries. `{migration}` in a URL is replaced by the migration id. */
  links: z
    .strictObject({
      dashboardUrl: z.url().optional(),
      reportUrl: z.url().optional(),
      runbookUrl: z.url().optional(),
    })
    .default({}),
});
export type AlertRoutingInput = z.input<typeof alertRoutingSchema>;
export type AlertRoutingSettings = z.output<typeof alertRoutingSchema>;

/** The defaults of the issue: critical → e-mail and pager (re-notified until acknowledged), error → Slack, warning → Slack digest, info → dashboard. */
export const DEFAULT_RULES: Record<AlertSeverity, SeverityRule> = {
  critical: { to: ['email', 'pager'], mode: 'immediate', renotify: true },
  error: { to: ['slack'], mode: 'immediate', renotify: false },
  warning: { to: ['slack'], mode: 'digest', renotify: false },
  info: { to: [], mode: 'immediate', renotify: false },
};

/** Routing as the router uses it: every severity has a rule. */
export interface AlertRouting extends Omit<AlertRoutingSettings, 'rules'> {
  rules: Record<AlertSeverity, SeverityRule>;
}

/**
 * The settings resolved against the defaults and against the destinations this runtime can reach: a destination
 * with no channel configured is dropped from every rule, so nothing waits in the outbox for a channel that
 * does not exist (the dashboard still shows the alert).
 */
export function resolveRouting(input: AlertRoutingInput | undefined, available: readonly Destination[]): AlertRouting {
  const s = alertRoutingSchema.parse(input ?? {});
  const rules = {} as Record<AlertSeverity, SeverityRule>;
  for (const sev of ALERT_SEVERITIES) {
    const r = s.rules[sev] ?? DEFAULT_RULES[sev];
    rules[sev] = { ...r, to: [...new Set(r.to)].filter((d) => available.includes(d)) };
  }
  return { ...s, rules };
}
