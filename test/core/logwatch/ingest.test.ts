import { pubSubLines } from '../../../lib/core/logwatch/ingest';

const push = (entryText: string) => ({
  message: { data: Buffer.from(entryText).toString('base64'), messageId: 'm-1' },
  subscription: 'projects/p/subscriptions/s',
});

describe('Pub/Sub push lines (hostile LogEntry data)', () => {
  it('reports a jsonPayload nested 5,000 deep as malformed (acknowledged), never a stack overflow that redelivers forever', () => {
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    const r = pubSubLines(push(`{"logName":"projects/p/logs/app","jsonPayload":${deep}}`));
    expect(r.kind).toBe('malformed');
    expect(r.kind === 'malformed' && r.reason).toMatch(/nested deeper than 32 levels/);
  });

  it('still turns a normal jsonPayload into one JSON line', () => {
    const r = pubSubLines(push('{"logName":"projects/p/logs/app","insertId":"i1","jsonPayload":{"message":"Migration started","n":{"x":1}}}'));
    expect(r).toMatchObject({ kind: 'lines', lines: [{ text: '{"message":"Migration started","n":{"x":1}}' }] });
  });
});
