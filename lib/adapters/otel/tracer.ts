import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';
import { formatTraceparent, NOOP_SPAN, parseTraceparent, type AttributeValue, type Attributes, type Span, type SpanContext, type SpanKind, type SpanOptions, type Tracer } from '../../core/tracing';

/**
 * A span's ids as 32-bit words (big-endian order of the hex): trace id t0..t3, span id s0 s1, parent p0 p1 when
 * `hasParent`. What the protobuf encoder writes, with no hex text made or parsed on the way.
 */
export interface SpanWords {
  readonly t0: number;
  readonly t1: number;
  readonly t2: number;
  readonly t3: number;
  readonly s0: number;
  readonly s1: number;
  readonly p0: number;
  readonly p1: number;
  readonly hasParent: boolean;
}

/** A span that ended, as the exporter receives it. Times in epoch milliseconds (fractional). */
export interface FinishedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string | undefined;
  /** The ids as words, when the span has them (every span this tracer makes): the encoder prefers them. */
  readonly words?: SpanWords | undefined;
  name: string;
  kind: SpanKind;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  events: Array<{ name: string; atMs: number; attributes: Record<string, AttributeValue> }>;
  status: { code: 'unset' | 'ok' | 'error'; message?: string };
}

export interface SpanProcessor {
  onEnd(span: FinishedSpan): void;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Decides, for a span without a sampled parent decision, whether it records. `traceId` is undefined for a new
 * trace: its ids are not made before the decision (a dropped root needs none unless something propagates it).
 */
export type Sampler = (traceId: string | undefined) => boolean;

/**
 * `always_on`, `always_off`, or the ratio: for a trace id it is given, deterministic per trace (as OTel's
 * TraceIdRatioBased, so every service sampling the same trace id agrees); for a new trace, a random draw of the
 * same probability.
 */
export function ratioSampler(ratio: number): Sampler {
  if (ratio >= 1) return () => true;
  if (ratio <= 0) return () => false;
  const bound = Math.floor(ratio * 2 ** 52);
  // The last 13 hex digits of the trace id are random (the first 8 may be a timestamp): compare them with the bound.
  return (traceId) => (traceId === undefined ? Math.random() < ratio : parseInt(traceId.slice(19), 16) < bound);
}

export interface OtelTracerOptions {
  processor: SpanProcessor;
  sampler?: Sampler;
  /** Parent-based (default): a remote or local parent's decision is kept; the sampler decides roots only. */
  parentBased?: boolean;
  now?: () => number;
  /**
   * Strings in attribute values (and in string lists) are cut to this many UTF-16 units, never inside a
   * surrogate pair: a value from a request (a User-Agent, a path) cannot make every span kilobytes long, nor a
   * batch bigger than a collector takes. Default 4096 (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT).
   */
  attributeValueLengthLimit?: number;
}

/** `v` with its strings cut to `limit` (see attributeValueLengthLimit). */
const clip = (v: AttributeValue, limit: number): AttributeValue =>
  typeof v === 'string' ? (v.length > limit ? cut(v, limit) : v) : typeof v === 'object' ? v.map((x) => (x.length > limit ? cut(x, limit) : x)) : v;
/** `s`'s first `n` UTF-16 units, or `n - 1` where the `n`th would be half a surrogate pair. */
const cut = (s: string, n: number): string => s.slice(0, (s.charCodeAt(n - 1) & 0xfc00) === 0xd800 ? n - 1 : n);

// Random ids as 32-bit words from a pool: one randomFillSync per 64 KiB instead of one per id; recording spans
// keep them as numbers (no hex text unless something asks).
const words = new Uint32Array(16384);
let wordAt = words.length;
function randomWord(): number {
  if (wordAt === words.length) {
    randomFillSync(words);
    wordAt = 0;
  }
  return words[wordAt++]!;
}

const hex8 = (n: number): string => {
  const h = n.toString(16);
  return h.length === 8 ? h : '0'.repeat(8 - h.length) + h;
};
const word = (hex: string, at: number): number => parseInt(hex.slice(at, at + 8), 16);

/**
 * A new trace id's first word: the epoch second, as AWS X-Ray requires (the ADOT collector's X-Ray exporter
 * drops spans of other ids); the other three words are random, so any OTLP backend takes them too.
 */
const epochWord = (nowMs: number): number => Math.floor(nowMs / 1000) >>> 0;

/** A new trace id as hex (see epochWord). */
export function newTraceId(nowMs: number): string {
  return hex8(epochWord(nowMs)) + hex8(randomWord()) + hex8(randomWord()) + hex8(randomWord());
}

const origin = performance.timeOrigin; // a getter on every read: read once
const epochNow = (): number => origin + performance.now();

/**
 * A span that records. It is its own `FinishedSpan`: `end()` hands the span itself to the processor, so ending
 * copies nothing. Its ids are 32-bit words (`SpanWords`); their hex text is made only if something reads
 * `traceId`, `spanId` or `traceparent()` (an outgoing request, a log line, the JSON encoder).
 */
class RecordingSpan implements Span, FinishedSpan, SpanWords {
  readonly recording = true;
  readonly attributes: Record<string, AttributeValue> = {};
  readonly events: FinishedSpan['events'] = [];
  status: FinishedSpan['status'] = { code: 'unset' };
  readonly startMs: number;
  endMs = 0;
  private ended = false;
  readonly s0: number;
  readonly s1: number;
  private tid: string | undefined;
  private sid: string | undefined;

  constructor(
    public name: string,
    readonly kind: SpanKind,
    readonly t0: number,
    readonly t1: number,
    readonly t2: number,
    readonly t3: number,
    readonly hasParent: boolean,
    readonly p0: number,
    readonly p1: number,
    private readonly tracer: OtelTracer,
  ) {
    this.startMs = tracer.now();
    this.s0 = randomWord();
    this.s1 = randomWord() || 1; // never the all-zero id
  }

  get words(): SpanWords {
    return this;
  }
  get traceId(): string {
    return (this.tid ??= hex8(this.t0) + hex8(this.t1) + hex8(this.t2) + hex8(this.t3));
  }
  get spanId(): string {
    return (this.sid ??= hex8(this.s0) + hex8(this.s1));
  }
  get parentSpanId(): string | undefined {
    return this.hasParent ? hex8(this.p0) + hex8(this.p1) : undefined;
  }
  traceparent(): string {
    return formatTraceparent({ traceId: this.traceId, spanId: this.spanId, sampled: true });
  }
  setAttribute(key: string, value: AttributeValue | undefined): void {
    if (value !== undefined && !this.ended) this.attributes[key] = clip(value, this.tracer.valueLimit);
  }
  setAttributes(attributes: Attributes): void {
    if (this.ended) return;
    const limit = this.tracer.valueLimit;
    for (const k in attributes) {
      const v = attributes[k];
      if (v !== undefined) this.attributes[k] = clip(v, limit);
    }
  }
  addEvent(name: string, attributes: Attributes = {}): void {
    if (this.ended) return;
    this.events.push({ name, atMs: this.tracer.now(), attributes: defined(attributes, this.tracer.valueLimit) });
  }
  recordException(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.addEvent('exception', { 'exception.type': e.name, 'exception.message': e.message, 'exception.stacktrace': e.stack });
    this.setStatus('error', e.message);
  }
  setStatus(code: 'ok' | 'error', message?: string): void {
    if (this.ended || this.status.code === 'ok') return; // OK is final (OTel API rule)
    this.status = message !== undefined && code === 'error' ? { code, message } : { code };
  }
  updateName(name: string): void {
    if (!this.ended) this.name = name;
  }
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.endMs = this.tracer.now();
    this.tracer.processor.onEnd(this);
  }
}

/**
 * A span the sampler dropped: it records nothing but carries its context, so the next hop keeps the decision.
 * Its ids are made only if something asks for them (an outgoing `traceparent`, a log line): a dropped root of a
 * request that calls nothing costs this object and nothing else. Its children are the span itself.
 */
class NonRecordingSpan implements Span {
  readonly recording = false;
  private tid: string | undefined;
  private sid: string | undefined;
  constructor(traceId: string | undefined) {
    this.tid = traceId;
  }
  get traceId(): string {
    return (this.tid ??= newTraceId(Date.now()));
  }
  get spanId(): string {
    return (this.sid ??= hex8(randomWord()) + hex8(randomWord() || 1));
  }
  traceparent(): string {
    return formatTraceparent({ traceId: this.traceId, spanId: this.spanId, sampled: false });
  }
  setAttribute(): void {}
  setAttributes(): void {}
  addEvent(): void {}
  recordException(): void {}
  setStatus(): void {}
  updateName(): void {}
  end(): void {}
}

function runInSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  let p: Promise<T>;
  try {
    p = fn(span);
  } catch (e) {
    span.recordException(e);
    span.end();
    return Promise.reject(e as Error);
  }
  return p.then(
    (v) => {
      span.end();
      return v;
    },
    (e: unknown) => {
      span.recordException(e);
      span.end();
      throw e;
    },
  );
}

/** `fn(span)`, a synchronous throw turned into a rejection (as an async function would). */
function call<T>(fn: (span: Span) => Promise<T>, span: Span): Promise<T> {
  try {
    return fn(span);
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

const defined = (a: Attributes, limit: number): Record<string, AttributeValue> => {
  const out: Record<string, AttributeValue> = {};
  for (const k in a) if (a[k] !== undefined) out[k] = clip(a[k]!, limit);
  return out;
};

/**
 * The tracer behind the port when tracing is on: spans parented through AsyncLocalStorage (the active span
 * follows `await`), W3C trace context, a parent-based sampler, and a processor that batches for export.
 */
export class OtelTracer implements Tracer {
  readonly enabled = true;
  readonly processor: SpanProcessor;
  readonly now: () => number;
  /** attributeValueLengthLimit. */
  readonly valueLimit: number;
  private readonly sampler: Sampler;
  private readonly parentBased: boolean;
  private readonly context = new AsyncLocalStorage<Span>();

  constructor(opts: OtelTracerOptions) {
    this.processor = opts.processor;
    this.sampler = opts.sampler ?? (() => true);
    this.parentBased = opts.parentBased ?? true;
    this.now = opts.now ?? epochNow;
    this.valueLimit = opts.attributeValueLengthLimit ?? 4096;
  }

  activeSpan(): Span | undefined {
    return this.context.getStore();
  }

  /**
   * Parent: `parent` when given; else none for `root`; else the active span; else the remote `traceparent`;
   * else a new trace. Inside a span the sampler dropped (parent-based), that span itself is returned: the
   * decision is the trace's, so its children need no ids, no attributes and no context entry of their own. A
   * new trace the sampler drops gets no ids unless something asks for them.
   */
  startSpan(name: string, options: SpanOptions = {}, parent?: Span): Span {
    const local = parent !== undefined && parent !== NOOP_SPAN ? parent : options.root ? undefined : this.context.getStore();
    if (local && !local.recording && this.parentBased) return local;
    const kind = options.kind ?? 'internal';
    let span: RecordingSpan;
    if (local instanceof RecordingSpan) {
      // the usual child: ids copied as words, nothing parsed or formatted
      if (!this.parentBased && !this.sampler(local.traceId)) return new NonRecordingSpan(local.traceId);
      span = new RecordingSpan(name, kind, local.t0, local.t1, local.t2, local.t3, true, local.s0, local.s1, this);
    } else {
      const remote: SpanContext | null = options.root || local ? null : parseTraceparent(options.traceparent);
      const ctx: SpanContext | null = local ? { traceId: local.traceId, spanId: local.spanId, sampled: local.recording } : remote;
      const sampled = ctx && this.parentBased ? ctx.sampled : this.sampler(ctx?.traceId);
      if (!sampled) return new NonRecordingSpan(ctx?.traceId);
      span = ctx
        ? new RecordingSpan(name, kind, word(ctx.traceId, 0), word(ctx.traceId, 8), word(ctx.traceId, 16), word(ctx.traceId, 24), true, word(ctx.spanId, 0), word(ctx.spanId, 8), this)
        : // a new trace, as newTraceId makes one, kept as words
          new RecordingSpan(name, kind, epochWord(this.now()), randomWord(), randomWord(), randomWord(), false, 0, 0, this);
    }
    if (options.attributes) span.setAttributes(options.attributes);
    return span;
  }

  /**
   * One AsyncLocalStorage entry per span that is new (none inside a dropped trace: its span is already the
   * active one), ended from the settlement of `fn`'s own promise rather than through an extra async frame.
   */
  withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
    const span = this.startSpan(name, options);
    if (span !== this.context.getStore()) return this.context.run(span, runInSpan, span, fn);
    return call(fn, span);
  }

  /** No AsyncLocalStorage entry: the span goes to `fn` and from there explicitly to what `fn` calls. */
  childSpan<T>(parent: Span | undefined, name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
    if (parent !== undefined && parent !== NOOP_SPAN && !parent.recording && this.parentBased) return call(fn, parent);
    const span = this.startSpan(name, options, parent);
    return span.recording ? runInSpan(span, fn) : call(fn, span);
  }

  flush(): Promise<void> {
    return this.processor.flush();
  }

  shutdown(): Promise<void> {
    return this.processor.shutdown();
  }
}
