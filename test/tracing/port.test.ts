import net from 'node:net';
import { OtlpHttpExporter, encodeSpans, nanos } from '../../lib/adapters/otel/otlp-http';
import { protoRequest, ProtoWriter, writeSpan } from '../../lib/adapters/otel/otlp-proto';
import { newTraceId, OtelTracer, ratioSampler, type FinishedSpan, type SpanProcessor } from '../../lib/adapters/otel/tracer';
import { EnvError } from '../../lib/compose/env';
import { tracingSettings, xrayToTraceparent } from '../../lib/compose/tracing';
import { formatTraceparent, NOOP_SPAN, NOOP_TRACER, parseTraceparent, setTracer, tracer } from '../../lib/core/tracing';
import { traceHttp } from '../../lib/core/tracing-http';
import { decodeProtobuf, startOtlpReceiver } from '../support/otlp-receiver';

class Collect implements SpanProcessor {
  spans: FinishedSpan[] = [];
  onEnd(s: FinishedSpan) {
    this.spans.push(s);
  }
  async flush() {}
  async shutdown() {}
}

describe('W3C traceparent', () => {
  const ok = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  it('parses and formats the spec example, sampled or not', () => {
    expect(parseTraceparent(ok)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
    expect(formatTraceparent(parseTraceparent(ok)!)).toBe(ok);
    expect(parseTraceparent(ok.replace(/01$/, '00'))!.sampled).toBe(false);
    expect(parseTraceparent(ok.toUpperCase())).not.toBeNull(); // lower-cased, as the spec lets a receiver
  });
  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['version 00 with extra fields', `${ok}-extra`],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['not hex', '00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01'],
    ['huge', `00-${'a'.repeat(1000)}`],
  ])('refuses %s (the receiver starts a new trace)', (_what, header) => {
    expect(parseTraceparent(header)).toBeNull();
  });
  it('accepts a future version with more fields', () => {
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next')).not.toBeNull();
  });
  it('turns an X-Ray trace header into a traceparent (the Lambda invocation joins its X-Ray trace)', () => {
    expect(xrayToTraceparent('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')).toBe('00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01');
    expect(xrayToTraceparent('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0')).toBeUndefined();
    expect(xrayToTraceparent(undefined)).toBeUndefined();
  });
});

describe('the no-op tracer (tracing off)', () => {
  it('is the default, calls the function with a span that records nothing, and propagates nothing', async () => {
    expect(tracer()).toBe(NOOP_TRACER);
    const fn = jest.fn(async () => 42);
    expect(await NOOP_TRACER.withSpan('x', {}, fn)).toBe(42);
    expect(fn).toHaveBeenCalledWith(NOOP_SPAN);
    expect(NOOP_SPAN.traceparent()).toBeUndefined();
    expect(NOOP_TRACER.activeSpan()).toBeUndefined();
    await expect(NOOP_TRACER.withSpan('x', {}, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});

describe('the OTLP tracer', () => {
  it('parents through await, continues a remote parent only at the top, starts roots on request, records errors', async () => {
    const p = new Collect();
    const t = new OtelTracer({ processor: p });
    const remote = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await t.withSpan('server', { kind: 'server', traceparent: remote }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      await t.withSpan('inner', { traceparent: '00-11111111111111111111111111111111-2222222222222222-01' }, async () => undefined);
      await t.withSpan('job', { root: true }, async () => undefined);
      await t.withSpan('fails', {}, async () => Promise.reject(new TypeError('bad'))).catch(() => undefined);
    });
    const by = (n: string) => p.spans.find((s) => s.name === n)!;
    expect(by('server')).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', kind: 'server' });
    expect(by('inner')).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: by('server').spanId });
    expect(by('job').traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(by('job').parentSpanId).toBeUndefined();
    expect(by('fails')).toMatchObject({ status: { code: 'error', message: 'bad' } });
    expect(by('fails').events[0]).toMatchObject({ name: 'exception', attributes: { 'exception.type': 'TypeError', 'exception.message': 'bad' } });
  });

  it('cuts string attributes to the value length limit (default 4096): a hostile 16 KB User-Agent does not ride on every span', async () => {
    const p = new Collect();
    const handler = traceHttp(async () => ({ status: 200, headers: {}, body: '' }), 'tracker');
    const restore = setTracer(new OtelTracer({ processor: p }));
    try {
      await handler({ method: 'GET', path: `/api/${'p'.repeat(9000)}`, query: {}, headers: { 'user-agent': 'u'.repeat(16 * 1024) } });
    } finally {
      restore();
    }
    expect(p.spans[0]!.attributes['user_agent.original']).toBe('u'.repeat(4096));
    expect(p.spans[0]!.attributes['url.path']).toHaveLength(4096);
    const q = new Collect();
    const t = new OtelTracer({ processor: q, attributeValueLengthLimit: 5 });
    await t.withSpan('s', { attributes: { short: 'abc', long: 'abcdefgh', list: ['abcdefgh', 'x'], n: 123456789, emoji: 'abcd😀' } }, async (span) => {
      span.setAttribute('later', 'abcdefgh');
      span.addEvent('e', { long: 'abcdefgh' });
      throw new Error('a message longer than five');
    }).catch(() => undefined);
    expect(q.spans[0]!.attributes).toEqual({ short: 'abc', long: 'abcde', list: ['abcde', 'x'], n: 123456789, emoji: 'abcd', later: 'abcde' });
    expect(q.spans[0]!.events.map((e) => e.attributes)).toEqual([{ long: 'abcde' }, expect.objectContaining({ 'exception.message': 'a mes' })]);
  });

  it('keeps a parent\'s "not sampled" decision and passes it on; a ratio sampler keeps about its share, per trace', async () => {
    const p = new Collect();
    const t = new OtelTracer({ processor: p, sampler: () => true });
    let sent: string | undefined;
    await t.withSpan('s', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' }, async (span) => {
      expect(span.recording).toBe(false);
      await t.withSpan('child', {}, async (c) => void (sent = c.traceparent()));
    });
    expect(p.spans).toEqual([]);
    expect(sent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
    const quarter = ratioSampler(0.25);
    let kept = 0;
    for (let i = 0; i < 4000; i++) if (quarter(newTraceId(Date.now()))) kept++;
    expect(kept).toBeGreaterThan(800);
    expect(kept).toBeLessThan(1200);
    const id = newTraceId(Date.now());
    expect(quarter(id)).toBe(quarter(id));
  });

  it('makes trace ids X-Ray accepts: the first 8 hex digits are the epoch second', () => {
    const now = Date.UTC(2026, 11, 2, 6, 0, 0);
    const id = newTraceId(now);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(parseInt(id.slice(0, 8), 16)).toBe(now / 1000);
  });
});

describe('the OTLP/HTTP JSON exporter', () => {
  it('encodes times as nanosecond strings without double rounding, ints as strings, doubles as numbers', () => {
    expect(nanos(1764655200123.456)).toBe('1764655200123456000');
    expect(nanos(1764655200123.9999)).toBe('1764655200124000000');
    expect(nanos(0.5)).toBe('500000');
    const e = JSON.parse(encodeSpans({ 'service.name': 's' }, [
      { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'n "quoted"', kind: 'client', startMs: 1, endMs: 2, attributes: { i: 3, d: 0.5, b: true, l: ['x', 'y\n'], big: 2 ** 60, nan: NaN }, events: [], status: { code: 'unset' } },
    ])) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
    const span = e.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span['name']).toBe('n "quoted"');
    expect(span).toMatchObject({ kind: 3, startTimeUnixNano: '1000000', status: { code: 0 } });
    expect(span.attributes).toEqual([
      { key: 'i', value: { intValue: '3' } },
      { key: 'd', value: { doubleValue: 0.5 } },
      { key: 'b', value: { boolValue: true } },
      { key: 'l', value: { arrayValue: { values: [{ stringValue: 'x' }, { stringValue: 'y\n' }] } } },
      { key: 'big', value: { doubleValue: 2 ** 60 } }, // beyond 2^53 "3" would be a lie; JSON has no NaN
      { key: 'nan', value: { stringValue: 'NaN' } },
    ]);
  });

  it('sends headers, reports a dead collector once per failure streak and never throws; the queue is bounded', async () => {
    const errors: string[] = [];
    const receiver = await startOtlpReceiver();
    const url = `${receiver.url.replace('//', '//user:secret@')}/v1/traces`; // credentials in the URL are never printed
    await receiver.close(); // nothing listens any more
    const x = new OtlpHttpExporter({ url, resource: { 'service.name': 's' }, onError: (m) => errors.push(m), maxQueueSize: 3, scheduledDelayMs: 60_000 });
    const span: FinishedSpan = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'n', kind: 'internal', startMs: 1, endMs: 2, attributes: {}, events: [], status: { code: 'unset' } };
    for (let i = 0; i < 5; i++) x.onEnd(span);
    expect(x.dropped).toBe(2);
    await x.flush();
    x.onEnd(span);
    await x.flush();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/dropping spans: 3 wait to be exported to http:\/\/\*\*\*@127/);
    expect(errors[1]).toMatch(/exporting 3 span\(s\) to http:\/\/\*\*\*@127\.0\.0\.1:\d+\/v1\/traces failed/);
    expect(errors.join('\n')).not.toContain('secret');
    expect(x.dropped).toBe(6);
  });

  it('holds a collector that hangs to two exports at a time: what waits stays within the queue, the rest is dropped and said once', async () => {
    // A collector that takes the connection and the request, and never answers.
    const sockets = new Set<net.Socket>();
    let connections = 0;
    let maxOpen = 0;
    const hung = net.createServer((s) => {
      connections++;
      sockets.add(s);
      maxOpen = Math.max(maxOpen, sockets.size);
      s.on('data', () => undefined);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hung.address() as net.AddressInfo).port}/v1/traces`;
    const errors: string[] = [];
    const x = new OtlpHttpExporter({ url, resource: { 'service.name': 's' }, onError: (m) => errors.push(m), maxBatchSize: 10, maxQueueSize: 50, timeoutMs: 300, scheduledDelayMs: 60_000 });
    const span: FinishedSpan = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'n', kind: 'internal', startMs: 1, endMs: 2, attributes: {}, events: [], status: { code: 'unset' } };
    try {
      // 400 spans over 40 turns of the event loop: a full batch every turn, each of which used to leave at once
      for (let turn = 0; turn < 40; turn++) {
        for (let i = 0; i < 10; i++) x.onEnd(span);
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 50)); // the collector has seen what connects
      expect(maxOpen).toBe(2);
      // two batches in flight and at most 50 spans waiting: everything else was dropped, and counted
      expect(x.dropped).toBeGreaterThanOrEqual(400 - 2 * 10 - 50);
      expect(errors.filter((e) => /dropp/.test(e))).toHaveLength(1);
      expect(errors.find((e) => /dropp/.test(e))).toMatch(/dropping spans: 50 wait to be exported/);
      // the hung export times out (said once, with the drops of its own batch), then the waiting batches go
      await x.flush();
      expect(connections).toBeGreaterThan(1);
      expect(errors.filter((e) => /failed/.test(e))).toHaveLength(1);
      expect(x.exported).toBe(0);
      expect(x.dropped).toBe(400);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hung.close(r));
    }
  });
});

describe('the OTLP/HTTP protobuf encoding', () => {
  const spans: FinishedSpan[] = [
    {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      parentSpanId: 'b7ad6b7169203331',
      name: 'POST /api/migration/progress',
      kind: 'server',
      startMs: 1764655200123.456,
      endMs: 1764655200125.5,
      attributes: { s: 'x', i: 3, neg: -5, zero: 0, d: 0.5, big: 2 ** 60, t: true, f: false, l: ['a', 'ü'], utf8: 'naïve ✓ 日本', long: 'y'.repeat(300) },
      events: [{ name: 'breaker.state_change', atMs: 1764655200124.001, attributes: { 'migration.breaker.to': 'open' } }],
      status: { code: 'error', message: 'primary answered 503' },
    },
    { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'n'.repeat(20_000), kind: 'internal', startMs: 1764655200001, endMs: 1764655200002, attributes: {}, events: [], status: { code: 'ok' } },
    { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), name: 'load memory', kind: 'client', startMs: 1764655200000, endMs: 1764655200000.001, attributes: { 'db.system.name': 'memory' }, events: [], status: { code: 'unset' } },
  ];

  it('decodes (by the .proto field numbers) to exactly what the JSON encoding says, long and non-ASCII strings included', () => {
    const w = new ProtoWriter(16); // grows
    for (const s of spans) writeSpan(w, s);
    const resource = { 'service.name': 'svc', 'service.namespace': 'migration-monitor' };
    const decoded = decodeProtobuf(protoRequest(resource, w.take()));
    expect(decoded).toEqual(JSON.parse(encodeSpans(resource, spans)));
    const first = (decoded as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> }).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(first).toMatchObject({ startTimeUnixNano: '1764655200123456000', endTimeUnixNano: '1764655200125500000', kind: 2, status: { code: 2, message: 'primary answered 503' } });
  });

  it('spans the tracer makes (ids kept as 32-bit words) encode to the same ids as their hex: roots, children, remote parents with leading zeros, long attributes and events', async () => {
    const made: FinishedSpan[] = [];
    const t = new OtelTracer({ processor: { onEnd: (s) => made.push(s), flush: async () => undefined, shutdown: async () => undefined } });
    const small = '00-00000000000000000000000000000001-0000000000000001-01';
    await t.childSpan(undefined, 'root', { kind: 'server' }, async (root) => {
      await t.childSpan(root, 'child', { attributes: { a: 'x'.repeat(200), b: 'y'.repeat(20_000), n: 7 } }, async (c) => {
        c.setAttribute('n', 8); // set again: one attribute, the last value
        c.setAttributes({ n: 9, m: undefined, o: 'p' });
        c.addEvent('e', { big: 'z'.repeat(150) });
        return t.childSpan(c, 'grandchild', {}, async () => 1);
      });
    });
    await t.childSpan(undefined, 'remote', { kind: 'server', traceparent: small }, async (r) => t.childSpan(r, 'under-remote', {}, async () => 1));
    await t.childSpan(undefined, 'x-ray', { traceparent: '00-ffffffff00000000ffffffff00000000-8000000000000001-01' }, async () => 1);
    expect(made).toHaveLength(6);
    const w = new ProtoWriter(16);
    for (const s of made) writeSpan(w, s);
    const resource = { 'service.name': 'svc' };
    const decoded = decodeProtobuf(protoRequest(resource, w.take())) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
    expect(decoded).toEqual(JSON.parse(encodeSpans(resource, made)));
    const got = decoded.resourceSpans[0]!.scopeSpans[0]!.spans;
    const by = (n: string) => got.find((x) => x['name'] === n)!;
    expect(by('remote')).toMatchObject({ traceId: '00000000000000000000000000000001', parentSpanId: '0000000000000001' });
    expect(by('under-remote')).toMatchObject({ traceId: '00000000000000000000000000000001', parentSpanId: by('remote')['spanId'] });
    expect(by('x-ray')).toMatchObject({ traceId: 'ffffffff00000000ffffffff00000000', parentSpanId: '8000000000000001' });
    expect(by('grandchild')['parentSpanId']).toBe(by('child')['spanId']);
    expect((by('child')['attributes'] as Array<{ key: string }>).map((a) => a.key)).toEqual(['a', 'b', 'n', 'o']);
    expect(made.find((x) => x.name === 'child')!.attributes).toMatchObject({ n: 9, o: 'p' });
    expect(by('child')['traceId']).toBe(by('root')['traceId']);
    expect(by('root')['parentSpanId']).toBeUndefined();
    for (const x of got) expect(x['spanId']).toMatch(/^[0-9a-f]{16}$/);
    // a new trace id starts with the epoch second (X-Ray)
    expect(Math.abs(parseInt(String(by('root')['traceId']).slice(0, 8), 16) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('attributes encoded once and copied after: a reused writer buffer, names and values that vary per call and more values than the cache keeps still decode exactly', () => {
    const span = (i: number): FinishedSpan => ({
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      name: i % 2 ? 'load memory' : `GET /api/migrations/m-${i}`,
      kind: 'client',
      startMs: 1764655200000 + i,
      endMs: 1764655200001 + i,
      attributes: { 'db.system.name': 'memory', 'migration.id': `m-${i % 3000}`, n: i % 7, ok: i % 2 === 0, 'url.path': `/api/migrations/${i}/progress`, l: ['x'] },
      events: [],
      status: { code: 'unset' },
    });
    const resource = { 'service.name': 'svc' };
    // a cached attribute must be a copy: write it, overwrite the writer's bytes, write it again
    const one = new ProtoWriter(1 << 16);
    const first = span(1);
    writeSpan(one, first);
    one.pos = 0;
    for (let i = 0; i < 200; i++) one.string(0x0a, 'overwritten');
    one.pos = 0;
    writeSpan(one, first);
    expect(decodeProtobuf(protoRequest(resource, one.take()))).toEqual(JSON.parse(encodeSpans(resource, [first])));
    const w = new ProtoWriter(4 * 1024 * 1024); // never grows: each round writes over the bytes of the one before
    for (let round = 0; round < 3; round++) {
      // the same writer, its buffer overwritten each round, as the exporter reuses it between batches
      const spans = Array.from({ length: 2500 }, (_, i) => span(i + round * 2500));
      for (const x of spans) writeSpan(w, x);
      expect(decodeProtobuf(protoRequest(resource, w.take()))).toEqual(JSON.parse(encodeSpans(resource, spans)));
    }
  });

  it('is what the exporter sends by default; OTEL_EXPORTER_OTLP_PROTOCOL=http/json sends JSON', async () => {
    const receiver = await startOtlpReceiver();
    try {
      for (const encoding of [undefined, 'json'] as const) {
        const errors: string[] = [];
        const x = new OtlpHttpExporter({ url: `${receiver.url}/v1/traces`, resource: { 'service.name': `s-${encoding ?? 'default'}` }, onError: (m) => errors.push(m), ...(encoding ? { encoding } : {}) });
        for (const s of spans) x.onEnd(s);
        await x.flush();
        expect([errors, receiver.rejected, x.exported]).toEqual([[], [], 3]);
      }
      expect(receiver.rejected).toEqual([]);
      expect(receiver.contentTypes).toEqual(['application/x-protobuf', 'application/json']);
      expect(receiver.spans.map((s) => `${s.resource['service.name']} ${s.name.slice(0, 30)}`)).toEqual([
        's-default POST /api/migration/progress',
        `s-default ${'n'.repeat(30)}`,
        's-default load memory',
        's-json POST /api/migration/progress',
        `s-json ${'n'.repeat(30)}`,
        's-json load memory',
      ]);
      expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'local', 'cli').encoding).toBe('protobuf');
      expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, 'local', 'cli').encoding).toBe('json');
    } finally {
      await receiver.close();
    }
  });
});

describe('tracing settings from the environment', () => {
  it('is off without an endpoint, and with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingSettings({}, 'local', 'cli').url).toBeNull();
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }, 'local', 'cli').url).toBeNull();
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, 'local', 'cli').url).toBeNull();
  });
  it('takes the base endpoint (+/v1/traces), the traces endpoint as is, headers, sampler and resource', () => {
    const s = tracingSettings(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%20b, tenant=t', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', AWS_LAMBDA_FUNCTION_NAME: 'fn', AWS_REGION: 'eu-west-1' },
      'lambda',
      'report',
    );
    expect(s).toMatchObject({ url: 'http://c:4318/v1/traces', headers: { 'x-api-key': 'a b', tenant: 't' }, sampler: { kind: 'ratio', ratio: 0.1, parentBased: true } });
    expect(s.resource).toMatchObject({ 'service.name': 'migration-monitor-report', 'cloud.provider': 'aws', 'faas.name': 'fn', 'cloud.region': 'eu-west-1' });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' }, 'local', 'cli').url).toBe('http://c:4318/custom');
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'local', 'cli', 'http://flag:4318').url).toBe('http://flag:4318/v1/traces');
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_MAX_QUEUE_SIZE: '8192', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1024' }, 'local', 'cli')).toMatchObject({ maxQueueSize: 8192, maxBatchSize: 1024 });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'local', 'cli').valueLimit).toBe(4096);
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '200' }, 'local', 'cli').valueLimit).toBe(200);
  });
  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, /OTEL_EXPORTER_OTLP_ENDPOINT/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL: only http\/protobuf \(the default\) and http\/json/],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER/],
    [{ OTEL_TRACES_SAMPLER_ARG: '2' }, /OTEL_TRACES_SAMPLER_ARG/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, /OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not key=value/],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: '0' }, /OTEL_BSP_MAX_QUEUE_SIZE/],
    [{ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4096' }, /OTEL_BSP_MAX_EXPORT_BATCH_SIZE \(4096\) > OTEL_BSP_MAX_QUEUE_SIZE \(2048\)/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => tracingSettings(env, 'local', 'cli')).toThrow(EnvError);
    expect(() => tracingSettings(env, 'local', 'cli')).toThrow(message);
  });
});
