/**
 * Hand-drawn SVG charts for the dashboard: a script served from 'self' (CSP `script-src 'self'`), no
 * third-party code, no build step. `MMCharts.line(container, spec)` draws time series on one or two y axes,
 * with threshold lines and a band (and `MMCharts.remaining(ms)`, the remaining-time wording); every series' polyline carries `data-series`, `data-times` (ms) and
 * `data-values` so tests can check the drawn points against the history API.
 */
export const CHARTS_JS = String.raw`'use strict';
(function () {
  var NS = 'http://www.w3.org/2000/svg';
  var W = 600, H = 190, L = 58, R = 62, T = 12, B = 26;
  function s(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function extent(vals, zero) {
    var lo = Infinity, hi = -Infinity;
    vals.forEach(function (v) { if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    if (lo === Infinity) { lo = 0; hi = 1; }
    if (zero) lo = Math.min(0, lo);
    if (hi === lo) hi = lo + (Math.abs(lo) || 1);
    return [lo, hi + (hi - lo) * 0.05];
  }
  function clock(ms) { var d = new Date(ms); return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); }
  /**
   * spec: { title, x: [ms...] (shared times), xMax?, series: [{ name, values, color, axis: 'left'|'right', dash?, format }],
   *         thresholds?: [{ value, label, color, axis }], band?: { lo: [], hi: [], axis, color }, extra?: fn(svg, sx, sy) }
   */
  function line(container, spec) {
    container.textContent = '';
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': spec.title, 'class': 'chart' });
    container.appendChild(svg);
    var xs = spec.x;
    if (!xs.length) { svg.appendChild(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', 'class': 'axis' }, 'no history yet')); return svg; }
    var x0 = xs[0], x1 = Math.max(spec.xMax || xs[xs.length - 1], xs[0] + 1000);
    var axes = { left: [], right: [] };
    spec.series.forEach(function (se) { axes[se.axis || 'left'] = axes[se.axis || 'left'].concat(se.values); });
    (spec.thresholds || []).forEach(function (t) { axes[t.axis || 'left'].push(t.value); });
    if (spec.band) { axes[spec.band.axis || 'left'] = axes[spec.band.axis || 'left'].concat(spec.band.lo, spec.band.hi); }
    var dom = { left: extent(axes.left, !spec.noZero), right: extent(axes.right, !spec.noZero) };
    function sx(t) { return L + (t - x0) / (x1 - x0) * (W - L - R); }
    function sy(v, axis) { var d = dom[axis || 'left']; return T + (1 - (v - d[0]) / (d[1] - d[0])) * (H - T - B); }
    svg.appendChild(s('rect', { x: L, y: T, width: W - L - R, height: H - T - B, 'class': 'plot' }));
    [0, 0.5, 1].forEach(function (f) {
      ['left', 'right'].forEach(function (axis) {
        var first = spec.series.filter(function (se) { return (se.axis || 'left') === axis; })[0];
        if (!first) return;
        var d = dom[axis], v = d[0] + f * (d[1] - d[0]);
        svg.appendChild(s('text', { x: axis === 'left' ? L - 4 : W - R + 4, y: sy(v, axis) + 4, 'text-anchor': axis === 'left' ? 'end' : 'start', 'class': 'axis' }, first.format(v)));
      });
      svg.appendChild(s('text', { x: sx(x0 + f * (x1 - x0)), y: H - 8, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle', 'class': 'axis' }, clock(x0 + f * (x1 - x0))));
    });
    if (spec.band) {
      var up = [], down = [];
      xs.forEach(function (t, i) { if (spec.band.lo[i] !== null && spec.band.hi[i] !== null) { up.push(sx(t) + ',' + sy(spec.band.hi[i], spec.band.axis)); down.unshift(sx(t) + ',' + sy(spec.band.lo[i], spec.band.axis)); } });
      if (up.length) svg.appendChild(s('polygon', { points: up.concat(down).join(' '), fill: spec.band.color, 'fill-opacity': '0.18', stroke: 'none', 'data-band': 'true' }));
    }
    (spec.thresholds || []).forEach(function (t) {
      var y = sy(t.value, t.axis);
      svg.appendChild(s('line', { x1: L, x2: W - R, y1: y, y2: y, stroke: t.color, 'stroke-dasharray': '5 4', 'data-threshold': String(t.value) }));
      svg.appendChild(s('text', { x: W - R - 4, y: y - 4, 'text-anchor': 'end', 'class': 'axis', fill: t.color }, t.label));
    });
    spec.series.forEach(function (se) {
      var pts = [], times = [], vals = [];
      xs.forEach(function (t, i) { var v = se.values[i]; if (v !== null && v !== undefined && isFinite(v)) { pts.push(sx(t).toFixed(1) + ',' + sy(v, se.axis).toFixed(1)); times.push(t); vals.push(v); } });
      var pl = s('polyline', { points: pts.join(' '), fill: 'none', stroke: se.color, 'stroke-width': '2', 'data-series': se.name, 'data-times': JSON.stringify(times), 'data-values': JSON.stringify(vals) });
      if (se.dash) pl.setAttribute('stroke-dasharray', se.dash);
      svg.appendChild(pl);
      if (pts.length === 1) { var p = pts[0].split(','); svg.appendChild(s('circle', { cx: p[0], cy: p[1], r: 3, fill: se.color })); }
    });
    if (spec.extra) spec.extra(svg, sx, sy, s);
    var legend = s('g', {});
    var lx = L + 4;
    spec.series.forEach(function (se) {
      legend.appendChild(s('rect', { x: lx, y: T + 4, width: 10, height: 3, fill: se.color }));
      var tx = s('text', { x: lx + 14, y: T + 9, 'class': 'axis' }, se.label || se.name);
      legend.appendChild(tx);
      lx += 24 + 6.2 * (se.label || se.name).length;
    });
    svg.appendChild(legend);
    return svg;
  }
  /** "20 s", "45 min", "2 h 10 min", "1 d 2 h" (the same wording as the CLI's formatRemaining). */
  function remaining(ms) {
    ms = Math.max(0, ms); if (ms < 60000) return Math.round(ms / 1000) + ' s';
    var m = Math.round(ms / 60000); if (m < 60) return m + ' min';
    var h = Math.floor(m / 60); if (h < 24) return h + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '');
    return Math.floor(h / 24) + ' d' + (h % 24 ? ' ' + (h % 24) + ' h' : '');
  }
  window.MMCharts = { line: line, svg: s, remaining: remaining };
})();
`;
