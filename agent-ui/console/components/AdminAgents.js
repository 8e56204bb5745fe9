// Admin: console users, their role, language, skills and how many chats and email threads each
// takes at once (GET/POST/PATCH /agents); deactivating and reactivating them, and the sessions of
// the one being edited.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, LOCALES, errorText } from '../i18n.js';
import { formatSkills, parseSkills } from '../skills.js';
import { useForm } from '../forms.js';
import { AgentSessions } from './AgentSessions.js';

const ROLES = ['agent', 'supervisor', 'admin'];
const EMPTY = { email: '', name: '', password: '', role: 'agent', locale: 'en', skills: '', chat: '3', mail: '5' };

export function AdminAgents() {
  const [agents, setAgents] = useState([]);
  const [editing, setEditing] = useState(null);
  const { form, reset: setForm, field, pick } = useForm(EMPTY);
  const [error, setError] = useState(null);

  const load = () => api.listAgents().then(setAgents).catch(() => setError(t('error.generic')));
  useEffect(() => {
    load();
  }, []);

  function edit(a) {
    setEditing(a);
    setForm({ email: a.email, name: a.name, password: '', role: a.role, locale: a.locale, skills: formatSkills(a.skills), chat: String(a.capacity.chat), mail: String(a.capacity.email ?? 0) });
  }

  async function setActive(a, active) {
    setError(null);
    try {
      await (active ? api.reactivateAgent(a.id) : api.deactivateAgent(a.id));
    } catch (err) {
      setError(errorText(err));
    }
    load();
  }

  async function save(e) {
    e.preventDefault();
    setError(null);
    const skills = parseSkills(form.skills);
    try {
      if (editing) {
        const patch = { name: form.name.trim(), role: form.role, locale: form.locale, skills, capacity: { ...editing.capacity, chat: Number(form.chat) || 0, email: Number(form.mail) || 0 } };
        if (form.password) patch.password = form.password;
        await api.updateAgent(editing.id, patch);
      } else {
        await api.createAgent({
          email: form.email.trim(), name: form.name.trim(), password: form.password, role: form.role, locale: form.locale, skills,
          capacity: { voice: 1, chat: Number(form.chat) || 0, email: Number(form.mail) || 0, messaging: 3 },
        });
      }
      setEditing(null);
      setForm(EMPTY);
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  return html`
    <div class="wide-page" data-testid="admin-agents">
      <h1>${t('nav.agents')}</h1>
      <table class="table">
        <thead><tr><th>${t('admin.name')}</th><th>${t('admin.email')}</th><th>${t('admin.role')}</th><th>${t('admin.locale')}</th><th>${t('admin.skills')}</th><th>${t('admin.chat_capacity')}</th><th>${t('admin.email_capacity')}</th><th>${t('admin.status')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th></tr></thead>
        <tbody>
          ${agents.map((a) => html`<tr key=${a.id} data-testid="agent-row">
            <td>${a.name}</td><td>${a.email}</td><td>${t(`role.${a.role}`)}</td><td>${a.locale}</td>
            <td>${formatSkills(a.skills)}</td><td>${a.capacity.chat}</td><td data-testid="agent-email-capacity-cell">${a.capacity.email}</td>
            <td data-testid="agent-status">${a.active ? t('admin.active') : t('admin.deactivated')}</td>
            <td class="row-actions"><button class="link" onClick=${() => edit(a)} data-testid="agent-edit">${t('action.edit')}</button>
              <button class="link" onClick=${() => setActive(a, !a.active)} data-testid=${a.active ? 'agent-deactivate' : 'agent-reactivate'}>
                ${a.active ? t('admin.deactivate') : t('admin.reactivate')}</button></td>
          </tr>`)}
        </tbody>
      </table>
      <form class="edit-form grid-form" onSubmit=${save} data-testid="agent-form">
        <h2 class="section-title full">${editing ? t('admin.edit_agent', { name: editing.name }) : t('admin.new_agent')}</h2>
        <label><span>${t('admin.email')}</span><input type="email" required disabled=${!!editing} ...${field('email')} data-testid="agent-email" /></label>
        <label><span>${t('admin.name')}</span><input required ...${field('name')} data-testid="agent-name-input" /></label>
        <label><span>${editing ? t('admin.new_password') : t('admin.password')}</span>
          <input type="password" autocomplete="new-password" required=${!editing} minlength="8" ...${field('password')} data-testid="agent-password" /></label>
        <label><span>${t('admin.role')}</span><select ...${pick('role')} data-testid="agent-role">
          ${ROLES.map((r) => html`<option key=${r} value=${r}>${t(`role.${r}`)}</option>`)}</select></label>
        <label><span>${t('admin.locale')}</span><select ...${pick('locale')} data-testid="agent-locale">
          ${LOCALES.map((l) => html`<option key=${l.code} value=${l.code}>${l.label}</option>`)}</select></label>
        <label><span>${t('admin.skills')}</span><input placeholder="support:5, sales:3" ...${field('skills')} data-testid="agent-skills" /></label>
        <label><span>${t('admin.chat_capacity')}</span><input type="number" min="0" ...${field('chat')} data-testid="agent-chat-capacity" /></label>
        <label><span>${t('admin.email_capacity')}</span><input type="number" min="0" ...${field('mail')} data-testid="agent-email-capacity" /></label>
        <div class="form-actions full">
          <button class="primary" type="submit" data-testid="agent-save">${editing ? t('action.save') : t('action.add')}</button>
          ${editing && html`<button type="button" onClick=${() => { setEditing(null); setForm(EMPTY); }} data-testid="agent-cancel">${t('action.cancel')}</button>`}
        </div>
        ${error && html`<p class="form-error full" role="alert">${error}</p>`}
        ${editing && html`<${AgentSessions} agent=${editing} />`}
      </form>
    </div>
  `;
}
