import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { startLocalServer, type LocalServer } from '../../../lib/cli/commands/serve';
import { artifactPath, launchChromium } from '../../support/chromium';

let browser: Browser;
let srv: LocalServer;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  srv = await startLocalServer({ port: 0, store: FileStore.inMemory(), proxy: false });
  const t = srv.tracker;
  await t.apply('default', { action: 'start_phase', phaseId: 'initialization' });
  await t.apply('default', { action: 'start_subtask', phaseId: 'initialization', subTaskId: 'preflight' });
  await t.apply('default', { action: 'update_subtask', phaseId: 'initialization', subTaskId: 'preflight', progress: 60 });
  await t.apply('default', { action: 'create_alert', severity: 'critical', message: 'Replication slot lag above 5 minutes' });
  await t.apply('default', { action: 'update_metrics', metrics: { totalDataMigrated: 5 * 1024 ** 3, migrationSpeed: 50 * 1024 ** 2 } });
});
afterEach(async () => {
  await srv.close();
});

describe('web dashboard in headless Chromium', () => {
  it('shows the phases, sub-tasks, alerts and metrics; Pause changes the migration state; screenshot kept', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url}/admin/migration`);
    await page.waitForSelector('[data-phase="finalization"]');
    const phases = await page.locator('[data-phase]').evaluateAll((els) => els.map((e) => e.getAttribute('data-phase')));
    expect(phases).toEqual(['initialization', 'infrastructure', 'database', 'vector-search', 'apis', 'validation', 'finalization']);
    expect(await page.locator('[data-phase="initialization"]').innerText()).toMatch(/Preflight checks/);
    expect(await page.locator('[data-testid="alerts"]').innerText()).toMatch(/Replication slot lag/);
    expect(await page.locator('#metrics').innerText()).toMatch(/5\.0 GB/);
    expect(await page.locator('[data-testid="status"]').innerText()).toBe('in progress');

    await page.click('[data-testid="pause"]');
    await page.click('[data-testid="pause-confirm"]'); // no reason: refused on the page, nothing sent
    expect(await page.locator('#pause-hint').innerText()).toMatch(/Say why/);
    expect((await srv.tracker.get('default')).paused).toBe(false);
    await page.fill('#pause-reason', 'change freeze');
    await page.click('[data-testid="pause-confirm"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'paused');
    expect((await srv.tracker.get('default')).paused).toBe(true);
    expect((await srv.tracker.get('default')).controlEvents.at(-1)?.reason).toBe('change freeze');
    expect(await page.locator('#eta').innerText()).toMatch(/No ETA: paused: change freeze/);
    const shot = artifactPath('dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);

    await page.click('[data-testid="resume"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'in progress');
    expect((await srv.tracker.get('default')).paused).toBe(false);
    await page.click('[data-alert]');
    await page.waitForFunction(() => !document.querySelector('[data-alert]'));
    expect((await srv.tracker.get('default')).alerts[0]!.acknowledged).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says the health is unknown and greys out old figures when the tracker stops answering, and recovers', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${srv.url}/admin/migration`);
    await page.waitForFunction(() => /Health: (healthy|degraded|unhealthy)/.test(document.querySelector('#health')?.textContent ?? ''));
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));
    await page.waitForFunction(() => document.body.classList.contains('stale-view'), undefined, { timeout: 20_000 });
    expect(await page.locator('#health').innerText()).toMatch(/^Health: unknown — the tracker did not answer; the figures below are from /);
    expect(await page.locator('[data-testid="status"]').innerText()).toBe('unknown');
    await page.unroute('**/api/**');
    await page.waitForFunction(() => !document.body.classList.contains('stale-view'), undefined, { timeout: 20_000 });
    expect(await page.locator('#health').innerText()).toMatch(/^Health: (healthy|degraded|unhealthy)/);
    await page.close();
  });

  it('refreshes every 5 s without a reload', async () => {
    const page = await browser.newPage();
    await page.goto(`${srv.url}/admin/migration`);
    await page.waitForSelector('[data-phase="initialization"]');
    await srv.tracker.apply('default', { action: 'update_subtask', phaseId: 'initialization', subTaskId: 'preflight', progress: 100 });
    await page.waitForFunction(() => /100%/.test(document.querySelector('[data-phase="initialization"]')?.textContent ?? ''), undefined, { timeout: 8000 });
    await page.close();
  });

  it('sends the dashboard security headers', async () => {
    const r = await fetch(`${srv.url}/admin/migration`);
    expect(r.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
