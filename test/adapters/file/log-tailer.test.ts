import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogTailer, type TailedLine, type TailerNotice } from '../../../lib/adapters/file/log-tailer';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tailer-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(t: LogTailer): Promise<string[]> {
  const out: string[] = [];
  await t.poll(async (l) => {
    out.push(l.text);
  });
  return out;
}

describe('log tailer', () => {
  it('hands on complete lines only and resumes at the partial one', async () => {
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'one\ntwo\r\nthr');
    const t = await LogTailer.open({ paths: [f] });
    expect(await collect(t)).toEqual(['one', 'two\r']);
    fs.appendFileSync(f, 'ee\nfour\n');
    expect(await collect(t)).toEqual(['three', 'four']);
    expect(await collect(t)).toEqual([]);
  });

  it('keys each line by file identity and byte offset', async () => {
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'a\nbb\n');
    const t = await LogTailer.open({ paths: [f] });
    const lines: TailedLine[] = [];
    await t.poll(async (l) => void lines.push(l));
    const ino = fs.statSync(f).ino;
    expect(lines.map((l) => [l.offset, l.end, l.key.endsWith(`:${ino}:${l.offset}`)])).toEqual([
      [0, 2, true],
      [2, 5, true],
    ]);
  });

  it('survives rename rotation: the rest of the old file first, then the new file from its start', async () => {
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'old-1\n');
    const notices: TailerNotice[] = [];
    const t = await LogTailer.open({ paths: [f], onNotice: (n) => notices.push(n) });
    expect(await collect(t)).toEqual(['old-1']);
    fs.appendFileSync(f, 'old-2\nold-3-no-newline');
    fs.renameSync(f, `${f}.1`);
    fs.writeFileSync(f, 'new-1\n');
    expect(await collect(t)).toEqual(['old-2', 'old-3-no-newline', 'new-1']);
    expect(notices.map((n) => n.kind)).toEqual(['rotated']);
  });

  it('drains a rotated file while the path is missing, then picks up the new file', async () => {
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'a\n');
    const t = await LogTailer.open({ paths: [f] });
    await collect(t);
    fs.appendFileSync(f, 'b\n');
    fs.renameSync(f, `${f}.2026-01-01`);
    expect(await collect(t)).toEqual(['b']);
    expect(await collect(t)).toEqual([]);
    fs.writeFileSync(f, 'c\n');
    expect(await collect(t)).toEqual(['c']);
  });

  it('detects copytruncate: shorter file, or a rewritten file whose first bytes changed', async () => {
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'line one is long enough\nline two\n');
    const t = await LogTailer.open({ paths: [f] });
    await collect(t);
    fs.truncateSync(f, 0);
    fs.writeFileSync(f, 'x\n');
    expect(await collect(t)).toEqual(['x']);
    // Truncated and rewritten past the old offset before the next poll: the first bytes tell.
    fs.writeFileSync(f, 'a different first line, and longer\nnext\n');
    expect(await collect(t)).toEqual(['a different first line, and longer', 'next']);
  });

  it('keeps offsets in the state file: a restarted tailer neither loses nor repeats lines', async () => {
    const f = path.join(dir, 'app.log');
    const stateFile = path.join(dir, 'state', 'watch-state.json');
    fs.writeFileSync(f, '1\n2\n');
    const a = await LogTailer.open({ paths: [f], stateFile });
    expect(await collect(a)).toEqual(['1', '2']);
    fs.appendFileSync(f, '3\n');
    const b = await LogTailer.open({ paths: [f], stateFile });
    expect(await collect(b)).toEqual(['3']);
    fs.appendFileSync(f, '4\n');
    fs.renameSync(f, `${f}.1`);
    fs.writeFileSync(f, '5\n');
    const c = await LogTailer.open({ paths: [f], stateFile });
    expect(await collect(c)).toEqual(['4', '5']);
  });

  it('does not advance past a line the consumer rejected', async () => {
    const f = path.join(dir, 'app.log');
    const stateFile = path.join(dir, 'st.json');
    fs.writeFileSync(f, 'ok\nboom\nlater\n');
    const t = await LogTailer.open({ paths: [f], stateFile });
    const seen: string[] = [];
    await expect(
      t.poll(async (l) => {
        if (l.text === 'boom') throw new Error('tracker down');
        seen.push(l.text);
      }),
    ).rejects.toThrow('tracker down');
    expect(seen).toEqual(['ok']);
    const again = await LogTailer.open({ paths: [f], stateFile });
    expect(await collect(again)).toEqual(['boom', 'later']);
  });

  it('cuts an over-long line (marked with …) and drops the rest of it', async () => {
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, `short\n${'y'.repeat(1000)}`);
    const t = await LogTailer.open({ paths: [f], maxLineBytes: 256, maxReadBytes: 300 });
    const first = await collect(t);
    expect(first).toEqual(['short', `${'y'.repeat(256)}\u2026`]);
    fs.appendFileSync(f, `${'y'.repeat(500)}\nafter\n`);
    expect(await collect(t)).toEqual(['after']);
  });

  it('waits for a file that does not exist yet; startAt end skips history', async () => {
    const f = path.join(dir, 'later.log');
    const notices: TailerNotice[] = [];
    const t = await LogTailer.open({ paths: [f], onNotice: (n) => notices.push(n) });
    expect(await collect(t)).toEqual([]);
    expect(await collect(t)).toEqual([]);
    expect(notices.map((n) => n.kind)).toEqual(['missing']);
    fs.writeFileSync(f, 'hello\n');
    expect(await collect(t)).toEqual(['hello']);
    const g = path.join(dir, 'old.log');
    fs.writeFileSync(g, 'history\n');
    const e = await LogTailer.open({ paths: [g], startAt: 'end' });
    expect(await collect(e)).toEqual([]);
    fs.appendFileSync(g, 'new\n');
    expect(await collect(e)).toEqual(['new']);
  });

  it('refuses a state file it did not write, naming it', async () => {
    const f = path.join(dir, 'x.log');
    const stateFile = path.join(dir, 'bad.json');
    fs.writeFileSync(stateFile, '{"files": 3}');
    await expect(LogTailer.open({ paths: [f], stateFile })).rejects.toThrow(/bad\.json is not a log-watch state file/);
    fs.writeFileSync(stateFile, '{nope');
    await expect(LogTailer.open({ paths: [f], stateFile })).rejects.toThrow(/bad\.json is not valid JSON/);
  });
});
