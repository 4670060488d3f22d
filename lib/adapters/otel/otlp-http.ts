import type { AttributeValue, SpanKind } from '../../core/tracing';
import { nodeHttpFetch } from '../http/node-fetch';
import type { FetchLike } from '../http/tracker-client';
import type { FinishedSpan, SpanProcessor } from './tracer';

/**
 * A tiny OTLP/HTTP JSON trace exporter (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
 * `POST {endpoint}/v1/traces` with an ExportTraceServiceRequest as JSON: ids in hex, 64-bit integers and
 * nanosecond times as decimal strings, enums as integers. Every collector (OpenTelemetry Collector, the ADOT
 * Lambda layer, Jaeger, Tempo, Cloud Trace's telemetry.googleapis.com) takes it; it weighs a few KB, where the
 * OpenTelemetry JS SDK would add hundreds to each bundle.
 */

const KIND: Record<SpanKind, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS = { unset: 0, ok: 1, error: 2 } as const;

type AnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number } | { arrayValue: { values: AnyValue[] } };

function anyValue(v: AttributeValue): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : Number.isFinite(v) ? { doubleValue: v } : { stringValue: String(v) }; // JSON has no NaN/Infinity
  return { arrayValue: { values: v.map((x) => ({ stringValue: x })) } };
}

const keyValues = (a: Record<string, AttributeValue>) => Object.keys(a).map((key) => ({ key, value: anyValue(a[key]!) }));

/**
 * Epoch milliseconds (fractional) → nanoseconds as a decimal string. A double holds today's epoch milliseconds
 * to about 0.25 µs, so the fraction is kept to the microsecond (no digits invented below it).
 */
export function nanos(ms: number): string {
  let whole = Math.floor(ms);
  let micros = Math.round((ms - whole) * 1000);
  if (micros === 1000) {
    whole += 1;
    micros = 0;
  }
  if (whole === 0) return String(micros * 1000);
  return `${whole}${micros < 10 ? '00' : micros < 100 ? '0' : ''}${micros}000`; // digits joined as text: no BigInt per time
}

export interface Resource {
  'service.name': string;
  [key: string]: AttributeValue;
}

/**
 * The ExportTraceServiceRequest for `spans` of one resource. Built only when a batch is exported (in the
 * background, never on a request's path) and serialized by one JSON.stringify: V8's serializer was faster here
 * than building the text by hand. The ended spans reach it uncopied.
 */
export function encodeSpans(resource: Resource, spans: FinishedSpan[], scope = { name: 'migration-monitor', version: '1' }, resourceAttributes = keyValues(resource)) {
  return {
    resourceSpans: [
      {
        resource: { attributes: resourceAttributes },
        scopeSpans: [
          {
            scope,
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: KIND[s.kind],
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.endMs),
              attributes: keyValues(s.attributes),
              events: s.events.map((e) => ({ timeUnixNano: nanos(e.atMs), name: e.name, attributes: keyValues(e.attributes) })),
              status: { code: STATUS[s.status.code], ...(s.status.message ? { message: s.status.message } : {}) },
            })),
          },
        ],
      },
    ],
  };
}

export interface OtlpHttpExporterOptions {
  /** Full traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  url: string;
  resource: Resource;
  /** Sent with every export (OTEL_EXPORTER_OTLP_HEADERS); `auth` adds one computed per export (a cloud token). */
  headers?: Record<string, string>;
  auth?: () => Promise<Record<string, string>>;
  /** Per-export timeout. Default 10 s (OTEL_EXPORTER_OTLP_TIMEOUT). */
  timeoutMs?: number;
  /** Spans are sent this long after the first one of a batch ended. Default 1 s. */
  scheduledDelayMs?: number;
  /** At most this many spans per request. Default 512. */
  maxBatchSize?: number;
  /** Spans beyond this many waiting are dropped (and counted), so a dead collector never grows memory. Default 2048. */
  maxQueueSize?: number;
  /** An export that failed (collector down, 4xx/5xx): said once per failure streak, never thrown into the caller. */
  onError?: (message: string) => void;
  /** The transport; node:http(s) by default (keep-alive, the body written once: no undici web-stream copies). */
  fetch?: FetchLike;
}

/** Batches ended spans and exports them over OTLP/HTTP JSON; `flush` sends everything queued and waits. */
export class OtlpHttpExporter implements SpanProcessor {
  private queue: FinishedSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private failing = false;
  dropped = 0;
  exported = 0;

  private readonly resourceAttributes: ReturnType<typeof keyValues>;

  constructor(private readonly opts: OtlpHttpExporterOptions) {
    this.resourceAttributes = keyValues(opts.resource);
  }

  onEnd(span: FinishedSpan): void {
    if (this.queue.length >= (this.opts.maxQueueSize ?? 2048)) {
      this.dropped++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= (this.opts.maxBatchSize ?? 512)) this.sendQueued();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.sendQueued(), this.opts.scheduledDelayMs ?? 1000);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    this.sendQueued();
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  shutdown(): Promise<void> {
    return this.flush();
  }

  private sendQueued(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const max = this.opts.maxBatchSize ?? 512;
    while (this.queue.length) {
      const batch = this.queue.splice(0, max);
      const p = this.send(batch).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async send(batch: FinishedSpan[]): Promise<void> {
    try {
      const headers = { 'content-type': 'application/json', ...this.opts.headers, ...(this.opts.auth ? await this.opts.auth() : {}) };
      const res = await (this.opts.fetch ?? nodeHttpFetch)(this.opts.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(encodeSpans(this.opts.resource, batch, undefined, this.resourceAttributes)),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      const text = await res.text();
      if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      this.exported += batch.length;
      this.failing = false;
    } catch (e) {
      this.dropped += batch.length;
      if (!this.failing) this.opts.onError?.(`tracing: exporting ${batch.length} span(s) to ${this.opts.url} failed: ${(e as Error).message} (further failures are not reported until an export succeeds)`);
      this.failing = true;
    }
  }
}
