import type { AttributeValue, SpanKind } from '../../core/tracing';
import type { FinishedSpan } from './tracer';

/**
 * OTLP/HTTP protobuf (`application/x-protobuf`, the OTLP default) written by hand: the ExportTraceServiceRequest
 * of opentelemetry/proto/collector/trace/v1 and the messages of trace/v1 and common/v1 it holds, with only the
 * fields this exporter sets. A span is written straight into a growing buffer when it ends, so no object tree is
 * built and no text is kept: ids are 16 and 8 bytes instead of 32 and 16 hex digits, times are fixed64, and
 * ASCII strings (every name and key here) are copied byte by byte without a call into C++.
 */

const KIND: Record<SpanKind, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS = { unset: 0, ok: 1, error: 2 } as const;
const TWO32 = 2 ** 32;

/** `v`'s low 32 bits at `buf[p..p+3]`, least significant byte first (fixed64 halves). Typed-array stores keep the low 8 bits. */
function put32le(buf: Buffer, p: number, v: number): void {
  buf[p] = v;
  buf[p + 1] = v >>> 8;
  buf[p + 2] = v >>> 16;
  buf[p + 3] = v >>> 24;
}

/** `v`'s low 32 bits at `buf[p..p+3]`, most significant byte first (ids: the byte order of their hex). */
function put32be(buf: Buffer, p: number, v: number): void {
  buf[p] = v >>> 24;
  buf[p + 1] = v >>> 16;
  buf[p + 2] = v >>> 8;
  buf[p + 3] = v;
}

/** A protobuf writer over one growing Buffer; length-delimited fields are written in place (see `close`). */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;
  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }
  varint(n: number): void {
    this.room(10);
    if (n < 0) {
      // int64 two's complement, ten bytes (negative attribute integers: rare)
      let v = BigInt.asUintN(64, BigInt(n));
      while (v > 0x7fn) {
        this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      this.buf[this.pos++] = Number(v);
      return;
    }
    while (n > 0x7f) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
  /** A tag then a length-delimited UTF-8 string. */
  string(tag: number, s: string): void {
    const n = s.length;
    this.room(n + 6);
    const buf = this.buf;
    buf[this.pos++] = tag;
    // ASCII of fewer than 128 characters, the usual case: one length byte and a plain copy
    if (n < 128) {
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.varint(bytes);
    this.room(bytes);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
  /** A tag then `hex` as `bytes` (ids). */
  hex(tag: number, hex: string): void {
    const n = hex.length >> 1;
    this.room(n + 2);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = n;
    this.pos += this.buf.write(hex, this.pos, 'hex');
  }
  /** A tag then epoch milliseconds (fractional) as fixed64 nanoseconds, kept to the microsecond. */
  nanos(tag: number, ms: number): void {
    this.room(9);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = tag;
    const micros = Math.round(ms * 1000); // a safe integer until the year 2255
    const lo = (micros % TWO32) * 1000; // < 2^42: exact
    put32le(buf, p + 1, lo % TWO32);
    put32le(buf, p + 5, Math.floor(micros / TWO32) * 1000 + Math.floor(lo / TWO32));
    this.pos = p + 9;
  }
  double(tag: number, v: number): void {
    this.room(9);
    this.buf[this.pos++] = tag;
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  /** Bytes as they are (an encoded message kept from before). */
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** A tag then a 4-word (trace) or 2-word (span) id as `bytes`, the words big-endian. */
  words(tag: number, a: number, b: number, c?: number, d?: number): void {
    const n = c === undefined ? 8 : 16;
    this.room(n + 2);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = tag;
    buf[p + 1] = n;
    put32be(buf, p + 2, a);
    put32be(buf, p + 6, b);
    if (c !== undefined) {
      put32be(buf, p + 10, c);
      put32be(buf, p + 14, d!);
    }
    this.pos = p + 2 + n;
  }
  /**
   * Start a length-delimited field: its tag and `reserve` bytes for the length, which `close` fills in. Reserve
   * what the body usually needs (1 byte: under 128 bytes, an attribute, a value, an event; 2: under 16 KiB, a
   * span), so `close` seldom has to move the body.
   */
  open(tag: number, reserve: 1 | 2 = 2): number {
    this.room(1 + reserve);
    this.buf[this.pos++] = tag;
    this.pos += reserve;
    return this.pos;
  }
  /** Fill in the length of the field `open` started (with the same `reserve`), moving the body when it needs more or fewer bytes. */
  close(start: number, reserve: 1 | 2 = 2): void {
    const len = this.pos - start;
    const need = len < 128 ? 1 : len < 16384 ? 2 : len < 2097152 ? 3 : 4;
    if (need !== reserve) {
      this.room(need - reserve);
      this.buf.copyWithin(start + need - reserve, start, this.pos);
      this.pos += need - reserve;
    }
    let p = start - reserve;
    let n = len;
    while (n > 0x7f) {
      this.buf[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[p] = n;
  }
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

function anyValue(w: ProtoWriter, v: AttributeValue): void {
  if (typeof v === 'string') w.string(0x0a, v);
  else if (typeof v === 'boolean') {
    w.byte(0x10);
    w.byte(v ? 1 : 0);
  } else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) {
      w.byte(0x18);
      w.varint(v);
    } else w.double(0x21, v); // protobuf doubles hold NaN and Infinity
  } else {
    const array = w.open(0x2a);
    for (const x of v) {
      const value = w.open(0x0a, 1);
      w.string(0x0a, x);
      w.close(value, 1);
    }
    w.close(array);
  }
}

/**
 * KeyValue messages already encoded, by key and value: spans from one place in the code carry the same keys and
 * mostly the same values (`db.system.name`, the migration id, the route), so most attributes are a copy of
 * bytes made once. Only scalars whose message is under 128 bytes are kept, at most CACHE_MAX of them (then the
 * cache starts over), so a value that varies per call (a path with an id in it) costs one lookup and no more.
 */
const CACHE_MAX = 2048;
const kvCache = new Map<string, Map<string | number | boolean, Uint8Array>>();
let kvCached = 0;

function keyValues(w: ProtoWriter, tag: number, a: Record<string, AttributeValue>): void {
  for (const key in a) {
    const v = a[key]!;
    const scalar = typeof v !== 'object';
    let byValue: Map<string | number | boolean, Uint8Array> | undefined;
    if (scalar) {
      byValue = kvCache.get(key);
      const hit = byValue?.get(v);
      if (hit) {
        w.byte(tag);
        w.byte(hit.length);
        w.bytes(hit);
        continue;
      }
    }
    const kv = w.open(tag, 1);
    w.string(0x0a, key);
    const value = w.open(0x12, 1);
    anyValue(w, v);
    w.close(value, 1);
    const len = w.pos - kv;
    w.close(kv, 1);
    if (scalar && len < 128) {
      if (kvCached >= CACHE_MAX) {
        kvCache.clear();
        kvCached = 0;
        byValue = undefined;
      }
      if (!byValue) kvCache.set(key, (byValue = new Map()));
      byValue.set(v, Uint8Array.prototype.slice.call(w.buf, kv, kv + len)); // a copy: the writer's buffer is reused
      kvCached++;
    }
  }
}

/** One ended span as `ScopeSpans.spans` (field 2): its tag, length and `Span` message. */
export function writeSpan(w: ProtoWriter, s: FinishedSpan): void {
  const span = w.open(0x12);
  const ids = s.words;
  if (ids) {
    w.words(0x0a, ids.t0, ids.t1, ids.t2, ids.t3);
    w.words(0x12, ids.s0, ids.s1);
    if (ids.hasParent) w.words(0x22, ids.p0, ids.p1);
  } else {
    w.hex(0x0a, s.traceId);
    w.hex(0x12, s.spanId);
    if (s.parentSpanId) w.hex(0x22, s.parentSpanId);
  }
  w.string(0x2a, s.name);
  w.byte(0x30);
  w.byte(KIND[s.kind]);
  w.nanos(0x39, s.startMs);
  w.nanos(0x41, s.endMs);
  keyValues(w, 0x4a, s.attributes);
  for (const e of s.events) {
    const event = w.open(0x5a, 1);
    w.nanos(0x09, e.atMs);
    w.string(0x12, e.name);
    keyValues(w, 0x1a, e.attributes);
    w.close(event, 1);
  }
  const code = STATUS[s.status.code];
  if (code || s.status.message) {
    const status = w.open(0x7a, 1);
    if (s.status.message) w.string(0x12, s.status.message);
    if (code) {
      w.byte(0x18);
      w.byte(code);
    }
    w.close(status, 1);
  }
  w.close(span);
}

/**
 * The ExportTraceServiceRequest around `spans` (ScopeSpans.spans fields written by `writeSpan`): one
 * ResourceSpans with the resource's attributes and one ScopeSpans of scope `migration-monitor`.
 */
export function protoRequest(resource: Record<string, AttributeValue>, spans: Buffer): Buffer {
  const w = new ProtoWriter(1024);
  const head = new ProtoWriter(16);
  // ResourceSpans.resource (1) = Resource { attributes (1) }
  const res = w.open(0x0a);
  keyValues(w, 0x0a, resource);
  w.close(res);
  // ResourceSpans.scope_spans (2) = ScopeSpans { scope (1) = { name (1), version (2) }, spans (2)... }
  const scope = new ProtoWriter(64);
  const sc = scope.open(0x0a);
  scope.string(0x0a, 'migration-monitor');
  scope.string(0x12, '1');
  scope.close(sc);
  const scopeSpansLen = scope.pos + spans.length;
  w.byte(0x12);
  w.varint(scopeSpansLen);
  const resourceSpansLen = w.pos + scopeSpansLen;
  head.byte(0x0a); // ExportTraceServiceRequest.resource_spans (1)
  head.varint(resourceSpansLen);
  return Buffer.concat([head.buf.subarray(0, head.pos), w.buf.subarray(0, w.pos), scope.buf.subarray(0, scope.pos), spans]);
}
