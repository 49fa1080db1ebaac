// Maestro's run page: the runs list (#/) and a run's DAG (#/runs/<id>),
// kept live by the run's event stream. Plain DOM, no framework.
'use strict';

const $ = (sel) => document.querySelector(sel);
const SVG = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'maestro.token';
const NODE_W = 170, NODE_H = 58, GAP_X = 60, GAP_Y = 16, PAD = 12;

// el builds an element: attrs are attributes (on: handlers), kids text or nodes.
function el(tag, attrs, ...kids) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'on') for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) if (k !== undefined && k !== null) e.append(k);
  return e;
}

// ---- API calls, with the token when there is one -------------------------

let loginWait = null;

// login shows the token form and resolves once a token is entered; concurrent
// 401s share one prompt.
function login(msg) {
  if (loginWait) return loginWait;
  const form = $('#login');
  $('#login-msg').textContent = msg || '';
  form.hidden = false;
  $('#token').focus();
  loginWait = new Promise((resolve) => {
    form.onsubmit = (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
      $('#token').value = '';
      form.hidden = true;
      loginWait = null;
      resolve();
    };
  });
  return loginWait;
}

// api calls the API and returns {ok, status, data}; a 401 asks for a token
// and tries once more.
async function api(method, path, body, retried) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    return { ok: false, status: 0, data: { error: { message: 'cannot reach the API: ' + err.message } } };
  }
  if (resp.status === 401 && !retried) {
    await login(token ? 'That token was refused.' : '');
    return api(method, path, body, true);
  }
  let data = null;
  try { data = await resp.json(); } catch (_) { /* not JSON */ }
  return { ok: resp.ok, status: resp.status, data };
}

// errorText renders an API error answer, with details.problems when given.
function errorText(r) {
  const e = (r.data && r.data.error) || {};
  let s = e.message || ('HTTP ' + r.status);
  const probs = e.details && e.details.problems;
  if (Array.isArray(probs)) {
    s += probs.map((p) => '\n• ' + [p.node, p.field, p.message].filter(Boolean).join(': ')).join('');
  }
  return s;
}

function say(target, text, isErr) {
  target.textContent = text;
  target.className = 'msg' + (isErr ? ' err' : ' ok');
}

// ---- formatting ----------------------------------------------------------

function fmtTime(t) { return t ? new Date(t).toLocaleString() : ''; }

function fmtDur(from, to) {
  if (!from) return '';
  let s = Math.max(0, Math.round(((to ? new Date(to) : new Date()) - new Date(from)) / 1000));
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60); s %= 60;
  if (m < 60) return m + 'm' + (s ? s + 's' : '');
  return Math.floor(m / 60) + 'h' + (m % 60) + 'm';
}

// ---- routing -------------------------------------------------------------

let view = null; // the current view's cleanup

function route() {
  if (view) view();
  view = null;
  const m = location.hash.match(/^#\/runs\/(.+)$/);
  $('#list-view').hidden = !!m;
  $('#run-view').hidden = !m;
  if (m) showRun(decodeURIComponent(m[1])); else showList();
}

// ---- the runs list -------------------------------------------------------

let templatesLoaded = false;

async function showList() {
  document.title = 'Maestro — runs';
  if (!templatesLoaded) await loadTemplates();
  showListFilters();
  await loadRuns();
}

async function loadTemplates() {
  const r = await api('GET', '/api/templates');
  if (!r.ok) return;
  templatesLoaded = true;
  const names = (r.data.templates || []).map((t) => [t.name, t.description]);
  $('#template').replaceChildren(...names.map(([n, d]) => el('option', { value: n, title: d }, n)));
  const f = $('#template-filter'), keep = f.value;
  f.replaceChildren(el('option', { value: '' }, 'all templates'), ...names.map(([n]) => el('option', { value: n }, n)));
  f.value = keep;
}

// list is the runs list's paging: the page size (50, or ?page_size= in the
// hash: #/?page_size=10), the next page's token and the answer awaited.
const list = { size: 50, next: null, seq: 0 };

// showListFilters takes the filters and page size from the hash, if given
// (#/?status=failed&template=sdlc-linear&page_size=20).
function showListFilters() {
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const size = parseInt(q.get('page_size'), 10);
  list.size = size >= 1 && size <= 1000 ? size : 50;
  if (q.has('status')) $('#status-filter').value = q.get('status');
  if (q.has('template')) {
    const f = $('#template-filter');
    if (![...f.options].some((o) => o.value === q.get('template'))) f.append(new Option(q.get('template')));
    f.value = q.get('template');
  }
}

// loadRuns shows the first page of runs, or with more the next page after
// those shown.
async function loadRuns(more) {
  more = more === true;
  if (more && !list.next) return;
  const q = new URLSearchParams({ page_size: list.size });
  const status = $('#status-filter').value, template = $('#template-filter').value;
  if (status) q.set('status', status);
  if (template) q.set('template', template);
  if (more) q.set('page_token', list.next);
  const seq = ++list.seq;
  $('#more').disabled = true;
  const r = await api('GET', '/api/workflows?' + q);
  if (seq !== list.seq) return; // a newer request (filter change) won
  $('#more').disabled = false;
  const body = $('#runs tbody');
  if (!r.ok) { say($('#list-msg'), errorText(r), true); return; }
  const runs = r.data.workflows || [];
  const rows = runs.map((w) => el('tr', { 'data-run': w.workflow_id },
    el('td', {}, el('a', { href: '#/runs/' + encodeURIComponent(w.workflow_id) }, w.workflow_id)),
    el('td', {}, el('span', { class: 'badge', 'data-state': w.status }, w.status)),
    el('td', {}, w.pipeline + (w.template && w.template !== w.pipeline ? ' (' + w.template + ')' : '')),
    el('td', { class: 'req', title: w.requirement || '' }, w.requirement || ''),
    el('td', {}, fmtTime(w.started_at)),
    el('td', {}, w.ended_at || w.status === 'running' || w.status === 'paused' ? fmtDur(w.started_at, w.ended_at) : ''),
    el('td', { class: 'cost' }, w.usage ? (w.usage.cost_usd ? usd(w.usage.cost_usd) : '') + (w.usage.cost_unknown ? ' +?' : '') +
      ' · ' + ((w.usage.input_tokens || 0) + (w.usage.output_tokens || 0)) + ' tok' : '')));
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  list.next = r.data.next_page_token || null;
  $('#more').hidden = !list.next;
  say($('#list-msg'), body.childElementCount ? '' : 'No runs.', false);
}

async function startRun(e) {
  e.preventDefault();
  const req = { template: $('#template').value, requirement: $('#requirement').value };
  const repo = $('#repo').value.trim();
  if (repo) req.workspace = { repo };
  const msg = $('#start-msg');
  say(msg, 'Starting…', false);
  const r = await api('POST', '/api/workflows', req);
  if (!r.ok) { say(msg, errorText(r), true); return; }
  say(msg, 'Started ' + r.data.workflow_id, false);
  location.hash = '#/runs/' + encodeURIComponent(r.data.workflow_id);
}

// ---- the run page --------------------------------------------------------

// cur is the run shown: its data, its nodes by id and their SVG groups.
let cur = null;

function showRun(id) {
  document.title = 'Maestro — ' + id;
  cur = { id, run: null, nodes: new Map(), groups: new Map(), selected: null, ws: null, closed: false, refetch: null, texts: new Map(), zoom: 1 };
  const me = cur;
  $('#run-title').textContent = id;
  $('#run-status').textContent = '';
  $('#run-progress').textContent = '';
  $('#run-msg').textContent = '';
  $('#graph').replaceChildren();
  setZoom(1);
  $('#panel').hidden = true;
  for (const b of ['pause', 'resume', 'cancel', 'retry']) $('#' + b).hidden = true;
  const tick = setInterval(() => { for (const n of me.nodes.values()) if (n.status === 'running') drawNode(n.id); }, 1000);
  view = () => {
    me.closed = true;
    clearInterval(tick);
    clearTimeout(me.refetch);
    if (me.ws) me.ws.close(1000);
  };
  Promise.all([fetchRun(me), loadInfo()]).then(() => {
    if (me.closed) return;
    if (me.run) drawRunBar();
    connect(me);
  });
}

// fetchRun reads the run; a big run's nodes past its first page are read
// again too when all is true (after a reconnect, events may have been
// missed) or when the page does not have them yet.
async function fetchRun(me, all) {
  const path = '/api/workflows/' + encodeURIComponent(me.id);
  const r = await api('GET', path);
  if (me.closed) return;
  if (!r.ok) { say($('#run-msg'), errorText(r), true); return; }
  // A run of more than 1,000 nodes: its status has the first 1,000; the
  // rest are read page by page (then the event stream keeps them live).
  let token = r.data.nodes_next_page_token;
  if (token && (all || me.nodes.size < r.data.total_nodes)) {
    while (token) {
      const p = await api('GET', path + '/nodes?page_size=1000&page_token=' + encodeURIComponent(token));
      if (me.closed) return;
      if (!p.ok) { say($('#run-msg'), errorText(p), true); break; }
      r.data.nodes = r.data.nodes.concat(p.data.nodes);
      token = p.data.next_page_token;
    }
  }
  applyRun(r.data);
}

// connect follows the run's event stream, reconnecting while the run is open.
function connect(me) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const protos = ['maestro.v1'];
  if (token) protos.push('maestro.token.' + token);
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
    '/api/workflows/' + encodeURIComponent(me.id) + '/events';
  const ws = new WebSocket(url, protos);
  me.ws = ws;
  $('#conn').textContent = 'connecting…';
  ws.onopen = () => { $('#conn').textContent = 'live'; };
  ws.onmessage = (m) => { if (!me.closed) onEvent(JSON.parse(m.data)); };
  ws.onclose = () => {
    $('#conn').textContent = '';
    if (me.closed || isClosedRun(me.run)) return;
    setTimeout(() => { if (!me.closed) fetchRun(me, true).then(() => connect(me)); }, 2000);
  };
}

function isClosedRun(run) { return run && run.status !== 'running' && run.status !== 'paused'; }

const NODE_EVENTS = {
  node_started: 'running', node_completed: 'completed', node_failed: 'failed',
  node_skipped: 'skipped', node_cancelled: 'cancelled', node_waiting_budget: 'waiting_budget',
};

function onEvent(ev) {
  if (ev.run) { applyRun(ev.run); return; } // snapshot, run_finished
  if (cur.run && ev.status) { cur.run.status = ev.status; drawRunBar(); }
  const n = ev.node && cur.nodes.get(ev.node);
  if (!n) return;
  if (ev.node_status) n.status = ev.node_status;
  else if (NODE_EVENTS[ev.type]) n.status = NODE_EVENTS[ev.type];
  if (ev.attempts) n.attempts = ev.attempts;
  if (ev.type === 'node_progress') n.progress = ev.progress;
  if (ev.type === 'node_started' && ev.at) { n.started_at = ev.at; n.ended_at = null; }
  if (ev.type === 'node_retrying' && ev.error) n.last_error = ev.error;
  if (/^node_(completed|failed|skipped|cancelled)$/.test(ev.type)) {
    if (ev.at) n.ended_at = ev.at;
    if (ev.error) n.error = ev.error;
    n.progress = null;
    // Outputs, commits and usage come with the run: read it again, soon.
    clearTimeout(cur.refetch);
    const me = cur;
    cur.refetch = setTimeout(() => fetchRun(me), 400);
  }
  drawNode(n.id);
  drawCounts();
  if (cur.selected === n.id) drawPanel();
}

// markDrawn sets the performance marks of a run's first drawing:
// maestro:graph once its nodes are in the page, maestro:graph-painted once
// the frame showing them is painted (their startTime counts from the
// navigation).
function markDrawn(me) {
  me.drawn = true;
  const detail = { run: me.id, nodes: me.nodes.size };
  performance.mark('maestro:graph', { detail });
  requestAnimationFrame(() => setTimeout(() => performance.mark('maestro:graph-painted', { detail }), 0));
}

// applyRun takes a whole run: the graph is drawn when its nodes changed,
// else updated in place.
function applyRun(run) {
  if (run.nodes_next_page_token && cur.nodes.size > run.nodes.length) {
    // A big run's status or snapshot: keep the nodes past its first page.
    const first = new Set(run.nodes.map((n) => n.id));
    run.nodes = run.nodes.concat([...cur.nodes.values()].filter((n) => !first.has(n.id)));
  }
  const same = cur.run && run.nodes.length === cur.nodes.size && run.nodes.every((n) => cur.nodes.has(n.id));
  cur.run = run;
  if (!same) {
    cur.nodes = new Map(run.nodes.map((n) => [n.id, n]));
    drawGraph();
    if (!cur.drawn) markDrawn(cur);
  } else {
    for (const n of run.nodes) { cur.nodes.set(n.id, n); drawNode(n.id); }
  }
  drawRunBar();
  if (cur.selected) drawPanel();
}

// info is GET /api/info (the namespace, the Temporal Web UI), read once.
let info = null;

async function loadInfo() {
  if (info) return;
  const r = await api('GET', '/api/info');
  if (r.ok) info = r.data;
}

function drawRunBar() {
  const run = cur.run;
  const tl = $('#temporal-link');
  tl.hidden = !(info && info.temporal_ui_url && run.run_id);
  if (!tl.hidden) {
    tl.href = info.temporal_ui_url + '/namespaces/' + encodeURIComponent(info.namespace) + '/workflows/' +
      encodeURIComponent(run.workflow_id || cur.id) + '/' + encodeURIComponent(run.run_id) + '/history';
  }
  const st = $('#run-status');
  st.textContent = run.status;
  st.dataset.state = run.status;
  $('#run-title').textContent = run.pipeline + ' · ' + cur.id;
  const on = { pause: run.status === 'running', resume: run.status === 'paused',
    cancel: run.status === 'running' || run.status === 'paused',
    retry: ['failed', 'cancelled', 'timed_out', 'terminated'].includes(run.status) };
  for (const [b, show] of Object.entries(on)) $('#' + b).hidden = !show;
  drawCounts();
}

function drawCounts() {
  let done = 0;
  for (const n of cur.nodes.values()) if (n.status === 'completed') done++;
  const run = cur.run, cost = [];
  if (run.usage) cost.push(usageText(run.usage));
  if (run.budget) cost.push('budget: ' + budgetText(run.budget));
  $('#run-progress').textContent = done + '/' + cur.nodes.size + ' nodes completed' +
    (cost.length ? ' · ' + cost.join(' · ') : '') + (run.error ? ' — ' + run.error : '');
}

async function control(action) {
  if (!confirm(action[0].toUpperCase() + action.slice(1) + ' run ' + cur.id + '?')) return;
  const r = await api('POST', '/api/workflows/' + encodeURIComponent(cur.id) + '/' + action);
  if (!r.ok) { say($('#run-msg'), errorText(r), true); return; }
  if (action === 'retry' && r.data.workflow_id) { location.hash = '#/runs/' + encodeURIComponent(r.data.workflow_id); return; }
  say($('#run-msg'), action + ' requested', false);
}

// layout gives each node a layer, the longest path from a root (Kahn's
// order, O(N+E)), and a row within its layer.
function layout(nodes) {
  const indeg = new Map(), out = new Map(), layer = new Map();
  for (const n of nodes) { indeg.set(n.id, 0); out.set(n.id, []); layer.set(n.id, 0); }
  for (const n of nodes) {
    for (const d of n.depends_on || []) {
      if (!out.has(d)) continue;
      out.get(d).push(n.id);
      indeg.set(n.id, indeg.get(n.id) + 1);
    }
  }
  const queue = nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    for (const next of out.get(id)) {
      layer.set(next, Math.max(layer.get(next), layer.get(id) + 1));
      indeg.set(next, indeg.get(next) - 1);
      if (indeg.get(next) === 0) queue.push(next);
    }
  }
  const rows = [], pos = new Map();
  for (const n of nodes) { // in the run's order
    const l = layer.get(n.id);
    rows[l] = (rows[l] || 0) + 1;
    pos.set(n.id, { layer: l, x: PAD + l * (NODE_W + GAP_X), y: PAD + (rows[l] - 1) * (NODE_H + GAP_Y) });
  }
  return { pos, layers: rows.length, maxRows: Math.max(1, ...rows) };
}

function drawGraph() {
  const nodes = [...cur.nodes.values()];
  const { pos, layers, maxRows } = layout(nodes);
  const w = PAD * 2 + layers * NODE_W + Math.max(0, layers - 1) * GAP_X;
  const h = PAD * 2 + maxRows * NODE_H + (maxRows - 1) * GAP_Y;
  const svg = el('svg:svg', { id: 'dag', width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const edges = el('svg:g', { class: 'edges' });
  for (const n of nodes) {
    const b = pos.get(n.id);
    for (const d of n.depends_on || []) {
      const a = pos.get(d);
      if (!a) continue;
      const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2, mx = (x1 + x2) / 2;
      edges.append(el('svg:path', { class: 'edge', 'data-from': d, 'data-to': n.id,
        d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` }));
    }
  }
  svg.append(edges);
  cur.groups = new Map();
  for (const n of nodes) {
    const p = pos.get(n.id);
    const g = el('svg:g', { class: 'node', 'data-node': n.id, 'data-layer': p.layer, 'data-x': p.x, 'data-y': p.y,
      transform: `translate(${p.x},${p.y})`, tabindex: 0, on: { click: () => select(n.id),
        keydown: (e) => { if (e.key === 'Enter') select(n.id); } } },
    el('svg:title', {}, n.id),
    el('svg:rect', { width: NODE_W, height: NODE_H, rx: 8 }),
    el('svg:text', { x: 8, y: 17, class: 'nid' }),
    el('svg:text', { x: 8, y: 34, class: 'nst' }),
    el('svg:text', { x: 8, y: 50, class: 'nstep' }));
    svg.append(g);
    cur.groups.set(n.id, g);
    drawNode(n.id);
  }
  svg.dataset.w = w;
  svg.dataset.h = h;
  $('#graph').replaceChildren(svg);
  setZoom(cur.zoom);
}

// ---- zoom ----------------------------------------------------------------

const ZOOM_MIN = 0.05, ZOOM_MAX = 4;

// setZoom scales the graph by z (the SVG's size; its viewBox stays), keeping
// the graph's point under (cx, cy), client coordinates in #graph, in place
// (by default its middle).
function setZoom(z, cx, cy) {
  const graph = $('#graph'), svg = graph.querySelector('svg');
  z = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, z || 1));
  const old = cur.zoom || 1;
  cur.zoom = z;
  graph.dataset.zoom = z;
  $('#zoom-level').textContent = Math.round(z * 100) + '%';
  if (!svg) return;
  if (cx === undefined) { cx = graph.clientWidth / 2; cy = graph.clientHeight / 2; }
  const px = (graph.scrollLeft + cx) / old, py = (graph.scrollTop + cy) / old;
  svg.setAttribute('width', +svg.dataset.w * z);
  svg.setAttribute('height', +svg.dataset.h * z);
  graph.scrollLeft = px * z - cx;
  graph.scrollTop = py * z - cy;
}

// zoomFit makes the whole graph fit the view (never larger than 1:1).
function zoomFit() {
  const graph = $('#graph'), svg = graph.querySelector('svg');
  if (!svg) return;
  setZoom(Math.min(1, (graph.clientWidth - 4) / +svg.dataset.w, (graph.clientHeight - 4) / +svg.dataset.h));
}

function onWheel(e) {
  if (!e.ctrlKey && !e.metaKey) return; // plain wheel scrolls
  e.preventDefault();
  const r = $('#graph').getBoundingClientRect();
  setZoom((cur.zoom || 1) * Math.pow(1.0015, -e.deltaY), e.clientX - r.left, e.clientY - r.top);
}

function clip(s, n) { return s && s.length > n ? s.slice(0, n - 1) + '…' : (s || ''); }

// drawNode updates one node's group in place: state, colour and text.
function drawNode(id) {
  const n = cur.nodes.get(id), g = cur.groups.get(id);
  if (!n || !g) return;
  g.setAttribute('data-state', n.status);
  g.classList.toggle('reused', !!n.reused);
  g.classList.toggle('selected', cur.selected === id);
  const [, , tid, tst, tstep] = g.childNodes;
  tid.textContent = clip(n.id, 22);
  const dur = n.started_at ? ' · ' + fmtDur(n.started_at, n.ended_at) : '';
  tst.textContent = n.status + (n.attempts ? ' · try ' + n.attempts : '') + dur;
  tstep.textContent = n.status === 'running' && n.progress ? clip(n.progress.step, 26) : '';
}

function select(id) {
  const prev = cur.selected;
  cur.selected = id;
  if (prev) drawNode(prev);
  drawNode(id);
  drawPanel();
}

// usageText says an agent's tokens and cost: "model: 1200 in, 300 out, $0.0123".
function usageText(u) {
  if (!u) return null;
  let s = `${u.model ? u.model + ': ' : ''}${u.input_tokens} in, ${u.output_tokens} out`;
  if (u.cache_read_tokens || u.cache_write_tokens) s += `, cache ${u.cache_read_tokens || 0} read, ${u.cache_write_tokens || 0} written`;
  if (u.cost_usd) s += `, $${u.cost_usd.toFixed(4)}`;
  else if (u.cost_unknown) s += ', cost unknown (no price for the model)';
  return s;
}

function usd(v) { return '$' + (v || 0).toFixed(4); }

// budgetText says a run's spend against its limits.
function budgetText(b) {
  if (!b) return null;
  const parts = [];
  if (b.usd) parts.push(`${usd(b.spent_usd)} of ${usd(b.usd)}`);
  if (b.tokens) parts.push(`${b.spent_tokens} of ${b.tokens} tokens`);
  if (!parts.length) parts.push(`${usd(b.spent_usd)}, ${b.spent_tokens} tokens (no limit)`);
  return parts.join(', ') + (b.cost_unknown ? ' (some usage has no price)' : '');
}

function drawPanel() {
  const n = cur.nodes.get(cur.selected);
  const panel = $('#panel');
  if (!n) { panel.hidden = true; return; }
  const base = '/api/workflows/' + encodeURIComponent(cur.id);
  const row = (k, v) => (v === undefined || v === null || v === '' ? null : el('tr', {}, el('th', {}, k), el('td', {}, String(v))));
  const c = n.commit;
  const kids = [
    el('button', { class: 'close', title: 'close', on: { click: () => { cur.selected = null; panel.hidden = true; drawNode(n.id); } } }, '×'),
    el('h3', {}, n.name || n.id),
    el('table', {},
      row('id', n.id), row('phase', n.phase), row('executor', n.executor), row('status', n.status),
      row('attempts', n.attempts), row('reused', n.reused && 'yes: completed in the run this one retries'), row('started', fmtTime(n.started_at)), row('ended', fmtTime(n.ended_at)),
      row('duration', fmtDur(n.started_at, n.ended_at)),
      row('step', n.progress && n.progress.step),
      row('commit', c && (c.sha.slice(0, 12) + (c.changed ? '' : ' (no changes)'))),
      row('diffstat', c && `${c.files} files, +${c.insertions} −${c.deletions}`),
      row('usage', usageText(n.usage)),
      row('repairs', n.repairs && n.repairs.length ? n.repairs.length + ' round' + (n.repairs.length > 1 ? 's' : '') : null),
      row('approval', n.approval && ((n.approval.approved ? 'approved' : 'rejected') + (n.approval.comment ? ': ' + n.approval.comment : '')))),
  ];
  if (n.error) kids.push(el('h4', {}, 'Error'), el('pre', { class: 'err', id: 'node-error' }, n.error));
  if (n.last_error) kids.push(el('h4', {}, 'Last error (the attempt before this one)'), el('pre', { class: 'err', id: 'node-last-error' }, n.last_error));
  if (n.status === 'waiting_budget') kids.push(...budgetPanel(base));
  if (n.repairs && n.repairs.length) {
    kids.push(el('h4', {}, 'Repair rounds'), el('ol', { class: 'repairs' }, ...n.repairs.map((r) => el('li', { 'data-round': r.round },
      [r.state, r.exit_code !== undefined && r.exit_code !== null ? 'failure: exit ' + r.exit_code : '',
        r.commit ? 'fix ' + r.commit.sha.slice(0, 12) + (r.commit.changed ? '' : ' (no changes)') : '', usageText(r.usage)]
        .filter(Boolean).join(' · '),
      r.output_tail ? el('pre', {}, r.output_tail) : null,
      r.agent_output ? el('pre', {}, r.agent_output) : null,
      r.error ? el('pre', { class: 'err' }, r.error) : null))));
  }
  const outPath = base + '/artifacts/' + encodeURIComponent(n.id), diffPath = base + '/nodes/' + encodeURIComponent(n.id) + '/diff';
  const output = el('pre', { id: 'node-output' }, n.output || '');
  if (n.output) kids.push(el('h4', {}, cur.texts.has(outPath) ? 'Output (full)' : 'Output' + (n.output_truncated ? ` (first part of ${n.output_bytes} bytes)` : '')), output);
  const shows = [];
  if (n.output_truncated || (n.status === 'completed' && n.output_bytes > (n.output || '').length)) {
    shows.push(el('button', { id: 'show-output', on: { click: (e) => showText(e.target, outPath, output, 'Output (full)') } }, 'Full output'));
  }
  const diff = el('pre', { id: 'node-diff', class: 'diff', hidden: true });
  if (c) shows.push(el('button', { id: 'show-diff', on: { click: (e) => showText(e.target, diffPath, diff, 'Diff') } }, 'Diff'));
  if (shows.length) kids.push(el('p', { class: 'links' }, ...shows.flatMap((b, i) => (i ? [' ', b] : [b]))));
  if (c) kids.push(diff);
  if (!n.output) kids.push(output); // where the full output goes
  output.hidden = !n.output;
  // Texts fetched before (the panel is drawn again on every change).
  for (const [pre, path] of [[output, outPath], [diff, diffPath]]) {
    const t = cur.texts.get(path);
    if (!t) continue;
    pre.textContent = t.text;
    pre.classList.toggle('err', t.err);
    pre.hidden = false;
  }
  if (n.status === 'waiting_approval') {
    const comment = el('textarea', { id: 'approve-comment', rows: 2, placeholder: 'comment (optional)' });
    const msg = el('div', { id: 'approve-msg', class: 'msg' });
    const decide = async (approved) => {
      if (!confirm((approved ? 'Approve' : 'Reject') + ' ' + n.id + '?')) return;
      const r = await api('POST', base + '/approve/' + encodeURIComponent(n.id), { approved, comment: comment.value });
      say(msg, r.ok ? (approved ? 'Approved' : 'Rejected') + (r.data && r.data.status ? ': node is ' + r.data.status : '') : errorText(r), !r.ok);
    };
    kids.push(el('h4', {}, 'Approval'), comment,
      el('div', {}, el('button', { id: 'approve', on: { click: () => decide(true) } }, 'Approve'), ' ',
        el('button', { id: 'reject', class: 'danger', on: { click: () => decide(false) } }, 'Reject')), msg);
  }
  panel.replaceChildren(...kids);
  panel.hidden = false;
}

// budgetPanel is what a node waiting for the run's budget shows: the spend
// against the limits, and a form to add to the budget or reject.
function budgetPanel(base) {
  const b = cur.run.budget;
  const addUSD = el('input', { id: 'budget-usd', type: 'number', min: 0, step: 'any', placeholder: 'add $' });
  const addTokens = el('input', { id: 'budget-tokens', type: 'number', min: 0, step: 1, placeholder: 'add tokens' });
  const msg = el('div', { id: 'budget-msg', class: 'msg' });
  const decide = async (reject) => {
    const body = reject ? { reject: true } : { add_usd: +addUSD.value || undefined, add_tokens: +addTokens.value || undefined };
    if (!confirm(reject ? 'Reject the budget extension (the waiting nodes fail)?' : 'Add to the run\'s budget?')) return;
    const r = await api('POST', base + '/budget', body);
    say(msg, r.ok ? (reject ? 'Rejected' : 'Budget now ' + budgetText(r.data)) : errorText(r), !r.ok);
  };
  return [el('h4', {}, 'Waiting for budget'),
    el('p', { id: 'budget-info' }, 'The run\'s budget is spent' + (b ? ': ' + budgetText(b) : '') +
      '. This node starts when the budget is raised; rejecting fails it.'),
    el('div', {}, addUSD, ' ', addTokens, ' ', el('button', { id: 'budget-add', on: { click: () => decide(false) } }, 'Add'), ' ',
      el('button', { id: 'budget-reject', class: 'danger', on: { click: () => decide(true) } }, 'Reject')), msg];
}

// showText fetches a text document of the API (a full output, a diff), with
// the token, into pre.
async function showText(button, path, pre, title) {
  button.disabled = true;
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  let text, err = false;
  try {
    const resp = await fetch(path, { headers });
    text = await resp.text();
    if (!resp.ok) {
      err = true;
      try { text = errorText({ status: resp.status, data: JSON.parse(text) }); } catch (_) { /* not JSON */ }
    }
  } catch (e) {
    text = 'cannot reach the API: ' + e.message;
    err = true;
  }
  if (!err) cur.texts.set(path, { text, err });
  pre.textContent = text;
  pre.classList.toggle('err', err);
  pre.hidden = false;
  const h = pre.previousElementSibling;
  if (h && h.tagName === 'H4' && pre.id === 'node-output') h.textContent = title;
  button.disabled = false;
}

// ---- wiring --------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('#start-form').addEventListener('submit', startRun);
  $('#status-filter').addEventListener('change', () => loadRuns());
  $('#template-filter').addEventListener('change', () => loadRuns());
  $('#more').addEventListener('click', () => loadRuns(true));
  for (const a of ['pause', 'resume', 'cancel', 'retry']) $('#' + a).addEventListener('click', () => control(a));
  $('#zoom-in').addEventListener('click', () => setZoom(cur.zoom * 1.25));
  $('#zoom-out').addEventListener('click', () => setZoom(cur.zoom / 1.25));
  $('#zoom-fit').addEventListener('click', zoomFit);
  $('#zoom-reset').addEventListener('click', () => setZoom(1));
  $('#graph').addEventListener('wheel', onWheel, { passive: false });
  window.addEventListener('hashchange', route);
  route();
});
