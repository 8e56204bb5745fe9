// The live wallboard: per queue, who waits and for how long; per channel, contacts waiting and
// held; per agent, presence and load. Fed by
// /ws/supervisor, which sends a `queues` frame every second.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import { connect } from '../socket.js';
import { t, label, formatDuration } from '../i18n.js';

/** protocol.md gives an agent's state as an AgentState object; accept a flat string as well. */
function agentStateOf(a) {
  return typeof a.state === 'string' ? { state: a.state, reason: a.reason ?? null } : a.state || { state: 'offline', reason: null };
}

export function SupervisorView({ token }) {
  const [data, setData] = useState(null);
  const [status, setStatus] = useState('connecting');
  const [denied, setDenied] = useState(false);

  useEffect(() => {
    const sock = connect('/ws/supervisor', token, {
      onFrame: (f) => {
        if (f.type === 'queues') setData(f);
        if (f.type === 'error' && f.code === 'forbidden') setDenied(true);
      },
      onStatus: setStatus,
    });
    return () => sock.close();
  }, [token]);

  if (denied) return html`<div class="narrow-page"><p class="form-error" data-testid="supervisor-denied">${t('error.forbidden')}</p></div>`;
  return html`
    <div class="wide-page" data-testid="supervisor-view">
      <h1>${t('supervisor.title')} ${status !== 'open' && html`<span class="muted small-text">${t(`connection.${status}`)}</span>`}</h1>
      ${!data && html`<p class="muted">${t('common.loading')}</p>`}
      ${data && html`
        <div class="tiles">
          ${(data.queues || []).map((q) => {
            const over = q.oldest_wait_ms != null && q.oldest_wait_ms > q.sl_target_secs * 1000;
            return html`
              <section key=${q.id} class=${`tile ${over ? 'tile-alert' : ''}`} data-testid="queue-tile" data-queue=${q.name}>
                <h2>${q.name}</h2>
                <div class="tile-figure"><span data-testid="queue-waiting">${q.waiting}</span><span class="muted small-text">${t('supervisor.waiting')}</span></div>
                <dl class="tile-facts">
                  <div><dt>${t('supervisor.longest_wait')}</dt><dd>${q.oldest_wait_ms == null ? '—' : formatDuration(q.oldest_wait_ms)}</dd></div>
                  <div><dt>${t('supervisor.agents')}</dt><dd>${t('supervisor.available_of_staffed', { available: q.agents_available, staffed: q.agents_staffed })}</dd></div>
                  <div><dt>${t('supervisor.sl_target')}</dt><dd>${t('supervisor.seconds', { n: q.sl_target_secs })}</dd></div>
                </dl>
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
          <thead><tr><th>${t('admin.name')}</th><th>${t('state.label')}</th><th>${t('supervisor.held')}</th></tr></thead>
          <tbody>
            ${(data.agents || []).map((a) => {
              const s = agentStateOf(a);
              return html`<tr key=${a.id} data-testid="supervisor-agent-row">
                <td>${a.name}</td>
                <td><span class=${`state-pill state-${s.state}`}>${t(`state.${s.state}`)}${s.reason ? ` · ${label('reason', s.reason)}` : ''}</span></td>
                <td>${a.held}</td>
              </tr>`;
            })}
          </tbody>
        </table>`}
    </div>
  `;
}
