import fs from 'node:fs';
import path from 'node:path';
import * as z from '../../core/zod';
import { keyOf, type SettledKey, type QueuedWrite, type ReplayQueueStore } from '../../core/search/replay-queue';

/**
 * The replay queue on local disk: an append-only journal (one JSON line per change, fsynced before `apply`
 * resolves, changes arriving together share one fsync), compacted into a fresh file (written, fsynced,
 * renamed) when it holds much more than the live entries. A torn last line (a crash mid-append) is ignored
 * on load: its `apply` never resolved, so nobody was told it was durable. One process owns the file; the
 * version rules of the port (newer puts only, removes only up to the version settled) hold here too.
 */

const roleSchema = z.enum(['primary', 'fallback']);
const lineSchema = z.union([
  z.strictObject({
    put: z.strictObject({
      target: roleSchema,
      op: z.enum(['upsert', 'delete']),
      id: z.string(),
      version: z.number(),
      vector: z.optional(z.array(z.number())),
      metadata: z.optional(z.record(z.string(), z.unknown())),
      queuedAt: z.number(),
    }),
  }),
  z.strictObject({ remove: z.strictObject({ target: roleSchema, id: z.string() }) }),
]);

export class FileReplayQueueStore implements ReplayQueueStore {
  readonly kind = 'file';
  private fd: number | null = null;
  private lines = 0;
  private live = new Map<string, QueuedWrite>();

  constructor(readonly file: string) {}

  async load(): Promise<QueuedWrite[]> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const all = text.split('\n');
    all.forEach((raw, i) => {
      if (!raw.trim()) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // only the last line may be torn (a crash during its append, never acknowledged)
        if (i >= all.length - 2) return;
        throw new Error(`replay queue ${this.file}: line ${i + 1} is not JSON; the file is damaged (move it away to start with an empty queue)`);
      }
      const line = lineSchema.safeParse(parsed);
      if (!line.success) throw new Error(`replay queue ${this.file}: line ${i + 1} is not a queue entry`);
      if ('put' in line.data) this.live.set(keyOf(line.data.put), line.data.put as QueuedWrite);
      else this.live.delete(keyOf(line.data.remove));
      this.lines++;
    });
    this.fd = fs.openSync(this.file, 'a');
    return [...this.live.values()];
  }

  async apply(put: QueuedWrite[], remove: SettledKey[]): Promise<void> {
    if (this.fd === null) throw new Error(`replay queue ${this.file}: load() first`);
    const out: string[] = [];
    for (const k of remove) {
      const cur = this.live.get(keyOf(k));
      if (!cur || cur.version > k.version) continue;
      this.live.delete(keyOf(k));
      out.push(JSON.stringify({ remove: { target: k.target, id: k.id } }));
    }
    for (const e of put) {
      const cur = this.live.get(keyOf(e));
      if (cur && cur.version >= e.version) continue;
      const entry = cur ? { ...e, queuedAt: cur.queuedAt } : e;
      this.live.set(keyOf(e), entry);
      out.push(JSON.stringify({ put: entry }));
    }
    if (!out.length) return;
    this.lines += out.length;
    if (this.lines > 1000 && this.lines > 4 * this.live.size) return this.compact();
    await appendSync(this.fd, out.join('\n') + '\n');
  }

  /** Rewrite the journal with the live entries only: written and fsynced beside it, then renamed over it. */
  private async compact(): Promise<void> {
    const tmp = `${this.file}.compact`;
    const fd = fs.openSync(tmp, 'w');
    try {
      const body = [...this.live.values()].map((e) => JSON.stringify({ put: e })).join('\n');
      await appendSync(fd, body ? body + '\n' : '');
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    const dir = fs.openSync(path.dirname(this.file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
    fs.closeSync(this.fd!);
    this.fd = fs.openSync(this.file, 'a');
    this.lines = this.live.size;
  }

  async close(): Promise<void> {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function appendSync(fd: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.write(fd, text, (err) => {
      if (err) return reject(err);
      fs.fdatasync(fd, (e) => (e ? reject(e) : resolve()));
    });
  });
}
