import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { ManualClock } from '../../../lib/core/clock';
import { trackerApi } from '../../../lib/core/tracker/api';
import { Tracker } from '../../../lib/core/tracker/service';
import { dashboardRoutes } from '../../../lib/core/ui/dashboard';
import { artifactPath, launchChromium } from '../../support/chromium';

/**
 * The dashboard and the portfolio page as people see them, at a desktop (1440 px) and a phone (390 px) width:
 * no horizontal scroll, long alert text wraps with its Acknowledge button on screen, alerts above the fold on
 * a phone, chart points equal to the history API's, unreported metrics "—". Screenshots in test-artifacts/.
 */
let browser: Browser;
let srv: RunningServer;
let tracker: Tracker;
const LONG = 'report could not be delivered to gcs (https://storage.googleapis.com/upload/storage/v1/b/migration-reports-prod-eu-west1/o?uploadType=resumable&name=reports%2Forders-db%2F2026-11-24.html&upload_id=ADPycdvQ3kV8pLx9ZKq0w7rT2fYbN4sJ6hM1cE5uA8gR3tW0yI9oP2lK7jH4dF6sA1zX3cV5bN8mQ0wE2rT4yU6iO8pA)';

beforeAll(async () => {
  browser = await launchChromium();
  const clock = new ManualClock(Date.now() - 40 * 10_000);
  tracker = new Tracker({ store: FileStore.inMemory(), clock });
  await tracker.initialize('default', { name: 'Orders DB to Aurora: the long-named production migration for the EU tenants' });
  await tracker.initialize('tenant-b', { name: 'Tenant B' });
  await tracker.apply('default', { action: 'start_phase', phaseId: 'initialization' });
  await tracker.apply('default', { action: 'start_subtask', phaseId: 'initialization', subTaskId: 'preflight' });
  for (let i = 1; i <= 40; i++) {
    clock.advance(10_000);
    await tracker.apply('default', { action: 'update_subtask', phaseId: 'initialization', subTaskId: 'preflight', progress: Math.min(100, i * 2.5) });
    await tracker.apply('default', { action: 'update_metrics', increment: { totalDataMigrated: 5e7 + i * 1e6, successfulOperations: 100, failedOperations: i % 9 } });
  }
  await tracker.apply('default', { action: 'create_alert', severity: 'error', message: LONG });
  await tracker.apply('default', { action: 'create_alert', severity: 'critical', message: 'Replication slot lag above 5 minutes' });
  await tracker.apply('default', { action: 'pause', reason: 'change freeze' });
  await tracker.apply('default', { action: 'resume', reason: 'freeze over' });
  clock.set(Math.max(clock.now(), Date.now()));
  srv = await serveHttp(trackerApi({ tracker, defaultMigrationId: 'default', extraRoutes: dashboardRoutes() }));
});
afterAll(async () => {
  await srv?.close();
  await browser?.close();
});

async function open(width: number, path = '/admin/migration'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: width < 500 ? 844 : 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(srv.url + path);
  (page as unknown as { errors: string[] }).errors = errors;
  return page;
}

const noHorizontalOverflow = (page: Page) => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));

describe.each([1440, 390])('dashboard at %i px', (width) => {
  it('has no horizontal scroll; long alerts wrap with Acknowledge on screen; charts match the history API; screenshot kept', async () => {
    const page = await open(width);
    await page.waitForSelector('#chart-data polyline[data-series="bytes"]');
    const o = await noHorizontalOverflow(page);
    expect(o.scroll).toBeLessThanOrEqual(o.width);
    for (const box of await page.locator('[data-alert]').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right))) expect(box).toBeLessThanOrEqual(width);
    // the chart's points are the history API's
    const drawn = JSON.parse((await page.getAttribute('#chart-data polyline[data-series="bytes"]', 'data-values'))!);
    const api = (await (await fetch(`${srv.url}/api/migration/history`)).json()) as { points: Array<{ bytes: number; errorRate: number }> };
    expect(drawn).toEqual(api.points.map((p) => p.bytes));
    expect(drawn.length).toBeGreaterThan(30);
    const errs = JSON.parse((await page.getAttribute('#chart-errors polyline[data-series="errorRate"]', 'data-values'))!);
    expect(errs).toEqual(api.points.map((p) => p.errorRate));
    expect(await page.locator('#chart-errors line[data-threshold="10"]').count()).toBe(1);
    expect(await page.locator('#chart-burndown line[data-projection]').count()).toBe(1);
    // never reported: a dash, not a zero
    expect(await page.locator('dd[data-metric="CPU"]').innerText()).toBe('—');
    expect(await page.locator('dd[data-metric="Data migrated"]').innerText()).not.toBe('—');
    // activity: pauses and phase changes before routine lines, which fold into one
    const lines = await page.locator('#activity [data-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
    expect(lines.at(-1)).toBe('folded');
    expect(lines.filter((a) => a === 'metrics.update')).toEqual([]);
    expect(lines.slice(0, 2)).toEqual(['migration.resume', 'migration.pause']); // before the newer alerts and routine lines
    expect(lines).toContain('alert.create');
    // the disabled Resume looks disabled (not the blue primary button)
    expect(await page.locator('#resume').evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(255, 255, 255)');
    if (width < 500) {
      const alertsTop = await page.locator('[data-testid="alerts"]').evaluate((e) => e.getBoundingClientRect().top);
      expect(alertsTop).toBeLessThan(844); // above the fold on a phone
    }
    const shot = artifactPath(`dashboard-${width}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('the portfolio lists every migration with status, health, progress, ETA and open alerts', async () => {
    const page = await open(width, '/admin/migrations');
    await page.waitForSelector('tr[data-migration="tenant-b"]');
    const row = await page.locator('tr[data-migration="default"]').innerText();
    expect(row).toMatch(/in progress/);
    expect(row).toMatch(/2 \(1 critical\)/);
    expect(row).toMatch(/healthy|degraded|unhealthy/);
    expect(await page.locator('tr[data-migration="tenant-b"]').innerText()).toMatch(/none: no progress observed yet/);
    const o = await noHorizontalOverflow(page);
    expect(o.scroll).toBeLessThanOrEqual(o.width);
    await page.screenshot({ path: artifactPath(`portfolio-${width}.png`), fullPage: true });
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
  });
});

it('serves a favicon', async () => {
  const r = await fetch(`${srv.url}/favicon.ico`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('image/svg+xml');
});

describe('dark mode (prefers-color-scheme: dark)', () => {
  it.each(['/admin/migration', '/admin/migrations'])('%s follows the system: dark page, light text, same layout, no overflow; screenshot kept', async (path) => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(srv.url + path);
    await page.waitForSelector(path === '/admin/migration' ? '#chart-data polyline[data-series="bytes"]' : 'tr[data-migration="tenant-b"]');
    const colors = await page.evaluate(() => ({ bg: getComputedStyle(document.body).backgroundColor, fg: getComputedStyle(document.body).color }));
    expect(colors).toEqual({ bg: 'rgb(13, 17, 23)', fg: 'rgb(230, 237, 243)' });
    if (path === '/admin/migration') {
      // the disabled Resume sits flat on the page, as in light mode (not a lit primary button)
      expect(await page.locator('#resume').evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(13, 17, 23)');
    }
    const o = await noHorizontalOverflow(page);
    expect(o.scroll).toBeLessThanOrEqual(o.width);
    const shot = artifactPath(`${path === '/admin/migration' ? 'dashboard' : 'portfolio'}-dark-1440.png`);
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    await page.close();
  });
});
