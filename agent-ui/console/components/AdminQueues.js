// Admin: queues and their rules (GET/POST/PUT /queues). Skills are typed as "support:2, sales";
// business hours as spans per weekday ("09:00-12:30, 13:30-18:00") in the queue's time zone,
// holidays as dates. Outside them a caller leaves a voicemail and the chat widget offers its
// offline form. With callbacks on, a caller who has waited long enough is offered to press 1 and
// be called back, tried as many times as the queue says. A customer's tier can add to the priority
// ("vip:10": VIP first).
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { formatSkillRequirements, parseSkillRequirements, formatTierPriority, parseTierPriority } from '../skills.js';
import { useForm } from '../forms.js';
import { DAYS, hoursToForm, formToHours, localTimeZone } from '../hours.js';

const EMPTY = { name: '', skills: '', priority: '0', tier_priority: '', sl_target_secs: '20', max_wait_secs: '', overflow_queue: '', offer_timeout_secs: '20', wrap_up_secs: '60', hours: hoursToForm(null), callbacks: callbacksToForm(null), csat: false };

function callbacksToForm(c) {
  return c
    ? { on: true, offer_after_secs: String(c.offer_after_secs), attempts: String(c.attempts), retry_after_secs: String(c.retry_after_secs) }
    : { on: false, offer_after_secs: '120', attempts: '3', retry_after_secs: '600' };
}

function formToCallbacks(c) {
  if (!c.on) return null;
  return { offer_after_secs: Number(c.offer_after_secs) || 0, attempts: Number(c.attempts) || 0, retry_after_secs: Number(c.retry_after_secs) || 0 };
}

function toForm(q) {
  return {
    name: q.name,
    skills: formatSkillRequirements(q.required_skills),
    priority: String(q.priority),
    tier_priority: formatTierPriority(q.tier_priority),
    sl_target_secs: String(q.sl_target_secs),
    max_wait_secs: q.max_wait_secs == null ? '' : String(q.max_wait_secs),
    overflow_queue: q.overflow_queue || '',
    offer_timeout_secs: String(q.offer_timeout_secs),
    wrap_up_secs: String(q.wrap_up_secs),
    hours: hoursToForm(q.hours),
    callbacks: callbacksToForm(q.callbacks),
    csat: Boolean(q.csat),
  };
}

function toSpec(f) {
  return {
    name: f.name.trim(),
    required_skills: parseSkillRequirements(f.skills),
    priority: Number(f.priority) || 0,
    tier_priority: parseTierPriority(f.tier_priority),
    sl_target_secs: Number(f.sl_target_secs) || 0,
    max_wait_secs: f.max_wait_secs === '' ? null : Number(f.max_wait_secs),
    overflow_queue: f.overflow_queue || null,
    offer_timeout_secs: Number(f.offer_timeout_secs) || 1,
    wrap_up_secs: Number(f.wrap_up_secs) || 0,
    hours: formToHours(f.hours),
    callbacks: formToCallbacks(f.callbacks),
    csat: Boolean(f.csat),
  };
}

export function AdminQueues({ onChanged }) {
  const [queues, setQueues] = useState([]);
  const [editing, setEditing] = useState(null); // null: new queue; else the queue's id
  const { form, reset: setForm, field, pick, set } = useForm(EMPTY);
  const hoursOn = form.hours.on;
  const turnHours = (on) => {
    set('hours.on', on);
    if (on && !form.hours.time_zone) set('hours.time_zone', localTimeZone());
  };
  const [error, setError] = useState(null);

  const load = () => api.listQueues().then((qs) => { setQueues(qs); onChanged(qs); }).catch(() => setError(t('error.generic')));
  useEffect(() => {
    load();
  }, []);

  async function save(e) {
    e.preventDefault();
    setError(null);
    try {
      if (editing) await api.updateQueue(editing, toSpec(form));
      else await api.createQueue(toSpec(form));
      setEditing(null);
      setForm(EMPTY);
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  return html`
    <div class="wide-page" data-testid="admin-queues">
      <h1>${t('nav.queues')}</h1>
      <table class="table">
        <thead><tr>
          <th>${t('admin.name')}</th><th>${t('admin.skills')}</th><th>${t('admin.priority')}</th>
          <th>${t('admin.sl_target')}</th><th>${t('admin.offer_timeout')}</th><th>${t('admin.wrap_up')}</th><th>${t('admin.hours')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th>
        </tr></thead>
        <tbody>
          ${queues.map((q) => html`<tr key=${q.id} data-testid="queue-row">
            <td>${q.name}</td><td>${formatSkillRequirements(q.required_skills)}</td><td>${q.priority}</td>
            <td>${q.sl_target_secs}</td><td>${q.offer_timeout_secs}</td><td>${q.wrap_up_secs}</td>
            <td data-testid="queue-hours">${q.hours ? q.hours.time_zone : t('admin.hours_always')}</td>
            <td class="row-actions"><button class="link" onClick=${() => { setEditing(q.id); setForm(toForm(q)); }} data-testid="queue-edit">${t('action.edit')}</button></td>
          </tr>`)}
        </tbody>
      </table>
      <form class="edit-form grid-form" onSubmit=${save} data-testid="queue-form">
        <h2 class="section-title full">${editing ? t('admin.edit_queue') : t('admin.new_queue')}</h2>
        <label><span>${t('admin.name')}</span><input required ...${field('name')} data-testid="queue-name" /></label>
        <label><span>${t('admin.skills')}</span><input placeholder="support:2, sales" ...${field('skills')} data-testid="queue-skills" /></label>
        <label><span>${t('admin.priority')}</span><input type="number" ...${field('priority')} data-testid="queue-priority" /></label>
        <label><span>${t('admin.tier_priority')}</span><input placeholder="vip:10, gold:5" aria-describedby="tier-priority-help" ...${field('tier_priority')} data-testid="queue-tier-priority" />
          <small id="tier-priority-help" class="muted">${t('admin.tier_priority_help')}</small></label>
        <label><span>${t('admin.sl_target')}</span><input type="number" min="0" ...${field('sl_target_secs')} data-testid="queue-sl" /></label>
        <label><span>${t('admin.max_wait')}</span><input type="number" min="0" ...${field('max_wait_secs')} data-testid="queue-max-wait" /></label>
        <label><span>${t('admin.overflow')}</span>
          <select ...${pick('overflow_queue')} data-testid="queue-overflow">
            <option value="">—</option>
            ${queues.filter((q) => q.id !== editing).map((q) => html`<option key=${q.id} value=${q.id}>${q.name}</option>`)}
          </select></label>
        <label><span>${t('admin.offer_timeout')}</span><input type="number" min="1" ...${field('offer_timeout_secs')} data-testid="queue-offer-timeout" /></label>
        <label><span>${t('admin.wrap_up')}</span><input type="number" min="0" ...${field('wrap_up_secs')} data-testid="queue-wrap-up" /></label>
        <fieldset class="fieldset full hours-fields" data-testid="queue-hours-form">
          <legend>${t('admin.hours')}</legend>
          <label class="check"><input type="checkbox" checked=${hoursOn} onChange=${(e) => turnHours(e.currentTarget.checked)} data-testid="queue-hours-on" />${t('admin.hours_on')}</label>
          ${hoursOn && html`
            <label><span>${t('admin.time_zone')}</span><input required placeholder="Asia/Shanghai" ...${field('hours.time_zone')} data-testid="queue-time-zone" /></label>
            ${DAYS.map((day) => html`<label key=${day}><span>${t(`day.${day}`)}</span><input placeholder=${t('admin.day_closed')} ...${field(`hours.${day}`)} data-testid=${`queue-day-${day}`} /></label>`)}
            <label><span>${t('admin.holidays')}</span><input placeholder="2026-10-01, 2026-10-02" ...${field('hours.holidays')} data-testid="queue-holidays" /></label>
            <label class="check"><input type="checkbox" checked=${form.hours.unstaffed} onChange=${(e) => set('hours.unstaffed', e.currentTarget.checked)} data-testid="queue-unstaffed" />${t('admin.closed_when_unstaffed')}</label>
            <p class="muted small-text">${t('admin.hours_help')}</p>`}
        </fieldset>
        <fieldset class="fieldset full" data-testid="queue-callbacks-form">
          <legend>${t('admin.callbacks')}</legend>
          <label class="check"><input type="checkbox" checked=${form.callbacks.on} onChange=${(e) => set('callbacks.on', e.currentTarget.checked)} data-testid="queue-callbacks-on" />${t('admin.callbacks_on')}</label>
          ${form.callbacks.on && html`
            <label><span>${t('admin.callback_offer_after')}</span><input type="number" min="1" required ...${field('callbacks.offer_after_secs')} data-testid="queue-callback-after" /></label>
            <label><span>${t('admin.callback_attempts')}</span><input type="number" min="1" max="10" required ...${field('callbacks.attempts')} data-testid="queue-callback-attempts" /></label>
            <label><span>${t('admin.callback_retry_after')}</span><input type="number" min="30" required ...${field('callbacks.retry_after_secs')} data-testid="queue-callback-retry" /></label>`}
        </fieldset>
        <label class="check full"><input type="checkbox" checked=${form.csat} onChange=${(e) => set('csat', e.currentTarget.checked)} data-testid="queue-csat" />${t('admin.csat_on')}</label>
        <div class="form-actions full">
          <button class="primary" type="submit" data-testid="queue-save">${editing ? t('action.save') : t('action.add')}</button>
          ${editing && html`<button type="button" onClick=${() => { setEditing(null); setForm(EMPTY); }} data-testid="queue-cancel">${t('action.cancel')}</button>`}
        </div>
        ${error && html`<p class="form-error full" role="alert">${error}</p>`}
      </form>
    </div>
  `;
}
