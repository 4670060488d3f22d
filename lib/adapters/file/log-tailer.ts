import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as z from '../../core/zod';
import type { LogAnalyzer, LogLine } from '../../core/logwatch/analyzer';
import type { TrackerSink } from '../../core/logwatch/sink';

/** A line read from a file, with the byte range it came from. */
export interface TailedLine extends LogLine {
  path: string;
  /** Byte offset of the line's first byte in its file. */
  offset: number;
  /** Byte offset just past the line break: where reading resumes. */
  end: number;
}

const fileStateSchema = z.strictObject({
  dev: z.number(),
  ino: z.number(),
  offset: z.number().check(z.int(), z.nonnegative()),
  /** sha1 of the file's first `headBytes` bytes: a file truncated and rewritten past the offset still shows up. */
  head: z.string(),
  headBytes: z.number().check(z.int(), z.nonnegative()),
  /** Inside an over-long line: drop bytes up to the next line break. */
  discarding: z._default(z.boolean(), false),
});
const stateSchema = z.strictObject({ version: z.literal(1), files: z.record(z.string(), fileStateSchema) });
type FileState = z.output<typeof fileStateSchema>;

export interface TailerNotice {
  path: string;
  kind: 'rotated' | 'truncated' | 'rotated-file-missing' | 'missing' | 'line-too-long';
  message: string;
}

export interface LogTailerOptions {
  paths: string[];
  /** Offsets are kept here (JSON, written atomically) so a restart resumes where it stopped. */
  stateFile?: string;
  /** Where to start in a file seen for the first time. Default 'beginning' (replay what is there). */
  startAt?: 'beginning' | 'end';
  /** Bytes read per file per poll. Default 1 MiB. */
  maxReadBytes?: number;
  /** A line longer than this is cut here (the analyzer counts it malformed) and the rest of it dropped. Default 64 KiB. */
  maxLineBytes?: number;
  onNotice?: (n: TailerNotice) => void;
}

const HEAD = 64;

/**
 * Tails log files by polling. Survives the usual rotations:
 * - rename + create (logrotate default): the inode behind the path changes; the rest of the old file is
 *   read first (found by inode among the siblings, e.g. `app.log.1`), then the new file from its start;
 * - copytruncate: the file shrinks below the offset, or its first bytes change: read again from 0;
 * - the path missing for a while: the renamed file is drained and the new one picked up when it appears.
 * Offsets advance only past lines the consumer accepted, and are saved after every batch.
 */
export class LogTailer {
  private readonly paths: string[];
  private readonly files: Record<string, FileState>;
  private readonly maxRead: number;
  private readonly maxLine: number;
  private readonly missingNoticed = new Set<string>();

  private constructor(
    private readonly opts: LogTailerOptions,
    files: Record<string, FileState>,
  ) {
    this.paths = [...new Set(opts.paths.map((p) => path.resolve(p)))];
    this.files = files;
    this.maxLine = opts.maxLineBytes ?? 64 * 1024;
    this.maxRead = Math.max(opts.maxReadBytes ?? 1024 * 1024, this.maxLine + 1);
  }

  static async open(opts: LogTailerOptions): Promise<LogTailer> {
    if (!opts.paths.length) throw new Error('no log files to watch');
    let files: Record<string, FileState> = {};
    if (opts.stateFile && fs.existsSync(opts.stateFile)) {
      let raw: unknown;
      try {
        raw = JSON.parse(await fsp.readFile(opts.stateFile, 'utf8'));
      } catch (e) {
        throw new Error(`state file ${opts.stateFile} is not valid JSON (${(e as Error).message}); move it away to start over`);
      }
      const r = stateSchema.safeParse(raw);
      if (!r.success) throw new Error(`state file ${opts.stateFile} is not a log-watch state file; move it away to start over`);
      files = r.data.files;
    }
    return new LogTailer(opts, files);
  }

  /** Where each file stands (for the status snapshot). */
  positions(): Array<{ path: string; offset: number; inode?: number }> {
    return this.paths.map((p) => ({ path: p, offset: this.files[p]?.offset ?? 0, ...(this.files[p] ? { inode: this.files[p]!.ino } : {}) }));
  }

  /**
   * Read every file once: hand each complete line to `consume`, in order. Stops at the first line
   * `consume` rejects (its offset is not advanced: the next poll starts with it), saving offsets either way.
   * Returns how many lines were consumed.
   */
  async poll(consume: (line: TailedLine) => Promise<void>): Promise<number> {
    let n = 0;
    try {
      for (const p of this.paths) n += await this.pollFile(p, consume);
    } finally {
      await this.save();
    }
    return n;
  }

  private async pollFile(p: string, consume: (line: TailedLine) => Promise<void>): Promise<number> {
    const st = await statOrNull(p);
    const known = this.files[p];
    if (!st) {
      if (known) return this.drainRotated(p, known, consume);
      if (!this.missingNoticed.has(p)) {
        this.missingNoticed.add(p);
        this.notice({ path: p, kind: 'missing', message: `${p} does not exist (yet): waiting for it` });
      }
      return 0;
    }
    this.missingNoticed.delete(p);
    let n = 0;
    if (!known) {
      this.files[p] = await this.fresh(p, st, this.opts.startAt === 'end' ? st.size : 0);
    } else if (known.ino !== st.ino || known.dev !== st.dev) {
      n += await this.drainRotated(p, known, consume);
      this.notice({ path: p, kind: 'rotated', message: `${p} was rotated: reading the new file from the start` });
      this.files[p] = await this.fresh(p, st, 0);
    } else if (st.size < known.offset || !(await this.sameHead(p, known))) {
      this.notice({ path: p, kind: 'truncated', message: `${p} was truncated (size ${st.size} < offset ${known.offset} or its first bytes changed): reading from the start` });
      this.files[p] = await this.fresh(p, st, 0);
    }
    return n + (await this.readFrom(p, p, this.files[p]!, consume, false));
  }

  /** The path now names another file (or none): finish the old one, found by inode next to it. */
  private async drainRotated(p: string, known: FileState, consume: (line: TailedLine) => Promise<void>): Promise<number> {
    const old = await findByInode(path.dirname(p), path.basename(p), known);
    if (!old) {
      if (!this.missingNoticed.has(`${p}#${known.ino}`)) {
        this.missingNoticed.add(`${p}#${known.ino}`);
        this.notice({ path: p, kind: 'rotated-file-missing', message: `${p} was rotated and the old file (inode ${known.ino}) is gone: lines written after offset ${known.offset} are lost` });
      }
      return 0;
    }
    return this.readFrom(old, p, known, consume, true);
  }

  /** Read complete lines from `file` starting at `fst.offset`; `final` treats a trailing partial line as complete (the file will not grow). */
  private async readFrom(file: string, logicalPath: string, fst: FileState, consume: (line: TailedLine) => Promise<void>, final: boolean): Promise<number> {
    let n = 0;
    const fh = await fsp.open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      while (fst.offset < size) {
        const base = fst.offset;
        const len = Math.min(this.maxRead, size - base);
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, base);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        const reachesEof = base + chunk.length >= size;
        let pos = 0;
        while (pos < chunk.length) {
          const nl = chunk.indexOf(0x0a, pos);
          const lineEnd = nl === -1 ? chunk.length : nl;
          const lineLen = lineEnd - pos;
          const next = nl === -1 ? chunk.length : nl + 1;
          if (fst.discarding) {
            // The tail of an over-long line already handed on: drop it up to its line break.
            fst.discarding = nl === -1;
          } else {
            // An unterminated tail waits for the rest, unless it is already too long or the file is finished.
            if (nl === -1 && lineLen < this.maxLine && !(final && reachesEof)) break;
            const cut = lineLen > this.maxLine || (nl === -1 && lineLen >= this.maxLine);
            const text = chunk.subarray(pos, pos + Math.min(lineLen, this.maxLine)).toString('utf8');
            if (cut) this.notice({ path: logicalPath, kind: 'line-too-long', message: `${logicalPath}: line at byte ${base + pos} is longer than ${this.maxLine} bytes: cut` });
            await consume({ text: cut ? `${text}\u2026` : text, source: logicalPath, key: `${fst.dev}:${fst.ino}:${base + pos}`, path: logicalPath, offset: base + pos, end: base + next });
            n += 1;
            if (cut && nl === -1) fst.discarding = true;
          }
          fst.offset = base + next;
          pos = next;
        }
        if (pos === 0) break; // only the start of a line so far: wait for more
      }
      if (fst.headBytes < HEAD && fst.offset > fst.headBytes) await this.rememberHead(fh, fst);
    } finally {
      await fh.close();
    }
    return n;
  }

  private async fresh(p: string, st: fs.Stats, offset: number): Promise<FileState> {
    const fst: FileState = { dev: st.dev, ino: st.ino, offset, head: '', headBytes: 0, discarding: false };
    const fh = await fsp.open(p, 'r');
    try {
      await this.rememberHead(fh, fst);
    } finally {
      await fh.close();
    }
    return fst;
  }

  private async rememberHead(fh: fsp.FileHandle, fst: FileState): Promise<void> {
    const n = Math.min(HEAD, Math.max(fst.offset, 0), (await fh.stat()).size);
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, 0);
    fst.head = sha1(buf);
    fst.headBytes = n;
  }

  private async sameHead(p: string, fst: FileState): Promise<boolean> {
    if (fst.headBytes === 0) return true;
    const fh = await fsp.open(p, 'r');
    try {
      const buf = Buffer.alloc(fst.headBytes);
      const { bytesRead } = await fh.read(buf, 0, fst.headBytes, 0);
      return bytesRead === fst.headBytes && sha1(buf) === fst.head;
    } finally {
      await fh.close();
    }
  }

  private async save(): Promise<void> {
    if (!this.opts.stateFile) return;
    await writeJsonAtomic(this.opts.stateFile, { version: 1, files: this.files });
  }

  private notice(n: TailerNotice) {
    this.opts.onNotice?.(n);
  }
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

async function statOrNull(p: string): Promise<fs.Stats | null> {
  try {
    return await fsp.stat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** A rotated file keeps its inode: look for it among the siblings whose names start with the log's name. */
async function findByInode(dir: string, base: string, fst: FileState): Promise<string | null> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return null;
  }
  for (const name of names.filter((x) => x.startsWith(base)).sort()) {
    const full = path.join(dir, name);
    const st = await statOrNull(full);
    if (st && st.ino === fst.ino && st.dev === fst.dev && st.isFile()) return full;
  }
  return null;
}

/** Write JSON to a temp file and rename it over the target: readers never see half a file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await fsp.rename(tmp, file);
}

export interface WatchOptions {
  tailer: LogTailer;
  analyzer: LogAnalyzer;
  sink: TrackerSink;
  /** Where the `migration_status.json` snapshot goes (written after every poll that read lines). */
  statusFile?: string;
  /** Keep polling until the signal aborts. Otherwise read what is there and return. */
  follow?: boolean;
  intervalMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Called after every poll that read lines (e.g. to print new conflicts). */
  onBatch?: (lines: number) => void;
}

export interface WatchResult {
  lines: number;
  stats: ReturnType<LogAnalyzer['stats']>;
}

/**
 * The watch loop: poll the files, feed the analyzer, write the status snapshot. When the tracker cannot
 * be reached the line stays unread and the loop backs off (follow mode) or fails (one-shot mode).
 */
export async function watchLogs(o: WatchOptions): Promise<WatchResult> {
  const interval = o.intervalMs ?? 1000;
  const log = o.log ?? (() => undefined);
  let total = 0;
  let failures = 0;
  let lastError: string | undefined;
  let lastSnapshot = 0;
  for (;;) {
    let read = 0;
    try {
      read = await o.tailer.poll(async (line) => {
        // Progress meters (rsync, aws s3) redraw with \r: each redraw is a line of its own.
        const parts = line.text.includes('\r') ? line.text.split('\r') : [line.text];
        if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
        for (const [i, text] of parts.entries()) await o.analyzer.process(i === 0 && parts.length === 1 ? line : { ...line, text, key: `${line.key}#${i}` });
      });
      total += read;
      if (read) o.onBatch?.(read);
      failures = 0;
      lastError = undefined;
    } catch (e) {
      failures += 1;
      lastError = (e as Error).message;
      log(`tracker not reachable, will retry: ${lastError}`);
      if (!o.follow) {
        await writeStatus(o, lastError);
        throw e;
      }
    }
    if (o.statusFile && (read > 0 || failures > 0 || Date.now() - lastSnapshot > 30_000)) {
      await writeStatus(o, lastError);
      lastSnapshot = Date.now();
    }
    if (!o.follow || o.signal?.aborted) break;
    const wait = failures ? Math.min(30_000, interval * 2 ** Math.min(failures, 5)) : interval;
    await sleep(wait, o.signal);
    if (o.signal?.aborted) break;
  }
  if (o.statusFile) await writeStatus(o, lastError);
  return { lines: total, stats: o.analyzer.stats() };
}

async function writeStatus(o: WatchOptions, lastError: string | undefined): Promise<void> {
  if (!o.statusFile) return;
  await writeJsonAtomic(o.statusFile, await statusSnapshot(o, lastError));
}

/** What `migration_status.json` holds: where the watcher is in each file, what it saw, and each migration's state. */
export async function statusSnapshot(o: Pick<WatchOptions, 'tailer' | 'analyzer' | 'sink'>, lastError?: string) {
  const migrations: Record<string, unknown> = {};
  if (!lastError) {
    for (const id of o.analyzer.migrations()) {
      const ov = await o.sink.overview(id).catch((e: Error) => ({ error: e.message }));
      migrations[id] = ov && summarize(ov);
    }
  }
  return {
    generatedAt: new Date().toISOString(),
    ...(lastError ? { trackerError: lastError } : {}),
    files: o.tailer.positions(),
    stats: o.analyzer.stats(),
    migrations,
    conflicts: o.analyzer.conflicts(),
    recentMalformed: o.analyzer.recentMalformed(),
    recentRejections: o.analyzer.recentRejections(),
  };
}

function summarize(ov: Record<string, unknown>) {
  if ('error' in ov) return ov;
  const phases = (ov['phases'] as Array<Record<string, unknown>> | undefined) ?? [];
  return {
    status: ov['status'],
    overallProgress: ov['overallProgress'],
    currentPhases: ov['currentPhases'],
    openAlerts: ov['openAlerts'],
    estimate: ov['estimate'],
    phases: phases.map((p) => ({ id: p['id'], status: p['status'], progress: p['progress'] })),
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
