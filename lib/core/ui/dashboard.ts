import type { HttpResponse, Route } from '../http';
import { PALETTE_CSS } from './palette';
import { CHARTS_JS } from './charts-js';
import { portfolioRoutes } from './portfolio';

/** A progress ring in the product's blue: the tab icon. */
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="13" fill="none" stroke="#d0d7de" stroke-width="5"/><path d="M16 3a13 13 0 0 1 12.4 17" fill="none" stroke="#0969da" stroke-width="5" stroke-linecap="round"/></svg>';

/**
 * The web dashboard at /admin/migration: static HTML + one script, no build step, no third-party code.
 * It reads GET /api/migration/dashboard every 5 s and posts pause/resume/acknowledge to
 * POST /api/migration/dashboard. When the API wants a token, the page asks for it once per tab.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Migration monitor</title>
<link rel="icon" type="image/svg+xml" href="/admin/migration/favicon.svg">
<style>
${PALETTE_CSS}
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: var(--fg); background: var(--page); }
  header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; padding:12px 20px; border-bottom:1px solid var(--line); background:var(--bg); }
  header h1 { font-size:18px; margin:0 12px 0 0; }
  main { display:grid; grid-template-columns: minmax(0,2fr) minmax(0,1fr); gap:20px; padding:20px; }
  section { border:1px solid var(--line); border-radius:6px; padding:12px 16px; margin-bottom:20px; }
  section h2 { font-size:15px; margin:0 0 10px; }
  .bar { height:10px; background:var(--soft); border-radius:5px; overflow:hidden; }
  .bar > span { display:block; height:100%; background:var(--run); }
  .bar.big { height:18px; border-radius:9px; }
  .phase { padding:8px 0; border-top:1px solid var(--soft); }
  .phase:first-of-type { border-top:0; }
  .phase .row { display:flex; justify-content:space-between; gap:8px; margin-bottom:4px; }
  .sub { margin:4px 0 0 16px; font-size:12px; color:var(--muted); display:grid; grid-template-columns: 160px 1fr 60px; gap:8px; align-items:center; }
  .badge { display:inline-block; padding:0 7px; border-radius:10px; font-size:12px; border:1px solid var(--line); }
  .s-completed { color:var(--ok); border-color:var(--ok); } .s-completed + .bar > span, .bar.s-completed > span { background:var(--ok); }
  .s-failed { color:var(--err); border-color:var(--err); } .bar.s-failed > span { background:var(--err); }
  .s-in_progress { color:var(--run); border-color:var(--run); }
  .s-skipped, .s-pending, .s-not_started { color:var(--muted); }
  .s-paused { color:var(--warn); border-color:var(--warn); }
  .stale-view #phases, .stale-view #metrics, .stale-view #timeline, .stale-view #activity { opacity: .45; }
  .sev-critical { color:#fff; background:var(--crit); border-color:var(--crit); } .sev-error { color:var(--err); border-color:var(--err); }
  .sev-warning { color:var(--warn); border-color:var(--warn); } .sev-info { color:var(--muted); }
  .alert { display:flex; gap:8px; align-items:flex-start; padding:6px 0; border-top:1px solid var(--soft); }
  .alert.acked { opacity:.55; }
  .alert .msg { flex:1; }
  .timeline { position:relative; }
  .tl-row { display:grid; grid-template-columns:130px 1fr; gap:8px; align-items:center; margin:3px 0; font-size:12px; }
  .tl-track { position:relative; height:14px; background:var(--bg); }
  .tl-plan { position:absolute; top:0; height:6px; background:var(--plan); }
  .tl-act { position:absolute; top:7px; height:7px; background:var(--run); }
  .tl-act.s-completed { background:var(--ok); } .tl-act.s-failed { background:var(--err); }
  dl.metrics { display:grid; grid-template-columns: 1fr auto; gap:4px 12px; margin:0; }
  dl.metrics dt { color:var(--muted); } dl.metrics dd { margin:0; text-align:right; font-variant-numeric: tabular-nums; }
  button { font:inherit; padding:4px 12px; border-radius:6px; border:1px solid var(--line); background:var(--page); color:inherit; cursor:pointer; }
  button.primary { background:var(--run); color:#fff; border-color:var(--run); }
  button:disabled { opacity:.5; cursor:default; }
  button.primary:disabled { background:var(--page); color:var(--muted); border-color:var(--line); }
  .muted { color:var(--muted); } .err { color:var(--err); }
  section, .alert .msg, #activity, #health, .phase, #validation, header, #eta { min-width:0; overflow-wrap:anywhere; word-break:break-word; }
  .charts { display:grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap:12px; }
  .charts figure { margin:0; min-width:0; } .charts figcaption { font-size:12px; color:var(--muted); margin-bottom:2px; }
  svg.chart { width:100%; height:auto; display:block; }
  svg.chart .plot { fill:var(--plot); stroke:var(--soft); } svg.chart .axis { font-size:11px; fill:var(--muted); }
  .pv-row { display:grid; grid-template-columns: minmax(70px, 130px) 1fr 150px; gap:8px; align-items:center; margin:4px 0; font-size:12px; }
  .pv-bars { display:grid; gap:2px; } .pv-plan { height:6px; background:var(--plan); } .pv-act { height:7px; background:var(--run); }
  .pv-act.s-completed { background:var(--ok); } .pv-act.s-failed { background:var(--err); } .pv-act.over { background:var(--warn); }
  #pause-form { display:none; gap:6px; align-items:center; flex-wrap:wrap; width:100%; }
  #pause-form.open { display:flex; } #pause-form input { flex:1; min-width:160px; font:inherit; padding:3px 6px; }
  .fold { font-style:italic; }
  #auth { display:none; padding:20px; }
  .stale { color:var(--warn); font-weight:600; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; padding:12px; gap:12px; } #side { order:-1; } header { padding:10px 12px; } .charts { grid-template-columns: 1fr; } .pv-row { grid-template-columns: 80px 1fr 110px; } }
</style>
</head>
<body>
<header>
  <h1>Migration monitor</h1>
  <label>Migration <select id="migration" aria-label="Migration"></select></label>
  <span id="status" class="badge" data-testid="status">…</span>
  <span id="overall" data-testid="overall">–</span>
  <span id="eta" class="muted"></span>
  <span style="flex:1"></span>
  <a href="/admin/migrations" class="muted">All migrations</a>
  <button id="pause" data-testid="pause">Pause</button>
  <button id="resume" data-testid="resume" class="primary">Resume</button>
  <span id="updated" class="muted"></span>
  <span id="whoami" class="muted" data-testid="whoami"></span>
  <input id="actor-name" data-testid="actor-name" placeholder="Your name (recorded with your actions)" aria-label="Your name" autocomplete="name" maxlength="100" style="display:none">
  <div id="pause-form" role="group" aria-label="Pause the migration">
    <input id="pause-reason" maxlength="2000" placeholder="Why pause? (recorded in the activity log)" aria-label="Reason for pausing">
    <button id="pause-confirm" class="primary" data-testid="pause-confirm">Confirm pause</button>
    <button id="pause-cancel">Cancel</button>
    <span id="pause-hint" class="muted"></span>
  </div>
</header>
<div id="auth">
  <p>This tracker needs an API token.</p>
  <input id="token" type="password" placeholder="Bearer token" autocomplete="off"> <button id="save-token">Use token</button>
</div>
<p id="error" class="err" role="alert" style="padding:0 20px"></p>
<main id="main">
  <div>
    <section><h2>Overall progress</h2><div class="bar big"><span id="overall-bar" style="width:0"></span></div>
      <p id="health" class="muted"></p></section>
    <section><h2>Over time</h2><div class="charts">
      <figure><figcaption>Data migrated and throughput</figcaption><div id="chart-data" data-testid="chart-data"></div></figure>
      <figure><figcaption>Error rate (dashed: alarm threshold)</figcaption><div id="chart-errors" data-testid="chart-errors"></div></figure>
      <figure><figcaption>Burn-down: plan minutes left, projected to the ETA (band: its uncertainty)</figcaption><div id="chart-burndown" data-testid="chart-burndown"></div></figure>
      <figure><figcaption>ETA trend (band: earliest-latest)</figcaption><div id="chart-eta" data-testid="chart-eta"></div></figure>
    </div></section>
    <section><h2>Phases</h2><div id="phases" data-testid="phases"></div></section>
    <section><h2>Actual vs plan <span class="muted" style="font-weight:normal">(each row on its own scale; grey: plan, colour: actual)</span></h2><div id="timeline" class="timeline"></div></section>
    <section><h2>Recent activity</h2><div id="activity"></div></section>
  </div>
  <div id="side">
    <section><h2>Alerts</h2><div id="alert-counts"></div><div id="notify-status" class="muted" data-testid="notify-status"></div><div id="alerts" data-testid="alerts"></div></section>
    <section><h2>Metrics</h2><dl id="metrics" class="metrics"></dl></section>
    <section><h2>Validation</h2><div id="validation" class="muted">No validation run yet.</div></section>
  </div>
</main>
<script src="/admin/migration/charts.js"></script>
<script src="/admin/migration/app.js"></script>
</body>
</html>`;

const JS = String.raw`'use strict';
(function () {
  var REFRESH_MS = 5000;
  var params = new URLSearchParams(location.search);
  var current = params.get('migration') || '';
  var timer = null;
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) { if (k === 'text') e.textContent = attrs[k]; else if (k === 'class') e.className = attrs[k]; else e.setAttribute(k, attrs[k]); }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function headers(extra) {
    var h = { 'accept': 'application/json' };
    // The server records the signed-in name (token name, IAM principal); the name typed here rides along as "on behalf of".
    var n = localStorage.getItem('mm-actor-name');
    if (n) h['x-actor'] = n;
    var t = sessionStorage.getItem('mm-token');
    if (t) h['authorization'] = 'Bearer ' + t;
    if (current) h['x-migration-id'] = current;
    for (var k in extra || {}) h[k] = extra[k];
    return h;
  }
  function api(method, path, body) {
    return fetch(path, { method: method, headers: headers(body ? { 'content-type': 'application/json', 'idempotency-key': String(Date.now()) + Math.random() } : {}), body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        if (r.status === 401) { $('auth').style.display = 'block'; throw new Error('A token is needed.'); }
        return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || ('HTTP ' + r.status)); return j; });
      });
  }
  function bytes(n) { var u = ['B','KB','MB','GB','TB']; var i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return n.toFixed(i ? 1 : 0) + ' ' + u[i]; }
  function bar(pct, status) { var b = el('div', { class: 'bar s-' + status }); var s = el('span'); s.style.width = Math.max(0, Math.min(100, pct)) + '%'; b.appendChild(s); return b; }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : '–'; }
  var remaining = MMCharts.remaining;
  function etaText(e, completedAt) {
    if (e.basis === 'completed') return 'completed ' + when(completedAt);
    if (!e.estimatedCompletion) return 'No ETA: ' + (e.reason || 'not enough data yet');
    return 'remaining ' + remaining(e.remainingMs) + (e.uncertaintyMs ? ' (± ' + remaining(e.uncertaintyMs) + ')' : '') + ', ends ' + when(e.estimatedCompletion) + ' (' + e.confidence + ' confidence)';
  }

  var lastOk = null;
  /** The tracker did not answer: say so, and grey out what is now old (never keep "healthy" on screen). */
  function unreachable(e) {
    document.body.classList.add('stale-view');
    $('error').textContent = 'The tracker did not answer: ' + e.message;
    $('health').textContent = 'Health: unknown — the tracker did not answer' + (lastOk ? '; the figures below are from ' + lastOk.toLocaleTimeString() : '');
    $('status').textContent = 'unknown';
    $('status').className = 'badge s-unknown';
  }
  function render(d) {
    lastOk = new Date();
    document.body.classList.remove('stale-view');
    $('error').textContent = '';
    $('auth').style.display = 'none';
    $('status').textContent = d.status.replace('_', ' ');
    $('status').className = 'badge s-' + d.status;
    $('overall').textContent = d.overallProgress.toFixed(1) + '%';
    $('overall-bar').style.width = d.overallProgress + '%';
    var e = d.estimate;
    $('eta').textContent = etaText(e, d.completedAt);
    $('pause').disabled = d.paused || d.status === 'completed';
    $('resume').disabled = !d.paused;
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    $('health').textContent = 'Health: ' + d.health.status + (d.health.reasons.length ? ' — ' + d.health.reasons.join('; ') : '');

    var phases = $('phases'); phases.textContent = '';
    d.phaseDetails.forEach(function (p, i) {
      var summary = d.phases[i];
      var title = el('div', { class: 'row' }, [
        el('strong', { text: p.name }),
        el('span', {}, [
          summary.stale ? el('span', { class: 'stale', text: 'stale ' }) : null,
          summary.stalled ? el('span', { class: 'stale', text: 'stalled ' }) : null,
          el('span', { class: 'badge s-' + p.status, text: p.status.replace('_', ' ') }),
          el('span', { class: 'muted', text: ' ' + p.progress.toFixed(0) + '%' })
        ])
      ]);
      var box = el('div', { class: 'phase', 'data-phase': p.id }, [title, bar(p.progress, p.status)]);
      var info = [];
      if (summary.currentTask) info.push(summary.currentTask);
      if (p.error) info.push('error: ' + p.error);
      if (p.skipReason) info.push('skipped: ' + p.skipReason);
      info.push('est. ' + p.estimatedDuration + ' min' + (summary.actualDuration !== undefined ? ', actual ' + summary.actualDuration + ' min' : ''));
      box.appendChild(el('div', { class: 'muted', text: info.join(' · ') }));
      p.subTasks.forEach(function (t) {
        box.appendChild(el('div', { class: 'sub' }, [el('span', { text: t.name }), bar(t.progress, t.status), el('span', { class: 's-' + t.status, text: t.status === 'in_progress' ? t.progress.toFixed(0) + '%' : t.status })]));
      });
      phases.appendChild(box);
    });

    var tl = $('timeline'); tl.textContent = '';
    d.phases.forEach(function (p) {
      var actual = p.actualDuration, plan = p.estimatedDuration;
      var scale = Math.max(plan, actual || 0) || 1;
      var bars = el('div', { class: 'pv-bars' });
      var pb = el('div', { class: 'pv-plan' }); pb.style.width = (plan / scale * 100) + '%'; bars.appendChild(pb);
      if (actual !== undefined) { var ab = el('div', { class: 'pv-act s-' + p.status + (actual > plan ? ' over' : '') }); ab.style.width = Math.max(0.5, actual / scale * 100) + '%'; bars.appendChild(ab); }
      var label = actual === undefined ? 'plan ' + minutes(plan) : minutes(actual) + ' / ' + minutes(plan) + ' (' + Math.round(actual / plan * 100) + ' %)';
      tl.appendChild(el('div', { class: 'pv-row', 'data-pv': p.id }, [el('span', { text: p.name }), bars, el('span', { class: 'muted', text: label })]));
    });

    var counts = d.openAlerts;
    var nt = d.notifications || {};
    var failedN = Object.keys(nt.failed || {}).reduce(function (n, k) { return n + nt.failed[k]; }, 0);
    $('notify-status').className = nt.retrying || nt.dropped ? 'err' : 'muted';
    $('notify-status').textContent = (nt.pending ? nt.pending + ' notification(s) waiting' + (nt.retrying ? ', ' + nt.retrying + ' retrying' : '') + '. ' : '') +
      (failedN ? failedN + ' failed delivery attempt(s)' + (nt.lastFailure ? ', last to ' + nt.lastFailure.destination + ': ' + nt.lastFailure.error : '') + '. ' : '') +
      (nt.dropped ? nt.dropped + ' notification(s) given up. ' : '');
    $('alert-counts').textContent = 'Open: ' + ['critical','error','warning','info'].map(function (s) { return counts[s] + ' ' + s; }).join(', ');
    var alerts = $('alerts'); alerts.textContent = '';
    var order = { critical: 0, error: 1, warning: 2, info: 3 };
    d.alerts.slice().sort(function (a, b) { return (a.acknowledged - b.acknowledged) || (order[a.severity] - order[b.severity]) || (a.createdAt < b.createdAt ? 1 : -1); }).slice(0, 30).forEach(function (a) {
      var btn = null;
      if (!a.acknowledged) { btn = el('button', { text: 'Acknowledge', 'data-alert': a.id }); btn.onclick = function () { act({ action: 'acknowledge_alert', alertId: a.id }); }; }
      alerts.appendChild(el('div', { class: 'alert' + (a.acknowledged ? ' acked' : '') }, [
        el('span', { class: 'badge sev-' + a.severity, text: a.severity }),
        el('span', { class: 'msg' }, [el('span', { text: a.message }), el('div', { class: 'muted', text: when(a.createdAt) + (a.phaseId ? ' · ' + a.phaseId : '') + (a.acknowledged ? ' · acknowledged by ' + a.acknowledgedBy : '') })]),
        btn
      ]));
    });
    if (!d.alerts.length) alerts.appendChild(el('p', { class: 'muted', text: 'No alerts.' }));

    var m = d.metrics, ml = $('metrics'); ml.textContent = '';
    var seen = {}; (d.metricsReported || []).forEach(function (k) { seen[k] = true; });
    function shown(key, text) { return seen[key] ? text : '—'; }
    var cur = m.costMetrics.currency || 'USD';
    function money(n) { try { return new Intl.NumberFormat(undefined, { style: 'currency', currency: cur }).format(n); } catch (x) { return n + ' ' + cur; } }
    var ru = m.resourceUtilization, cm = m.costMetrics;
    [['Data migrated', shown('totalDataMigrated', bytes(m.totalDataMigrated))], ['Speed', shown('migrationSpeed', bytes(m.migrationSpeed) + '/s')],
     ['Error rate', shown('errorRate', m.errorRate.toFixed(2) + '%')],
     ['Successful ops', shown('successfulOperations', String(m.successfulOperations))], ['Failed ops', shown('failedOperations', String(m.failedOperations))],
     ['Avg op time', shown('averageOperationTime', m.averageOperationTime + ' ms')],
     ['CPU', shown('resourceUtilization.cpu', ru.cpu + '%')], ['Memory', shown('resourceUtilization.memory', ru.memory + '%')],
     ['Network', shown('resourceUtilization.network', bytes(ru.network) + '/s')], ['Storage', shown('resourceUtilization.storage', bytes(ru.storage))],
     ['Cost (actual)', shown('costMetrics.actualCost', money(cm.actualCost))], ['Cost (estimated)', shown('costMetrics.estimatedCost', money(cm.estimatedCost))],
     ['Cost per GB', shown('costMetrics.costPerGB', money(cm.costPerGB))]]
      .forEach(function (r) { ml.appendChild(el('dt', { text: r[0] })); ml.appendChild(el('dd', { text: r[1], 'data-metric': r[0] })); });

    var v = $('validation'); v.textContent = '';
    if (d.lastValidation) {
      v.appendChild(el('p', {}, [el('span', { class: 'badge ' + (d.lastValidation.verdict === 'pass' ? 's-completed' : 's-failed'), text: d.lastValidation.verdict }), el('span', { class: 'muted', text: ' ' + when(d.lastValidation.at) })]));
      d.lastValidation.checks.forEach(function (c) { v.appendChild(el('div', { text: (c.passed ? '✔ ' : '✘ ') + c.name + ' — ' + c.summary })); });
    } else v.textContent = 'No validation run yet.';

    var ac = $('activity'); ac.textContent = '';
    var routine = d.recentActivity.filter(function (a) { return ROUTINE[a.action]; });
    var notable = d.recentActivity.filter(function (a) { return !ROUTINE[a.action]; });
    notable.sort(function (a, b) { return (rank(a) - rank(b)) || (Date.parse(b.at) - Date.parse(a.at)); }).slice(0, 15).forEach(function (a) {
      ac.appendChild(el('div', { class: rank(a) === 0 ? 'err' : 'muted', 'data-action': a.action, text: new Date(a.at).toLocaleTimeString() + ' · ' + author(a) + ' · ' + a.message }));
    });
    if (routine.length) ac.appendChild(el('div', { class: 'muted fold', 'data-action': 'folded', text: routine.length + ' metric and progress updates, the latest at ' + new Date(routine[0].at).toLocaleTimeString() }));
    if (!d.recentActivity.length) ac.appendChild(el('p', { class: 'muted', text: 'No activity yet.' }));
  }
  /** Routine lines fold into one; failures, pauses, acknowledgements and phase changes come first. */
  var ROUTINE = { 'metrics.update': 1, 'phase.progress': 1, 'subtask.progress': 1, 'report.record': 1 };
  function rank(a) {
    if (/fail|stale|conflict/.test(a.action)) return 0;
    if (/pause|resume|acknowledge/.test(a.action)) return 1;
    if (/^phase\.|^migration\.|^subtask\.|^alert\./.test(a.action)) return 2;
    return 3;
  }
  function minutes(m) { return m < 1 ? Math.max(1, Math.round(m * 60)) + ' s' : m < 10 ? (Math.round(m * 10) / 10) + ' min' : remaining(m * 60000); }

  function charts(h, d) {
    var pts = h.points, xs = pts.map(function (p) { return Date.parse(p.t); });
    function col(k) { return pts.map(function (p) { return p[k]; }); }
    function ms(k) { return pts.map(function (p) { return p[k] ? Date.parse(p[k]) : null; }); }
    MMCharts.line($('chart-data'), { title: 'Data migrated and throughput', x: xs, series: [
      { name: 'bytes', label: 'data migrated', values: col('bytes'), color: '#0969da', format: bytes },
      { name: 'throughput', label: 'throughput /s', values: col('throughput'), color: '#8250df', axis: 'right', format: function (v) { return bytes(v) + '/s'; } }] });
    var thr = d.thresholds ? d.thresholds.errorRatePercent : 10;
    MMCharts.line($('chart-errors'), { title: 'Error rate', x: xs, series: [{ name: 'errorRate', label: 'error rate', values: col('errorRate'), color: '#cf222e', format: function (v) { return v.toFixed(1) + '%'; } }],
      thresholds: [{ value: thr, label: 'alarm ' + thr + ' %', color: '#9a6700' }] });
    var last = pts[pts.length - 1], eta = last && last.eta ? Date.parse(last.eta) : null;
    var hi = last && last.etaHigh ? Date.parse(last.etaHigh) : null, lo = last && last.etaLow ? Date.parse(last.etaLow) : null;
    MMCharts.line($('chart-burndown'), { title: 'Burn-down', x: xs, xMax: hi || eta || undefined, series: [{ name: 'remainingPlan', label: 'plan min left', values: col('remainingPlan'), color: '#1a7f37', format: function (v) { return remaining(v * 60000); } }],
      extra: function (svg, sx, sy, s) {
        if (!eta) return;
        var lx = xs[xs.length - 1];
        svg.appendChild(s('line', { x1: sx(lx), y1: sy(last.remainingPlan), x2: sx(eta), y2: sy(0), stroke: '#1a7f37', 'stroke-dasharray': '4 3', 'data-projection': 'true' }));
        if (lo && hi) svg.appendChild(s('rect', { x: sx(lo), y: sy(0) - 5, width: Math.max(1, sx(hi) - sx(lo)), height: 10, fill: '#1a7f37', 'fill-opacity': '0.2', 'data-band': 'true' }));
      } });
    MMCharts.line($('chart-eta'), { title: 'ETA trend', x: xs, noZero: true, series: [{ name: 'eta', label: 'ETA', values: ms('eta'), color: '#0969da', format: function (v) { return new Date(v).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }); } }],
      band: { lo: ms('etaLow'), hi: ms('etaHigh'), color: '#0969da' } });
  }

  function author(a) { return a.onBehalfOf && a.onBehalfOf !== a.actor ? a.actor + ' (on behalf of ' + a.onBehalfOf + ')' : a.actor; }
  /** Who the API takes this page for; without a personal token, the page asks a name once (kept in this browser). */
  function whoami() {
    return api('GET', '/api/whoami').then(function (w) {
      var personal = w.via === 'principal' || (w.via === 'token' && w.name !== 'token');
      var n = localStorage.getItem('mm-actor-name');
      $('whoami').textContent = personal ? 'signed in as ' + w.name : (n ? 'acting as ' + n + ' (' + w.name + ')' : 'not signed in: enter your name');
      $('actor-name').style.display = personal ? 'none' : '';
      if (n) $('actor-name').value = n;
    });
  }
  $('actor-name').onchange = function () { var v = this.value.trim().slice(0, 100); if (v) localStorage.setItem('mm-actor-name', v); else localStorage.removeItem('mm-actor-name'); whoami(); };
  function act(body) {
    return api('POST', '/api/migration/dashboard', body).then(refresh).catch(function (e) { $('error').textContent = e.message; });
  }
  function loadMigrations() {
    return api('GET', '/api/migrations').then(function (r) {
      var sel = $('migration'); sel.textContent = '';
      r.migrations.forEach(function (id) { sel.appendChild(el('option', { value: id, text: id })); });
      if (!current || r.migrations.indexOf(current) < 0) current = r.migrations.indexOf('default') >= 0 ? 'default' : (r.migrations[0] || '');
      sel.value = current;
    });
  }
  function refresh() {
    if (!current) return loadMigrations().then(function () { if (current) return refresh(); $('error').textContent = 'No migration yet: initialize one through the API.'; });
    return api('GET', '/api/migration/dashboard?activity=50').then(function (d) {
      render(d);
      return api('GET', '/api/migration/history').then(function (h) { charts(h, d); });
    }).catch(unreachable);
  }
  $('pause').onclick = function () { $('pause-form').classList.add('open'); $('pause-hint').textContent = ''; $('pause-reason').focus(); };
  $('pause-cancel').onclick = function () { $('pause-form').classList.remove('open'); };
  $('pause-confirm').onclick = function () {
    var reason = $('pause-reason').value.trim();
    if (!reason) { $('pause-hint').textContent = 'Say why: it goes in the activity log and the report.'; return; }
    $('pause-form').classList.remove('open'); $('pause-reason').value = '';
    act({ action: 'pause', reason: reason });
  };
  $('resume').onclick = function () { act({ action: 'resume', reason: 'resumed from the dashboard' }); };
  $('migration').onchange = function () { current = this.value; history.replaceState(null, '', '?migration=' + encodeURIComponent(current)); refresh(); };
  $('save-token').onclick = function () { sessionStorage.setItem('mm-token', $('token').value); start(); };
  function start() { whoami().catch(function () { /* 401: the token box is shown */ }); loadMigrations().then(refresh).catch(function (e) { $('error').textContent = e.message; }); if (timer) clearInterval(timer); timer = setInterval(refresh, REFRESH_MS); }
  start();
})();
`;

export function dashboardRoutes(): Route[] {
  const page = (body: string, type: string) => async (): Promise<HttpResponse> => ({
    status: 200,
    headers: { 'content-type': type, 'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' },
    body,
  });
  return [
    { method: 'GET', path: '/admin/migration', handler: page(HTML, 'text/html; charset=utf-8') },
    { method: 'GET', path: '/admin/migration/app.js', handler: page(JS, 'text/javascript; charset=utf-8') },
    { method: 'GET', path: '/admin/migration/charts.js', handler: page(CHARTS_JS, 'text/javascript; charset=utf-8') },
    { method: 'GET', path: '/admin/migration/favicon.svg', handler: page(FAVICON, 'image/svg+xml') },
    { method: 'GET', path: '/favicon.ico', handler: page(FAVICON, 'image/svg+xml') },
    ...portfolioRoutes(page),
    { method: 'GET', path: '/', handler: async () => ({ status: 302, headers: { location: '/admin/migration' }, body: '' }) },
  ];
}
