import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCheckpointStore } from '../../../lib/adapters/file/checkpoint-file';
import type { RunCheckpoint } from '../../../lib/core/validation/ports';

describe('file checkpoint store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-cp-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const cp: RunCheckpoint = { version: 1, runId: 'r1', configHash: 'h', startedAt: 'x', savedAt: 'y', done: {}, inProgress: { check: 'd', state: { after: 42 } } };

  it('saves atomically, loads, clears', async () => {
    const s = new FileCheckpointStore(join(dir, 'nested'));
    expect(await s.load('k')).toBeNull();
    await s.save('k', cp);
    await s.save('k', { ...cp, runId: 'r2' });
    expect(await s.load('k')).toEqual({ ...cp, runId: 'r2' });
    expect(await readdir(join(dir, 'nested'))).toEqual(['k.json']);
    await s.clear('k');
    expect(await s.load('k')).toBeNull();
  });

  it('refuses a corrupt checkpoint with what to do, and odd keys', async () => {
    await writeFile(join(dir, 'k.json'), '{"version":1,');
    await expect(new FileCheckpointStore(dir).load('k')).rejects.toThrow(/corrupt.*delete it to start over/);
    await expect(new FileCheckpointStore(dir).load('../etc')).rejects.toThrow(/not a plain file name/);
  });
});
