import { OtelTracer, ratioSampler, type FinishedSpan, type SpanProcessor } from '../../lib/adapters/otel/tracer';
import { FileStore } from '../../lib/adapters/file/file-store';
import { installTracing } from '../../lib/compose/tracing';
import type { HttpRequest } from '../../lib/core/http';
import { searchProxy } from '../../lib/core/search/proxy';
import type { VectorBackend } from '../../lib/core/search/query';
import type { ProgressStore } from '../../lib/core/store';
import { NOOP_TRACER, setTracer, tracer, type Span } from '../../lib/core/tracing';
import { trackerApi } from '../../lib/core/tracker/api';
import { Tracker } from '../../lib/core/tracker/service';

/**
 * What tracing must not do: work when it is off, and work for a request the sampler dropped (issue 19's cost
 * target). Spans are watched at the port (every span a request's code is handed is recorded here), store calls
 * at the store, exports at the processor: so a change that starts allocating spans, ids, attributes or exports
 * on those paths fails here, whatever the bench's timing says.
 */

/** The store with every method call counted, and the object each call came through. */
function countingStore(): { store: ProgressStore; calls: string[] } {
  const inner = FileStore.inMemory();
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        calls.push(prop);
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  return { store, calls };
}

const update = (headers: Record<string, string> = {}): HttpRequest => ({
  method: 'POST',
  path: '/api/migration/progress',
  query: {},
  headers: { 'content-type': 'application/json', host: '127.0.0.1', ...headers },
  body: JSON.stringify({ action: 'update_metrics', increment: { successfulOperations: 1 } }),
});

/** A processor that fails the test if anything reaches it. */
const refuse: SpanProcessor = {
  onEnd: (s: FinishedSpan) => {
    throw new Error(`span "${s.name}" was exported from a dropped trace`);
  },
  flush: async () => undefined,
  shutdown: async () => undefined,
};

afterEach(() => setTracer(NOOP_TRACER));

describe('tracing off', () => {
  it('loads no exporter, wraps neither the store nor the request, and hands no span down', async () => {
    jest.isolateModules(() => {
      for (const m of ['../../lib/adapters/otel/tracer', '../../lib/adapters/otel/otlp-http', '../../lib/adapters/otel/otlp-proto'])
        jest.doMock(m, () => {
          throw new Error(`${m} was loaded with tracing off`);
        });
      const compose = require('../../lib/compose/tracing') as typeof import('../../lib/compose/tracing');
      expect(compose.installTracing({}, 'local', 'local').enabled).toBe(false);
      expect(() => compose.installTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'local', 'local')).toThrow(/was loaded with tracing off/); // the check can fail
    });
    expect(installTracing({}, 'local', 'local')).toBe(NOOP_TRACER);
    const { store, calls } = countingStore();
    const tracker = new Tracker({ store });
    expect(tracker.store).toBe(store); // no traced view of it
    await tracker.initialize('default', {});
    const api = trackerApi({ tracker });
    const req = update({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect((await api(req)).status).toBe(200);
    expect(req.span).toBeUndefined();
    expect(calls).toEqual(['load', 'commit', 'putHistory', 'load', 'commit']);
  });
});

describe('a request the sampler dropped', () => {
  /** The tracer's startSpan, counted: every span object a request's code makes goes through it. */
  function countingTracer(sampler = ratioSampler(0)): { t: OtelTracer; made: Span[] } {
    const t = new OtelTracer({ processor: refuse, sampler });
    const made: Span[] = [];
    const start = t.startSpan.bind(t);
    t.startSpan = (name, options, parent) => {
      const s = start(name, options, parent);
      made.push(s);
      return s;
    };
    return { t, made };
  }

  it('a tracker update: one span object for the whole request, no ids made, no store spans, nothing exported', async () => {
    const { t, made } = countingTracer();
    setTracer(t);
    const { store, calls } = countingStore();
    const tracker = new Tracker({ store });
    await tracker.initialize('default', {});
    calls.length = 0;
    made.length = 0;
    const api = trackerApi({ tracker });
    const req = update();
    expect((await api(req)).status).toBe(200);
    expect(made).toHaveLength(1); // the server span; parse, apply, the store calls and durable reuse it
    expect(req.span).toBe(made[0]);
    expect(req.span!.recording).toBe(false);
    expect(Object.values(req.span!).filter((v) => typeof v === 'string' && /^[0-9a-f]{16,32}$/.test(v))).toEqual([]); // no trace or span id generated
    expect(calls).toEqual(['load', 'commit']); // straight to the store: no traced view in between
  });

  it('still passes the caller\'s trace on, "not sampled", with ids made only when asked for', async () => {
    const { t, made } = countingTracer(ratioSampler(1)); // would sample: the caller's decision wins (parent-based)
    setTracer(t);
    const hits = [{ id: 'a', score: 1 }];
    let outgoing: string | undefined;
    const backend: VectorBackend = { description: 'b', search: async () => ((outgoing = tracer().activeSpan()?.traceparent()), hits) };
    const proxy = searchProxy({ primary: backend, fallback: backend, settings: { deadlineMs: 1000, primaryTimeoutMs: 500 } });
    const req: HttpRequest = { method: 'POST', path: '/search', query: {}, headers: { 'content-type': 'application/json', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' }, body: JSON.stringify({ vector: [0.1, 0.2], topK: 1 }) };
    expect((await proxy.handler(req)).status).toBe(200);
    expect(outgoing).toBeUndefined(); // no AsyncLocalStorage on the request path: nothing is "active"
    expect(made).toHaveLength(1);
    expect(req.span!.traceparent()).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    const root = countingTracer().t.startSpan('job', { root: true });
    expect(root.recording).toBe(false);
    expect(root.traceparent()).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(root.traceparent()).toBe(root.traceparent()); // made once, then kept
  });
});
