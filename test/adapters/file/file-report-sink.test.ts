import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileReportSink } from '../../../lib/adapters/file/file-report-sink';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-sink-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('FileReportSink', () => {
  it('creates a file once: a second put with the same key writes nothing and says so', async () => {
    const sink = new FileReportSink(dir);
    const a = await sink.put('orders-db/2026-03-02.md', 'first', 'text/markdown');
    const b = await sink.put('orders-db/2026-03-02.md', 'second', 'text/markdown');
    expect(a).toEqual({ created: true, location: path.join(dir, 'orders-db', '2026-03-02.md') });
    expect(b).toEqual({ created: false, location: a.location });
    expect(fs.readFileSync(a.location, 'utf8')).toBe('first');
    expect(await sink.get('orders-db/2026-03-02.md')).toBe('first');
  });

  it('lets exactly one of many concurrent writers create the file, with whole content, and leaves no temp files', async () => {
    const sinks = Array.from({ length: 12 }, () => new FileReportSink(dir));
    const body = (i: number) => `writer ${i} `.repeat(5000);
    const results = await Promise.all(sinks.map((s, i) => s.put('m/2026-03-02.html', body(i), 'text/html')));
    const winners = results.map((r, i) => (r.created ? i : -1)).filter((i) => i >= 0);
    expect(winners).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, 'm', '2026-03-02.html'), 'utf8')).toBe(body(winners[0]!));
    expect(fs.readdirSync(path.join(dir, 'm'))).toEqual(['2026-03-02.html']);
  });

  it('replaces the one mutable object atomically', async () => {
    const sink = new FileReportSink(dir);
    await sink.replace('m/latest.json', '{"v":1}', 'application/json');
    await sink.replace('m/latest.json', '{"v":2}', 'application/json');
    expect(await sink.get('m/latest.json')).toBe('{"v":2}');
  });

  it('answers null for a missing object', async () => {
    expect(await new FileReportSink(dir).get('m/none.json')).toBeNull();
  });

  it('refuses keys that would leave the directory', async () => {
    const sink = new FileReportSink(dir);
    await expect(sink.put('../escape.md', 'x', 'text/plain')).rejects.toThrow(/invalid report key/);
    await expect(sink.put('/abs.md', 'x', 'text/plain')).rejects.toThrow(/invalid report key/);
    await expect(sink.get('a/../../b')).rejects.toThrow(/invalid report key/);
  });
});
