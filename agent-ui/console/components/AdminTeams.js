// Admin: teams (GET/POST/PUT/DELETE /teams). A team's leads see its members and queues on the
// wallboard and in reports; once a team exists, supervisors see only the teams they lead.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';

const EMPTY = { name: '', leads: [], members: [], queues: [] };

function Picks({ label, options, chosen, onChange, testid }) {
  const flip = (id) => onChange(chosen.includes(id) ? chosen.filter((x) => x !== id) : [...chosen, id]);
  return html`
    <fieldset class="fieldset picks full" data-testid=${testid}>
      <legend>${label}</legend>
      ${options.map((o) => html`<label key=${o.id} class="pick">
        <input type="checkbox" checked=${chosen.includes(o.id)} onChange=${() => flip(o.id)} />${o.name}
      </label>`)}
    </fieldset>
  `;
}

export function AdminTeams({ queues }) {
  const [teams, setTeams] = useState([]);
  const [people, setPeople] = useState([]);
  const [editing, setEditing] = useState(null); // null: a new team; else the team's id
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState(null);

  const load = () => Promise.all([api.listTeams(), api.listAgents()])
    .then(([ts, ps]) => { setTeams(ts); setPeople(ps.filter((p) => p.active !== false)); })
    .catch(() => setError(t('error.generic')));
  useEffect(() => {
    load();
  }, []);

  const nameOf = (list, id) => (list.find((x) => x.id === id) || {}).name || id;
  const set = (key) => (value) => setForm({ ...form, [key]: value });

  async function save(e) {
    e.preventDefault();
    setError(null);
    try {
      const spec = { ...form, name: form.name.trim() };
      if (editing) await api.updateTeam(editing, spec);
      else await api.createTeam(spec);
      setEditing(null);
      setForm(EMPTY);
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function remove(id) {
    setError(null);
    try {
      await api.deleteTeam(id);
      if (editing === id) { setEditing(null); setForm(EMPTY); }
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  const leaders = people.filter((p) => p.role !== 'agent');
  return html`
    <div class="wide-page" data-testid="admin-teams">
      <h1>${t('nav.teams')}</h1>
      <p class="muted">${t('admin.teams_hint')}</p>
      <table class="table">
        <thead><tr><th>${t('admin.name')}</th><th>${t('admin.leads')}</th><th>${t('admin.members')}</th><th>${t('admin.team_queues')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th></tr></thead>
        <tbody>
          ${teams.map((tm) => html`<tr key=${tm.id} data-testid="team-row">
            <td>${tm.name}</td>
            <td>${tm.leads.map((id) => nameOf(people, id)).join(', ')}</td>
            <td>${tm.members.map((id) => nameOf(people, id)).join(', ')}</td>
            <td>${tm.queues.map((id) => nameOf(queues, id)).join(', ')}</td>
            <td class="row-actions">
              <button class="link" onClick=${() => { setEditing(tm.id); setForm({ name: tm.name, leads: tm.leads, members: tm.members, queues: tm.queues }); }} data-testid="team-edit">${t('action.edit')}</button>
              <button class="link danger" onClick=${() => remove(tm.id)} data-testid="team-delete">${t('action.delete')}</button>
            </td>
          </tr>`)}
        </tbody>
      </table>
      <form class="edit-form grid-form" onSubmit=${save} data-testid="team-form">
        <h2 class="section-title full">${editing ? t('admin.edit_team') : t('admin.new_team')}</h2>
        <label><span>${t('admin.name')}</span><input required value=${form.name}
          onInput=${(e) => set('name')(e.currentTarget.value)} data-testid="team-name" /></label>
        <${Picks} label=${t('admin.leads')} options=${leaders} chosen=${form.leads} onChange=${set('leads')} testid="team-leads" />
        <${Picks} label=${t('admin.members')} options=${people.filter((p) => p.role === 'agent')} chosen=${form.members} onChange=${set('members')} testid="team-members" />
        <${Picks} label=${t('admin.team_queues')} options=${queues} chosen=${form.queues} onChange=${set('queues')} testid="team-queues" />
        <div class="form-actions full">
          <button class="primary" type="submit" data-testid="team-save">${editing ? t('action.save') : t('action.add')}</button>
          ${editing && html`<button type="button" onClick=${() => { setEditing(null); setForm(EMPTY); }}>${t('action.cancel')}</button>`}
        </div>
        ${error && html`<p class="form-error full" role="alert">${error}</p>`}
      </form>
    </div>
  `;
}
