import type { HttpResponse, Route } from '../http';
import { PALETTE_CSS } from './palette';

/**
 * The portfolio page at /admin/migrations: every migration in one table (status, health, progress, ETA, open
 * alerts), each linking to its dashboard. Reads GET /api/migrations/summary every 10 s; same CSP as the dashboard.
 */
const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Migrations</title>
<link rel="icon" type="image/svg+xml" href="/admin/migration/favicon.svg">
<style>
${PALETTE_CSS}
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: var(--fg); background: var(--page); }
  header { padding:12px 20px; border-bottom:1px solid var(--line); background:var(--bg); display:flex; gap:12px; align-items:center; flex-wrap:wrap; }
  h1 { font-size:18px; margin:0; }
  main { padding:16px 20px; }
  table { border-collapse:collapse; width:100%; }
  th { text-align:left; font-size:12px; color:var(--muted); white-space:nowrap; border-bottom:2px solid var(--line); padding:6px 8px; }
  td { padding:6px 8px; border-bottom:1px solid var(--soft); vertical-align:top; overflow-wrap:anywhere; }
  .bar { height:8px; background:var(--soft); border-radius:4px; overflow:hidden; min-width:60px; } .bar > span { display:block; height:100%; background:var(--run); }
  .healthy { color:var(--ok); } .degraded { color:var(--warn); } .unhealthy { color:var(--err); font-weight:600; }
  .muted { color:var(--muted); } .err { color:var(--err); }
  @media (max-width: 700px) { thead { display:none; } tr { display:block; border-bottom:1px solid var(--line); padding:6px 0; } td { display:block; border:0; padding:2px 0; } td[data-label]::before { content: attr(data-label) ": "; color:var(--muted); } }
</style>
</head>
<body>
<header><h1>Migrations</h1><span id="count" class="muted"></span><span id="updated" class="muted"></span></header>
<p id="error" class="err" role="alert" style="padding:0 20px"></p>
<main><table><thead><tr><th>Migration</th><th>Status</th><th>Health</th><th>Progress</th><th>ETA</th><th>Open alerts</th></tr></thead><tbody id="rows" data-testid="portfolio"></tbody></table></main>
<script src="/admin/migration/charts.js"></script>
<script src="/admin/migrations/app.js"></script>
</body>
</html>`;

const JS = String.raw`'use strict';
(function () {
  function $(id) { return document.getElementById(id); }
  function td(label, text, cls) { var e = document.createElement('td'); e.setAttribute('data-label', label); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  var remaining = MMCharts.remaining;
  function eta(e) {
    if (e.basis === 'completed') return 'done';
    if (!e.estimatedCompletion) return 'none: ' + (e.reason || 'not enough data');
    return remaining(e.remainingMs) + (e.uncertaintyMs ? ' ± ' + remaining(e.uncertaintyMs) : '') + ' (' + new Date(e.estimatedCompletion).toLocaleString() + ', ' + e.confidence + ')';
  }
  function headers() { var h = { accept: 'application/json' }; var t = sessionStorage.getItem('mm-token'); if (t) h.authorization = 'Bearer ' + t; return h; }
  function refresh() {
    fetch('/api/migrations/summary', { headers: headers() }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || 'HTTP ' + r.status); return j; }); })
      .then(function (d) {
        $('error').textContent = '';
        var body = $('rows'); body.textContent = '';
        d.migrations.forEach(function (m) {
          var tr = document.createElement('tr'); tr.setAttribute('data-migration', m.migrationId);
          var name = td('Migration'); var a = document.createElement('a'); a.href = '/admin/migration?migration=' + encodeURIComponent(m.migrationId); a.textContent = m.name; name.appendChild(a);
          var id = document.createElement('div'); id.className = 'muted'; id.textContent = m.migrationId; name.appendChild(id); tr.appendChild(name);
          tr.appendChild(td('Status', m.status.replace('_', ' ')));
          tr.appendChild(td('Health', m.health + (m.healthReasons.length ? ' — ' + m.healthReasons.join('; ') : ''), m.health));
          var p = td('Progress'); var bar = document.createElement('div'); bar.className = 'bar'; var f = document.createElement('span'); f.style.width = m.overallProgress + '%'; bar.appendChild(f); p.appendChild(bar);
          var pt = document.createElement('div'); pt.textContent = m.overallProgress.toFixed(1) + '%'; p.appendChild(pt); tr.appendChild(p);
          tr.appendChild(td('ETA', eta(m.estimate)));
          var o = m.openAlerts; tr.appendChild(td('Open alerts', (o.critical + o.error + o.warning + o.info) + (o.critical ? ' (' + o.critical + ' critical)' : ''), o.critical || o.error ? 'err' : ''));
          body.appendChild(tr);
        });
        $('count').textContent = d.migrations.length + ' migration' + (d.migrations.length === 1 ? '' : 's');
        $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      }).catch(function (e) { $('error').textContent = 'The tracker did not answer: ' + e.message; });
  }
  refresh(); setInterval(refresh, 10000);
})();
`;

export function portfolioRoutes(page: (body: string, type: string) => () => Promise<HttpResponse>): Route[] {
  return [
    { method: 'GET', path: '/admin/migrations', handler: page(HTML, 'text/html; charset=utf-8') },
    { method: 'GET', path: '/admin/migrations/app.js', handler: page(JS, 'text/javascript; charset=utf-8') },
  ];
}
