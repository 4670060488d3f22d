import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ActivityEntry, MigrationState } from '../../core/model';
import { readLines } from './lines';
import { HistoryLog } from './history-log';
import type { HistoryPoint, HistoryWrite } from '../../core/history';
import { DURABLE_NOW, type ActivityQuery, type CommitRequest, type CommitResult, type IdempotencyRecord, type ProgressStore, type StoredMigration } from '../../core/store';

export interface FileStoreOptions {
  /** Compact (snapshot + truncate the journal) once the journal grows past this. Default 32 MiB. */
  compactBytes?: number;
  /** Idempotency records older than this are dropped at compaction. Default 24 h. */
  idempotencyTtlMs?: number;
  /** fdatasync each group commit (default true). Only benchmarks of the non-durable path turn it off. */
  fsync?: boolean;
  /**
   * Newest activity entries kept in memory per migration (default 50,000). Older ones stay in activity.log
   * and are read from there when a query reaches back that far, so a long run's log costs disk, not memory.
   */
  activityInMemory?: number;
}

interface JournalRecord {
  m: string;
  v: number;
  s: MigrationState;
  a?: ActivityEntry[];
  i?: IdempotencyRecord;
}

interface Snapshot {
  format: 1;
  migrations: Record<string, { version: number; state: MigrationState }>;
  idempotency: Record<string, IdempotencyRecord[]>;
}

/**
 * The embedded store: no server, one directory. Every commit is appended to a journal and acknowledged only
 * after fdatasync; commits that arrive together share one write + fsync (group commit), so durability
 * costs one disk flush per batch, not per update. The journal is compacted into `snapshot.json` (written to a
 * temp file, fsynced, renamed) and `activity.log` (append-only). After `kill -9`, opening the directory
 * replays snapshot + activity + journal; a torn last journal line (the write that was never acknowledged) is
 * ignored. One process owns a directory at a time (LOCK file with its pid).
 */
export class FileStore implements ProgressStore {
  readonly kind: string;
  private readonly docs = new Map<string, StoredMigration>();
  /** The newest activity per migration, in commit order (all of it in memory mode). */
  private readonly activity = new Map<string, ActivityEntry[]>();
  /** Per migration: entries in activity.log, and how many of the oldest of them are not in memory. */
  private readonly archived = new Map<string, { onDisk: number; dropped: number }>();
  private readonly idem = new Map<string, Map<string, IdempotencyRecord>>();
  /** Idempotency records committed but not yet fsynced, by migration and key: a replay waits for these. */
  private readonly idemInFlight = new Map<string, Promise<void>>();
  private pending: { rec: JournalRecord; line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** What the journal on disk holds: the snapshot is written from these, never from unflushed commits. */
  private readonly durableDocs = new Map<string, StoredMigration>();
  private readonly durableIdem = new Map<string, Map<string, IdempotencyRecord>>();
  /** Every disk operation (batch write, compaction) runs on this chain, one at a time. */
  private io: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  /** Activity committed to the journal but not yet copied to activity.log. */
  private unarchived: { m: string; entries: ActivityEntry[] }[] = [];
  private journalBytes = 0;
  private closed = false;
  private failed: Error | null = null;
  private readonly history: HistoryLog;

  private constructor(
    private readonly dir: string | null,
    private journal: fsp.FileHandle | null,
    private readonly opts: Required<FileStoreOptions>,
  ) {
    this.kind = dir ? 'file' : 'memory';
    this.history = new HistoryLog(dir);
  }

  /** Open (creating if needed) a store directory and recover its contents. */
  static async open(dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
    const opts = { compactBytes: 32 * 1024 * 1024, idempotencyTtlMs: 24 * 3600_000, fsync: true, activityInMemory: 50_000, ...options };
    if (!Number.isInteger(opts.activityInMemory) || opts.activityInMemory < 1) throw new Error(`activityInMemory must be a positive integer, not ${opts.activityInMemory}`);
    await fsp.mkdir(dir, { recursive: true });
    acquireLock(dir);
    try {
      const store = new FileStore(dir, null, opts);
      await store.recover();
      await store.history.load();
      store.journal = await fsp.open(path.join(dir, 'journal.log'), 'a');
      store.journalBytes = (await store.journal.stat()).size;
      return store;
    } catch (e) {
      releaseLock(dir);
      throw e;
    }
  }

  /** The same store without a disk: for tests and throwaway runs. Passes the same contract. */
  static inMemory(): FileStore {
    return new FileStore(null, null, { compactBytes: Infinity, idempotencyTtlMs: 24 * 3600_000, fsync: false, activityInMemory: Infinity });
  }

  async load(migrationId: string): Promise<StoredMigration | null> {
    this.assertOpen();
    return this.docs.get(migrationId) ?? null;
  }

  async listMigrations(): Promise<string[]> {
    this.assertOpen();
    return [...this.docs.keys()].sort();
  }

  /**
   * A record is answered only once the commit that stored it is durable: a replay acknowledged before the
   * original's fsync would be an acknowledged update that `kill -9` can still take away.
   */
  async getIdempotency(migrationId: string, key: string): Promise<IdempotencyRecord | null> {
    this.assertOpen();
    const rec = this.idem.get(migrationId)?.get(key) ?? null;
    const inFlight = rec && this.idemInFlight.get(idemSlot(migrationId, key));
    if (inFlight) await inFlight; // rejects (and so refuses the replay) if the original's write failed
    return rec;
  }

  async readActivity(migrationId: string, q: ActivityQuery = {}): Promise<ActivityEntry[]> {
    this.assertOpen();
    const mem = this.activity.get(migrationId) ?? [];
    const dropped = this.archived.get(migrationId)?.dropped ?? 0;
    const sinceIdx = q.since === undefined ? 0 : firstAtOrAfter(mem, q.since);
    // Memory answers unless the query reaches past its oldest entry into what only activity.log holds.
    const fromMemory =
      dropped === 0 ||
      (q.limit !== undefined && mem.length - sinceIdx >= q.limit) ||
      (q.since !== undefined && mem.length > 0 && mem[0]!.at < q.since);
    if (fromMemory) return selectActivity(mem, q);
    // `mem` is not mutated from the front (trimming replaces the array), so it still starts at index `dropped`.
    const older = await this.readArchivedActivity(migrationId, dropped);
    return selectActivity(older.concat(mem), q);
  }

  /** The oldest `count` activity entries of a migration, from activity.log (streamed, stops once it has them). */
  private async readArchivedActivity(migrationId: string, count: number): Promise<ActivityEntry[]> {
    const out: ActivityEntry[] = [];
    // Lines are written as {"m":<id>,...}: only this migration's lines are parsed.
    const prefix = `{"m":${JSON.stringify(migrationId)},`;
    for await (const line of readLines(path.join(this.dir!, 'activity.log'))) {
      if (!line.startsWith(prefix)) continue;
      const { m: _m, ...e } = JSON.parse(line) as ActivityEntry & { m: string };
      out.push(e);
      if (out.length === count) break; // leaving the loop closes the file
    }
    if (out.length < count) throw new Error(`activity.log holds ${out.length} entries of migration ${migrationId}, expected at least ${count}`);
    return out;
  }

  /** Compare-and-set; the change is visible at once, `durable` resolves after the group fsync. */
  commit(req: CommitRequest): Promise<CommitResult> {
    this.assertOpen();
    const cur = this.docs.get(req.migrationId);
    if ((cur?.version ?? 0) !== req.expectedVersion) return Promise.resolve({ ok: false, durable: DURABLE_NOW });
    if (req.idempotency && this.idem.get(req.migrationId)?.has(req.idempotency.key)) {
      return Promise.resolve({ ok: false, durable: DURABLE_NOW });
    }
    const version = req.expectedVersion + 1;
    const rec: JournalRecord = { m: req.migrationId, v: version, s: req.state };
    if (req.activity.length) rec.a = req.activity;
    if (req.idempotency) rec.i = req.idempotency;
    // serialize before exposing: later mutation of the caller's objects cannot change what is written
    const line = this.dir ? JSON.stringify(rec) + '\n' : '';
    this.applyRecord(rec);
    if (!this.dir) return Promise.resolve({ ok: true, durable: DURABLE_NOW });
    const durable = new Promise<void>((resolve, reject) => this.pending.push({ rec, line, resolve, reject }));
    if (req.idempotency) {
      const slot = idemSlot(req.migrationId, req.idempotency.key);
      this.idemInFlight.set(slot, durable);
      const settled = () => {
        if (this.idemInFlight.get(slot) === durable) this.idemInFlight.delete(slot);
      };
      durable.then(settled, settled);
    }
    this.scheduleFlush();
    return Promise.resolve({ ok: true, durable });
  }

  async putHistory(migrationId: string, writes: HistoryWrite[]): Promise<void> {
    this.assertOpen();
    await this.history.put(migrationId, writes);
  }

  async readHistory(migrationId: string, tier: string): Promise<HistoryPoint[]> {
    this.assertOpen();
    return this.history.read(migrationId, tier);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.history.flush();
    if (this.dir && this.journal) {
      if (!this.failed) await this.compact();
      else await this.onIo(async () => {});
      this.closed = true;
      await this.journal.close();
      releaseLock(this.dir);
    }
    this.closed = true;
  }

  /** Snapshot everything and truncate the journal (also runs automatically past `compactBytes`). */
  async compact(): Promise<void> {
    if (!this.dir || !this.journal) return;
    await this.onIo(() => this.flushBatch());
    await this.onIo(() => this.compactNow());
  }

  private async compactNow(): Promise<void> {
    const dir = this.dir!;
    // Runs on the I/O chain: no batch is written while we compact, so the journal holds exactly durable*.
    const toArchive = this.unarchived;
    this.unarchived = [];
    if (toArchive.length) {
      const lines = toArchive.flatMap(({ m, entries }) => entries.map((e) => JSON.stringify({ m, ...e }))).join('\n') + '\n';
      const fh = await fsp.open(path.join(dir, 'activity.log'), 'a');
      try {
        await fh.write(lines);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      for (const { m, entries } of toArchive) this.archivedCount(m).onDisk += entries.length;
      for (const m of new Set(toArchive.map((a) => a.m))) this.trimActivity(m);
    }
    const cutoff = Date.now() - this.opts.idempotencyTtlMs;
    const snap: Snapshot = { format: 1, migrations: {}, idempotency: {} };
    for (const [id, d] of this.durableDocs) snap.migrations[id] = d;
    for (const [id, m] of this.durableIdem) {
      const live = this.idem.get(id);
      for (const [k, r] of m) {
        if (r.createdAt < cutoff) {
          m.delete(k);
          live?.delete(k);
        }
      }
      snap.idempotency[id] = [...m.values()];
    }
    const tmp = path.join(dir, 'snapshot.json.tmp');
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.write(JSON.stringify(snap));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path.join(dir, 'snapshot.json'));
    await fsyncDir(dir);
    await this.journal!.truncate(0);
    await this.journal!.sync();
    this.journalBytes = 0;
  }

  private archivedCount(m: string): { onDisk: number; dropped: number } {
    let a = this.archived.get(m);
    if (!a) this.archived.set(m, (a = { onDisk: 0, dropped: 0 }));
    return a;
  }

  /** Keep the newest `activityInMemory` entries; only entries already in activity.log may leave memory. */
  private trimActivity(m: string): void {
    const list = this.activity.get(m);
    const a = this.archived.get(m);
    if (!list || !a) return;
    const excess = Math.min(list.length - this.opts.activityInMemory, a.onDisk - a.dropped);
    // Trim in steps of at least a tenth of the limit, so the copy is amortized over many commits.
    if (excess <= 0 || excess < Math.min(1000, Math.ceil(this.opts.activityInMemory / 10))) return;
    this.activity.set(m, list.slice(excess));
    a.dropped += excess;
  }

  private markDurable(rec: JournalRecord) {
    this.durableDocs.set(rec.m, { version: rec.v, state: rec.s });
    if (rec.i) {
      let m = this.durableIdem.get(rec.m);
      if (!m) this.durableIdem.set(rec.m, (m = new Map()));
      m.set(rec.i.key, rec.i);
    }
    if (rec.a?.length) this.unarchived.push({ m: rec.m, entries: rec.a });
  }

  private applyRecord(rec: JournalRecord) {
    this.docs.set(rec.m, { version: rec.v, state: rec.s });
    if (rec.a?.length) {
      let list = this.activity.get(rec.m);
      if (!list) this.activity.set(rec.m, (list = []));
      for (const e of rec.a) list.push(e);
    }
    if (rec.i) {
      let m = this.idem.get(rec.m);
      if (!m) this.idem.set(rec.m, (m = new Map()));
      m.set(rec.i.key, rec.i);
    }
  }

  private scheduleFlush() {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Let every commit of this turn of the event loop join the batch, then write them with one fsync.
    setImmediate(() => {
      this.flushScheduled = false;
      void this.onIo(() => this.flushBatch()).catch(() => undefined); // batch promises carry the error
    });
  }

  /** Run `fn` after every disk operation queued before it; the chain itself never rejects. */
  private onIo(fn: () => Promise<void>): Promise<void> {
    const run = this.io.then(fn);
    this.io = run.catch(() => undefined);
    return run;
  }

  private async flushBatch(): Promise<void> {
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    try {
      if (this.failed) throw this.failed;
      const buf = Buffer.from(batch.map((b) => b.line).join(''));
      await this.journal!.write(buf);
      if (this.opts.fsync) await this.journal!.datasync();
      this.journalBytes += buf.length;
    } catch (e) {
      // A failed write leaves memory ahead of disk: refuse everything from now on rather than lie.
      this.failed ??= new Error(`embedded store write failed: ${(e as Error).message}`);
      for (const b of batch) b.reject(this.failed);
      return;
    }
    for (const b of batch) {
      this.markDurable(b.rec);
      b.resolve();
    }
    if (this.journalBytes > this.opts.compactBytes) await this.compactNow();
  }

  private async recover() {
    const dir = this.dir!;
    const snapFile = path.join(dir, 'snapshot.json');
    if (fs.existsSync(snapFile)) {
      const snap = JSON.parse(await fsp.readFile(snapFile, 'utf8')) as Snapshot;
      if (snap.format !== 1) throw new Error(`${snapFile}: unknown format ${String(snap.format)}`);
      for (const [id, d] of Object.entries(snap.migrations)) {
        this.docs.set(id, d);
        this.durableDocs.set(id, d);
      }
      for (const [id, recs] of Object.entries(snap.idempotency)) {
        this.idem.set(id, new Map(recs.map((r) => [r.key, r])));
        this.durableIdem.set(id, new Map(recs.map((r) => [r.key, r])));
      }
    }
    const archivedUpTo = new Map<string, number>();
    await readJournalFile(path.join(dir, 'activity.log'), 'activity.log', (line) => {
      const { m, ...e } = line as ActivityEntry & { m: string };
      let list = this.activity.get(m);
      if (!list) this.activity.set(m, (list = []));
      list.push(e);
      const a = this.archivedCount(m);
      a.onDisk++;
      if (list.length >= 2 * this.opts.activityInMemory) {
        const excess = list.length - this.opts.activityInMemory;
        list.splice(0, excess); // during recovery only: no reader holds this array yet
        a.dropped += excess;
      }
      archivedUpTo.set(m, Math.max(archivedUpTo.get(m) ?? 0, e.version ?? 0));
    });
    const journal: JournalRecord[] = [];
    await readJournalFile(path.join(dir, 'journal.log'), 'journal.log', (raw) => journal.push(raw as JournalRecord));
    for (const rec of journal) {
      if (rec.v <= (this.docs.get(rec.m)?.version ?? 0)) continue; // already in the snapshot
      const fresh = (rec.a ?? []).filter((e) => (e.version ?? rec.v) > (archivedUpTo.get(rec.m) ?? 0));
      const r: JournalRecord = { ...rec, a: fresh };
      this.applyRecord(r);
      this.markDurable(r);
    }
  }

  private assertOpen() {
    if (this.closed) throw new Error('store is closed');
    if (this.failed) throw this.failed;
  }
}

const idemSlot = (migrationId: string, key: string) => `${migrationId}\n${key}`;

/** Index of the first entry at or after `since` (entries are in commit order; commit times never go back). */
function firstAtOrAfter(list: ActivityEntry[], since: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.at < since) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `since` (at or after) and `limit` (the newest n of those), oldest first. */
function selectActivity(all: ActivityEntry[], q: ActivityQuery): ActivityEntry[] {
  let from = q.since === undefined ? 0 : firstAtOrAfter(all, q.since);
  if (q.limit !== undefined) from = Math.max(from, all.length - q.limit);
  return all.slice(from);
}

/**
 * Stream a JSONL file the store appends to, calling `onRecord` per line. Whatever follows the last complete,
 * parseable line (a write cut short by a crash: never acknowledged, since acknowledgement follows fsync) is
 * cut off the file, so the next append starts on a line of its own instead of gluing onto the torn bytes.
 * An unparseable line with complete lines after it is corruption, not a torn write: refused.
 */
async function readJournalFile(file: string, label: string, onRecord: (rec: unknown) => void): Promise<void> {
  if (!fs.existsSync(file)) return;
  let goodEnd = 0; // byte offset just past the last good line
  let offset = 0; // byte offset of `rest`
  let lineNo = 0;
  let torn: { line: number; error: string } | null = null;
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let from = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, from)) {
      lineNo++;
      const text = buf.toString('utf8', from, nl);
      from = nl + 1;
      if (!text.trim()) continue;
      if (torn) throw new Error(`${label}: corrupt line ${torn.line} (not the last one, so not a torn write): ${torn.error}`);
      let rec: unknown;
      try {
        rec = JSON.parse(text);
      } catch (e) {
        torn = { line: lineNo, error: (e as Error).message };
        continue;
      }
      onRecord(rec);
      goodEnd = offset + from;
    }
    rest = buf.subarray(from);
    offset += from;
  }
  const size = (await fsp.stat(file)).size;
  if (size > goodEnd) {
    // a torn tail: a partial line without its newline, or an unparseable last line
    const fh = await fsp.open(file, 'r+');
    try {
      await fh.truncate(goodEnd);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

function acquireLock(dir: string) {
  const lock = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new Error(`data directory ${dir} is in use by process ${pid} (remove ${lock} if that process is gone)`);
      }
      if (pid === process.pid) throw new Error(`data directory ${dir} is already open in this process`);
      fs.unlinkSync(lock); // stale lock from a crashed process
    }
  }
}

function releaseLock(dir: string) {
  try {
    fs.unlinkSync(path.join(dir, 'LOCK'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function fsyncDir(dir: string) {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
