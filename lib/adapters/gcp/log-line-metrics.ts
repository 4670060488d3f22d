import { specLabels, type Observation, type ObservationSink } from '../../core/metrics/observation';
import { METRICS } from '../../core/metrics/spec';
import { ALERT_LINE_FIELD, alertSignalOf, type AlertSignal } from '../../core/alerts/signals';
import type { AlertSeverity } from '../../core/model';
import { parseTraceparent, tracer, type SpanContext } from '../../core/tracing';

let traceProject: string | undefined;
/** The project whose Cloud Trace the log lines link to (set by lib/compose/tracing.ts on Cloud Run); unset = no trace fields. */
export function setTraceProject(project: string | undefined): void {
  traceProject = project;
}

/** `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` (span id in decimal) → a span context. */
export function cloudTraceContext(header: string | undefined): SpanContext | null {
  const m = /^([0-9a-f]{32})\/(\d{1,20})(?:;o=([01]))?$/i.exec(header ?? '');
  if (!m) return null;
  const spanId = BigInt(m[2]!).toString(16).padStart(16, '0');
  return spanId.length === 16 && !/^0+$/.test(spanId) ? { traceId: m[1]!.toLowerCase(), spanId, sampled: m[3] === '1' } : null;
}

/**
 * Cloud Logging's trace fields (`logging.googleapis.com/trace`, `…/spanId`, `…/trace_sampled`), so a log line
 * opens its trace in Cloud Trace: from the active span (tracing on), else from the request's `traceparent` or
 * `X-Cloud-Trace-Context` (Cloud Run's own request trace), else none.
 */
export function traceFields(headers?: Record<string, string>): Record<string, unknown> {
  if (!traceProject) return {};
  const span = tracer().activeSpan();
  const c: SpanContext | null = span?.traceId ? { traceId: span.traceId, spanId: span.spanId, sampled: span.recording } : headers ? (parseTraceparent(headers['traceparent']) ?? cloudTraceContext(headers['x-cloud-trace-context'])) : null;
  if (!c) return {};
  return { 'logging.googleapis.com/trace': `projects/${traceProject}/traces/${c.traceId}`, 'logging.googleapis.com/spanId': c.spanId, 'logging.googleapis.com/trace_sampled': c.sampled };
}

/**
 * Spec metrics as Cloud Run log lines: the one writer of the shape the GCP log-based metrics read
 * (lib/constructs/gcp/log-metrics.ts). Each line is a JSON object on stdout, which Cloud Logging keeps as
 * `jsonPayload`: the spec name is a top-level field holding the value (`jsonPayload.BreakerState`), the
 * dimensions sit beside it under their spec names (`jsonPayload.Breaker`), as in an EMF document on AWS.
 *
 * - counters: one line per event (the log-based metric counts lines whose value is > 0);
 * - histograms: one line per observation (the value extractor reads the distribution);
 * - gauges: a line when the value changes, and again at most every `gaugeRepeatMs` while it is recorded, so
 *   a state that holds (a breaker that stays open) keeps its alert firing without a line per request.
 *
 * An observation that raises an alert (lib/core/alerts/signals.ts: a failed validation, a breaker opening, an
 * undelivered report) also gets its structured alert line (`alertLine`), which the log-match alert policies read.
 */
export interface LogLineMetricsOptions {
  write?: (line: string) => void;
  /** Repeat an unchanged gauge this often while it keeps being recorded. Default 60 s (the shortest alert window). */
  gaugeRepeatMs?: number;
  now?: () => number;
}

export class LogLineMetrics implements ObservationSink {
  private readonly write: (line: string) => void;
  private readonly repeatMs: number;
  private readonly now: () => number;
  private readonly gauges = new Map<string, { value: number; at: number }>();

  constructor(opts: LogLineMetricsOptions = {}) {
    this.write = opts.write ?? ((l) => void process.stdout.write(l));
    this.repeatMs = opts.gaugeRepeatMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  record(o: Observation): void {
    const spec = METRICS[o.metric];
    const labels = specLabels(o);
    if (spec.kind === 'counter' && o.value <= 0) return; // a line with 0 would count as nothing anyway
    if (spec.kind === 'gauge' && o.mode !== 'add') {
      const key = `${o.metric}|${JSON.stringify(labels)}`;
      const last = this.gauges.get(key);
      const at = this.now();
      if (last && last.value === o.value && at - last.at < this.repeatMs) return;
      this.gauges.set(key, { value: o.value, at });
    }
    this.write(`${JSON.stringify({ severity: 'INFO', message: `metric ${o.metric}`, [o.metric]: o.value, ...labels, ...traceFields() })}\n`);
    const signal = alertSignalOf(o);
    if (signal) this.write(alertLine(signal));
  }

  /** Lines are written as they are recorded. */
  flush(): void {}
}

/** Cloud Logging's LogSeverity of each alert severity. */
export const LOG_SEVERITY: Record<AlertSeverity, 'CRITICAL' | 'ERROR' | 'WARNING' | 'INFO'> = { critical: 'CRITICAL', error: 'ERROR', warning: 'WARNING', info: 'INFO' };

/**
 * The structured alert line, the one shape the GCP alert policies match (lib/constructs/gcp/alerting.ts):
 * `{"severity":"CRITICAL","message":"ALERT critical: <title>: <detail>","alert":{"id","severity","title","detail"}}`.
 * The policies select `jsonPayload.alert.severity` and label incidents from `jsonPayload.alert.*`.
 */
export function alertLine(s: AlertSignal): string {
  return `${JSON.stringify({ severity: LOG_SEVERITY[s.severity], message: `ALERT ${s.severity}: ${s.title}: ${s.detail}`, [ALERT_LINE_FIELD]: { id: s.id, severity: s.severity, title: s.title, detail: s.detail }, ...traceFields() })}\n`;
}

/** A structured log line for Cloud Logging (severity, message, fields). */
export function logLine(severity: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR', message: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ severity, message, ...fields, ...traceFields() })}\n`);
}
