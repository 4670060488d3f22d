import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrackerApiError, TrackerClient } from '../../../lib/adapters/http/tracker-client';

/** A real HTTP server that answers from a script of statuses, recording what each request carried and when. */
async function scripted(answers: Array<{ status: number; headers?: Record<string, string>; body?: unknown }>) {
  const seen: Array<{ at: number; method: string; key: string | undefined }> = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ at: performance.now(), method: req.method!, key: req.headers['idempotency-key'] as string | undefined });
      const a = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body ?? (a.status === 200 ? { ok: true } : { error: { code: 'busy', message: `HTTP ${a.status}` } })));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

describe('TrackerClient retries against a real server', () => {
  it('retries 429 after the Retry-After the server asked for, with the same Idempotency-Key', async () => {
    const s = await scripted([{ status: 429, headers: { 'retry-after': '1' } }, { status: 429, headers: { 'retry-after': '1' } }, { status: 200 }]);
    try {
      const c = new TrackerClient({ url: s.url, retries: 3 });
      expect(await c.send({ action: 'update_metrics', increment: { successfulOperations: 1 } })).toEqual({ ok: true });
      expect(s.seen).toHaveLength(3);
      expect(new Set(s.seen.map((x) => x.key)).size).toBe(1);
      // never sooner than asked (a lower bound only: a busy machine may be later)
      expect(s.seen[1]!.at - s.seen[0]!.at).toBeGreaterThanOrEqual(990);
      expect(s.seen[2]!.at - s.seen[1]!.at).toBeGreaterThanOrEqual(990);
    } finally {
      await s.close();
    }
  });

  it('retries 503 too, and gives up at once with the server error when Retry-After is past its time budget', async () => {
    const s = await scripted([{ status: 503, headers: { 'retry-after': '3600' } }]);
    try {
      const c = new TrackerClient({ url: s.url, retries: 5, retryBudgetMs: 20_000 });
      const e = await c.overview().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TrackerApiError);
      expect((e as TrackerApiError).status).toBe(503);
      expect(s.seen).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('does not retry a refusal (4xx other than 429)', async () => {
    const s = await scripted([{ status: 409, body: { error: { code: 'paused', message: 'migration is paused' } } }]);
    try {
      const c = new TrackerClient({ url: s.url, retries: 5 });
      await expect(c.send({ action: 'start_phase', phaseId: 'x' })).rejects.toThrow('migration is paused');
      expect(s.seen).toHaveLength(1);
    } finally {
      await s.close();
    }
  });
});
