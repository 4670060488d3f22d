import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { sortPoints, type HistoryPoint, type HistoryWrite } from '../../core/history';
import { readLines } from './lines';

/**
 * The embedded store's history: the ring slots in memory, and `history.log` in the store directory, an
 * append-only file of `{m, tier, slot, p}` lines (the last line of a slot wins when it is read back). When the
 * file holds more than twice the live slots (+1000) it is rewritten with the live ones (temp file + rename),
 * so its size stays within about twice the history bound. History is derived data: the lines are appended
 * without fsync, and a torn last line after a crash is skipped when read back.
 */
export class HistoryLog {
  private readonly slots = new Map<string, Map<number, HistoryPoint>>();
  private lines = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string | null) {}

  private get file() {
    return path.join(this.dir!, 'history.log');
  }

  async load(): Promise<void> {
    if (!this.dir || !fs.existsSync(this.file)) return;
    let torn: string | null = null;
    for await (const line of readLines(this.file)) {
      if (!line) continue;
      if (torn !== null) throw new Error(`${this.file}: unparseable line followed by more lines (corrupt, not a torn write): ${torn.slice(0, 80)}`);
      let rec: { m: string; tier: string; slot: number; p: HistoryPoint };
      try {
        rec = JSON.parse(line);
      } catch {
        torn = line; // a torn last line (history is appended without fsync) loses that point only
        continue;
      }
      this.set(rec.m, { tier: rec.tier, slot: rec.slot, point: rec.p });
      this.lines += 1;
    }
  }

  put(migrationId: string, writes: HistoryWrite[]): Promise<void> {
    for (const w of writes) this.set(migrationId, w);
    if (!this.dir) return Promise.resolve();
    const text = writes.map((w) => JSON.stringify({ m: migrationId, tier: w.tier, slot: w.slot, p: w.point })).join('\n') + '\n';
    this.lines += writes.length;
    const run = this.chain.then(async () => {
      await fsp.appendFile(this.file, text);
      const live = [...this.slots.values()].reduce((a, m) => a + m.size, 0);
      if (this.lines > 2 * live + 1000) await this.rewrite();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  read(migrationId: string, tier: string): HistoryPoint[] {
    return sortPoints(this.slots.get(`${migrationId}\n${tier}`)?.values() ?? []);
  }

  /** Wait for pending appends. */
  async flush(): Promise<void> {
    await this.chain;
  }

  private set(migrationId: string, w: HistoryWrite) {
    const key = `${migrationId}\n${w.tier}`;
    let m = this.slots.get(key);
    if (!m) this.slots.set(key, (m = new Map()));
    m.set(w.slot, w.point);
  }

  private async rewrite() {
    const out: string[] = [];
    for (const [key, m] of this.slots) {
      const [mig, tier] = key.split('\n') as [string, string];
      for (const [slot, p] of m) out.push(JSON.stringify({ m: mig, tier, slot, p }));
    }
    const tmp = `${this.file}.tmp`;
    await fsp.writeFile(tmp, out.join('\n') + (out.length ? '\n' : ''));
    await fsp.rename(tmp, this.file);
    this.lines = out.length;
  }
}
