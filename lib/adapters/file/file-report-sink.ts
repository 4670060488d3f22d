import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkReportKey, type PutResult, type ReportSink } from '../../core/report/ports';

/**
 * Reports as files under a directory (`--output=file --path=reports/`). A put writes a temporary file,
 * flushes it, then hard-links it to its name: link(2) fails with EEXIST when the name is taken, so the
 * create-once is atomic across processes and a reader never sees a half-written report.
 */
export class FileReportSink implements ReportSink {
  readonly channel = 'file';
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  async put(key: string, body: string, _contentType: string): Promise<PutResult> {
    const file = this.pathOf(key);
    const tmp = await this.writeTemp(file, body);
    try {
      await fs.link(tmp, file);
      return { created: true, location: file };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { created: false, location: file };
      throw e;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async replace(key: string, body: string, _contentType: string): Promise<PutResult> {
    const file = this.pathOf(key);
    const tmp = await this.writeTemp(file, body);
    await fs.rename(tmp, file);
    return { created: true, location: file };
  }

  async get(key: string): Promise<string | null> {
    try {
      return await fs.readFile(this.pathOf(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  private pathOf(key: string): string {
    return path.join(this.dir, ...checkReportKey(key).split('/'));
  }

  private async writeTemp(file: string, body: string): Promise<string> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const h = await fs.open(tmp, 'wx', 0o640);
    try {
      await h.writeFile(body, 'utf8');
      await h.sync();
    } finally {
      await h.close();
    }
    return tmp;
  }
}
