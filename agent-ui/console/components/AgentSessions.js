// Admin: where one user is logged in (GET /agents/{id}/sessions), and ending those sessions, one
// or all. The list never carries a token: an id, times and where the login came from.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, formatDateTime, errorText } from '../i18n.js';

export function AgentSessions({ agent }) {
  const [sessions, setSessions] = useState([]);
  const [error, setError] = useState(null);

  const load = () => api.agentSessions(agent.id).then(setSessions).catch((e) => setError(errorText(e)));
  useEffect(() => {
    load();
  }, [agent.id]);

  async function end(session) {
    setError(null);
    try {
      await (session ? api.endAgentSession(agent.id, session.id) : api.endAgentSessions(agent.id));
    } catch (e) {
      setError(errorText(e));
    }
    load();
  }

  return html`
    <section class="full" data-testid="agent-sessions">
      <h2 class="section-title">${t('sessions.title', { name: agent.name })}</h2>
      ${sessions.length === 0
        ? html`<p class="muted" data-testid="sessions-none">${t('sessions.none')}</p>`
        : html`<table class="table">
            <thead><tr><th>${t('sessions.created')}</th><th>${t('sessions.last_seen')}</th><th>${t('sessions.from')}</th><th>${t('sessions.browser')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th></tr></thead>
            <tbody>
              ${sessions.map((s) => html`<tr key=${s.id} data-testid="session-row">
                <td>${formatDateTime(s.created_at)}</td><td>${formatDateTime(s.last_seen_at)}</td>
                <td>${s.client_addr || ''}</td><td class="small-text">${s.user_agent || ''}</td>
                <td class="row-actions"><button class="link" type="button" onClick=${() => end(s)} data-testid="session-end">${t('sessions.end')}</button></td>
              </tr>`)}
            </tbody>
          </table>
          <button type="button" onClick=${() => end(null)} data-testid="sessions-end-all">${t('sessions.end_all')}</button>`}
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
    </section>
  `;
}
