import { buildStatusReport, summarize } from '../../../lib/core/report/model';
import { FORMAT_INFO, render, renderShort, toMessage } from '../../../lib/core/report/render';
import { mdText, renderMarkdown } from '../../../lib/core/report/render-markdown';
import { renderHtml } from '../../../lib/core/report/render-html';
import { renderJson } from '../../../lib/core/report/render-json';
import { busySim, HOUR, Sim } from './fixture';

function busyReport() {
  const s = busySim();
  const yesterday = new Sim();
  const prev = summarize(buildStatusReport({ state: yesterday.state, activity: [], now: s.now() - 20 * HOUR }));
  return buildStatusReport({ state: s.state, activity: s.activity, now: s.now(), previous: prev, options: { includeMetrics: true } });
}

describe('renderers', () => {
  const r = busyReport();

  it('Markdown: every section, risks with why and look-at, tables intact despite pipes in the data', () => {
    const md = renderMarkdown(r);
    for (const h of ['# Migration status: Orders DB to Cloud SQL', '## Risks (', '## Since the last report', '## Phases', '## Open alerts', '## Metrics', '## Validation', '## Recent activity']) {
      expect(md).toContain(h);
    }
    expect(md).toContain('[CRITICAL]');
    expect(md).toMatch(/- Why: .*17 rows differ/);
    expect(md).toContain('- Look at: ');
    expect(md).toContain('812 GB');
    expect(md).toContain('| Bulk copy | in progress | 35% |');
    // every table row has the same number of unescaped pipes as its header
    const rows = md.split('\n').filter((l) => l.startsWith('| Bulk copy'));
    expect(rows[0]!.replace(/\\\|/g, '').split('|').length).toBe(7);
    expect(md).toContain('table \\<orders\\> \\| part 3');
    expect(md).not.toContain('<script>');
  });

  it('Markdown escaping leaves plain words alone', () => {
    expect(mdText('phase_start at 40%')).toBe('phase_start at 40%');
    expect(mdText('a|b\nc `d` *e* [f](g)')).toBe('a\\|b c \\`d\\` \\*e\\* \\[f\\](g)');
  });

  it('HTML: a whole document with inline styles only, no scripts, no remote resources, hostile text escaped', () => {
    const html = renderHtml(r);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/\b(src|href)=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).toContain('Target &lt;script&gt;alert(1)&lt;/script&gt; rejecting writes');
    expect(html).toContain('Risks (');
    expect(html).toContain('17 rows differ in orders_2024');
    expect(html).toContain('<meta charset="utf-8">');
  });

  it('JSON: the report itself, round-trippable', () => {
    const j = JSON.parse(renderJson(r));
    expect(j).toEqual(JSON.parse(JSON.stringify(r)));
    expect(j.schemaVersion).toBe(1);
    expect(j.risks.length).toBe(r.risks.length);
  });

  it('dispatches by format with matching content types', () => {
    expect(render(r, 'markdown')).toBe(renderMarkdown(r));
    expect(FORMAT_INFO.html.contentType).toBe('text/html; charset=utf-8');
    expect(FORMAT_INFO.json.ext).toBe('json');
  });

  it('builds the notifier message: subject with the numbers, text + HTML parts, short chat text with links', () => {
    const m = toMessage(r, ['s3://bucket/orders-db/2026-03-02.html']);
    expect(m.subject).toMatch(/^\[Migration\] Orders DB to Cloud SQL: [\d.]+% · in progress · \d+ risks \(2026-03-02\)$/);
    expect(m.text).toBe(renderMarkdown(r));
    expect(m.html).toBe(renderHtml(r));
    expect(m.short).toContain('*Risks (');
    expect(m.short).toContain('Full report: s3://bucket/orders-db/2026-03-02.html');
    const odd = new Sim();
    odd.state.name = 'A&B <prod>';
    const short = renderShort(buildStatusReport({ state: odd.state, activity: [], now: odd.now() }));
    expect(short).toContain('*Migration A&amp;B &lt;prod&gt;*');
  });
});
