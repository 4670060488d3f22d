import type { AttributeValue, SpanKind } from '../../core/tracing';
import { redactUrl } from '../../core/redact';
import { nodeHttpFetch } from '../http/node-fetch';
import type { FetchLike } from '../http/tracker-client';
import { protoRequest, ProtoWriter, writeSpan } from './otlp-proto';
import type { FinishedSpan, SpanProcessor } from './tracer';

/**
 * A tiny OTLP/HTTP trace exporter (https://opentelemetry.io/docs/specs/otlp/#otlphttp): `POST {endpoint}/v1/traces`
 * with an ExportTraceServiceRequest as protobuf (otlp-proto.ts, the default: about half the bytes and a third of
 * the CPU of JSON) or as JSON (ids in hex, 64-bit integers and nanosecond times as decimal strings, enums as
 * integers). Every collector (OpenTelemetry Collector, the ADOT
 * Lambda layer, Jaeger, Tempo, Cloud Trace's telemetry.googleapis.com) takes it; it weighs a few KB, where the
 * OpenTelemetry JS SDK would add hundreds to each bundle.
 */

const KIND: Record<SpanKind, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS = { unset: 0, ok: 1, error: 2 } as const;

const q = JSON.stringify; // a string as a JSON string literal (native, escapes what needs it)

/** An attribute value as OTLP JSON's AnyValue: 64-bit integers as decimal strings, doubles as numbers. */
function anyValue(v: AttributeValue): string {
  if (typeof v === 'string') return `{"stringValue":${q(v)}}`;
  if (typeof v === 'boolean') return v ? '{"boolValue":true}' : '{"boolValue":false}';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? `{"intValue":"${v}"}` : Number.isFinite(v) ? `{"doubleValue":${v}}` : `{"stringValue":"${v}"}`; // JSON has no NaN/Infinity
  let values = '';
  for (const x of v) values += `${values ? ',' : ''}{"stringValue":${q(x)}}`;
  return `{"arrayValue":{"values":[${values}]}}`;
}

function keyValues(a: Record<string, AttributeValue>): string {
  let out = '';
  for (const key in a) out += `${out ? ',' : ''}{"key":${q(key)},"value":${anyValue(a[key]!)}}`;
  return `[${out}]`;
}

/**
 * Epoch milliseconds (fractional) → nanoseconds as a decimal string. A double holds today's epoch milliseconds
 * to about 0.25 µs, so the time is kept to the microsecond (no digits invented below it), rounded as the
 * protobuf encoding rounds it (`Math.round(ms * 1000)`, a safe integer until 2255): both encodings of a span
 * say the same time.
 */
export function nanos(ms: number): string {
  const micros = Math.round(ms * 1000);
  return micros === 0 ? '0' : `${micros}000`; // digits joined as text: no BigInt per time
}

export interface Resource {
  'service.name': string;
  [key: string]: AttributeValue;
}

/**
 * One span as the OTLP JSON `Span` object. Written as text when the span ends, straight from the span (no
 * intermediate object tree for JSON.stringify to walk), so the span itself is garbage at once instead of
 * waiting, and ageing, in the export queue: only this string waits.
 */
export function spanJson(s: FinishedSpan): string {
  let events = '';
  for (const e of s.events) events += `${events ? ',' : ''}{"timeUnixNano":"${nanos(e.atMs)}","name":${q(e.name)},"attributes":${keyValues(e.attributes)}}`;
  const parent = s.parentSpanId ? `"parentSpanId":"${s.parentSpanId}",` : '';
  const status = s.status.message ? `{"code":${STATUS[s.status.code]},"message":${q(s.status.message)}}` : `{"code":${STATUS[s.status.code]}}`;
  return `{"traceId":"${s.traceId}","spanId":"${s.spanId}",${parent}"name":${q(s.name)},"kind":${KIND[s.kind]},"startTimeUnixNano":"${nanos(s.startMs)}","endTimeUnixNano":"${nanos(s.endMs)}","attributes":${keyValues(s.attributes)},"events":[${events}],"status":${status}}`;
}

const SCOPE = '{"name":"migration-monitor","version":"1"}';

/** The ExportTraceServiceRequest (OTLP JSON) of one resource and spans already written by `spanJson`. */
export function exportRequest(resource: Resource, spans: string[], resourceAttributes = keyValues(resource)): string {
  return `{"resourceSpans":[{"resource":{"attributes":${resourceAttributes}},"scopeSpans":[{"scope":${SCOPE},"spans":[${spans.join(',')}]}]}]}`;
}

/** `exportRequest` of ended spans (what a batch of them is sent as). */
export const encodeSpans = (resource: Resource, spans: FinishedSpan[]): string => exportRequest(resource, spans.map(spanJson));

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
  /** `protobuf` (application/x-protobuf, the OTLP default) or `json`. Default protobuf (OTEL_EXPORTER_OTLP_PROTOCOL). */
  encoding?: OtlpEncoding;
  /** The transport; node:http(s) by default (keep-alive, the body written once: no undici web-stream copies). */
  fetch?: FetchLike;
}

/** Ended spans, encoded as they are added, and the request body they make. */
interface SpanBatch {
  size: number;
  add(span: FinishedSpan): void;
  /** The request body (a copy: the batch's own buffer may be reused once this returned). */
  body(): string | Buffer;
}

class JsonBatch implements SpanBatch {
  private readonly spans: string[] = [];
  size = 0;
  constructor(private readonly head: (spans: string[]) => string) {}
  add(span: FinishedSpan): void {
    this.spans.push(spanJson(span));
    this.size++;
  }
  body(): string {
    return this.head(this.spans);
  }
}

/**
 * Writers whose batch was sent, kept for the next batches: a batch's 128 KB buffer is allocated once, not once
 * per export (fresh buffers of that size, dozens a second under load, cost the garbage collector more than
 * encoding the spans did).
 */
const idleWriters: ProtoWriter[] = [];

class ProtoBatch implements SpanBatch {
  private readonly w = idleWriters.pop() ?? new ProtoWriter(128 * 1024);
  size = 0;
  constructor(private readonly resource: Resource) {}
  add(span: FinishedSpan): void {
    writeSpan(this.w, span);
    this.size++;
  }
  body(): Buffer {
    const out = protoRequest(this.resource, this.w.buf.subarray(0, this.w.pos));
    this.w.pos = 0;
    if (idleWriters.length < 4) idleWriters.push(this.w);
    return out;
  }
}

export type OtlpEncoding = 'protobuf' | 'json';

/**
 * Batches ended spans and exports them over OTLP/HTTP, off the request path: a span is encoded when it ends
 * (protobuf by default, `encoding: 'json'` for OTLP JSON) so the span object is garbage at once and only bytes
 * wait; a batch is released after `scheduledDelayMs` or, once `maxBatchSize` spans are waiting, on the next
 * turn of the event loop (setImmediate), never inside the `end()` that filled it. Released batches leave at
 * most MAX_EXPORTS (2) at a time, so a collector that is slow or hangs holds two requests and their
 * bodies, not one per batch until each timed out. (One at a time dropped a fifth of the spans of a tracker
 * saturated at 9,000 updates a second, each export's answer waiting its turn in the busy event loop; two
 * dropped none.) Spans beyond `maxQueueSize` waiting (released or not) are dropped and counted, and the
 * first drop of a streak is said through `onError`. `flush` sends everything queued and waits (process
 * shutdown, each Lambda invocation's end).
 */
/** Exports under way at once, at most: what a collector that is slow or hangs can hold (see below). */
const MAX_EXPORTS = 2;

export class OtlpHttpExporter implements SpanProcessor {
  /** Waiting batches, oldest first; the last one takes new spans. */
  private batches: SpanBatch[] = [];
  /** How many of the oldest batches are released (their time came): they leave as `next` allows. */
  private due = 0;
  /** Spans in `batches`. */
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** The exports under way: at most MAX_EXPORTS. */
  private readonly inFlight = new Set<Promise<void>>();
  private failing = false;
  private dropping = false;
  dropped = 0;
  exported = 0;
  private readonly newBatch: () => SpanBatch;
  private readonly contentType: string;
  private readonly maxQueueSize: number;
  private readonly maxBatchSize: number;

  constructor(private readonly opts: OtlpHttpExporterOptions) {
    const resourceAttributes = keyValues(opts.resource);
    const json = (spans: string[]) => exportRequest(opts.resource, spans, resourceAttributes);
    this.newBatch = opts.encoding === 'json' ? () => new JsonBatch(json) : () => new ProtoBatch(opts.resource);
    this.contentType = opts.encoding === 'json' ? 'application/json' : 'application/x-protobuf';
    this.maxQueueSize = opts.maxQueueSize ?? 2048;
    this.maxBatchSize = Math.min(opts.maxBatchSize ?? 512, this.maxQueueSize);
  }

  onEnd(span: FinishedSpan): void {
    if (this.queued >= this.maxQueueSize) {
      this.dropped++;
      if (!this.dropping) this.opts.onError?.(`tracing: dropping spans: ${this.maxQueueSize} wait to be exported to ${redactUrl(this.opts.url)} (said once per streak)`);
      this.dropping = true;
      return;
    }
    let batch = this.batches[this.batches.length - 1];
    const max = this.maxBatchSize;
    if (!batch || batch.size >= max) this.batches.push((batch = this.newBatch()));
    batch.add(span);
    this.queued++;
    if (batch.size >= max) this.immediate ??= setImmediate(() => this.release());
    else if (!this.timer) {
      this.timer = setTimeout(() => this.release(), this.opts.scheduledDelayMs ?? 1000);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    this.release();
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  shutdown(): Promise<void> {
    return this.flush();
  }

  /** Every waiting batch is due; they leave as `next` allows. */
  private release(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.due = this.batches.length;
    this.next();
  }

  /** Released batches leave, oldest first, while fewer than MAX_EXPORTS are under way (each end calls this again). */
  private next(): void {
    while (this.inFlight.size < MAX_EXPORTS && this.due > 0) {
      const batch = this.batches.shift()!;
      this.due--;
      this.queued -= batch.size;
      if (this.queued === 0) this.dropping = false;
      const p: Promise<void> = this.send(batch).finally(() => {
        this.inFlight.delete(p);
        this.next();
      });
      this.inFlight.add(p);
    }
  }

  private async send(batch: SpanBatch): Promise<void> {
    try {
      const headers = { 'content-type': this.contentType, ...this.opts.headers, ...(this.opts.auth ? await this.opts.auth() : {}) };
      const res = await (this.opts.fetch ?? nodeHttpFetch)(this.opts.url, {
        method: 'POST',
        headers,
        body: batch.body(),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      const text = await res.text();
      if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      this.exported += batch.size;
      this.failing = false;
    } catch (e) {
      this.dropped += batch.size;
      if (!this.failing) this.opts.onError?.(`tracing: exporting ${batch.size} span(s) to ${redactUrl(this.opts.url)} failed: ${(e as Error).message} (further failures are not reported until an export succeeds)`);
      this.failing = true;
    }
  }
}
