import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { buildStatusReport } from '../../../lib/core/report/model';
import { renderHtml } from '../../../lib/core/report/render-html';
import { busySim } from './fixture';

/**
 * The HTML report in a real headless Chromium, with JavaScript off (as mail clients have it). The
 * screenshots are kept in test-artifacts/ for people to look at.
 */
const ARTIFACTS = path.join(__dirname, '../../../test-artifacts');
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

function html() {
  const s = busySim();
  const now = s.now();
  const history = Array.from({ length: 30 }, (_, i) => ({ t: new Date(now - (29 - i) * 3600_000 * 0.7).toISOString(), overall: i * 1.5, bytes: i * 28e9, errorRate: (i * 7) % 13, remainingPlan: 600 - i * 9, eta: new Date(now + (20 - i * 0.2) * 3600_000).toISOString() }));
  return renderHtml(buildStatusReport({ state: s.state, activity: s.activity, history, now, options: { includeMetrics: true } }));
}

/** Header cells whose single words are split over lines (what "ALE RT" looked like). */
const wordsBrokenInHeaders = (page: import('playwright-core').Page) =>
  page.evaluate(() => {
    const broken: string[] = [];
    for (const th of Array.from(document.querySelectorAll('th'))) {
      const node = th.firstChild;
      if (!node || node.nodeType !== Node.TEXT_NODE) continue;
      const text = node.textContent ?? '';
      let at = 0;
      for (const word of text.split(' ')) {
        const r = document.createRange();
        r.setStart(node, at);
        r.setEnd(node, at + word.length);
        if (word && r.getClientRects().length > 1) broken.push(word);
        at += word.length + 1;
      }
    }
    return broken;
  });

async function open(width: number) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 }, javaScriptEnabled: false });
  const page = await ctx.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.setContent(html(), { waitUntil: 'load' });
  return { ctx, page, requests };
}

it('renders in headless Chromium on a desktop-width mail pane; screenshot kept in test-artifacts/report-html-desktop.png', async () => {
  const { ctx, page, requests } = await open(900);
  expect(requests).toEqual([]); // nothing fetched from anywhere
  expect(await page.title()).toMatch(/^\[Migration\] Orders DB to Cloud SQL/);
  const text = await page.locator('body').innerText();
  for (const s of ['Risks (', 'Phases', 'Open alerts', 'Metrics', 'Validation', 'Recent activity', 'Target <script>alert(1)</script> rejecting writes']) {
    expect(text).toContain(s);
  }
  expect(await page.locator('script').count()).toBe(0);
  // The content card is 720 px wide, centred.
  const card = await page.locator('body > table > tbody > tr > td > table').boundingBox();
  expect(card!.width).toBe(720);
  const file = path.join(ARTIFACTS, 'report-html-desktop.png');
  await page.screenshot({ path: file, fullPage: true });
  expect(fs.statSync(file).size).toBeGreaterThan(20_000);
  await ctx.close();
});

it('fits a phone-width mail client without horizontal scrolling; screenshot kept in test-artifacts/report-html-phone.png', async () => {
  const { ctx, page } = await open(400);
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
  expect(await wordsBrokenInHeaders(page)).toEqual([]);
  // the trend charts are there, as tables of bars (no SVG, no images), one bar per point
  expect(await page.locator('[data-trend="Progress"] td[height]').count()).toBeGreaterThan(10);
  expect(await page.locator('svg, img').count()).toBe(0);
  await page.screenshot({ path: path.join(ARTIFACTS, 'report-html-phone.png'), fullPage: true });
  await ctx.close();
});
