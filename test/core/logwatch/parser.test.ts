import { parseLine, matchPatterns, parseLogWatchConfig } from '../../../lib/core/logwatch';

const opts = { maxLineBytes: 4096, messageFields: ['message', 'msg', 'event'] };
const line = (s: string) => {
  const r = parseLine(s, opts);
  if (r.kind !== 'line') throw new Error(`expected a line, got ${r.kind}`);
  return r.line;
};

describe('log line parser', () => {
  it('reads JSON lines: nested fields flattened with dot paths, message from the first message field', () => {
    const l = line('{"msg": "Bulk copy progress", "migration_id": "m1", "ctx": {"tenant": {"id": "t"}}, "n": 5, "ok": true, "tags": ["a"]}\r');
    expect(l.format).toBe('json');
    expect(l.message).toBe('Bulk copy progress');
    expect(l.fields).toEqual({ msg: 'Bulk copy progress', migration_id: 'm1', 'ctx.tenant.id': 't', n: 5, ok: true, tags: '["a"]' });
  });

  it('reads plain lines: key=value pairs (quoted or not) and a trailing JSON object', () => {
    const l = line('2026-01-01 INFO Target write failed migration_id=m1, error="disk \\"full\\"" note=\'a b\' {"tenant_id": "t7", "events_count": 3}');
    expect(l.format).toBe('text');
    expect(l.fields).toMatchObject({ migration_id: 'm1', error: 'disk "full"', note: 'a b', tenant_id: 't7', events_count: 3 });
  });

  it('classifies a JSON line nested 5,000 deep (within the byte limit) as malformed instead of overflowing the stack', () => {
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    const big = { maxLineBytes: 64 * 1024, messageFields: opts.messageFields };
    expect(parseLine(deep, big)).toEqual({ kind: 'malformed', reason: 'JSON nested deeper than 32 levels' });
    const text = parseLine(`Target write failed migration_id=m1 ${deep}`, big);
    expect(text.kind).toBe('line');
    expect(text.kind === 'line' && text.line.fields).toEqual({ migration_id: 'm1' });
  });

  it('classifies empty, malformed and over-long lines', () => {
    expect(parseLine('  \r', opts).kind).toBe('empty');
    expect(parseLine('{"a": 1', opts)).toEqual({ kind: 'malformed', reason: expect.stringMatching(/^invalid JSON/) });
    expect(parseLine('{"a": 1} trailing', opts).kind).toBe('malformed');
    expect(parseLine('x'.repeat(5000), opts)).toEqual({ kind: 'malformed', reason: 'line longer than 4096 bytes' });
    expect(parseLine('ok \u0007 bell', opts)).toEqual({ kind: 'malformed', reason: 'binary control characters in line' });
    expect(parseLine('tab\tseparated is fine', opts).kind).toBe('line');
  });

  it('matches the well-known events case-insensitively in either format, first pattern wins', () => {
    const { patterns } = parseLogWatchConfig();
    const name = (s: string) => matchPatterns(patterns, line(s))?.pattern.name ?? null;
    expect(name('INFO MIGRATION STARTED migration_id=x')).toBe('Migration started');
    expect(name('{"message": "bulk  copy   complete"}')).toBe('Bulk copy complete');
    expect(name('{"message": "Bulk copy completed"}')).toBe('Bulk copy complete');
    expect(name('{"event": "Cutover timeout"}')).toBe('Cutover timeout');
    // JSON lines match on their message, not on other fields.
    expect(name('{"message": "heartbeat", "note": "Migration failed yesterday"}')).toBeNull();
    expect(name('Migration startedness')).toBeNull();
  });

  it('adds named regex groups to the fields and tests field matchers against them', () => {
    const { patterns } = parseLogWatchConfig({
      useDefaultPatterns: false,
      patterns: [{ name: 'p', regex: 'copied (?<events_count>\\d+) for (?<tenant_id>\\S+)', fields: { tenant_id: { regex: '^acme' } }, actions: [{ do: 'progress' }] }],
    });
    expect(matchPatterns(patterns, line('copied 12 for acme-eu'))?.fields).toMatchObject({ events_count: '12', tenant_id: 'acme-eu' });
    expect(matchPatterns(patterns, line('copied 12 for other'))).toBeNull();
  });
});
