/**
 * The dashboard served at GET /api/dashboard: one self-contained page (no
 * library, no external resource) that reads GET /rotations, GET /keys and
 * GET /rotations/{account}/history with the caller's own credentials (the
 * function key from its own `code` query, or the Entra ID session cookie) and
 * shows them. It is read-only: it sends no POST. Every value is written with
 * textContent, never as HTML.
 */
import { createHash } from 'node:crypto';

const PAGE_HEAD = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cosmos DB key rotation</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f6f7f9; }
  header { background: #0f3d62; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  main { padding: 16px 20px; }
  section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eceef1; vertical-align: top; }
  th { font-weight: 600; color: #555; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
  tr.account { cursor: pointer; }
  tr.account:hover, tr.selected { background: #eef5fb; }
  .badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 12px; background: #e6e8eb; }
  .rotated, .ready { background: #d8f0dc; color: #175c26; }
  .running, .pending { background: #dcebfb; color: #0c4a85; }
  .needsAttention, .overdue { background: #fde9c8; color: #7a4b00; }
  .failed, .cancelled { background: #f9d7d7; color: #8a1c1c; }
  .muted { color: #6b7280; }
  .timeline { display: flex; height: 14px; margin: 4px 0 2px; border-radius: 3px; overflow: hidden; background: #eceef1; }
  .timeline span { display: block; height: 100%; min-width: 2px; }
  .legend span { display: inline-block; margin-right: 10px; font-size: 12px; }
  .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; vertical-align: -1px; }
  code { font-size: 12px; background: #f1f3f5; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
  #error { color: #8a1c1c; }
</style>
</head>
<body>
<header><h1>Cosmos DB key rotation</h1><span id="generated" class="muted"></span></header>
<main>
  <p id="error" role="alert" hidden></p>
  <section>
    <h2>Fleet</h2>
    <table id="fleet" aria-label="Fleet">
      <thead><tr><th>Account</th><th>State</th><th>Phase</th><th>Waiting until</th><th>Active key</th><th>Key ages (days)</th><th>Secret</th><th>Ready for Entra ID</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="detail" hidden>
    <h2 id="detail-title"></h2>
    <p id="entra" class="muted"></p>
    <div class="legend" id="legend"></div>
    <table id="history" aria-label="History">
      <thead><tr><th>Rotation</th><th>Trigger</th><th>Outcome</th><th>Started</th><th>Finished</th><th>Timeline and waits</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<script>`;

const SCRIPT = `(function () {
  'use strict';
  var base = location.pathname.replace(/\\/dashboard\\/?$/, '');
  var code = new URLSearchParams(location.search).get('code');
  var colours = { inspecting: '#9aa5b1', waitingForStandbyIdle: '#f0b429', regeneratingStandby: '#2680c2', validating: '#47a3f3',
    publishing: '#27ab83', waitingForConsumers: '#f7c948', regeneratingOldKey: '#0b69a3', done: '#3ebd93', needsAttention: '#de911d', failed: '#cf1124' };

  function get(path) {
    var headers = { Accept: 'application/json' };
    if (code) headers['x-functions-key'] = code;
    return fetch(base + path, { headers: headers, credentials: 'same-origin' }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) throw new Error((body && body.error && body.error.message) || ('HTTP ' + response.status + ' from ' + path));
        return body;
      });
    });
  }
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function badge(text, kind) { return el('span', text, 'badge ' + (kind || text)); }
  function cell(row, content) {
    var td = el('td');
    if (content instanceof Node) td.appendChild(content); else td.textContent = content === null || content === undefined ? '' : String(content);
    row.appendChild(td);
    return td;
  }
  function when(iso) { return iso ? iso.replace('T', ' ').replace(/\\.\\d+Z$/, 'Z').replace(/:\\d\\dZ$/, 'Z') : ''; }
  function showError(error) { var p = document.getElementById('error'); p.hidden = false; p.textContent = error.message; }

  var generatedAt = new Date().toISOString();

  function renderFleet(list, keys) {
    generatedAt = list.generatedAt;
    document.getElementById('generated').textContent = 'as of ' + when(list.generatedAt);
    var reports = {};
    keys.accounts.forEach(function (report) { reports[report.account.name] = report; });
    var body = document.querySelector('#fleet tbody');
    body.textContent = '';
    list.accounts.forEach(function (account) {
      var report = reports[account.account.name] || {};
      var row = el('tr', null, 'account');
      row.dataset.account = account.account.name;
      cell(row, account.account.name);
      cell(row, badge(account.state));
      cell(row, account.phase || '');
      var wait = account.waitDeadline ? 'gives up ' + when(account.waitDeadline) : '';
      if (account.nextCheckAt) wait = 'next check ' + when(account.nextCheckAt) + (wait ? '; ' + wait : '');
      if (report.windowOpensAt) wait = (wait ? wait + '; ' : '') + 'window opens ' + when(report.windowOpensAt);
      cell(row, wait);
      cell(row, account.activeKeyKind || '');
      cell(row, (report.keys || []).map(function (key) { return key.keyKind + ' ' + (key.ageInDays === null ? '?' : key.ageInDays); }).join(', '));
      cell(row, report.overdue ? badge('overdue') : account.lastRotatedAt ? 'published ' + when(account.lastRotatedAt) : '');
      var ready = report.readyToDisableLocalAuth;
      cell(row, report.problem ? report.problem : ready ? (ready.ready ? badge('ready') : badge(report.localAuthDisabled ? 'disabled' : 'not yet', 'muted')) : '');
      row.addEventListener('click', function () { select(account.account.name, report); });
      body.appendChild(row);
    });
  }

  function renderTimeline(entry, now) {
    var bar = el('div', null, 'timeline');
    var start = Date.parse(entry.startedAt), end = Date.parse(entry.finishedAt || now);
    var total = Math.max(1, end - start);
    var phases = (entry.phases || []).slice();
    // A running rotation lists its phases when it finishes: show the earlier ones as one span, then the current phase.
    if (!entry.finishedAt && entry.phaseStartedAt) {
      phases.push({ pair: '', phase: 'earlier', startedAt: entry.startedAt, endedAt: entry.phaseStartedAt });
      phases.push({ pair: '', phase: entry.phase, startedAt: entry.phaseStartedAt, endedAt: now });
    }
    phases.forEach(function (phase) {
      var span = el('span');
      span.style.width = (100 * Math.max(0, Date.parse(phase.endedAt) - Date.parse(phase.startedAt)) / total) + '%';
      span.style.background = colours[phase.phase] || '#9aa5b1';
      span.title = phase.pair + ' ' + phase.phase + ': ' + when(phase.startedAt) + ' - ' + when(phase.endedAt);
      bar.appendChild(span);
    });
    return bar;
  }

  function select(name, report) {
    document.querySelectorAll('#fleet tr.account').forEach(function (row) { row.classList.toggle('selected', row.dataset.account === name); });
    get('/rotations/' + encodeURIComponent(name) + '/history?top=20').then(function (history) {
      document.getElementById('detail').hidden = false;
      document.getElementById('detail-title').textContent = name + ': ' + history.total + ' rotation(s)';
      var ready = report.readyToDisableLocalAuth;
      var entra = document.getElementById('entra');
      entra.textContent = ready ? ready.reason : '';
      if (ready && ready.command) { entra.appendChild(document.createTextNode(' Run: ')); entra.appendChild(el('code', ready.command)); }
      var legend = document.getElementById('legend');
      legend.textContent = '';
      Object.keys(colours).slice(0, 7).forEach(function (phase) {
        var item = el('span'); var swatch = el('i'); swatch.style.background = colours[phase];
        item.appendChild(swatch); item.appendChild(document.createTextNode(phase)); legend.appendChild(item);
      });
      var body = document.querySelector('#history tbody');
      body.textContent = '';
      history.rotations.forEach(function (entry) {
        var row = el('tr');
        row.dataset.rotation = entry.rotationId || '';
        cell(row, entry.rotationId || '(not started)');
        var trigger = entry.trigger.kind + (entry.trigger.reason ? ': ' + entry.trigger.reason : '') + (entry.force ? ' (forced)' : '');
        if (entry.trigger.resumedFrom.length) trigger += ' from ' + entry.trigger.resumedFrom.join(', ');
        cell(row, trigger);
        cell(row, badge(entry.state));
        cell(row, when(entry.startedAt));
        cell(row, when(entry.finishedAt));
        var td = cell(row, renderTimeline(entry, generatedAt));
        var notes = (entry.waitEndings || []).map(function (ending) { return ending.wait + ' wait ended: ' + ending.ended + (ending.by ? ' by ' + ending.by : ''); });
        if (entry.cancelled) notes.push('cancelled in ' + (entry.cancelled.phase || '?') + (entry.cancelled.reason ? ': ' + entry.cancelled.reason : ''));
        if (entry.attention) notes.push(entry.attention.message);
        if (entry.failure) notes.push(entry.failure.message);
        if (entry.secretVersions.length) notes.push('secret versions ' + entry.secretVersions.map(function (v) { return v.pair + ' ' + v.version; }).join(', '));
        if (notes.length) td.appendChild(el('div', notes.join('; '), 'muted'));
        body.appendChild(row);
      });
    }).catch(showError);
  }

  Promise.all([get('/rotations'), get('/keys')]).then(function (answers) {
    renderFleet(answers[0], answers[1]);
    var first = answers[0].accounts[0];
    var reports = answers[1].accounts.filter(function (r) { return first && r.account.name === first.account.name; });
    if (first) select(first.account.name, reports[0] || {});
    document.body.dataset.loaded = 'true';
  }).catch(function (error) { showError(error); document.body.dataset.loaded = 'error'; });
})();
`;

const PAGE_TAIL = `</script>
</body>
</html>
`;

export const DASHBOARD_HTML = PAGE_HEAD + SCRIPT + PAGE_TAIL;
/** The page's one script, allowed by its hash (Content-Security-Policy) so no other script can run in it. */
export const DASHBOARD_SCRIPT_HASH = `sha256-${createHash('sha256').update(SCRIPT).digest('base64')}`;
