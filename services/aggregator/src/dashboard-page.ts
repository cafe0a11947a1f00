// The live dashboard: one self-contained HTML page with inline CSS and JavaScript that polls
// api/dashboard and draws SVG charts. It loads nothing from other hosts, so it works on
// networks without internet access. The script avoids backticks and template placeholders
// because the page is itself a TypeScript template string.

/** HTML of the dashboard page served at `/`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>asyncfl aggregator</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 0.5rem; }
  h2 { font-size: 1rem; margin: 0 0 0.25rem; }
  .summary { display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; margin-bottom: 1rem; }
  .summary div { min-width: 7rem; }
  .summary .label { color: #5b6475; font-size: 0.8rem; display: block; }
  .summary .value { font-size: 1.15rem; font-variant-numeric: tabular-nums; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; }
  .panel { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 0.75rem; }
  .note { color: #5b6475; font-size: 0.8rem; margin: 0 0 0.4rem; }
  svg { width: 100%; height: auto; display: block; }
  svg .axis { stroke: #9aa3b2; stroke-width: 1; }
  svg .grid-line { stroke: #eceff4; stroke-width: 1; }
  svg text { font-size: 11px; fill: #5b6475; }
  svg .series-top1 { stroke: #2563eb; fill: none; stroke-width: 2; }
  svg .series-top5 { stroke: #16a34a; fill: none; stroke-width: 2; }
  svg .series-loss { stroke: #dc2626; fill: none; stroke-width: 2; }
  svg circle.top1 { fill: #2563eb; }
  svg circle.top5 { fill: #16a34a; }
  svg circle.loss { fill: #dc2626; }
  svg rect.bar { fill: #6366f1; }
  svg rect.bar-rank { fill: #0891b2; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 0.2rem 0.5rem; border-bottom: 1px solid #eceff4; }
  #error { color: #b91c1c; }
  .legend span { margin-right: 1rem; font-size: 0.8rem; }
  .legend .top1 { color: #2563eb; } .legend .top5 { color: #16a34a; }
</style>
</head>
<body data-refreshes="0">
<h1>asyncfl aggregator: job <span id="job">…</span></h1>
<p class="note">Rule <span id="rule">…</span>. Updated <span id="updated">never</span>. <span id="error"></span></p>
<div class="summary">
  <div><span class="label">phase</span><span class="value" id="phase">…</span></div>
  <div><span class="label">version</span><span class="value" id="version">…</span></div>
  <div><span class="label">snapshot version</span><span class="value" id="snapshot-version">…</span></div>
  <div><span class="label">updates applied</span><span class="value" id="applied">…</span></div>
  <div><span class="label">updates rejected</span><span class="value" id="rejected">…</span></div>
  <div><span class="label">top-1 accuracy</span><span class="value" id="top1">…</span></div>
  <div><span class="label">top-5 accuracy</span><span class="value" id="top5">…</span></div>
  <div><span class="label">loss</span><span class="value" id="loss">…</span></div>
</div>
<div class="grid">
  <section class="panel">
    <h2>Held-out accuracy by version</h2>
    <div class="legend"><span class="top1">&#9632; top-1</span><span class="top5">&#9632; top-5</span></div>
    <svg id="accuracy-chart" viewBox="0 0 640 260" role="img" aria-label="accuracy by version"></svg>
  </section>
  <section class="panel">
    <h2>Held-out loss by version</h2>
    <svg id="loss-chart" viewBox="0 0 640 260" role="img" aria-label="loss by version"></svg>
  </section>
  <section class="panel">
    <h2>Staleness of applied updates</h2>
    <p class="note">Versions between an update's base model and the model it was applied to, since this aggregator process started; a bar labelled n counts staleness above the previous label up to n.</p>
    <svg id="staleness-chart" viewBox="0 0 640 260" role="img" aria-label="staleness histogram"></svg>
  </section>
  <section class="panel">
    <h2>Updates applied by rank</h2>
    <svg id="rank-chart" viewBox="0 0 640 220" role="img" aria-label="updates applied by rank"></svg>
    <table id="rank-table">
      <thead><tr><th>rank</th><th>applied</th><th>last message</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="panel">
    <h2>Rejections by reason</h2>
    <table id="rejections"><tbody></tbody></table>
  </section>
</div>
<script>
(function () {
  'use strict';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var params = new URLSearchParams(window.location.search);
  var refreshMs = Math.max(200, Number(params.get('refresh')) || 2000);
  var latest = null;

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG_NS, name);
    for (var key in attrs) node.setAttribute(key, String(attrs[key]));
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, anchor) {
    var node = el('text', { x: x, y: y, 'text-anchor': anchor || 'start' }, parent);
    node.textContent = content;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function formatNumber(value, digits) {
    return Number.isFinite(value) ? value.toFixed(digits) : '–';
  }

  // Axis ticks at multiples of 1, 2 or 5 times a power of ten, about count of them.
  function tickStep(min, max, count, integer) {
    var raw = (max - min) / count;
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var fraction = raw / power;
    var step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
    return integer ? Math.max(1, Math.round(step)) : step;
  }

  function ticks(min, max, step) {
    var out = [];
    for (var i = Math.ceil(min / step); i * step <= max + step * 1e-9; i++) out.push(i * step);
    return out;
  }

  function decimalsOf(step) {
    return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  }

  // Plot area inside the 640-wide view box; the margins hold the axis labels.
  var PLOT = { left: 52, right: 628, top: 12, bottom: 230 };

  function lineChart(svg, series, yMin, yMax) {
    clear(svg);
    var points = [];
    series.forEach(function (s) { points = points.concat(s.points); });
    var xMin = Infinity, xMax = -Infinity;
    points.forEach(function (p) { xMin = Math.min(xMin, p.x); xMax = Math.max(xMax, p.x); });
    if (!Number.isFinite(xMin)) { xMin = 0; xMax = 1; }
    if (xMax === xMin) xMax = xMin + 1;
    if (yMax === yMin) yMax = yMin + 1;
    function sx(x) { return PLOT.left + ((x - xMin) / (xMax - xMin)) * (PLOT.right - PLOT.left); }
    function sy(y) { return PLOT.bottom - ((y - yMin) / (yMax - yMin)) * (PLOT.bottom - PLOT.top); }
    var yStep = tickStep(yMin, yMax, 5, false);
    ticks(yMin, yMax, yStep).forEach(function (t) {
      el('line', { class: 'grid-line', x1: PLOT.left, x2: PLOT.right, y1: sy(t), y2: sy(t) }, svg);
      text(svg, PLOT.left - 6, sy(t) + 4, t.toFixed(decimalsOf(yStep)), 'end');
    });
    ticks(xMin, xMax, tickStep(xMin, xMax, 6, true)).forEach(function (t) {
      text(svg, sx(t), PLOT.bottom + 16, String(t), 'middle');
    });
    el('line', { class: 'axis', x1: PLOT.left, x2: PLOT.right, y1: PLOT.bottom, y2: PLOT.bottom }, svg);
    el('line', { class: 'axis', x1: PLOT.left, x2: PLOT.left, y1: PLOT.top, y2: PLOT.bottom }, svg);
    text(svg, PLOT.right, PLOT.bottom + 28, 'version', 'end');
    if (points.length === 0) {
      text(svg, (PLOT.left + PLOT.right) / 2, (PLOT.top + PLOT.bottom) / 2, 'no evaluation yet', 'middle');
      return;
    }
    series.forEach(function (s) {
      var path = s.points.map(function (p) { return sx(p.x).toFixed(2) + ',' + sy(p.y).toFixed(2); });
      el('polyline', { class: 'series-' + s.name, points: path.join(' ') }, svg);
      s.points.forEach(function (p) {
        var dot = el('circle', {
          class: 'point ' + s.name, r: 3, cx: sx(p.x).toFixed(2), cy: sy(p.y).toFixed(2),
          'data-version': p.x, 'data-value': p.y,
        }, svg);
        el('title', {}, dot).textContent = s.name + ' ' + p.y.toFixed(4) + ' at version ' + p.x;
      });
    });
  }

  function barChart(svg, bars, barClass, labelName, height) {
    clear(svg);
    var bottom = height - 30;
    var maxCount = 0;
    bars.forEach(function (b) { maxCount = Math.max(maxCount, b.count); });
    var yStep = tickStep(0, Math.max(maxCount, 1), 4, true);
    // The axis ends at the first tick at or above the tallest bar.
    var yMax = Math.max(1, Math.ceil(maxCount / yStep)) * yStep;
    var slot = (PLOT.right - PLOT.left) / Math.max(bars.length, 1);
    function sy(y) { return bottom - (y / yMax) * (bottom - PLOT.top); }
    ticks(0, yMax, yStep).forEach(function (t) {
      el('line', { class: 'grid-line', x1: PLOT.left, x2: PLOT.right, y1: sy(t), y2: sy(t) }, svg);
      text(svg, PLOT.left - 6, sy(t) + 4, String(t), 'end');
    });
    el('line', { class: 'axis', x1: PLOT.left, x2: PLOT.right, y1: bottom, y2: bottom }, svg);
    bars.forEach(function (b, i) {
      var x = PLOT.left + i * slot + slot * 0.1;
      var y = sy(b.count);
      var attrs = {
        class: barClass, x: x.toFixed(2), y: y.toFixed(2),
        width: (slot * 0.8).toFixed(2), height: (bottom - y).toFixed(2), 'data-count': b.count,
      };
      attrs['data-' + labelName] = b.label;
      var rect = el('rect', attrs, svg);
      el('title', {}, rect).textContent = labelName + ' ' + b.label + ': ' + b.count;
      if (b.count > 0) text(svg, x + slot * 0.4, y - 3, String(b.count), 'middle');
      text(svg, x + slot * 0.4, bottom + 14, b.label, 'middle');
    });
  }

  function ago(iso, now) {
    if (!iso) return 'none yet';
    var seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
    return seconds < 120 ? seconds.toFixed(0) + ' s ago' : (seconds / 60).toFixed(0) + ' min ago';
  }

  function setText(id, value) {
    document.getElementById(id).textContent = value;
  }

  function render(data) {
    setText('job', data.job);
    setText('rule', data.rule || '…');
    setText('phase', data.phase);
    setText('version', String(data.version));
    setText('snapshot-version', String(data.snapshotVersion));
    setText('applied', String(data.updatesApplied));
    setText('rejected', String(data.updatesRejected));
    var e = data.evaluation;
    setText('top1', e ? formatNumber(e.top1 * 100, 2) + '%' : '–');
    setText('top5', e ? formatNumber(e.top5 * 100, 2) + '%' : '–');
    setText('loss', e ? formatNumber(e.loss, 4) : '–');

    var evals = data.evaluations;
    lineChart(document.getElementById('accuracy-chart'), [
      { name: 'top1', points: evals.map(function (p) { return { x: p.version, y: p.top1 }; }) },
      { name: 'top5', points: evals.map(function (p) { return { x: p.version, y: p.top5 }; }) },
    ], 0, 1);
    var maxLoss = 0;
    evals.forEach(function (p) { if (Number.isFinite(p.loss)) maxLoss = Math.max(maxLoss, p.loss); });
    lineChart(document.getElementById('loss-chart'), [
      { name: 'loss', points: evals.map(function (p) { return { x: p.version, y: p.loss }; }) },
    ], 0, maxLoss > 0 ? maxLoss * 1.05 : 1);

    // Empty buckets above the largest observed staleness are left off.
    var bars = data.staleness.bars;
    var last = 0;
    bars.forEach(function (b, i) { if (b.count > 0) last = i; });
    barChart(document.getElementById('staleness-chart'),
      bars.slice(0, Math.max(last + 1, 4)).map(function (b) { return { label: b.le, count: b.count }; }),
      'bar', 'le', 260);
    barChart(document.getElementById('rank-chart'),
      data.ranks.map(function (r) { return { label: String(r.rank), count: r.applied }; }),
      'bar-rank', 'rank', 220);

    var now = Date.parse(data.serverTime);
    var body = document.querySelector('#rank-table tbody');
    body.innerHTML = '';
    data.ranks.forEach(function (r) {
      var row = body.insertRow();
      row.setAttribute('data-rank', String(r.rank));
      row.insertCell().textContent = String(r.rank);
      var applied = row.insertCell();
      applied.className = 'applied';
      applied.textContent = String(r.applied);
      var seen = row.insertCell();
      seen.className = 'last-seen';
      seen.setAttribute('data-last-seen', r.lastSeenAt || '');
      seen.title = r.lastSeenAt || '';
      seen.textContent = ago(r.lastSeenAt, now);
    });
    var rejections = document.querySelector('#rejections tbody');
    rejections.innerHTML = '';
    var reasons = Object.keys(data.rejectedByReason).sort();
    if (reasons.length === 0) rejections.insertRow().insertCell().textContent = 'none';
    reasons.forEach(function (reason) {
      var row = rejections.insertRow();
      row.setAttribute('data-reason', reason);
      row.insertCell().textContent = reason;
      row.insertCell().textContent = String(data.rejectedByReason[reason]);
    });
    setText('updated', new Date(now).toLocaleTimeString());
    document.body.setAttribute('data-refreshes', String(Number(document.body.getAttribute('data-refreshes')) + 1));
    document.body.setAttribute('data-version', String(data.version));
  }

  function refresh() {
    fetch('api/dashboard', { cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('api/dashboard returned HTTP ' + response.status);
        return response.json();
      })
      .then(function (data) {
        latest = data;
        setText('error', '');
        render(data);
      })
      .catch(function (err) {
        setText('error', 'refresh failed: ' + err.message + (latest ? '; showing the last data' : ''));
      })
      .finally(function () { setTimeout(refresh, refreshMs); });
  }

  refresh();
})();
</script>
</body>
</html>
`;
