// Loopline ops dashboard: plain DOM, no build step. Every value is written with textContent (never
// innerHTML), so order data can never inject markup.
(() => {
  'use strict';
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, props = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'onclick') e.addEventListener('click', v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
    return e;
  };
  const age = (ms) =>
    ms == null
      ? ''
      : ms < 3600e3
        ? `${Math.round(ms / 60e3)}m`
        : ms < 48 * 3600e3
          ? `${Math.round(ms / 3600e3)}h`
          : `${Math.round(ms / 86400e3)}d`;
  const secs = (ms) => (typeof ms === 'number' ? `${Math.round(ms / 1000)}s` : '');
  const status = (text) => ($('#status').textContent = text);

  async function api(path, init) {
    const res = await fetch(path, {
      credentials: 'same-origin',
      ...init,
      headers: { 'content-type': 'application/json', ...(init && init.headers) },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok && res.status !== 409) throw new Error(body.error || `${res.status} ${res.statusText}`);
    return body;
  }

  function filters() {
    const q = new URLSearchParams();
    for (const k of ['owner', 'channel', 'reason']) {
      const v = $(`#f-${k}`).value.trim();
      if (v) q.set(k, v);
    }
    return q;
  }

  let current = null;

  async function loadSummary() {
    const s = await api('/ops/api/summary');
    const sel = $('#f-channel');
    if (sel.options.length === 1) for (const c of s.channels) sel.append(el('option', { value: c.code }, c.label));
    const counts = Object.entries(s.byStatus)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ');
    $('#counts').textContent = counts || 'no running orders';
  }

  async function loadExceptions() {
    const data = await api(`/ops/api/exceptions?${filters()}`);
    const root = $('#exceptions');
    root.replaceChildren();
    if (data.exceptions.length === 0) {
      root.append(el('p', { class: 'badge ok', id: 'no-exceptions' }, 'No open exceptions'));
      return;
    }
    for (const [owner, reasons] of Object.entries(data.byOwner)) {
      const rows = data.exceptions.filter((r) => (r.owner || 'ops') === owner);
      if (rows.length === 0) continue;
      const box = el('div', { class: 'owner', dataset: { owner } }, el('h3', {}, `${owner} (${rows.length})`));
      for (const [reason, g] of Object.entries(reasons)) {
        const mine = rows.filter((r) => r.reason === reason);
        const head = el(
          'div',
          { class: 'group-head', dataset: { reason } },
          el('strong', {}, reason),
          el('span', {}, `${g.count} open, oldest ${age(g.oldestMs)}`),
          el('span', { class: 'fix' }, g.fix || ''),
          el(
            'button',
            { type: 'button', class: 'retry-all', dataset: { reason }, onclick: () => retryAll(reason) },
            `Retry all ${reason}`,
          ),
        );
        const table = el(
          'table',
          {},
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              el('th', {}, 'Age'),
              el('th', {}, 'Channel'),
              el('th', {}, 'Order'),
              el('th', {}, 'What happened'),
            ),
          ),
        );
        const tbody = el('tbody');
        for (const r of mine) {
          const label = r.orderId || r.wmsOrderNumber || r.workflowId;
          tbody.append(
            el(
              'tr',
              { dataset: { workflowId: r.workflowId, orderId: r.orderId || '' } },
              el('td', { class: 'age' }, age(r.ageMs)),
              el('td', {}, r.channel || ''),
              el('td', {}, el('a', { class: 'order', onclick: () => showDetail(r.workflowId) }, label)),
              el('td', { class: 'message' }, r.message || ''),
            ),
          );
        }
        table.append(tbody);
        box.append(head, table);
      }
      root.append(box);
    }
  }

  async function loadAtRisk() {
    const data = await api('/ops/api/at-risk?withinHours=12');
    const tbody = $('#at-risk tbody');
    tbody.replaceChildren(
      ...data.orders.map((o) =>
        el(
          'tr',
          {},
          el('td', {}, o.risk),
          el('td', {}, o.channel || ''),
          el('td', {}, el('a', { class: 'order', onclick: () => showDetail(o.workflowId) }, o.orderId || o.workflowId)),
          el('td', {}, o.status || ''),
          el('td', {}, o.marginMs < 0 ? `passed ${age(-o.marginMs)} ago` : age(o.marginMs)),
        ),
      ),
    );
  }

  async function loadReturns() {
    const q = new URLSearchParams({ limit: '50' });
    const ch = $('#f-channel').value;
    if (ch) q.set('channel', ch);
    const data = await api(`/ops/api/returns?${q}`);
    const money = (r) =>
      typeof r.refundedMinor === 'number' ? `${r.currency || ''} ${(r.refundedMinor / 100).toFixed(2)}` : '';
    $('#returns tbody').replaceChildren(
      ...data.returns.map((r) =>
        el(
          'tr',
          { dataset: { workflowId: r.workflowId } },
          el('td', {}, el('a', { class: 'order', onclick: () => showDetail(r.workflowId) }, r.returnKey)),
          el('td', {}, r.channel || ''),
          el('td', {}, r.orderId || ''),
          el(
            'td',
            {},
            r.status === 'EXCEPTION' ? `${r.reason} (${r.owner})` : (r.status || '').replace(/^RETURN_/, ''),
          ),
          el('td', {}, money(r)),
          el('td', {}, r.restocked ?? ''),
          el('td', {}, secs(r.refundLatencyMs)),
        ),
      ),
    );
  }

  async function loadSync() {
    const data = await api('/ops/api/sync-health');
    loadIntake(data);
    $('#sync tbody').replaceChildren(
      ...data.channels.map((h) =>
        el(
          'tr',
          { dataset: { channel: h.channel } },
          el('td', {}, h.channel),
          el('td', {}, secs(h.syncAgeMs)),
          el('td', {}, secs(h.oldestPendingMs)),
          el('td', {}, h.pendingCount ?? ''),
          el('td', {}, h.failedPushes ?? ''),
          el('td', {}, Array.isArray(h.rejected) ? h.rejected.length : ''),
          el('td', {}, h.lastPushError || h.error || ''),
        ),
      ),
    );
  }

  async function loadIntake(data) {
    $('#intake tbody').replaceChildren(
      ...(data.intakes || []).map((h) => {
        const t = h.totals || {};
        return el(
          'tr',
          { dataset: { channel: h.channel || h.workflowId }, class: t.staleSince ? 'stale' : '' },
          el('td', {}, h.channel || h.workflowId),
          el('td', {}, t.lastPollAt ? `${age(Date.now() - t.lastPollAt)} ago` : 'none yet'),
          el('td', {}, t.failedInARow ?? 0),
          el('td', {}, t.staleSince ? new Date(t.staleSince).toISOString().slice(0, 19) : ''),
          el('td', {}, t.ordersSeen ?? ''),
          el('td', {}, t.unreadable ?? ''),
          el('td', {}, t.lastError || h.error || ''),
        );
      }),
    );
  }

  async function loadFailed() {
    const data = await api(`/ops/api/failed?${filters()}`);
    $('#failed tbody').replaceChildren(
      ...data.runs.map((r) =>
        el(
          'tr',
          { dataset: { workflowId: r.workflowId } },
          el('td', {}, r.workflowId),
          el('td', {}, r.type),
          el('td', {}, r.closeStatus),
          el('td', {}, (r.closedAt || '').slice(0, 19)),
          el('td', { class: 'message' }, r.failure || ''),
          el(
            'td',
            {},
            el('button', { type: 'button', class: 'restart', onclick: () => restart(r.workflowId) }, 'Restart'),
          ),
        ),
      ),
    );
  }

  async function restart(workflowId) {
    if (!confirm(`Start ${workflowId} again? An order is read again from the marketplace first.`)) return;
    status(`restarting ${workflowId}…`);
    const r = await api(`/ops/api/workflows/${encodeURIComponent(workflowId)}/restart`, { method: 'POST', body: '{}' });
    status(r.ok ? `restarted ${workflowId}: ${r.how}` : `restart refused: ${r.error}`);
    await refresh();
  }

  async function showDetail(workflowId) {
    current = workflowId;
    const { state } = await api(`/ops/api/workflows/${encodeURIComponent(workflowId)}`);
    $('#detail').hidden = false;
    const exc = state.exception;
    $('#detail-head').replaceChildren(
      el('p', {}, el('strong', {}, workflowId), ' — status ', el('span', { id: 'detail-status' }, state.status)),
      exc
        ? el('p', { class: 'badge', id: 'detail-exception' }, `${exc.reason} (${exc.owner}): ${exc.message}`)
        : el('p', { id: 'detail-exception' }, 'No open exception'),
    );
    $('#timeline').replaceChildren(
      ...(state.timeline || []).map((t) =>
        el('li', {}, `${new Date(t.at).toISOString().slice(0, 19)} ${t.step}${t.detail ? ` — ${t.detail}` : ''}`),
      ),
    );
    for (const b of document.querySelectorAll('#detail-actions button'))
      b.disabled = b.dataset.verb !== 'cancel' && !exc;
    $('#detail').scrollIntoView({ block: 'nearest' });
  }

  async function act(verb) {
    if (!current) return;
    if (
      verb === 'cancel' &&
      !confirm(`Cancel ${current}? This cancels it on the marketplace and in the warehouse where possible.`)
    )
      return;
    status(`${verb}…`);
    const r = await api(`/ops/api/workflows/${encodeURIComponent(current)}/${verb}`, {
      method: 'POST',
      body: JSON.stringify({ note: $('#note').value || undefined }),
    });
    status(
      r.ok ? `${verb}: now ${r.status}${r.exception ? ` (still ${r.exception})` : ''}` : `${verb} refused: ${r.error}`,
    );
    await refresh();
    await showDetail(current);
  }

  async function retryAll(reason) {
    status(`retrying every ${reason}…`);
    const r = await api('/ops/api/retry-all', {
      method: 'POST',
      body: JSON.stringify({ reason, channel: $('#f-channel').value || undefined }),
    });
    status(`${reason}: retried ${r.total}, cleared ${r.cleared}`);
    await refresh();
  }

  async function refresh() {
    try {
      await Promise.all([loadSummary(), loadExceptions(), loadFailed(), loadReturns(), loadAtRisk(), loadSync()]);
      document.body.dataset.loaded = String(Date.now());
    } catch (err) {
      status(`error: ${err.message}`);
    }
  }

  for (const b of document.querySelectorAll('#detail-actions button'))
    b.addEventListener('click', () => act(b.dataset.verb).catch((e) => status(`error: ${e.message}`)));
  $('#refresh').addEventListener('click', refresh);
  for (const id of ['#f-owner', '#f-channel']) $(id).addEventListener('change', refresh);
  $('#f-reason').addEventListener('change', refresh);
  refresh();
  setInterval(refresh, 10000);
})();
