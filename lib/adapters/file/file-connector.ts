import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { readLines } from './lines';
import { convertText } from '../../core/validation/convert';
import type { ConnectorConfig } from '../../core/validation/config';
import { compareKeys, inRange, type Key, keyColumns, keyId, keyOfParts, keyRangeByScan, keyTypes, type KeyType, type Row, type ScanOptions, type SourceConnector } from '../../core/validation/connector';
import { duplicateKey } from '../../core/validation/streams';

type FileConfig = Extract<ConnectorConfig, { type: 'file' }>;

/**
 * Records from a CSV or JSONL file, streamed (memory: one batch). `sorted: true` declares the file is in
 * ascending key order (checked while reading): range scans then stop at the end of the range.
 */
export class FileConnector implements SourceConnector {
  readonly label: string;
  readonly ordered: boolean;
  /** A get is one pass over the file: take as many keys per pass as offered. */
  readonly maxGetBatch = 100_000;
  private readonly format: 'csv' | 'jsonl';
  private readonly keyCols: string[];
  private readonly keyTypes: KeyType[];

  constructor(private readonly cfg: Omit<FileConfig, 'type'> & { path: string }) {
    const ext = extname(cfg.path).toLowerCase();
    const fmt = cfg.format ?? (ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : undefined);
    if (!fmt) throw new Error(`file connector: cannot tell the format of ${cfg.path} from its extension: set format: csv or jsonl`);
    this.format = fmt;
    this.keyCols = keyColumns(cfg.key);
    this.keyTypes = keyTypes(cfg.keyType, this.keyCols.length);
    this.ordered = cfg.sorted;
    this.label = `file:${cfg.path}`;
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const b of this.rows({ batchSize: 10_000, keysOnly: true })) n += b.length;
    return n;
  }

  scan(opts: ScanOptions): AsyncIterable<Row[]> {
    return this.rows(opts);
  }

  /** One pass over the file; a wanted key found twice is a duplicate key (an error naming it). */
  async get(keys: Key[]): Promise<Row[]> {
    const want = new Set(keys.map(keyId));
    const found = new Set<string>();
    const out: Row[] = [];
    for await (const b of this.rows({ batchSize: 10_000 })) {
      for (const r of b) {
        const id = keyId(r.key);
        if (!want.has(id)) continue;
        if (found.has(id)) throw duplicateKey(this.label, r.key);
        found.add(id);
        out.push(r);
      }
    }
    return out;
  }

  keyRange(signal?: AbortSignal): Promise<{ min: Key; max: Key } | null> {
    return keyRangeByScan(this, signal);
  }

  async close(): Promise<void> {}

  private async *rows(opts: ScanOptions): AsyncGenerator<Row[]> {
    await stat(this.cfg.path).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`file connector: cannot read ${this.cfg.path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    });
    let batch: Row[] = [];
    const records = this.format === 'csv' ? this.csvRecords() : this.jsonlRecords();
    for await (const { rec, line } of records) {
      opts.signal?.throwIfAborted();
      const key = keyOfParts(this.keyCols.map((c) => rec[c]), this.keyTypes, `${this.cfg.path}:${line}`);
      if (!inRange(key, opts)) {
        if (this.ordered && opts.through !== undefined && compareKeys(key, opts.through) > 0) break;
        continue;
      }
      let data: Record<string, unknown> = {};
      if (!opts.keysOnly) {
        data = { ...rec };
        for (const c of this.keyCols) delete data[c];
      }
      batch.push({ key, data });
      if (batch.length >= opts.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }

  private async *jsonlRecords(): AsyncGenerator<{ rec: Record<string, unknown>; line: number }> {
    let line = 0;
    for await (const text of readLines(this.cfg.path)) {
      line += 1;
      if (!text.trim()) continue;
      let rec: unknown;
      try {
        rec = JSON.parse(text);
      } catch (e) {
        throw new Error(`${this.cfg.path}:${line}: not valid JSON: ${(e as Error).message}`);
      }
      if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw new Error(`${this.cfg.path}:${line}: expected a JSON object per line`);
      yield { rec: rec as Record<string, unknown>, line };
    }
  }

  private async *csvRecords(): AsyncGenerator<{ rec: Record<string, unknown>; line: number }> {
    const parser = new CsvParser(this.cfg.delimiter);
    let header: string[] | undefined;
    let n = 0;
    const types = this.cfg.columns;
    const toRecord = (cells: string[]) => {
      n += 1;
      if (!header) {
        header = cells.map((h) => h.trim());
        for (const k of this.keyCols) if (!header.includes(k)) throw new Error(`${this.cfg.path}: the header has no key column "${k}" (columns: ${header.join(', ')})`);
        return undefined;
      }
      if (cells.length === 1 && cells[0] === '') return undefined;
      if (cells.length !== header.length) throw new Error(`${this.cfg.path}: record ${n} has ${cells.length} fields, the header ${header.length}`);
      const rec: Record<string, unknown> = {};
      header.forEach((h, i) => (rec[h] = convertText(cells[i]!, types[h], `${this.cfg.path}: record ${n}, column ${h}`)));
      return rec;
    };
    const decoder = new StringDecoder('utf8');
    for await (const chunk of createReadStream(this.cfg.path)) {
      for (const cells of parser.push(decoder.write(chunk as Buffer))) {
        const rec = toRecord(cells);
        if (rec) yield { rec, line: n };
      }
    }
    for (const cells of parser.end(decoder.end())) {
      const rec = toRecord(cells);
      if (rec) yield { rec, line: n };
    }
  }
}

/** RFC 4180 CSV, incremental: quoted fields may hold delimiters, doubled quotes and newlines. */
export class CsvParser {
  private field = '';
  private row: string[] = [];
  private quoted = false;
  /** Inside quotes, just saw a quote (either the closing one or the first of a doubled pair). */
  private quoteSeen = false;
  private fieldStarted = false;
  constructor(private readonly delim = ',') {}

  push(text: string): string[][] {
    const out: string[][] = [];
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (this.quoted) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (ch === '"') {
            this.field += '"';
            continue;
          }
          this.quoted = false; // closing quote: fall through to handle ch unquoted
        } else if (ch === '"') {
          this.quoteSeen = true;
          continue;
        } else {
          this.field += ch;
          continue;
        }
      }
      if (ch === '"' && !this.fieldStarted) {
        this.quoted = true;
        this.fieldStarted = true;
      } else if (ch === this.delim) {
        this.endField();
      } else if (ch === '\n') {
        this.endField();
        out.push(this.row);
        this.row = [];
      } else if (ch === '\r') {
        // dropped: \r\n line ends
      } else {
        this.field += ch;
        this.fieldStarted = true;
      }
    }
    return out;
  }

  end(text = ''): string[][] {
    const out = this.push(text);
    if (this.quoted && !this.quoteSeen) throw new Error('CSV ends inside a quoted field');
    this.quoted = false;
    this.quoteSeen = false;
    if (this.fieldStarted || this.row.length) {
      this.endField();
      out.push(this.row);
      this.row = [];
    }
    return out;
  }

  private endField() {
    this.row.push(this.field);
    this.field = '';
    this.fieldStarted = false;
  }
}
