/**
 * The tracing port. Core code marks where time goes in one of two ways:
 * - `childSpan(parent, name, options, fn)`, on the request paths (tracker updates, proxy searches): the parent
 *   is passed explicitly and `fn` passes its span on to whatever it calls. Nothing is made "active", so no
 *   AsyncLocalStorage is entered and no promise of the process pays for context tracking; a span the sampler
 *   dropped is handed down as it is (no new object, no ids, no attributes).
 * - `withSpan(name, options, fn)`, at the edges (a CLI command, a Lambda invocation, a scheduled job's run and
 *   what it calls): the span is the active span for everything `fn` awaits (AsyncLocalStorage), so code that
 *   is not handed a span still finds its parent. A `childSpan` without a parent takes the active span as parent.
 * Which tracer runs is decided once per process by the composition layer (lib/compose/tracing.ts), which
 * installs one with `setTracer`. The default is the no-op tracer: both then call `fn` with a span that records
 * nothing, allocates nothing and propagates nothing, so tracing that is off costs one function call per span.
 *
 * Naming scheme (docs/tracing.md): domain spans are `migration.<area>.<step>` (seed 002's `…migration.*`
 * style), with `migration.*` attributes (id, phase, subtask, operation, check kind, backend, outcome); HTTP and
 * store spans follow the OpenTelemetry semantic conventions (`{method} {route}`, `http.*`, `db.*`).
 */

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type AttributeValue = string | number | boolean | string[];
/** Undefined values are left out, so callers can pass optional fields as they are. */
export type Attributes = Record<string, AttributeValue | undefined>;

export interface Span {
  /** False for the no-op span and for spans the sampler dropped: nothing set on them is kept. */
  readonly recording: boolean;
  /** 32 hex digits; '' when no tracer is installed. */
  readonly traceId: string;
  /** 16 hex digits; '' when no tracer is installed. */
  readonly spanId: string;
  /** The W3C `traceparent` naming this span as parent, for an outgoing request; undefined when tracing is off. */
  traceparent(): string | undefined;
  setAttribute(key: string, value: AttributeValue | undefined): void;
  setAttributes(attributes: Attributes): void;
  /** A point in time inside the span (a breaker state change, a retry). */
  addEvent(name: string, attributes?: Attributes): void;
  /** The `exception` event (type, message, stack) and status error. */
  recordException(error: unknown): void;
  setStatus(code: 'ok' | 'error', message?: string): void;
  updateName(name: string): void;
  end(): void;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /**
   * The remote parent: the `traceparent` header of an incoming request (or a job's event). Ignored when absent
   * or malformed; then the active span is the parent, or the span is a root.
   */
  traceparent?: string;
  /** Start a new trace even inside an active span (a scheduled run, a background probe). */
  root?: boolean;
}

export interface Tracer {
  /** False for the no-op tracer: callers may skip building attributes that only tracing would read. */
  readonly enabled: boolean;
  /**
   * Run `fn` inside a new span that is the active span for everything `fn` awaits. The span ends when `fn`
   * settles; a thrown error is recorded on it (status error) and rethrown unchanged.
   */
  withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T>;
  /**
   * Run `fn` inside a new span, child of `parent` (when undefined: of the active span, else of
   * `options.traceparent`, else a new trace), without making it active: `fn` hands its span to what it calls.
   * Ended and errors recorded as `withSpan`. A parent that does not record is passed to `fn` itself.
   */
  childSpan<T>(parent: Span | undefined, name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T>;
  /** The span `withSpan` made active in this asynchronous context, if any. */
  activeSpan(): Span | undefined;
  /** Send what has ended so far (a Lambda invocation calls this before it returns: the sandbox freezes after). */
  flush(): Promise<void>;
  /** Flush and stop (process exit). */
  shutdown(): Promise<void>;
}

const noop = (): void => {};

export const NOOP_SPAN: Span = Object.freeze({
  recording: false,
  traceId: '',
  spanId: '',
  traceparent: () => undefined,
  setAttribute: noop,
  setAttributes: noop,
  addEvent: noop,
  recordException: noop,
  setStatus: noop,
  updateName: noop,
  end: noop,
});

export const NOOP_TRACER: Tracer = Object.freeze({
  enabled: false,
  withSpan: <T>(_name: string, _options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> => fn(NOOP_SPAN),
  childSpan: <T>(_parent: Span | undefined, _name: string, _options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> => fn(NOOP_SPAN),
  activeSpan: () => undefined,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
});

let current: Tracer = NOOP_TRACER;

/** The process's tracer (the no-op one unless the composition installed another). */
export const tracer = (): Tracer => current;

/** Install `t` as the process's tracer; returns a function that puts the previous one back. */
export function setTracer(t: Tracer): () => void {
  const prev = current;
  current = t;
  return () => {
    current = prev;
  };
}

/** `tracer().withSpan(…)`: the one line an instrumentation point needs. */
export function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  return current.withSpan(name, options, fn);
}

/** `tracer().childSpan(…)`: a span handed down explicitly (see the top of this file). */
export function childSpan<T>(parent: Span | undefined, name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  return current.childSpan(parent, name, options, fn);
}

/** Called by the router when a route matched: the request's server span takes the route's name (low cardinality). */
export function nameServerSpan(span: Span | undefined, method: string, route: string): void {
  if (!span?.recording) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}

// ---- W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header) ----

export interface SpanContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Parse a `traceparent` header; null when absent or invalid (the receiver then starts a new trace, as the
 * W3C spec asks). Version ff is invalid; a future version may carry more fields after the four known ones.
 */
export function parseTraceparent(header: string | undefined): SpanContext | null {
  if (header === undefined || header.length > 512) return null;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(c: SpanContext): string {
  return `00-${c.traceId}-${c.spanId}-${c.sampled ? '01' : '00'}`;
}

// ---- instrumentation helpers shared by the entry points ----

/**
 * Methods of `target` each run in a span `spanName(method)` (async results only; getters pass through), child
 * of the active span. Calls outside any trace (no active span) and calls inside a trace the sampler dropped make
 * no span: a connector read alone is not worth a trace of its own. Attributes are built only for spans that
 * record.
 */
export function traceMethods<T extends object>(target: T, spanName: (method: string) => string, attributes: (method: string, args: unknown[]) => Attributes, kind: SpanKind = 'internal'): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || !current.enabled) return v;
      return (...args: unknown[]) => {
        const p = current.activeSpan();
        const call = () => Promise.resolve((v as (...a: unknown[]) => unknown).apply(t, args));
        if (!p?.recording) return call();
        return current.childSpan(p, spanName(prop), { kind, attributes: attributes(prop, args) }, call);
      };
    },
  });
}

/**
 * Each batch an async iterable yields, timed in its own span (the time spent fetching it): connector scans,
 * log batches. Returns the iterable unchanged when tracing is off.
 */
export function traceBatches<T>(source: AsyncIterable<T>, name: string, attributes: Attributes, size: (batch: T) => number): AsyncIterable<T> {
  if (!current.enabled) return source;
  return {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      let index = 0;
      return {
        next: () =>
          current.withSpan(name, { attributes: { ...attributes, 'migration.batch.index': index++ } }, async (span) => {
            const r = await it.next();
            if (r.done) span.setAttribute('migration.batch.last', true);
            else span.setAttribute('migration.batch.size', size(r.value));
            return r;
          }),
        return: async (v?: unknown) => (it.return ? it.return(v) : { done: true as const, value: v as T }),
      };
    },
  };
}
