/*
 * The console's alerts panel (issue 15; docs/adr/0009 decision 7): the high-burden alerts of
 * GET /api/v1/alerts, filtered by status and county, and acknowledged with
 * POST /api/v1/alerts/{psn_no}/{year}/acknowledge by an operator (the button is shown to that
 * role only; an auditor reads). The person is masked on screen; the county is shown with its name
 * (GET /api/v1/console/names).
 *
 * Kept apart from app.js: it hooks into the page only through the Alerts tab (nav button
 * #nav-alerts and section #tab-alerts, shown and hidden by app.js like every tab), the signed-in
 * role app.js writes on #whoami (data-role), the token it keeps in sessionStorage and the helpers
 * it shares on window.OneBillConsole (el, clear, pad2, fmtMoney, maskPsnNo).
 */
(function () {
  'use strict';

  const TOKEN_KEY = 'onebill.token';
  const POLL_MS = 4000;
  /** the roles GET /api/v1/alerts allows, and the one that acknowledges (alerts.controller.ts) */
  const READERS = ['operator', 'auditor'];
  const ACKNOWLEDGER = 'operator';

  const $ = (id) => document.getElementById(id);
  const tab = $('tab-alerts');
  const nav = $('nav-alerts');
  const whoami = $('whoami');
  // el, clear, pad2, fmtMoney, maskPsnNo and Beijing time come from app.js (loaded first)
  const shared = window.OneBillConsole;
  if (!tab || !nav || !whoami || !shared) return;
  const { el, clear, pad2, fmtMoney, maskPsnNo, BEIJING_MS } = shared;

  const state = {
    role: null,
    names: null,
    timer: null,
    busy: false,
    again: false,
    // the pointer is on the list: polls wait, so no row moves under it (an Acknowledge click)
    pointing: false,
    // per alert (psn_no/year): its row and what it showed, reused while unchanged
    rows: new Map(),
  };

  // ------------------------------------------------------------------ helpers (no markup parsed)

  /** An ISO time in Beijing time, as everywhere on the console. */
  function fmtTime(iso) {
    if (!iso) return '';
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return String(iso);
    const d = new Date(t + BEIJING_MS);
    return (
      `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`
    );
  }

  function countyLabel(admdvs) {
    const c = state.names && state.names.counties && state.names.counties[admdvs];
    return c ? `${c} ${admdvs}` : admdvs || '';
  }

  async function api(method, path) {
    const res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ''}` },
      cache: 'no-store',
    });
    let json;
    try {
      json = await res.json();
    } catch {
      json = {};
    }
    return { status: res.status, json };
  }

  function problemsText(json) {
    return ((json && json.errors) || []).map((e) => `${e.code}: ${e.message}`).join('; ');
  }

  // ------------------------------------------------------------------ the panel

  const status = el('select', { id: 'alerts-status', 'aria-label': 'status' }, [
    el('option', { value: 'open' }, ['open']),
    el('option', { value: 'acknowledged' }, ['acknowledged']),
    el('option', { value: 'withdrawn' }, ['withdrawn']),
    el('option', { value: '' }, ['all']),
  ]);
  const county = el('select', { id: 'alerts-county', 'aria-label': 'county' }, [
    el('option', { value: '' }, ['all counties']),
  ]);
  const error = el('p', { id: 'alerts-error', className: 'error', role: 'status' });
  const result = el('p', { id: 'alerts-result', role: 'status' });
  const body = el('tbody');
  const table = el('table', { id: 'alerts', 'data-count': '0' }, [
    el('thead', {}, [
      el(
        'tr',
        {},
        [
          'person',
          'year',
          'county',
          'cash self-pay',
          'line',
          'status',
          'raised',
          'acknowledged',
          '',
        ].map((h) => el('th', {}, [h])),
      ),
    ]),
    body,
  ]);
  tab.appendChild(
    el('div', { className: 'filters' }, [
      el('label', {}, ['Status ', status]),
      el('label', {}, ['County ', county]),
    ]),
  );
  tab.appendChild(
    el('p', { className: 'muted small' }, [
      'People whose year-to-date cash self-pay passed the line (004 第十八条; Baoshan 002 第二十六条), ',
      'for the civil affairs and rural revitalization of their county. ',
      'Only an operator acknowledges.',
    ]),
  );
  tab.appendChild(error);
  tab.appendChild(result);
  tab.appendChild(table);

  function fillCounties() {
    const counties = (state.names && state.names.counties) || {};
    const chosen = county.value;
    clear(county).appendChild(el('option', { value: '' }, ['all counties']));
    for (const code of Object.keys(counties).sort()) {
      county.appendChild(el('option', { value: code }, [countyLabel(code)]));
    }
    county.value = chosen;
  }

  function row(a) {
    const canAck = state.role === ACKNOWLEDGER && a.status === 'open';
    const ack = canAck
      ? el(
          'button',
          {
            type: 'button',
            className: 'alert-ack',
            onclick: () => void acknowledge(a.psn_no, a.year),
          },
          ['Acknowledge'],
        )
      : null;
    return el(
      'tr',
      {
        'data-psn-masked': maskPsnNo(a.psn_no),
        'data-year': a.year,
        'data-county': a.admdvs,
        'data-status': a.status,
        'data-setl-id': a.setl_id,
      },
      [
        el('td', { className: 'psn' }, [maskPsnNo(a.psn_no)]),
        el('td', {}, [a.year]),
        el('td', { className: 'county', title: `from the ${a.admdvs_source}` }, [
          countyLabel(a.admdvs),
        ]),
        el('td', { className: 'num' }, [fmtMoney(a.cash_self_pay)]),
        el('td', { className: 'num' }, [fmtMoney(a.threshold)]),
        el('td', { className: 'status' }, [a.status]),
        el('td', {}, [fmtTime(a.created_at)]),
        el('td', { className: 'acknowledged' }, [
          a.acknowledged_by ? `${a.acknowledged_by} ${fmtTime(a.acknowledged_at)}` : '',
        ]),
        el('td', {}, [ack]),
      ],
    );
  }

  /** Puts the rows in the body in order, reusing those whose alert did not change. */
  function render(alerts) {
    const next = new Map();
    const trs = alerts.map((a) => {
      const key = `${a.psn_no}/${a.year}`;
      const sig = JSON.stringify([a, state.role, state.names !== null]);
      const known = state.rows.get(key);
      const tr = known && known.sig === sig ? known.tr : row(a);
      next.set(key, { sig, tr });
      return tr;
    });
    state.rows = next;
    const same =
      trs.length === body.children.length && trs.every((tr, i) => body.children[i] === tr);
    if (same) return;
    clear(body);
    for (const tr of trs) body.appendChild(tr);
    if (alerts.length === 0) {
      body.appendChild(
        el('tr', { className: 'empty' }, [
          el('td', { colspan: '9', className: 'muted' }, ['no alert']),
        ]),
      );
    }
  }

  async function refresh(force) {
    if (state.role === null || tab.hidden) return;
    if (state.pointing && !force) return;
    if (state.busy) {
      // a poll is under way: this one (a filter changed, an acknowledgement) runs right after
      state.again = state.again || Boolean(force);
      return;
    }
    state.busy = true;
    try {
      const q = new URLSearchParams();
      if (status.value) q.set('status', status.value);
      if (county.value) q.set('admdvs', county.value);
      const r = await api('GET', `/api/v1/alerts?${q.toString()}`);
      if (r.status !== 200) {
        error.textContent = `alerts: ${r.status} ${problemsText(r.json)}`;
        return;
      }
      error.textContent = '';
      const alerts = r.json.alerts || [];
      render(alerts);
      table.setAttribute('data-count', String(alerts.length));
    } catch (e) {
      error.textContent = `alerts: ${e.message}`;
    } finally {
      state.busy = false;
    }
    if (state.again) {
      state.again = false;
      await refresh(true);
    }
  }

  async function acknowledge(psnNo, year) {
    const r = await api(
      'POST',
      `/api/v1/alerts/${encodeURIComponent(psnNo)}/${encodeURIComponent(year)}/acknowledge`,
    );
    result.setAttribute('data-http-status', String(r.status));
    result.textContent =
      r.status >= 200 && r.status < 300
        ? `acknowledged: ${maskPsnNo(psnNo)} ${year}`
        : `not acknowledged: ${r.status} ${problemsText(r.json)}`;
    await refresh(true);
  }

  // ------------------------------------------------------------------ hooks into the page

  async function onRole() {
    const role = whoami.getAttribute('data-role');
    state.role = READERS.includes(role) ? role : null;
    nav.hidden = state.role === null;
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
    clear(body);
    state.rows = new Map();
    table.setAttribute('data-count', '0');
    error.textContent = '';
    result.textContent = '';
    result.removeAttribute('data-http-status');
    if (state.role === null) return;
    const names = await api('GET', '/api/v1/console/names');
    state.names = names.status === 200 ? names.json : null;
    fillCounties();
    state.timer = setInterval(() => void refresh(), POLL_MS);
    void refresh();
  }

  new MutationObserver(() => void onRole()).observe(whoami, {
    attributes: true,
    attributeFilter: ['data-role'],
  });
  // the tab shown (app.js's showTab): read at once rather than at the next poll
  new MutationObserver(() => void refresh()).observe(tab, {
    attributes: true,
    attributeFilter: ['hidden'],
  });
  status.addEventListener('change', () => void refresh(true));
  county.addEventListener('change', () => void refresh(true));
  table.addEventListener('mouseenter', () => {
    state.pointing = true;
  });
  table.addEventListener('mouseleave', () => {
    state.pointing = false;
  });
  nav.hidden = true;
  if (whoami.getAttribute('data-role')) void onRole();
})();
