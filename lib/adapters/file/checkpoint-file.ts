import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointStore, RunCheckpoint } from '../../core/validation/ports';

/**
 * Validation checkpoints as JSON files in a directory, one per config (`<key>.json`), replaced atomically
 * (write to a temp file, then rename) so a crash mid-write leaves the previous checkpoint intact.
 */
export class FileCheckpointStore implements CheckpointStore {
  constructor(private readonly dir: string) {}

  private path(key: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new Error(`checkpoint key "${key}" is not a plain file name`);
    return join(this.dir, `${key}.json`);
  }

  async load(key: string): Promise<RunCheckpoint | null> {
    let text: string;
    try {
      text = await readFile(this.path(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let cp: RunCheckpoint;
    try {
      cp = JSON.parse(text) as RunCheckpoint;
    } catch (e) {
      throw new Error(`checkpoint ${this.path(key)} is corrupt (${(e as Error).message}): delete it to start over`);
    }
    if (cp.version !== 1 || typeof cp.configHash !== 'string' || !cp.done) throw new Error(`checkpoint ${this.path(key)} has an unknown format: delete it to start over`);
    return cp;
  }

  async save(key: string, cp: RunCheckpoint): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const p = this.path(key);
    const tmp = `${p}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(cp));
    await rename(tmp, p);
  }

  async clear(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
