import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A local OTLP/HTTP trace receiver, as a collector would be: `POST /v1/traces` with an ExportTraceServiceRequest
 * in protobuf (`application/x-protobuf`, decoded by `decodeProtobuf` below from the field numbers of the OTLP
 * .proto files, an unknown field or wrong wire type being an error) or in JSON. Either is then checked against
 * the OTLP JSON encoding (hex ids of the right length, times as decimal strings of nanoseconds, enum integers,
 * typed attribute values), so an exporter that a real collector would refuse fails here too (400, and the
 * problem is kept in `rejected`). `contentTypes` records what each request was sent as.
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

// ---- protobuf: a reader of the wire format, and the OTLP trace messages as field tables ----

type Field = { name: string; type: 'string' | 'bytes' | 'enum' | 'fixed64' | 'bool' | 'int64' | 'double' | Message; repeated?: boolean };
interface Message {
  [n: number]: Field;
}
const ANY_VALUE: Message = {};
const KEY_VALUE: Message = { 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: ANY_VALUE } };
Object.assign(ANY_VALUE, {
  1: { name: 'stringValue', type: 'string' },
  2: { name: 'boolValue', type: 'bool' },
  3: { name: 'intValue', type: 'int64' },
  4: { name: 'doubleValue', type: 'double' },
  5: { name: 'arrayValue', type: { 1: { name: 'values', type: ANY_VALUE, repeated: true } } },
});
const ATTRIBUTES: Field = { name: 'attributes', type: KEY_VALUE, repeated: true };
const SPAN: Message = {
  1: { name: 'traceId', type: 'bytes' },
  2: { name: 'spanId', type: 'bytes' },
  4: { name: 'parentSpanId', type: 'bytes' },
  5: { name: 'name', type: 'string' },
  6: { name: 'kind', type: 'enum' },
  7: { name: 'startTimeUnixNano', type: 'fixed64' },
  8: { name: 'endTimeUnixNano', type: 'fixed64' },
  9: ATTRIBUTES,
  11: { name: 'events', type: { 1: { name: 'timeUnixNano', type: 'fixed64' }, 2: { name: 'name', type: 'string' }, 3: ATTRIBUTES }, repeated: true },
  15: { name: 'status', type: { 2: { name: 'message', type: 'string' }, 3: { name: 'code', type: 'enum' } } },
};
const EXPORT_REQUEST: Message = {
  1: {
    name: 'resourceSpans',
    repeated: true,
    type: {
      1: { name: 'resource', type: { 1: ATTRIBUTES } },
      2: { name: 'scopeSpans', repeated: true, type: { 1: { name: 'scope', type: { 1: { name: 'name', type: 'string' }, 2: { name: 'version', type: 'string' } } }, 2: { name: 'spans', type: SPAN, repeated: true } } },
    },
  },
};
const WIRE: Record<string, number> = { string: 2, bytes: 2, enum: 0, fixed64: 1, bool: 0, int64: 0, double: 1 };

/** A protobuf message → the object its OTLP JSON encoding would be (repeated fields as arrays, defaults filled). */
export function decodeProtobuf(buf: Buffer, msg: Message = EXPORT_REQUEST): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const f = msg[key >> 3];
    const wire = key & 7;
    if (!f) throw new Error(`unknown field ${key >> 3} (wire type ${wire})`);
    const want = typeof f.type === 'string' ? WIRE[f.type]! : 2;
    if (wire !== want) throw new Error(`field ${f.name}: wire type ${wire}, expected ${want}`);
    let value: unknown;
    if (wire === 0) {
      const v = varint();
      value = f.type === 'bool' ? v !== 0n : f.type === 'int64' ? String(BigInt.asIntN(64, v)) : Number(v);
    } else if (wire === 1) {
      value = f.type === 'double' ? buf.readDoubleLE(pos) : buf.readBigUInt64LE(pos).toString();
      pos += 8;
    } else {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error(`field ${f.name}: length ${len} runs past the end`);
      const body = buf.subarray(pos, pos + len);
      pos += len;
      value = f.type === 'string' ? body.toString('utf8') : f.type === 'bytes' ? body.toString('hex') : decodeProtobuf(body, f.type as Message);
    }
    if (f.repeated) ((out[f.name] ??= []) as unknown[]).push(value);
    else out[f.name] = value;
  }
  // proto3 defaults, as a JSON encoder writes them: empty repeated fields, status code 0
  for (const f of Object.values(msg) as Field[]) if (f.repeated && !(f.name in out)) out[f.name] = [];
  if (msg === SPAN) {
    const status = (out['status'] ??= {}) as Record<string, unknown>;
    status['code'] ??= 0;
  }
  if (msg === ANY_VALUE && Object.keys(out).length === 0) throw new Error('an AnyValue with no value');
  return out;
}

export interface OtlpReceiver {
  /** Base URL (what OTEL_EXPORTER_OTLP_ENDPOINT / --otlp-endpoint take). */
  url: string;
  spans: ReceivedSpan[];
  /** Payloads that were not valid OTLP, with the problem. */
  rejected: string[];
  /** The content type of each export request, in order. */
  contentTypes: string[];
  requests: number;
  /** Resolves when `predicate` holds for the received spans (polls; fails after timeoutMs listing what came). */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const contentTypes: string[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const type = req.headers['content-type'] ?? '';
      const proto = /^application\/x-protobuf/.test(type);
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !(proto || /^application\/json/.test(type))) {
        rejected.push(`${req.method} ${req.url} (${type})`);
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(type);
      let payload: unknown;
      try {
        payload = proto ? decodeProtobuf(Buffer.concat(chunks)) : JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        rejected.push(`not ${proto ? 'protobuf' : 'JSON'}: ${(e as Error).message}`);
        res.writeHead(400).end();
        return;
      }
      const parsed = requestSchema.safeParse(payload);
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
    contentTypes,
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
