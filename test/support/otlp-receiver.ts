import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A local OTLP/HTTP trace receiver, as a collector would be: `POST /v1/traces` with an ExportTraceServiceRequest
 * in JSON. Each payload is checked against the OTLP JSON encoding (hex ids of the right length, times as decimal
 * strings of nanoseconds, enum integers, typed attribute values), so an exporter that a real collector would
 * refuse fails here too (400, and the problem is kept in `rejected`).
 */
const anyValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.strictObject({ stringValue: z.string() }),
    z.strictObject({ boolValue: z.boolean() }),
    z.strictObject({ intValue: z.string().regex(/^-?\d+$/) }),
    z.strictObject({ doubleValue: z.number() }),
    z.strictObject({ arrayValue: z.strictObject({ values: z.array(anyValue) }) }),
  ]),
);
const keyValues = z.array(z.strictObject({ key: z.string().min(1), value: anyValue }));
const nanos = z.string().regex(/^\d{19}$/, 'nanoseconds since the epoch as a decimal string');
const spanSchema = z.strictObject({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  spanId: z.string().regex(/^[0-9a-f]{16}$/),
  parentSpanId: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  name: z.string().min(1),
  kind: z.number().int().min(1).max(5),
  startTimeUnixNano: nanos,
  endTimeUnixNano: nanos,
  attributes: keyValues,
  events: z.array(z.strictObject({ timeUnixNano: nanos, name: z.string(), attributes: keyValues })),
  status: z.strictObject({ code: z.number().int().min(0).max(2), message: z.string().optional() }),
});
const requestSchema = z.strictObject({
  resourceSpans: z.array(
    z.strictObject({
      resource: z.strictObject({ attributes: keyValues }),
      scopeSpans: z.array(z.strictObject({ scope: z.strictObject({ name: z.string(), version: z.string().optional() }), spans: z.array(spanSchema) })),
    }),
  ),
});

export type Attrs = Record<string, unknown>;
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  startNs: bigint;
  endNs: bigint;
  attributes: Attrs;
  events: Array<{ name: string; attributes: Attrs }>;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  resource: Attrs;
}

const KINDS = ['', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const STATUS = ['unset', 'ok', 'error'] as const;

function plain(v: unknown): unknown {
  const o = v as Record<string, unknown>;
  if ('stringValue' in o) return o['stringValue'];
  if ('boolValue' in o) return o['boolValue'];
  if ('intValue' in o) return Number(o['intValue']);
  if ('doubleValue' in o) return o['doubleValue'];
  return (o['arrayValue'] as { values: unknown[] }).values.map(plain);
}
const attrs = (kv: Array<{ key: string; value: unknown }>): Attrs => Object.fromEntries(kv.map((a) => [a.key, plain(a.value)]));

export interface OtlpReceiver {
  /** Base URL (what OTEL_EXPORTER_OTLP_ENDPOINT / --otlp-endpoint take). */
  url: string;
  spans: ReceivedSpan[];
  /** Payloads that were not valid OTLP JSON, with the problem. */
  rejected: string[];
  requests: number;
  /** Resolves when `predicate` holds for the received spans (polls; fails after timeoutMs listing what came). */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !/^application\/json/.test(req.headers['content-type'] ?? '')) {
        rejected.push(`${req.method} ${req.url} (${req.headers['content-type']})`);
        res.writeHead(404).end();
        return;
      }
      const parsed = requestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!parsed.success) {
        rejected.push(parsed.error.message);
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: parsed.error.message }));
        return;
      }
      for (const rs of parsed.data.resourceSpans) {
        const resource = attrs(rs.resource.attributes);
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans)
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: KINDS[s.kind] as ReceivedSpan['kind'],
              startNs: BigInt(s.startTimeUnixNano),
              endNs: BigInt(s.endTimeUnixNano),
              attributes: attrs(s.attributes),
              events: s.events.map((e) => ({ name: e.name, attributes: attrs(e.attributes) })),
              status: STATUS[s.status.code]!,
              ...(s.status.message ? { statusMessage: s.status.message } : {}),
              resource,
            });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    spans,
    rejected,
    get requests() {
      return requests;
    },
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > deadline) throw new Error(`spans not received in ${timeoutMs} ms; got: ${spans.map((s) => s.name).join(', ') || 'none'}; rejected: ${rejected.join('; ') || 'none'}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return spans;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The tree under `root` as indented lines `name` (children in start order), for readable assertions:
 * `tree(spans, root)` → ['migration-monitor phase progress', '  POST', '    POST /api/migration/progress', …].
 */
export function tree(spans: ReceivedSpan[], root: ReceivedSpan, depth = 0): string[] {
  const children = spans.filter((s) => s.parentSpanId === root.spanId && s.traceId === root.traceId).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  return [`${'  '.repeat(depth)}${root.name}`, ...children.flatMap((c) => tree(spans, c, depth + 1))];
}

export const byName = (spans: ReceivedSpan[], name: string): ReceivedSpan[] => spans.filter((s) => s.name === name);
export const one = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
  const found = byName(spans, name);
  if (found.length !== 1) throw new Error(`expected one span "${name}", got ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
};
