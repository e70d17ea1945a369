/*
 * The operator console: plain browser JavaScript, no build step, nothing fetched from elsewhere.
 * It signs in with a bearer token (kept in sessionStorage), then polls the gateway's read APIs
 * (contracts/openapi/gateway.v1.yaml, tag "console") every 2 s and draws the flow on <canvas>.
 *
 * Rules kept throughout:
 * - every text from the server reaches the page through text nodes / textContent / .value, never
 *   innerHTML, so nothing the server (or a message) says is interpreted as markup;
 * - the server masks people; nothing is unmasked here. A reject's XML comes masked from the server
 *   (parsed, never by pattern) for a reader who cannot resubmit; what the console masks itself
 *   (person numbers in a person search) uses the server's rule (console.controller.ts maskPsnNo);
 * - what a chart shows is also written to data-* attributes (data-count, data-items), so a test or
 *   an accessibility tool reads the numbers without reading pixels.
 */
(function () {
  'use strict';

  const TOKEN_KEY = 'onebill.token';
  const POLL_MS = 2000;
  const FLOW_MINUTES = 30;
  const MINUTE = 60000;
  const BACKLOG_POINTS = 90;
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];
  const STATUS_COLORS = {
    settled: '#2ca02c',
    reversed: '#9467bd',
    duplicate: '#7f7f7f',
    admitted: '#1f77b4',
    conflict: '#ff7f0e',
    rejected: '#d62728',
  };
  const STATUS_ORDER = Object.keys(STATUS_COLORS);

  const state = {
    who: null, // whoami: {name, role, fixmedins_code}
    timer: null,
    busy: false, // a poll is under way
    again: false, // another poll was asked for meanwhile
    polls: 0,
    backlog: [], // the outbox backlog as seen by this page, for the sparkline
    tab: 'flow',
    names: null, // {hospitals, counties, categories}: names beside codes
  };

  /** Thrown after a 401 has already sent the user back to the sign-in form. */
  class SignedOut extends Error {}

  // ------------------------------------------------------------------ DOM helpers

  const $ = (id) => document.getElementById(id);

  /**
   * An element with attributes and children. Strings and numbers become text nodes; attributes
   * named on<event> become listeners; className sets the class. No markup is ever parsed.
   */
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'className') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
    for (const c of children || []) {
      if (c === undefined || c === null) continue;
      e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /** A table row that opens something: clickable and reachable with the keyboard. */
  function openable(attrs, open) {
    return Object.assign({}, attrs, {
      tabindex: '0',
      className: 'openable',
      onclick: open,
      onkeydown: (e) => {
        if (e.key === 'Enter') open();
      },
    });
  }

  const pad2 = (n) => String(n).padStart(2, '0');

  /**
   * Every time on the console is Beijing time (UTC+8), as the national platform writes them and as
   * the header says, whatever the browser's own zone. An ISO time is converted; a platform time
   * ("2024-05-10 14:03:07", already Beijing time, e.g. setl_time) is shown as it is.
   */
  const BEIJING_MS = 8 * 3600 * 1000;
  function fmtTime(iso) {
    if (!iso) return '';
    if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(iso)) return iso;
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return String(iso);
    const d = new Date(t + BEIJING_MS);
    return (
      `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`
    );
  }

  /** HH:MM in Beijing time of a millisecond time (chart axes). */
  function fmtHhmm(ms) {
    const d = new Date(ms + BEIJING_MS);
    return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  }

  /**
   * "23154489.49" → "23,154,489.49". Amounts stay strings end to end (never a binary float): the
   * separators are put into the digits as text.
   */
  function fmtMoney(amount) {
    const text = String(amount === undefined || amount === null ? '' : amount);
    const m = /^(-?)(\d+)(\.\d+)?$/.exec(text);
    if (!m) return text;
    return `${m[1]}${m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${m[3] || ''}`;
  }

  /** Names beside codes, from /api/v1/console/names (loaded at sign-in). */
  function hospitalLabel(code) {
    const h = state.names && state.names.hospitals[code];
    return h ? `${h.name} ${code}` : code;
  }
  function countyLabel(admdvs) {
    const c = state.names && state.names.counties[admdvs];
    return c ? `${c} ${admdvs}` : admdvs;
  }
  function categoryLabel(code) {
    const c = state.names && state.names.categories[code];
    return c ? `${c} (${code})` : code;
  }

  function setNotice(text) {
    $('notice').textContent = text || '';
  }

  // ------------------------------------------------------------------ masking (never unmasking)

  /** P1234567890 → P123****7890 (the server's maskPsnNo). */
  function maskPsnNo(p) {
    if (!p) return '';
    if (p.length <= 8) return p.slice(0, 2) + '*'.repeat(Math.max(1, p.length - 2));
    return p.slice(0, 4) + '*'.repeat(p.length - 8) + p.slice(-4);
  }

  /**
   * The helpers other console scripts share (alerts.js, loaded after this one by index.html):
   * one definition each, so the panels build, mask and format alike.
   */
  window.OneBillConsole = Object.freeze({ el, clear, pad2, fmtMoney, maskPsnNo, BEIJING_MS });

  // ------------------------------------------------------------------ API

  /** Calls the gateway with the bearer token; a 401 signs out (with the server's reason). */
  async function api(method, path, body, contentType = 'application/xml') {
    const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ''}` };
    if (body !== undefined) headers['content-type'] = contentType;
    const res = await fetch(path, { method, headers, body, cache: 'no-store' });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { text };
    }
    if (res.status === 401) {
      const message = problemsText(json) || 'signed out: the token was not accepted';
      signOut(message);
      throw new SignedOut(message);
    }
    return { status: res.status, json };
  }

  /** The problems of an error answer, one per line. */
  function problemsText(json) {
    return ((json && json.errors) || [])
      .map((e) => `${e.code}${e.field ? ` (${e.field})` : ''}: ${e.message}`)
      .join('\n');
  }

  /** Throws unless the answer is 200: the poll shows it in the notice line. */
  function expectOk(r, what) {
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${problemsText(r.json)}`);
    return r.json;
  }

  // ------------------------------------------------------------------ sign-in and out

  async function signIn(token) {
    if (!token) throw new Error('paste a bearer token first');
    sessionStorage.setItem(TOKEN_KEY, token);
    const r = await api('GET', '/api/v1/whoami');
    if (r.status !== 200) throw new Error(problemsText(r.json) || `sign-in failed (${r.status})`);
    const who = r.json;
    state.who = who;
    const whoami = $('whoami');
    whoami.textContent = [who.name, who.role, who.fixmedins_code].filter(Boolean).join(' · ');
    whoami.setAttribute('data-name', who.name);
    whoami.setAttribute('data-role', who.role);
    whoami.setAttribute('data-hospital', who.fixmedins_code || '');
    // a hospital sees only its own rows anyway: the hospital filter is fixed to it
    if (who.role === 'hospital') {
      $('filter-hospital').value = who.fixmedins_code || '';
      $('filter-hospital').disabled = true;
    }
    $('token').value = '';
    $('sign-in-error').textContent = '';
    $('sign-in-panel').hidden = true;
    $('app').hidden = false;
    $('sign-out').hidden = false;
    $('resubmit').hidden = !isOperator();
    // statements are for operators and auditors (the audit API refuses a hospital)
    $('nav-statements').disabled = who.role === 'hospital';
    const names = await api('GET', '/api/v1/console/names');
    state.names = names.status === 200 ? names.json : null;
    showTab(state.tab);
    if (state.timer === null) state.timer = setInterval(refresh, POLL_MS);
  }

  /** Back to the sign-in form: the token is forgotten and nothing read stays on the page. */
  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
    state.who = null;
    state.backlog = [];
    $('app').hidden = true;
    $('sign-out').hidden = true;
    $('sign-in-panel').hidden = false;
    const whoami = $('whoami');
    whoami.textContent = '';
    ['data-name', 'data-role', 'data-hospital'].forEach((a) => whoami.removeAttribute(a));
    $('filter-hospital').disabled = false;
    $('filter-hospital').value = '';
    clear($('messages').querySelector('tbody'));
    clear($('rejects').querySelector('tbody'));
    clear($('person-results').querySelector('tbody'));
    clear($('bill-view')).hidden = true;
    $('reject-view').hidden = true;
    $('reject-xml').value = '';
    $('statement').hidden = true;
    setNotice('');
    $('sign-in-error').textContent = message || '';
  }

  const isOperator = () => state.who !== null && state.who.role === 'operator';

  // ------------------------------------------------------------------ charts (canvas, by hand)

  const colorOf = (i) => PALETTE[i % PALETTE.length];

  /** Colour keys under a chart; each entry carries its key (as keyAttr) and its count. */
  function legend(node, entries, keyAttr) {
    clear(node);
    for (const x of entries) {
      const swatch = el('i', {});
      swatch.style.background = x.color; // CSSOM, not an inline style attribute (CSP-friendly)
      node.appendChild(
        el('span', { [keyAttr || 'data-key']: x.key, 'data-count': x.count }, [swatch, x.label]),
      );
    }
  }

  /** The canvas of a figure, cleared, with its 2D context and size. */
  function canvasOf(fig) {
    const canvas = fig.querySelector('canvas');
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = '11px sans-serif';
    ctx.textBaseline = 'middle';
    return { ctx, w: canvas.width, h: canvas.height };
  }

  /**
   * Counts per topic per minute as lines over the whole window (empty minutes are zeros).
   * points: [{minute, topic, count}], since: the window's start (the server's clock).
   */
  function lineChart(fig, legendNode, points, since, emptyText) {
    const { ctx, w, h } = canvasOf(fig);
    const box = { l: 34, r: 8, t: 8, b: 20 };
    const t0 = Math.floor(Date.parse(since) / MINUTE) * MINUTE;
    const slots = FLOW_MINUTES + 1;
    const topics = Array.from(new Set(points.map((p) => p.topic))).sort();
    const series = topics.map((topic, i) => {
      const values = new Array(slots).fill(0);
      let total = 0;
      for (const p of points) {
        if (p.topic !== topic) continue;
        total += p.count;
        const at = Math.round((Date.parse(p.minute) - t0) / MINUTE);
        if (at >= 0 && at < slots) values[at] += p.count;
      }
      return { topic, values, total, color: colorOf(i) };
    });
    const max = Math.max(1, ...series.flatMap((s) => s.values));
    const x = (i) => box.l + ((w - box.l - box.r) * i) / (slots - 1);
    const y = (v) => h - box.b - ((h - box.t - box.b) * v) / max;

    ctx.strokeStyle = '#ccc';
    ctx.lineWidth = 1;
    ctx.strokeRect(box.l, box.t, w - box.l - box.r, h - box.t - box.b);
    ctx.fillStyle = '#555';
    ctx.fillText(String(max), 2, box.t + 4);
    ctx.fillText('0', 2, h - box.b);
    ctx.fillText(fmtHhmm(t0), box.l, h - 8);
    ctx.fillText(fmtHhmm(t0 + FLOW_MINUTES * MINUTE), w - box.r - 30, h - 8);
    // the last minute is not over: its segment is dashed, so a partial count does not read as a drop
    const last = slots - 1;
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.setLineDash([]);
      ctx.beginPath();
      s.values.forEach((v, i) => {
        if (i === last) return;
        if (i === 0) ctx.moveTo(x(i), y(v));
        else ctx.lineTo(x(i), y(v));
      });
      ctx.stroke();
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(x(last - 1), y(s.values[last - 1]));
      ctx.lineTo(x(last), y(s.values[last]));
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (series.length === 0)
      ctx.fillText(emptyText || 'no messages in this window', box.l + 10, h / 2);

    const total = series.reduce((n, s) => n + s.total, 0);
    fig.setAttribute('data-count', String(total));
    fig.setAttribute(
      'data-items',
      JSON.stringify(series.map((s) => ({ topic: s.topic, total: s.total }))),
    );
    legend(
      legendNode,
      series.map((s) => ({
        key: s.topic,
        label: `${s.topic} (${s.total})`,
        count: s.total,
        color: s.color,
      })),
      'data-topic',
    );
  }

  /**
   * Horizontal bars, stacked by key. rows: [{label, parts: {key: value}, text?}];
   * keys: [{key, color}] in stacking order.
   */
  function barChart(fig, rows, keys, emptyText) {
    const { ctx, w, h } = canvasOf(fig);
    const labelW = 170;
    const textW = 110;
    const barW = w - labelW - textW;
    const totals = rows.map((r) => keys.reduce((n, k) => n + (r.parts[k.key] || 0), 0));
    const max = Math.max(1, ...totals);
    const rowH = Math.max(10, Math.min(22, (h - 4) / Math.max(1, rows.length)));
    // many rows in a small chart: a smaller font, so that labels never overlap each other
    ctx.font = `${Math.max(8, Math.min(11, Math.floor(rowH - 2)))}px sans-serif`;
    rows.forEach((r, i) => {
      const top = 2 + i * rowH;
      let x = labelW;
      for (const k of keys) {
        const bw = (barW * (r.parts[k.key] || 0)) / max;
        ctx.fillStyle = k.color;
        ctx.fillRect(x, top, bw, rowH - 4);
        x += bw;
      }
      ctx.fillStyle = '#333';
      // a label is cut to its column so it never runs into its bar
      let label = r.label;
      while (label.length > 1 && ctx.measureText(label).width > labelW - 6)
        label = label.slice(0, -1);
      if (label !== r.label) label = `${label.slice(0, -1)}…`;
      ctx.fillText(label, 2, top + (rowH - 4) / 2);
      const valueText = r.text === undefined ? String(totals[i]) : r.text;
      // a value that does not fit after its bar goes inside it
      const inside = x + 4 + ctx.measureText(valueText).width > w;
      ctx.fillStyle = inside ? '#fff' : '#333';
      ctx.fillText(
        valueText,
        inside ? x - ctx.measureText(valueText).width - 4 : x + 4,
        top + (rowH - 4) / 2,
      );
    });
    if (rows.length === 0) {
      ctx.fillStyle = '#555';
      ctx.fillText(emptyText || 'none in this window', 10, h / 2);
    }
    fig.setAttribute('data-count', String(totals.reduce((n, t) => n + t, 0)));
    fig.setAttribute(
      'data-items',
      JSON.stringify(
        rows.map((r, i) => Object.assign({ label: r.label, total: totals[i] }, r.parts)),
      ),
    );
  }

  /** A line of the last values, scaled to their maximum. */
  function sparkline(canvas, values) {
    const ctx = canvas.getContext('2d');
    const { width: w, height: h } = canvas;
    ctx.clearRect(0, 0, w, h);
    const max = Math.max(1, ...values);
    ctx.strokeStyle = '#17324d';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = (w * i) / Math.max(1, BACKLOG_POINTS - 1);
      const y = h - 2 - ((h - 4) * v) / max;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }

  /** Replaces a table's content: head cells, then rows of {attrs, cells: [text | {text, attrs}]}. */
  function fillTable(table, head, rows) {
    clear(table);
    table.appendChild(
      el('thead', {}, [
        el(
          'tr',
          {},
          head.map((x) => el('th', {}, [x])),
        ),
      ]),
    );
    table.appendChild(
      el(
        'tbody',
        {},
        rows.map((r) =>
          el(
            'tr',
            r.attrs,
            r.cells.map((c) =>
              c !== null && typeof c === 'object'
                ? el('td', c.attrs, [c.text])
                : el('td', typeof c === 'number' ? { className: 'num' } : {}, [c]),
            ),
          ),
        ),
      ),
    );
  }

  // ------------------------------------------------------------------ flow tab

  /** Minutes of silence after which a hospital that has sent before is flagged. */
  const SILENT_MINUTES = 10;

  /**
   * The state banner: each problem in one line, what is wrong and what to do. Health components
   * come from /health/ready (whatever it names), the rest from /api/v1/console/state.
   */
  function renderBanners(health, st) {
    const items = [];
    const components = (health && (health.details || health.components)) || {};
    for (const [name, c] of Object.entries(components)) {
      if (!c || c.status === 'up') continue;
      const why = c.message || c.reason || c.state || 'down';
      const action = c.action || c.hint || HEALTH_HINTS[name] || 'see GET /health/ready';
      items.push({
        level: 'error',
        key: `health-${name}`,
        title: `${name} ${c.status}`,
        text: `${why} — ${action}`,
      });
    }
    if (st) {
      if (st.kafka === 'off')
        items.push({
          level: 'info',
          key: 'kafka-off',
          title: 'Kafka is off',
          text:
            'embedded mode: bills come over HTTP only, nothing is consumed or published; events wait ' +
            'in the outbox — set KAFKA_BROKERS (npm run kafka:start) to run the real transport',
        });
      else if (st.outbox_oldest_pending_seconds !== null && st.outbox_oldest_pending_seconds > 60)
        items.push({
          level: 'error',
          key: 'outbox-stuck',
          title: 'outbox cannot publish',
          text:
            `the oldest event has waited ${st.outbox_oldest_pending_seconds} s — check the broker ` +
            '(GET /health/ready) and the gateway log for "outbox relay failed"',
        });
      if (st.feed && st.feed.phase === 'retrying')
        items.push({
          level: 'warn',
          key: 'feed-retrying',
          title: 'the built-in feed is retrying',
          text: `${st.feed.last_error || 'no answer'} (${st.feed.retries} retries so far) — it goes on by itself; if it lasts, check the gateway log`,
        });
      if (st.feed && st.feed.phase === 'stopped')
        items.push({
          level: 'error',
          key: 'feed-stopped',
          title: 'the built-in feed stopped',
          text: `${st.feed.last_error || ''} — restart npm start to feed again`,
        });
      const silent = (st.hospitals || []).filter(
        (h) => h.silent_minutes !== null && h.silent_minutes >= SILENT_MINUTES,
      );
      if (silent.length > 0)
        items.push({
          level: 'warn',
          key: 'silent-hospitals',
          title: `${silent.length} hospital(s) silent`,
          text:
            silent
              .slice(0, 4)
              .map((h) => `${hospitalLabel(h.fixmedins_code)} for ${h.silent_minutes} min`)
              .join('; ') +
            (silent.length > 4 ? ` and ${silent.length - 4} more` : '') +
            ' — ask the hospital whether its HIS is sending',
        });
    }
    const box = clear($('banners'));
    for (const b of items) {
      box.appendChild(
        el(
          'div',
          { className: `banner ${b.level === 'error' ? '' : b.level}`, 'data-banner': b.key },
          [el('b', {}, [b.title]), b.text],
        ),
      );
    }
  }

  const HEALTH_HINTS = {
    database: 'is PostgreSQL running? the gateway reconnects by itself once it answers',
    kafka: 'is the broker running? (npm run kafka:start) the gateway reconnects by itself',
  };

  function renderInputs(st) {
    const box = clear($('inputs'));
    if (!st) return;
    const rows = [
      ['Kafka', st.kafka === 'off' ? 'off (embedded mode, HTTP only)' : 'on'],
      ['store', st.store === 'pglite' ? 'PGlite (embedded)' : 'PostgreSQL'],
    ];
    if (st.feed) {
      const answered = Object.entries(st.feed.answered || {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      rows.push(['built-in feed', `${st.feed.phase}${answered ? ` — ${answered}` : ''}`]);
    }
    const seen = (st.hospitals || []).filter((h) => h.last_message_at !== null).length;
    rows.push(['hospitals heard', `${seen} of ${(st.hospitals || []).length}`]);
    for (const [k, v] of rows) {
      box.appendChild(el('dt', {}, [k]));
      box.appendChild(el('dd', { 'data-field': k }, [v]));
    }
  }

  async function refreshFlow() {
    const [flowR, stateR, healthR] = await Promise.all([
      api('GET', `/api/v1/console/flow?minutes=${FLOW_MINUTES}`),
      api('GET', '/api/v1/console/state'),
      api('GET', '/health/ready'),
    ]);
    const f = expectOk(flowR, 'message flow');
    const st = stateR.status === 200 ? stateR.json : null;
    renderBanners(healthR.json, st);
    renderInputs(st);
    const kafkaOff = st !== null && st.kafka === 'off';
    lineChart($('flow-in'), $('flow-in-legend'), f.messagesIn, f.since);
    lineChart(
      $('flow-out'),
      $('flow-out-legend'),
      f.messagesOut,
      f.since,
      kafkaOff ? 'Kafka is off: nothing is published (events wait in the outbox)' : undefined,
    );
    barChart(
      $('lag'),
      (f.consumerLag || []).map((l) => ({
        label: `${l.topic}[${l.partition}]`,
        parts: { lag: l.lag },
      })),
      [{ key: 'lag', color: PALETTE[0] }],
      kafkaOff ? 'Kafka is off: no consumer, no lag' : undefined,
    );
    barChart(
      $('reasons'),
      f.rejectsByReason.map((x) => ({ label: x.reason, parts: { rejects: x.count } })),
      [{ key: 'rejects', color: STATUS_COLORS.rejected }],
    );

    // the backlog is a number now; its history is what this page has seen
    $('backlog').textContent = fmtMoney(String(f.outboxBacklog));
    $('backlog').setAttribute('data-count', String(f.outboxBacklog));
    state.backlog.push(f.outboxBacklog);
    if (state.backlog.length > BACKLOG_POINTS) state.backlog.shift();
    sparkline($('backlog-chart'), state.backlog);
    const age = st === null ? null : st.outbox_oldest_pending_seconds;
    $('outbox-age').textContent = age === null ? 'nothing waiting' : `oldest waiting ${age} s`;

    // counters as one row: a column per outcome
    const counters = f.counters || {};
    const keys = Object.keys(counters);
    clear($('counters'));
    $('counters').appendChild(
      el(
        'tr',
        {},
        keys.map((k) => el('th', {}, [k])),
      ),
    );
    $('counters').appendChild(
      el(
        'tr',
        {},
        keys.map((k) => el('td', { 'data-counter': k, className: 'num' }, [counters[k]])),
      ),
    );

    // by hospital: one row per hospital, one column (and bar segment) per status
    const hospitals = {};
    for (const x of f.byHospital) {
      hospitals[x.fixmedinsCode] = hospitals[x.fixmedinsCode] || {};
      hospitals[x.fixmedinsCode][x.status] = x.count;
    }
    const seen = Array.from(new Set(f.byHospital.map((x) => x.status)));
    const statuses = STATUS_ORDER.concat(seen.filter((s) => !STATUS_ORDER.includes(s)));
    const statusKeys = statuses.map((s, i) => ({
      key: s,
      color: STATUS_COLORS[s] || colorOf(i),
    }));
    const lastSeen = {};
    for (const h of (st && st.hospitals) || []) lastSeen[h.fixmedins_code] = h;
    const codes = Array.from(new Set(Object.keys(hospitals).concat(Object.keys(lastSeen)))).sort();
    barChart(
      $('by-hospital'),
      codes
        .filter((code) => hospitals[code])
        .map((code) => ({ label: hospitalLabel(code), parts: hospitals[code] })),
      statusKeys,
    );
    legend(
      $('by-hospital-legend'),
      statusKeys.map((k) => ({
        key: k.key,
        label: k.key,
        color: k.color,
        count: codes.reduce((n, c) => n + ((hospitals[c] || {})[k.key] || 0), 0),
      })),
      'data-status',
    );
    const silence = (code) => {
      const h = lastSeen[code];
      if (!h || h.last_message_at === null) return { text: 'never', attrs: { className: 'muted' } };
      const mins = h.silent_minutes;
      return {
        text:
          mins >= SILENT_MINUTES ? `silent for ${mins} min` : fmtTime(h.last_message_at).slice(11),
        attrs: { className: mins >= SILENT_MINUTES ? 'silent' : '', 'data-silent-minutes': mins },
      };
    };
    fillTable(
      $('by-hospital').querySelector('table'),
      ['hospital'].concat(statuses, ['last message']),
      codes.map((code) => ({
        attrs: { 'data-hospital': code },
        cells: [hospitalLabel(code)].concat(
          statuses.map((s) => ({
            text: (hospitals[code] || {})[s] || 0,
            attrs: { 'data-status': s, className: 'num' },
          })),
          [silence(code)],
        ),
      })),
    );

    // by county agency: settled and reversed bills, and what the funds pay for the settled ones
    const countyKeys = [
      { key: 'settled', color: STATUS_COLORS.settled },
      { key: 'reversed', color: STATUS_COLORS.reversed },
    ];
    barChart(
      $('by-county'),
      f.byCounty.map((c) => ({
        label: countyLabel(c.clrOptins),
        parts: { settled: c.settled, reversed: c.reversed },
        text: `¥${fmtMoney(c.fundPaySum)}`,
      })),
      countyKeys,
    );
    legend(
      $('by-county-legend'),
      countyKeys.map((k) => ({
        key: k.key,
        label: k.key,
        color: k.color,
        count: f.byCounty.reduce((n, c) => n + c[k.key], 0),
      })),
    );
    fillTable(
      $('by-county').querySelector('table'),
      ['county (clr_optins)', 'settled', 'reversed', 'fund pay of settled (¥)'],
      f.byCounty.map((c) => ({
        attrs: { 'data-county': c.clrOptins },
        cells: [
          countyLabel(c.clrOptins),
          { text: c.settled, attrs: { 'data-field': 'settled', className: 'num' } },
          { text: c.reversed, attrs: { 'data-field': 'reversed', className: 'num' } },
          {
            text: fmtMoney(c.fundPaySum),
            attrs: { 'data-field': 'fund_pay_sum', 'data-amount': c.fundPaySum, className: 'num' },
          },
        ],
      })),
    );
  }

  // ------------------------------------------------------------------ latest messages

  async function refreshMessages() {
    const q = rangeParams('messages', new URLSearchParams({ limit: '50' }));
    const status = $('filter-status').value;
    const hospital = $('filter-hospital').value.trim();
    if (status) q.set('status', status);
    if (hospital) q.set('fixmedins_code', hospital);
    const { messages } = expectOk(await api('GET', `/api/v1/messages?${q}`), 'latest messages');
    const body = clear($('messages').querySelector('tbody'));
    for (const m of messages) {
      let attrs = {
        'data-id': m.id,
        'data-status': m.status,
        'data-mdtrt-id': m.mdtrt_id,
        'data-hospital': m.fixmedins_code,
      };
      if (m.setl_id) {
        attrs = openable(Object.assign(attrs, { 'data-setl-id': m.setl_id }), () => {
          showTab('search');
          void showBill(m.setl_id);
        });
      } else if (m.reject_id) {
        attrs = openable(Object.assign(attrs, { 'data-reject-id': m.reject_id }), () => {
          showTab('rejects');
          void showReject(m.reject_id);
        });
      }
      const where = m.topic ? `${m.topic}[${m.partition}]@${m.offset}` : m.submitted_by || '';
      body.appendChild(
        el('tr', attrs, [
          el('td', { className: 'num' }, [m.id]),
          el('td', {}, [fmtTime(m.received_at)]),
          el('td', {}, [`${m.source} ${where}`]),
          el('td', {}, [m.fixmedins_code || '']),
          el('td', {}, [m.mdtrt_id || '']),
          el('td', { className: `status status-${m.status}` }, [m.status]),
          el('td', {}, [m.reason_code || '']),
          el('td', {}, [m.setl_id || (m.reject_id ? `reject ${m.reject_id}` : '')]),
        ]),
      );
    }
    $('messages').setAttribute('data-count', String(messages.length));
  }

  // ------------------------------------------------------------------ bill search and view

  /** The one-bill amounts of setlinfo, in the national platform's order. */
  const AMOUNTS = [
    ['medfee_sumamt', 'total medical fees'],
    ['fulamt_ownpay_amt', 'fully self-paid'],
    ['overlmt_selfpay', 'over the limit, self-paid'],
    ['preselfpay_amt', 'pre-self-paid (Category B)'],
    ['inscp_scp_amt', 'within the policy scope'],
    ['act_pay_dedc', 'deductible paid'],
    ['hifp_pay', 'basic medical insurance fund'],
    ['hifmi_pay', 'critical illness insurance'],
    ['maf_pay', 'medical assistance'],
    ['oth_pay', 'other funds'],
    ['fund_pay_sumamt', 'funds in total'],
    ['psn_part_amt', "person's share"],
    ['acct_pay', 'personal account'],
    ['psn_cash_pay', 'patient pays in cash'],
    ['inscp_psn_part', "person's share within scope"],
  ];

  function searchFailed(r, fallback) {
    $('bill-view').hidden = true;
    $('search-error').textContent = problemsText(r.json) || fallback;
  }

  /** A list of label → value pairs. */
  function facts(id, pairs) {
    const dl = el('dl', { id, className: 'facts' }, []);
    for (const [k, v, attrs] of pairs) {
      dl.appendChild(el('dt', {}, [k]));
      dl.appendChild(el('dd', attrs || {}, [v === null || v === undefined ? '—' : v]));
    }
    return dl;
  }

  async function showBill(setlId) {
    $('search-error').textContent = '';
    if (!setlId) {
      $('search-error').textContent = 'enter a settlement id';
      return;
    }
    const r = await api('GET', `/api/v1/console/bills/${encodeURIComponent(setlId)}`);
    const view = clear($('bill-view'));
    if (r.status !== 200) {
      searchFailed(r, `no settlement ${setlId}`);
      return;
    }
    const b = r.json;
    const s = b.setlinfo;
    view.setAttribute('data-setl-id', s.setl_id);
    view.setAttribute('data-status', b.settlement_status);
    view.appendChild(el('h3', {}, [`Settlement ${s.setl_id} — ${b.settlement_status}`]));
    view.appendChild(
      facts('bill-meta', [
        ['hospital', s.fixmedins_code],
        ['visit (mdtrt_id)', s.mdtrt_id],
        ['county agency', s.clr_optins],
        ['settled at', fmtTime(s.setl_time)],
        ['visit class', b.visit_class],
        ['assistance category', b.category_used ? categoryLabel(b.category_used) : 'none'],
        ['rule set', b.rule_set_version],
      ]),
    );
    // the person exactly as the server masked it
    view.appendChild(el('h4', {}, ['Person (masked)']));
    view.appendChild(
      facts('bill-person', [
        ['psn_no', b.person.psn_no, { 'data-field': 'psn_no' }],
        ['psn_name', b.person.psn_name, { 'data-field': 'psn_name' }],
        ['certno', b.person.certno, { 'data-field': 'certno' }],
      ]),
    );
    view.appendChild(el('h4', {}, ['The one bill (setlinfo)']));
    view.appendChild(
      el('table', { id: 'bill-amounts' }, [
        el(
          'tbody',
          {},
          AMOUNTS.filter(([k]) => s[k] !== undefined).map(([k, label]) =>
            el('tr', { 'data-field': k }, [
              el('th', { title: label }, [`${k} · ${label}`]),
              el('td', { className: 'num', 'data-amount': s[k] }, [fmtMoney(s[k])]),
            ]),
          ),
        ),
      ]),
    );

    // each fund (setldetail) and the steps that computed it (setl_proc_info), with the articles
    view.appendChild(el('h4', {}, ['Funds and computation steps (setldetail, setl_proc_info)']));
    const steps = el('tbody', {}, []);
    for (const d of b.setldetail) {
      steps.appendChild(
        el('tr', { className: 'fund', 'data-fund-pay-type': d.fund_pay_type }, [
          el('th', { colspan: '2' }, [
            `${d.fund_pay_type} ${d.fund}${d.bucket ? ` (${d.bucket})` : ''}`,
          ]),
          el('td', { className: 'num fund-payamt', 'data-amount': d.fund_payamt }, [
            fmtMoney(d.fund_payamt),
          ]),
          el('td', { colspan: '2' }, []),
        ]),
      );
      for (const p of d.setl_proc_info) {
        const how = [
          `base ${p.base}`,
          p.deductible ? `deductible ${p.deductible}` : null,
          p.ratio ? `ratio ${p.ratio}` : null,
          p.cap ? `cap ${p.cap}${p.cap_hit ? ' (reached)' : ''}` : null,
        ].filter(Boolean);
        steps.appendChild(
          el('tr', { className: 'step', 'data-fund-pay-type': d.fund_pay_type }, [
            el('td', { className: 'step-name' }, [p.step]),
            el('td', {}, [how.join(', ')]),
            el('td', { className: 'num step-amount', 'data-amount': p.amount }, [
              fmtMoney(p.amount),
            ]),
            el('td', { className: 'article' }, [p.article]),
            el('td', { className: 'note' }, [p.note || '']),
          ]),
        );
      }
    }
    view.appendChild(
      el('table', { className: 'steps', id: 'bill-steps' }, [
        el('thead', {}, [
          el(
            'tr',
            {},
            ['step', 'how', 'amount', 'article', 'note'].map((x) => el('th', {}, [x])),
          ),
        ]),
        steps,
      ]),
    );
    if (b.warnings && b.warnings.length > 0)
      view.appendChild(
        el('p', { className: 'error', id: 'bill-warnings' }, [
          `warnings: ${b.warnings.join('; ')}`,
        ]),
      );
    view.hidden = false;
  }

  async function searchByVisit(hospital, mdtrtId) {
    $('search-error').textContent = '';
    const q = new URLSearchParams({ fixmedins_code: hospital, mdtrt_id: mdtrtId });
    const r = await api('GET', `/api/v1/settlements?${q}`);
    if (r.status !== 200) {
      searchFailed(r, `no settlement for ${hospital} / ${mdtrtId}`);
      return;
    }
    await showBill(r.json.setlinfo.setl_id);
  }

  async function searchByPerson(psnNo) {
    $('search-error').textContent = '';
    const table = $('person-results');
    const body = clear(table.querySelector('tbody'));
    table.hidden = true;
    if (!psnNo) {
      $('search-error').textContent = 'enter a person number';
      return;
    }
    const r = await api('GET', `/api/v1/settlements?${new URLSearchParams({ psn_no: psnNo })}`);
    if (r.status !== 200) {
      searchFailed(r, 'the search failed');
      return;
    }
    const found = r.json.settlements || [];
    for (const s of found) {
      const i = s.setlinfo;
      body.appendChild(
        el(
          'tr',
          openable({ 'data-setl-id': i.setl_id, 'data-status': s.settlement_status }, () => {
            void showBill(i.setl_id);
          }),
          [
            el('td', {}, [i.setl_id]),
            el('td', {}, [i.fixmedins_code]),
            el('td', {}, [i.mdtrt_id]),
            el('td', { className: 'psn' }, [maskPsnNo(i.psn_no)]), // the API answers it whole
            el('td', { className: 'num' }, [i.medfee_sumamt]),
            el('td', { className: 'num' }, [i.fund_pay_sumamt]),
            el('td', {}, [s.settlement_status]),
          ],
        ),
      );
    }
    table.setAttribute('data-count', String(found.length));
    table.hidden = false;
    if (found.length === 0) $('search-error').textContent = 'no settlements for this person';
  }

  // ------------------------------------------------------------------ reject queue and resubmit

  async function refreshRejects() {
    const q = rangeParams('rejects', new URLSearchParams({ limit: '50' }));
    if ($('rejects-open').checked) q.set('open', 'true');
    const { rejects } = expectOk(await api('GET', `/api/v1/rejects?${q}`), 'reject queue');
    const open = $('reject-view').hidden ? null : $('reject-view').getAttribute('data-reject-id');
    const body = clear($('rejects').querySelector('tbody'));
    for (const x of rejects) {
      const attrs = openable(
        {
          'data-reject-id': x.reject_id,
          'data-reason': x.reason_code,
          'data-field': x.field || '',
          'data-resubmitted-as': x.resubmitted_as || '',
        },
        () => void showReject(x.reject_id),
      );
      if (x.reject_id === open) attrs.className += ' selected';
      body.appendChild(
        el('tr', attrs, [
          el('td', { className: 'num' }, [x.reject_id]),
          el('td', {}, [fmtTime(x.created_at)]),
          el('td', {}, [x.fixmedins_code || '']),
          el('td', { className: 'reason', title: plainTitle(x.explanation) }, [x.reason_code]),
          el('td', { className: 'field' }, [x.field || '']),
          // what to do, in plain words; the machine's message stays in the tooltip
          el('td', { className: 'message', title: x.message }, [
            (x.explanation && x.explanation.fix) || x.message,
          ]),
          el('td', {}, [
            x.resubmitted_as ? `by ${x.resubmitted_by} as message ${x.resubmitted_as}` : '',
          ]),
        ]),
      );
    }
    $('rejects').setAttribute('data-count', String(rejects.length));
  }

  function clearResubmitResult() {
    const out = $('resubmit-result');
    out.textContent = '';
    ['data-http-status', 'data-outcome', 'data-setl-id', 'data-reject-id'].forEach((a) =>
      out.removeAttribute(a),
    );
    $('resubmit-next').hidden = true;
  }

  /** Opens a reject: its reason and the original message, editable for an operator. */
  async function showReject(id, keepResult) {
    const r = await api('GET', `/api/v1/rejects/${encodeURIComponent(id)}`);
    const view = $('reject-view');
    if (r.status !== 200) {
      setNotice(problemsText(r.json) || `no reject ${id}`);
      return;
    }
    const x = r.json;
    const operator = isOperator();
    view.setAttribute('data-reject-id', x.reject_id);
    view.setAttribute('data-reason', x.reason_code);
    view.setAttribute('data-field', x.field || '');
    $('reject-id').textContent = x.reject_id;
    $('reject-reason').textContent = x.reason_code;
    $('reject-field').textContent = x.field ? `field ${x.field}` : '';
    $('reject-meta').textContent =
      `hospital ${x.fixmedins_code || 'unknown'}, received ${fmtTime(x.created_at)}, ` +
      `message ${x.inbox_id}`;
    $('reject-message').textContent = x.message;
    showRejectPlain(x);
    const done = $('reject-resubmitted');
    done.setAttribute('data-resubmitted-by', x.resubmitted_by || '');
    done.setAttribute('data-resubmitted-as', x.resubmitted_as || '');
    done.textContent = x.resubmitted_as
      ? `resubmitted by ${x.resubmitted_by} at ${fmtTime(x.resubmitted_at)} as message ` +
        `${x.resubmitted_as}`
      : 'not resubmitted yet';
    // an operator edits the message as it came; anyone else reads it with the person masked
    const xml = $('reject-xml');
    // the server masks the message in its parsed tree for every role but the operator, and sends
    // none where it cannot be masked safely (docs/adr/0012-hostile-input.md)
    xml.value =
      x.original_payload ??
      (operator
        ? `(not text: ${x.original_payload_size} bytes, sha256 ${x.original_payload_sha256}; ` +
          `base64 ${x.original_payload_base64 || ''})`
        : x.original_payload_note || '');
    xml.readOnly = !operator;
    $('reject-readonly').hidden = operator;
    $('resubmit').hidden = !operator;
    $('resubmit').disabled = !!x.resubmitted_as;
    if (!keepResult) clearResubmitResult();
    view.hidden = false;
    document.querySelectorAll('#rejects tbody tr').forEach((tr) => {
      tr.classList.toggle('selected', tr.getAttribute('data-reject-id') === x.reject_id);
    });
  }

  /** Sends the edited XML as the fix of the open reject and shows what became of it. */
  async function resubmit() {
    const id = $('reject-view').getAttribute('data-reject-id');
    const out = $('resubmit-result');
    clearResubmitResult();
    $('resubmit').disabled = true;
    out.textContent = 'sending…';
    let r;
    try {
      r = await api(
        'POST',
        `/api/v1/rejects/${encodeURIComponent(id)}/resubmit`,
        $('reject-xml').value,
      );
    } catch (e) {
      if (e instanceof SignedOut) return;
      out.textContent = `not sent: ${e.message}`;
      $('resubmit').disabled = false;
      return;
    }
    const j = r.json;
    out.setAttribute('data-http-status', String(r.status));
    out.setAttribute('data-outcome', j.status || '');
    if (j.setlinfo) {
      out.setAttribute('data-setl-id', j.setlinfo.setl_id);
      out.textContent =
        `${r.status} ${j.status}: settlement ${j.setlinfo.setl_id} — funds ` +
        `${j.setlinfo.fund_pay_sumamt}, patient pays ${j.setlinfo.psn_cash_pay}`;
    } else {
      const lines = [`${r.status} ${j.status || ''}`];
      if (j.existing_setl_id) lines.push(`the settlement in force: ${j.existing_setl_id}`);
      if (j.reject_id) lines.push(`recorded as reject ${j.reject_id}; fix that one next`);
      lines.push(problemsText(j));
      out.textContent = lines.filter(Boolean).join('\n');
    }
    if (j.reject_id) {
      // rejected (or in conflict) again: the next fix starts from the newer reject
      out.setAttribute('data-reject-id', String(j.reject_id));
      const next = $('resubmit-next');
      next.textContent = `Open reject ${j.reject_id}`;
      next.setAttribute('data-reject-id', String(j.reject_id));
      next.hidden = false;
    }
    await showReject(id, true); // shows resubmitted_by / resubmitted_as and the button's state
    await refreshRejects();
  }

  // ------------------------------------------------------------------ plain reasons (issue 13)

  /** A reject's reason in words for a tooltip (the list keeps the code in the cell). */
  function plainTitle(why) {
    return why ? `${why.zh} ${why.en}` : undefined;
  }

  /**
   * The opened reject's reason in plain words (中文, English), the bad value and the fix, from the
   * server's explanation (apps/gateway/src/reject-reasons.ts); the code is shown beside it above.
   */
  function showRejectPlain(x) {
    const why = x.explanation || { code: x.reason_code, zh: '', en: '', fix: '', bad_value: null };
    $('reject-plain').setAttribute('data-code', why.code);
    $('reject-plain-zh').textContent = why.zh;
    $('reject-plain-en').textContent = why.en;
    const bad = $('reject-bad-value');
    bad.setAttribute('data-value', why.bad_value === null ? '' : why.bad_value);
    bad.textContent =
      why.bad_value === null
        ? x.field
          ? `Field ${x.field}: not in the message.`
          : ''
        : `Bad value${x.field ? ` of ${x.field}` : ''}: "${why.bad_value}"`;
    $('reject-fix').textContent = why.fix ? `Fix: ${why.fix}` : '';
  }

  // ------------------------------------------------------------------ time ranges and CSV (issue 13)

  /**
   * The picker's range as query parameters. A datetime-local value is read as Beijing time (the
   * header says so) and sent as "YYYY-MM-DD HH:MM", which the gateway reads as Beijing time too,
   * whatever the browser's own time zone.
   */
  function rangeParams(prefix, q) {
    for (const k of ['from', 'to']) {
      const v = $(`${prefix}-${k}`).value.trim();
      if (v) q.set(k, v.replace('T', ' '));
    }
    return q;
  }

  /**
   * Downloads a CSV export with the bearer token (a plain link could not send it); the button
   * keeps the number of rows it held in data-rows.
   */
  async function downloadCsv(button, path, filename) {
    button.removeAttribute('data-rows');
    const res = await fetch(path, {
      headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ''}` },
      cache: 'no-store',
    });
    if (res.status === 401) {
      signOut('signed out: the token was not accepted');
      throw new SignedOut('signed out');
    }
    if (res.status !== 200) {
      let json = {};
      try {
        json = await res.json();
      } catch {
        // not JSON: the status says enough
      }
      throw new Error(`CSV: ${res.status} ${problemsText(json)}`);
    }
    const blob = await res.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    button.setAttribute('data-rows', res.headers.get('x-row-count') || '');
  }

  function exportMessages() {
    const q = rangeParams('messages', new URLSearchParams());
    const status = $('filter-status').value;
    const hospital = $('filter-hospital').value.trim();
    if (status) q.set('status', status);
    if (hospital) q.set('fixmedins_code', hospital);
    return downloadCsv($('messages-csv'), `/api/v1/console/messages.csv?${q}`, 'messages.csv');
  }

  function exportRejects() {
    const q = rangeParams('rejects', new URLSearchParams());
    if ($('rejects-open').checked) q.set('open', 'true');
    return downloadCsv($('rejects-csv'), `/api/v1/console/rejects.csv?${q}`, 'rejects.csv');
  }

  // ------------------------------------------------------------------ statements (issue 13)

  /** The county picker, from the names loaded at sign-in (name with the code), once. */
  function fillStatementCounties() {
    const select = $('statements-county');
    if (select.options.length > 0 || !state.names) return;
    for (const admdvs of Object.keys(state.names.counties).sort())
      select.appendChild(el('option', { value: admdvs }, [countyLabel(admdvs)]));
    if (!$('statements-month').value) {
      // last month, Beijing time: the month a clearing is usually run for
      const d = new Date(Date.now() + BEIJING_MS);
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() - 1);
      $('statements-month').value = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}`;
    }
  }

  /** The region a county's hospitals settle under (its fund statement's region). */
  function regionOfCounty(admdvs) {
    const hospitals = Object.values((state.names && state.names.hospitals) || {});
    const h = hospitals.find((x) => x.admdvs === admdvs && x.region);
    return h ? h.region : null;
  }

  /** A statement's table from its rows: the columns are the rows' plain (not nested) fields. */
  function statementTable(table, rows) {
    const head =
      rows.length === 0 ? [] : Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== 'object');
    fillTable(
      table,
      head,
      rows.map((r) => ({
        attrs: {},
        cells: head.map((k) =>
          typeof r[k] === 'string' && /^-?\d+\.\d{2}$/.test(r[k])
            ? {
                text: fmtMoney(r[k]),
                attrs: { className: 'num', 'data-amount': r[k], 'data-field': k },
              }
            : {
                text: r[k] === null || r[k] === undefined ? '' : String(r[k]),
                attrs: { 'data-field': k },
              },
        ),
      })),
    );
    table.setAttribute('data-count', String(rows.length));
  }

  /** Shows a statement and arms the CSV button with the same query. */
  function showStatement(kind, county, period, title, totals, rows, csvPath, csvName) {
    const box = $('statement');
    box.setAttribute('data-kind', kind);
    box.setAttribute('data-county', county);
    box.setAttribute('data-period', period);
    $('statement-title').textContent = title;
    statementTable($('statement-totals'), totals);
    statementTable($('statement-rows'), rows);
    box.hidden = false;
    const csv = $('statements-csv');
    csv.disabled = false;
    csv.onclick = guarded(() => downloadCsv(csv, csvPath, csvName), 'statements-error');
  }

  async function showClearing() {
    $('statements-error').textContent = '';
    const county = $('statements-county').value;
    const month = $('statements-month').value.trim();
    const q = new URLSearchParams({ county, month });
    const r = await api('GET', `/api/v1/clearing/monthly?${q}`);
    if (r.status !== 200) throw new Error(`clearing: ${r.status} ${problemsText(r.json)}`);
    const s = r.json;
    showStatement(
      'clearing-monthly',
      county,
      month,
      `Monthly clearing of ${countyLabel(county)}, ${month} (${s.lines.length} lines)` +
        (s.lines.length === 0 ? ': nothing settled, reversed or topped up in this month' : ''),
      s.totals,
      s.lines,
      `/api/v1/clearing/monthly?${q}&format=csv`,
      `clearing-${county}-${month}.csv`,
    );
  }

  async function showFunds() {
    $('statements-error').textContent = '';
    const county = $('statements-county').value;
    const year = ($('statements-month').value.trim() || '').slice(0, 4);
    const region = regionOfCounty(county);
    if (!region) throw new Error(`no region known for county ${county}`);
    const q = new URLSearchParams({ region, year });
    const r = await api('GET', `/api/v1/funds/statements?${q}`);
    if (r.status !== 200) throw new Error(`fund statement: ${r.status} ${problemsText(r.json)}`);
    const st = r.json.statement;
    const totals = st.totals ? [st.totals] : [];
    showStatement(
      'fund-statement',
      county,
      year,
      `Fund statement of ${region} ${year} (${st.method || ''}${st.example ? ', EXAMPLE figures' : ''})`,
      totals,
      st.rows || [],
      `/api/v1/funds/statements?${q}&format=csv`,
      `funds-${region}-${year}.csv`,
    );
  }

  // ------------------------------------------------------------------ audit and reconciliation

  /** Replaces the body of a table whose head is in the page; rows are arrays of cell texts. */
  function fillRows(id, rows) {
    $(id)
      .querySelector('tbody')
      .replaceChildren(
        ...rows.map((r) =>
          el(
            'tr',
            {},
            r.map((c) => el('td', {}, [c])),
          ),
        ),
      );
    $(id).setAttribute('data-count', String(rows.length));
  }

  /** Polls an audit job until it is done, showing its progress. */
  async function followJob(job) {
    const box = $('audit-job');
    box.hidden = false;
    $('audit-csv').hidden = true;
    fillRows('audit-diffs', []);
    $('audit-summary').textContent = '';
    for (;;) {
      // a job read before its first progress report has none ({}): zeros, never NaN (a NaN
      // progress max throws, and the poll stopped with the job shown as running)
      const raw = job.progress || {};
      const p = {
        done: Number(raw.done) || 0,
        total: Number(raw.total) || 0,
        rate: Number(raw.rate) || 0,
      };
      $('audit-progress').max = Math.max(1, p.total);
      $('audit-progress').value = p.done;
      $('audit-progress-text').textContent =
        `${job.kind} ${job.status}: ${p.done}${p.total ? ` / ${p.total}` : ''}${p.rate ? ` · ${p.rate} bills/s` : ''}`;
      box.setAttribute('data-status', job.status);
      box.setAttribute('data-kind', job.kind);
      if (job.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 500));
      job = expectOk(await api('GET', `/api/v1/audit/jobs/${job.job_id}`), 'audit job');
    }
    if (job.status === 'failed') throw new Error(`the ${job.kind} failed: ${job.error}`);
    const r = job.report;
    const summary = $('audit-summary');
    if (job.kind === 'replay') {
      summary.textContent = `${r.total} bills replayed: ${r.matched} matched, ${r.differing} differing, ${r.failed} could not be replayed`;
      summary.setAttribute('data-matched', String(r.matched));
      summary.setAttribute('data-differing', String(r.differing));
      summary.setAttribute('data-failed', String(r.failed));
      const rows = [];
      for (const d of r.differences) {
        if (d.error) rows.push([d.setlId, d.fixmedinsCode, d.mdtrtId, 'error', '', d.error]);
        for (const f of d.diffs)
          rows.push([d.setlId, d.fixmedinsCode, d.mdtrtId, f.field, f.stored, f.replayed]);
      }
      fillRows('audit-diffs', rows);
    } else {
      summary.textContent = r.ok
        ? `archive intact: ${r.checked} links checked, ${r.unsealed} not sealed yet, head ${r.headSeq}:${r.head.slice(0, 16)}…`
        : `archive BROKEN at entry ${r.firstBroken.seq} (${r.firstBroken.reason}): ${r.firstBroken.detail}`;
      fillRows(
        'audit-diffs',
        r.broken.map((b) => [
          b.setlId || b.ref,
          b.fixmedinsCode || '',
          b.mdtrtId || '',
          b.reason,
          b.kind,
          b.detail,
        ]),
      );
    }
    const link = $('audit-csv');
    link.href = '#';
    link.onclick = guarded(async () => {
      const res = await fetch(`/api/v1/audit/jobs/${job.job_id}?format=csv`, {
        headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ''}` },
      });
      const blob = await res.blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `${job.kind}-${job.job_id}.csv`;
      a.click();
    }, 'audit-error');
    link.hidden = false;
  }

  /** The operators' audit log, newest first (operator and auditor). */
  async function refreshActions() {
    if (state.who.role === 'hospital') return;
    const r = expectOk(await api('GET', '/api/v1/audit/actions?limit=50'), 'operator actions');
    fillRows(
      'operator-actions',
      r.actions.map((a) => [
        fmtTime(a.at),
        a.actor,
        a.role,
        a.action,
        a.target || '',
        a.outcome || '',
      ]),
    );
  }

  /** Marks the job box as starting at once, so that nobody reads the previous job as this one. */
  function starting(kind) {
    $('audit-error').textContent = '';
    $('audit-job').setAttribute('data-status', 'starting');
    $('audit-job').setAttribute('data-kind', kind);
    $('audit-summary').textContent = '';
  }

  async function startReplay() {
    starting('replay');
    const filter = {};
    for (const k of ['from', 'to', 'hospital', 'county', 'person', 'bill']) {
      const v = $(`replay-${k}`).value.trim();
      if (v !== '') filter[k] = v;
    }
    const r = await api(
      'POST',
      '/api/v1/audit/replays',
      JSON.stringify(filter),
      'application/json',
    );
    if (r.status !== 202) throw new Error(`replay: ${r.status} ${problemsText(r.json)}`);
    await followJob(r.json);
  }

  async function startVerify() {
    starting('verify');
    const r = await api('POST', '/api/v1/audit/archive/verifications', '{}', 'application/json');
    if (r.status !== 202) throw new Error(`verify: ${r.status} ${problemsText(r.json)}`);
    await followJob(r.json);
  }

  async function reconcileDeclaration() {
    $('reconcile-error').textContent = '';
    const text = $('declaration').value;
    const type = text.trim().startsWith('<') ? 'application/xml' : 'text/csv';
    const r = await api('POST', '/api/v1/reconciliations', text, type);
    if (r.status !== 200) throw new Error(`reconcile: ${r.status} ${problemsText(r.json)}`);
    const reports = r.json.reports;
    $('reconcile-summary').textContent = r.json.matched
      ? 'matched: every fund of every month agrees'
      : 'NOT matched: see the differences and the bills behind them';
    $('reconcile-summary').setAttribute('data-matched', String(r.json.matched));
    fillRows(
      'reconcile-lines',
      reports.flatMap((x) =>
        x.lines.map((l) => [
          l.fixmedinsCode,
          l.clrOptins,
          l.month,
          l.fund,
          l.declared,
          l.ours,
          l.difference,
        ]),
      ),
    );
    fillRows(
      'reconcile-bills',
      reports.flatMap((x) =>
        x.bills.flatMap((b) =>
          b.funds.map((f) => [b.setlId, b.mdtrtId, b.kind, f.fund, f.declared, f.ours]),
        ),
      ),
    );
  }

  // ------------------------------------------------------------------ tabs, polling, wiring

  function showTab(name) {
    state.tab = name;
    if (name === 'statements') fillStatementCounties();
    document.querySelectorAll('.tab').forEach((t) => {
      t.hidden = t.id !== `tab-${name}`;
    });
    document.querySelectorAll('nav button[data-tab]').forEach((b) => {
      b.classList.toggle('active', b.getAttribute('data-tab') === name);
    });
    void refresh();
  }

  /**
   * One poll: the flow always (the backlog history keeps growing), and the open tab's table.
   * Polls never overlap; one asked for meanwhile (a tab switch) runs right after.
   */
  async function refresh() {
    if (state.who === null) return;
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    state.again = false;
    try {
      const work = [refreshFlow()];
      if (state.tab === 'messages') work.push(refreshMessages());
      if (state.tab === 'rejects') work.push(refreshRejects());
      if (state.tab === 'audit') work.push(refreshActions());
      await Promise.all(work);
      state.polls += 1;
      const stamp = $('last-refresh');
      stamp.textContent = `updated ${fmtTime(new Date().toISOString()).slice(11)}`;
      stamp.setAttribute('data-polls', String(state.polls));
      setNotice('');
    } catch (e) {
      if (!(e instanceof SignedOut)) setNotice(`could not refresh: ${e.message}`);
    } finally {
      state.busy = false;
    }
    if (state.again) void refresh();
  }

  /** Runs an action of a form or button; its failure is shown, a sign-out needs nothing more. */
  function guarded(action, where) {
    return (e) => {
      if (e && e.preventDefault) e.preventDefault();
      Promise.resolve()
        .then(action)
        .catch((err) => {
          if (!(err instanceof SignedOut)) $(where).textContent = err.message;
        });
    };
  }

  document.querySelectorAll('nav button[data-tab]').forEach((b) => {
    b.addEventListener('click', () => showTab(b.getAttribute('data-tab')));
  });
  $('sign-in').addEventListener(
    'submit',
    guarded(
      () =>
        signIn($('token').value.trim()).catch((err) => {
          if (err instanceof SignedOut) return; // the 401's reason is already on the form
          signOut(err.message);
        }),
      'sign-in-error',
    ),
  );
  $('sign-out').addEventListener('click', () => signOut(''));
  $('message-filter').addEventListener('submit', guarded(refreshMessages, 'messages-error'));
  $('rejects-open').addEventListener('change', guarded(refreshRejects, 'notice'));
  $('rejects-filter').addEventListener('submit', guarded(refreshRejects, 'rejects-error'));
  $('messages-csv').addEventListener('click', guarded(exportMessages, 'messages-error'));
  $('rejects-csv').addEventListener('click', guarded(exportRejects, 'rejects-error'));
  $('statements-form').addEventListener('submit', guarded(showClearing, 'statements-error'));
  $('show-funds').addEventListener('click', guarded(showFunds, 'statements-error'));
  $('search-by-id').addEventListener(
    'submit',
    guarded(() => showBill($('search-setl-id').value.trim()), 'search-error'),
  );
  $('search-by-visit').addEventListener(
    'submit',
    guarded(
      () => searchByVisit($('search-hospital').value.trim(), $('search-mdtrt-id').value.trim()),
      'search-error',
    ),
  );
  $('search-by-person').addEventListener(
    'submit',
    guarded(() => searchByPerson($('search-psn-no').value.trim()), 'search-error'),
  );
  $('resubmit').addEventListener('click', guarded(resubmit, 'resubmit-result'));
  $('replay-form').addEventListener('submit', guarded(startReplay, 'audit-error'));
  $('verify-archive').addEventListener('click', guarded(startVerify, 'audit-error'));
  $('reconcile').addEventListener('click', guarded(reconcileDeclaration, 'reconcile-error'));
  $('resubmit-next').addEventListener(
    'click',
    guarded(() => showReject($('resubmit-next').getAttribute('data-reject-id')), 'notice'),
  );

  // a reload of the tab keeps the session (sessionStorage), a new tab signs in again
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved)
    signIn(saved).catch((err) => {
      if (!(err instanceof SignedOut)) signOut(err.message);
    });
})();
