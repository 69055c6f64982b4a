// The network view: peers, capacity, chunk health and repair, from GET /-/status (the
// NetworkStatus JSON of backend/metrics/network-status.ts). Refreshed every 5 s while shown.
import { el, formatDate, formatSize } from './format.js';

const $ = (id) => document.getElementById(id);
let timer;

export function stopNetwork() {
  clearTimeout(timer);
  timer = undefined;
}

export async function showNetwork() {
  stopNetwork();
  const msg = $('network-message');
  try {
    const res = await fetch('/-/status', { cache: 'no-store' });
    if (res.status === 404) {
      msg.textContent = 'This gateway does not publish its network status (GET /-/status answered 404). Storage still works; ask the operator to enable it.';
      $('network-body').hidden = true;
      return;
    }
    if (!res.ok) throw new Error(`GET /-/status answered ${res.status}`);
    render(await res.json());
    msg.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  } catch (err) {
    msg.textContent = `Network status unavailable: ${err.message}. Retrying…`;
  }
  timer = setTimeout(() => {
    if (!$('view-network').hidden) showNetwork();
  }, 5000);
}

function render(s) {
  $('network-body').hidden = false;
  const peers = Array.isArray(s.peers) ? s.peers : [];
  const live = peers.filter((p) => p.state !== 'unreachable').length;
  $('net-peers').textContent = `${live} live of ${peers.length}`;
  let cap = 0;
  let free = 0;
  for (const p of peers) {
    cap += p.capacity || 0;
    free += p.free || 0;
  }
  $('net-capacity').textContent = cap > 0 ? `${formatSize(cap - free)} used of ${formatSize(cap)}` : 'unknown';
  $('net-capacity-meter').value = cap > 0 ? (cap - free) / cap : 0;
  const c = s.chunks || { total: 0, healthy: 0, degraded: 0, lost: 0 };
  $('net-chunks').textContent = `${c.healthy} healthy, ${c.degraded} degraded, ${c.lost} lost (of ${c.total})`;
  const bar = $('net-health-bar');
  for (const state of ['healthy', 'degraded', 'lost']) {
    bar.querySelector(`.${state}`).style.flexGrow = String(c.total > 0 ? c[state] / c.total : state === 'healthy' ? 1 : 0);
  }
  const r = s.repair;
  $('net-repair').textContent = r ? `${r.queued} queued, ${r.active} in progress, ${r.repaired} repaired${r.failed ? `, ${r.failed} failed` : ''}` : 'not reported';
  $('net-code').textContent = s.placement ? `${s.placement.k} of ${s.placement.n}` : 'unknown';
  const rows = $('peer-rows');
  rows.replaceChildren(
    ...peers.map((p) =>
      el('tr', {},
        el('td', { className: 'mono', title: p.id }, p.id.length > 16 ? `${p.id.slice(0, 8)}…${p.id.slice(-6)}` : p.id),
        el('td', { className: 'mono' }, p.address || '—'),
        el('td', {}, el('span', { className: `state ${p.state}` }, p.state)),
        el('td', { className: 'num' }, formatSize(p.capacity)),
        el('td', { className: 'num' }, formatSize(p.free)),
        el('td', {}, formatDate(p.lastSeen)),
      ),
    ),
  );
}
