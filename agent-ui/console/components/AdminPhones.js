// Admin: agents' SIP desk phones (GET/POST/DELETE /phones): which agent each rings, whether it is
// registered right now, and the SIP account a new one registers with (the password is only
// sent here; the hub keeps its digests).
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';

export function AdminPhones() {
  const [phones, setPhones] = useState([]);
  const [agents, setAgents] = useState([]);
  const [agentId, setAgentId] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);

  const load = () =>
    Promise.all([api.listPhones(), api.listAgents()])
      .then(([p, a]) => {
        setPhones(p);
        setAgents(a);
      })
      .catch(() => setError(t('error.generic')));
  useEffect(() => {
    load();
  }, []);

  const agentName = (id) => (agents.find((a) => a.id === id) || {}).name || id;

  async function add(e) {
    e.preventDefault();
    setError(null);
    try {
      await api.createPhone({ agent_id: agentId, username: username.trim(), password });
      setUsername('');
      setPassword('');
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function remove(id) {
    setError(null);
    try {
      await api.deletePhone(id);
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  return html`
    <div class="narrow-page" data-testid="admin-phones">
      <h1>${t('nav.phones')}</h1>
      <table class="table">
        <thead><tr><th>${t('phones.username')}</th><th>${t('phones.agent')}</th><th>${t('phones.registered')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th></tr></thead>
        <tbody>
          ${phones.map((p) => html`<tr key=${p.id} data-testid="phone-row">
            <td><code>${p.username}</code></td><td>${agentName(p.agent_id)}</td>
            <td data-testid="phone-registered">${p.contacts && p.contacts.length ? p.contacts.join(', ') : html`<span class="muted">${t('phones.not_registered')}</span>`}</td>
            <td class="row-actions"><button class="link danger" onClick=${() => remove(p.id)} data-testid="phone-delete">${t('action.delete')}</button></td>
          </tr>`)}
        </tbody>
      </table>
      <form class="inline-form" onSubmit=${add}>
        <select required value=${agentId} onChange=${(e) => setAgentId(e.currentTarget.value)} aria-label=${t('phones.agent')} data-testid="phone-agent">
          <option value="">${t('phones.agent')}…</option>
          ${agents.map((a) => html`<option key=${a.id} value=${a.id}>${a.name}</option>`)}
        </select>
        <input required placeholder=${t('phones.username')} aria-label=${t('phones.username')} pattern="[A-Za-z0-9._\\-]+" value=${username}
          onInput=${(e) => setUsername(e.currentTarget.value)} data-testid="phone-username" />
        <input required type="password" minlength="8" placeholder=${t('admin.password')} aria-label=${t('admin.password')} value=${password}
          autocomplete="new-password" onInput=${(e) => setPassword(e.currentTarget.value)} data-testid="phone-password" />
        <button class="primary" type="submit" data-testid="phone-add">${t('action.add')}</button>
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
    </div>
  `;
}
