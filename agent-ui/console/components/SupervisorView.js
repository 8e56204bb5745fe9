// The live wallboard: per queue, who waits and for how long, agents, and today's offered,
// answered, abandoned, service level, ASA and AHT, coloured by wallboard.js's thresholds; per
// channel, contacts waiting and held; per agent, state and since when, what they hold, handled
// today and occupancy, and a control to change a stuck agent's state. Fed by /ws/supervisor, which pushes a `queues` board when something
// changes; between boards the page counts the waits on. Each queue's tile draws its day so far
// per 15 minutes (offered as bars, service level as a line). A full-screen mode with large type for a
// wall screen.
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { connect } from '../socket.js';
import { t, label, formatDuration } from '../i18n.js';
import { formatFigure } from '../reports.js';
import { since, queueAlert, holdsText, dayCells } from '../wallboard.js';
import { ReportChart } from './ReportChart.js';
import { AgentStateControl } from './AgentStateControl.js';
import { watchHref } from '../route.js';

/** protocol.md gives an agent's state as an AgentState object; accept a flat string as well. */
function agentStateOf(a) {
  return typeof a.state === 'string' ? { state: a.state, reason: a.reason ?? null } : a.state || { state: 'offline', reason: null };
}

const ratio = (v) => formatFigure('ratio', v, formatDuration);
const duration = (v) => formatFigure('duration', v, formatDuration);

export function SupervisorView({ token }) {
  const [board, setBoard] = useState(null); // { frame, received }
  const [status, setStatus] = useState('connecting');
  const [denied, setDenied] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [big, setBig] = useState(false);
  const page = useRef(null);

  useEffect(() => {
    const sock = connect('/ws/supervisor', token, {
      onFrame: (f) => {
        if (f.type === 'queues') setBoard({ frame: f, received: Date.now() });
        if (f.type === 'error' && f.code === 'forbidden') setDenied(true);
      },
      onStatus: setStatus,
    });
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => { sock.close(); clearInterval(tick); };
  }, [token]);

  function toggleBig() {
    const next = !big;
    setBig(next);
    if (next && page.current && page.current.requestFullscreen) page.current.requestFullscreen().catch(() => {});
    if (!next && document.fullscreenElement) document.exitFullscreen().catch(() => {});
  }

  if (denied) return html`<div class="narrow-page"><p class="form-error" data-testid="supervisor-denied">${t('error.forbidden')}</p></div>`;
  const data = board && board.frame;
  const counted = (ms) => since(ms, board.received, now);
  return html`
    <div class=${`wide-page wallboard ${big ? 'wallboard-big' : ''}`} ref=${page} data-testid="supervisor-view">
      <div class="wallboard-head">
        <h1>${t('supervisor.title')} ${status !== 'open' && html`<span class="muted small-text">${t(`connection.${status}`)}</span>`}</h1>
        <button type="button" onClick=${toggleBig} aria-pressed=${big} data-testid="wallboard-big">${big ? t('supervisor.normal_view') : t('supervisor.wall_view')}</button>
      </div>
      ${!data && html`<p class="muted">${t('common.loading')}</p>`}
      ${data && html`
        <div class="tiles">
          ${(data.queues || []).map((q) => {
            const waited = counted(q.oldest_wait_ms);
            const alert = queueAlert(q, waited);
            const today = q.today || {};
            return html`
              <section key=${q.id} class=${`tile tile-${alert}`} data-testid="queue-tile" data-queue=${q.name} data-alert=${alert}>
                <h2>${q.name}</h2>
                <div class="tile-figure"><span data-testid="queue-waiting">${q.waiting}</span><span class="muted small-text">${t('supervisor.waiting')}</span></div>
                <dl class="tile-facts">
                  <div><dt>${t('supervisor.longest_wait')}</dt><dd data-testid="queue-longest">${waited == null ? '—' : formatDuration(waited)}</dd></div>
                  <div><dt>${t('supervisor.agents')}</dt><dd data-testid="queue-agents">${t('supervisor.available_of_staffed', { available: q.agents_available, staffed: q.agents_staffed })}</dd></div>
                  <div><dt>${t('supervisor.agents_busy')}</dt><dd data-testid="queue-busy">${q.agents_busy ?? 0}</dd></div>
                  <div><dt>${t('supervisor.agents_on_break')}</dt><dd data-testid="queue-on-break">${q.agents_on_break ?? 0}</dd></div>
                  <div><dt>${t('supervisor.sl_target')}</dt><dd>${t('supervisor.seconds', { n: q.sl_target_secs })}</dd></div>
                  ${q.callbacks_scheduled > 0 && html`<div><dt>${t('supervisor.callbacks_scheduled')}</dt><dd data-testid="queue-callbacks">${q.callbacks_scheduled}</dd></div>`}
                </dl>
                <h3 class="tile-today">${t('supervisor.today')}</h3>
                <dl class="tile-facts">
                  <div><dt>${t('reports.col.offered')}</dt><dd data-testid="queue-offered">${today.offered ?? 0}</dd></div>
                  <div><dt>${t('reports.col.answered')}</dt><dd data-testid="queue-answered">${today.answered ?? 0}</dd></div>
                  <div><dt>${t('reports.col.abandoned')}</dt><dd>${today.abandoned ?? 0}</dd></div>
                  <div><dt>${t('reports.col.service_level')}</dt><dd data-testid="queue-sl">${ratio(today.service_level)}</dd></div>
                  <div><dt>${t('reports.col.asa_ms')}</dt><dd>${duration(today.asa_ms)}</dd></div>
                  <div><dt>${t('reports.col.aht_ms')}</dt><dd>${duration(today.aht_ms)}</dd></div>
                </dl>
                <${ReportChart} row=${{ name: q.name, intervals: dayCells(today, data.quarter_hours) }} height=${320} />
              </section>`;
          })}
        </div>
        ${data.channels && html`
          <h2 class="section-title">${t('supervisor.channels')}</h2>
          <table class="table" data-testid="supervisor-channels">
            <thead><tr><th>${t('supervisor.channel')}</th><th>${t('supervisor.waiting')}</th><th>${t('supervisor.active')}</th></tr></thead>
            <tbody>${data.channels.map((c) => html`<tr key=${c.channel} data-testid="supervisor-channel-row" data-channel=${c.channel}>
              <td>${label('channel', c.channel)}</td><td>${c.waiting}</td><td>${c.active}</td></tr>`)}</tbody>
          </table>`}
        <h2 class="section-title">${t('supervisor.agent_states')}</h2>
        <table class="table" data-testid="supervisor-agents">
          <thead><tr>
            <th>${t('admin.name')}</th><th>${t('state.label')}</th><th>${t('supervisor.for')}</th><th>${t('supervisor.held')}</th>
            <th>${t('supervisor.handled_today')}</th><th>${t('reports.col.aht_ms')}</th><th>${t('reports.col.occupancy')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th>
          </tr></thead>
          <tbody>
            ${(data.agents || []).map((a) => {
              const s = agentStateOf(a);
              const today = a.today || {};
              return html`<tr key=${a.id} data-testid="supervisor-agent-row" data-agent=${a.name}>
                <td>${a.name}</td>
                <td><span class=${`state-pill state-${s.state}`}>${t(`state.${s.state}`)}${s.reason ? ` · ${label('reason', s.reason)}` : ''}</span></td>
                <td>${a.since == null ? '—' : formatDuration(counted(data.at - a.since))}</td>
                <td data-testid="agent-holds">${holdsText(a.holds, (c) => label('channel', c)) || a.held}</td>
                <td data-testid="agent-handled">${today.handled ?? 0}</td>
                <td>${duration(today.aht_ms)}</td>
                <td>${ratio(today.occupancy)}</td>
                <td class="agent-actions">${!big && a.on_call && html`<a class="button-like small" href=${watchHref(a.on_call)} data-testid="agent-listen"
                  aria-label=${t('supervisor.listen_to', { name: a.name })}>${t('supervisor.listen')}</a>`}
                  ${!big && html`<${AgentStateControl} agent=${a} current=${s.state} />`}</td>
              </tr>`;
            })}
          </tbody>
        </table>`}
    </div>
  `;
}
