import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../support/ports';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');

/** Start `migration-monitor serve` (what `npm start` runs) and wait for its banner. */
function startServe(args: string[]): Promise<{ child: ChildProcess; url: string; banner: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--no-proxy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\/admin\/migration/.exec(out);
      if (m && /try: curl/.test(out)) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, banner: out });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/api/migration/progress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Resolves with the exit code (null when a signal ended it), also when the process has already exited. */
function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
}

describe('local mode (npm start)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-serve-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints where everything is and serves the API, dashboard and health on 127.0.0.1', async () => {
    const { child, url, banner } = await startServe(['--data-dir', dir]);
    try {
      expect(banner).toContain(`embedded file store in ${dir}`);
      expect(banner).toMatch(/auth\s+none \(bound to 127\.0\.0\.1 only\)/);
      expect((await fetch(`${url}/admin/migration`)).status).toBe(200);
      expect((await (await fetch(`${url}/health`)).json()).status).toBe('healthy');
      expect((await (await fetch(`${url}/api/migration/progress`)).json()).phases).toHaveLength(7);
    } finally {
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    }
  });

  it('loses no acknowledged update when killed with SIGKILL, twice (recover, write on, crash again)', async () => {
    let acked = 0;
    for (let round = 0; round < 2; round++) {
      const server = await startServe(['--data-dir', dir]);
      if (round === 0) await post(server.url, { action: 'start_phase', phaseId: 'initialization' });
      // 40 concurrent writers; count only the updates the server acknowledged with 200
      let stop = false;
      const ackedBefore = acked;
      const writers = Array.from({ length: 40 }, async () => {
        while (!stop) {
          try {
            const r = await post(server.url, { action: 'update_metrics', increment: { successfulOperations: 1 } });
            if (r.status === 200) acked++;
          } catch {
            return; // the server died under us: this request was never acknowledged
          }
        }
      });
      await new Promise((r) => setTimeout(r, 1500));
      server.child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await exited(server.child);
      expect(acked - ackedBefore).toBeGreaterThan(50);
    }

    const last = await startServe(['--data-dir', dir]);
    try {
      const o = await (await fetch(`${last.url}/api/migration/progress`)).json();
      // every acknowledged update is there; at most the in-flight, never-acknowledged ones may also be
      expect(o.metrics.successfulOperations).toBeGreaterThanOrEqual(acked);
      expect(o.metrics.successfulOperations).toBeLessThanOrEqual(acked + 80);
      expect(o.phases[0].status).toBe('in_progress');
    } finally {
      last.child.kill('SIGTERM');
      await exited(last.child);
    }
  });

  it('loses no update whose idempotent replay was acknowledged, when killed with SIGKILL as the replay answers', async () => {
    // The race: a request with Idempotency-Key K is committed (visible) but waits for its group fsync; a retry with
    // K arrives on a second connection 1 ms later. It must not be answered "replayed" before the original is durable.
    // Background writers keep the journal busy, so a commit waits behind the previous batch's fsync before its write.
    const acked = new Set<string>();
    let backgroundAcked = 0;
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const server = await startServe(['--data-dir', dir]);
      let stop = false;
      const background = Array.from({ length: 30 }, async () => {
        while (!stop) {
          try {
            const r = await post(server.url, { action: 'update_metrics', increment: { totalDataMigrated: 1 } });
            if (r.status === 200) backgroundAcked++;
          } catch {
            return;
          }
        }
      });
      const send = (key: string) =>
        fetch(`${server.url}/api/migration/progress`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ action: 'update_metrics', increment: { successfulOperations: 1 } }),
        });
      let replayAnswered = false;
      for (let i = 0; i < 300 && !replayAnswered; i++) {
        const key = `r${round}-k${i}`;
        let originalAnswered = false;
        const original = send(key).then(
          (r) => {
            originalAnswered = true;
            if (r.status === 200 && !replayAnswered) acked.add(key);
          },
          () => undefined,
        );
        await new Promise((r) => setTimeout(r, 1));
        const replay = await send(key);
        if (replay.status === 200) {
          acked.add(key);
          if (!originalAnswered && replay.headers.get('idempotent-replayed') === 'true') {
            // the window: the retry was acknowledged while the original is still in flight
            replayAnswered = true;
            server.child.kill('SIGKILL');
          }
        }
        await original;
      }
      if (!replayAnswered) server.child.kill('SIGKILL');
      stop = true;
      await Promise.all(background);
      await exited(server.child);
    }
    expect(acked.size).toBeGreaterThan(0);
    const last = await startServe(['--data-dir', dir]);
    try {
      const o = await (await fetch(`${last.url}/api/migration/progress`)).json();
      expect(o.metrics.successfulOperations).toBeGreaterThanOrEqual(acked.size);
      expect(o.metrics.totalDataMigrated).toBeGreaterThanOrEqual(backgroundAcked);
    } finally {
      last.child.kill('SIGTERM');
      await exited(last.child);
    }
  }, 180_000);

  it('refuses a non-loopback bind without a token, and a bad port, with exit 2', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MIGRATION_MONITOR_TOKEN: '' } });
        let err = '';
        c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        c.once('exit', (code) => resolve({ code, err }));
      });
    const open = await run(['--host', '0.0.0.0', '--data-dir', dir]);
    expect(open.code).toBe(2);
    expect(open.err).toMatch(/--token/);
    const port = await run(['--port', 'eighty']);
    expect(port.code).toBe(2);
    expect(port.err).toMatch(/--port must be a port number/);
  });

  it('fails cleanly, naming the proxy port, when the proxy demo port (port + 1) is taken: no zombie tracker', async () => {
    // hold port + 1 (retry with another base port if that one happens to be taken by someone else)
    let port = 0;
    let blocker: net.Server | undefined;
    for (let attempt = 0; attempt < 20 && !blocker; attempt++) {
      port = await freePort();
      if (port >= 65535) continue;
      const b = net.createServer();
      const ok = await new Promise<boolean>((resolve) => {
        b.once('error', () => resolve(false));
        b.listen(port + 1, '127.0.0.1', () => resolve(true));
      });
      if (ok) blocker = b;
    }
    expect(blocker).toBeDefined();
    try {
      const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const code = await exited(child);
      expect(code).not.toBe(0);
      expect(out).toMatch(new RegExp(`port ${port + 1} .*in use`));
      expect(out).toMatch(/--proxy-port/);
      expect(out).not.toMatch(new RegExp(`port ${port} is in use`));
      // nothing is left answering on the tracker port
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(false)));
        s.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
      // the data directory is released: the next start on it works
      const next = await startServe(['--data-dir', dir]);
      next.child.kill('SIGTERM');
      expect(await exited(next.child)).toBe(0);
    } finally {
      await new Promise((r) => blocker!.close(r));
    }
  });

  it('--demo runs a simulated migration that moves', async () => {
    const { child, url } = await startServe(['--store', 'memory', '--demo']);
    try {
      const p1 = (await (await fetch(`${url}/api/migration/progress`)).json()).overallProgress;
      await new Promise((r) => setTimeout(r, 3500));
      const o = await (await fetch(`${url}/api/migration/progress`)).json();
      expect(o.migrationId).toBe('demo');
      expect(o.overallProgress).toBeGreaterThan(p1);
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  });
});

describe('local mode extras', () => {
  it('serves Prometheus /metrics next to the API and starts the search-proxy demo', async () => {
    const { FileStore } = await import('../../lib/adapters/file/file-store');
    const { startLocalServer } = await import('../../lib/cli/commands/serve');
    const srv = await startLocalServer({ port: 0, store: FileStore.inMemory(), proxy: true, proxyPort: 0 });
    try {
      await srv.tracker.apply('default', { action: 'start_phase', phaseId: 'initialization' });
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      expect(m).toMatch(/^migration_progress_ratio\{migration_id="default"\} /m);
      expect(m).toMatch(/^migration_phase_started_total\{migration_id="default",phase="initialization"\} 1$/m);
      const h = await fetch(`${srv.proxyUrl}/health`);
      expect(h.status).toBe(200);
    } finally {
      await srv.close();
    }
  });
});
