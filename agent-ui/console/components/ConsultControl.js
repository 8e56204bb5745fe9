// On a call the agent talks on: consult an Available colleague, or a queue (whoever it would offer
// its next call to; the caller waits on hold while the colleague's phone rings and the two talk, a
// note telling them why), then bring them
// into a conference, hand them the call, or go back to the caller. The hub does each step
// (`call.consult`) and says where the consult stands (`entry.consult`).
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';

/** What the picker's value asks the hub: `agent:ID` or `queue:ID`. */
function consultTarget(value) {
  const [kind, id] = value.split(':');
  return kind === 'queue' ? { queue_id: id } : { agent_id: id };
}

export function ConsultControl({ consult, customerName, queues, onStep }) {
  const [people, setPeople] = useState([]);
  const [who, setWho] = useState('');
  const [note, setNote] = useState('');
  const loadPeople = () => api.colleagues().then(setPeople, () => setPeople([]));
  useEffect(() => {
    if (!consult) loadPeople();
  }, [Boolean(consult)]);
  if (!consult) {
    // Shown even with nobody Available: opening the list asks again.
    return html`
      <form class="consult" data-testid="consult-form"
        onSubmit=${(e) => { e.preventDefault(); if (who) onStep('start', { ...consultTarget(who), note }); }}>
        <select value=${who} onFocus=${loadPeople} onChange=${(e) => setWho(e.currentTarget.value)} aria-label=${t('consult.who')} data-testid="consult-who">
          <option value="" disabled>${t('consult.who')}</option>
          ${people.length > 0 && html`<optgroup label=${t('chat.transfer_people')}>
            ${people.map((a) => html`<option key=${a.id} value=${`agent:${a.id}`}>${a.name}</option>`)}
          </optgroup>`}
          ${(queues || []).length > 0 && html`<optgroup label=${t('chat.transfer_queues')}>
            ${queues.map((q) => html`<option key=${q.id} value=${`queue:${q.id}`}>${q.name}</option>`)}
          </optgroup>`}
        </select>
        <input type="text" value=${note} maxLength=${500} onInput=${(e) => setNote(e.currentTarget.value)}
          placeholder=${t('consult.note')} aria-label=${t('consult.note')} data-testid="consult-note" />
        <button type="submit" disabled=${!who} data-testid="consult-start">${t('consult.start')}</button>
      </form>`;
  }
  const status = !consult.on
    ? t('consult.ringing', { name: consult.with })
    : consult.mode === 'conference'
    ? t('consult.conference', { name: consult.with, customer: customerName })
    : t('consult.talking', { name: consult.with, customer: customerName });
  return html`
    <div class="consult consult-on" data-testid="consult" data-mode=${consult.mode} data-on=${consult.on ? 'true' : 'false'}>
      <p class="consult-status" role="status" data-testid="consult-status">${status}</p>
      <div class="consult-actions">
        ${consult.mode === 'consult' && html`<button disabled=${!consult.on} onClick=${() => onStep('conference')} data-testid="consult-conference">${t('consult.to_conference')}</button>`}
        <button class="primary" disabled=${!consult.on} onClick=${() => onStep('transfer')} data-testid="consult-transfer">${t('consult.transfer', { name: consult.with })}</button>
        <button onClick=${() => onStep('end')} data-testid="consult-end">${consult.mode === 'conference' ? t('consult.drop', { name: consult.with }) : t('consult.back', { customer: customerName })}</button>
      </div>
    </div>`;
}

/** To the colleague consulted: who asks, about whom, why, and where the consult stands. */
export function ConsultedCard({ consulted, onLeave }) {
  const status = !consulted.on
    ? t('consulted.ringing')
    : consulted.mode === 'conference'
    ? t('consulted.conference', { name: consulted.with, customer: consulted.customer })
    : t('consulted.talking', { name: consulted.with, customer: consulted.customer });
  return html`
    <div class="consulted-card" role="status" data-testid="consulted-card" data-mode=${consulted.mode} data-on=${consulted.on ? 'true' : 'false'}>
      <p class="consulted-title">${t('consulted.title', { name: consulted.with, customer: consulted.customer })}</p>
      ${consulted.note && html`<p class="consulted-note" data-testid="consulted-note">“${consulted.note}”</p>`}
      <p class="muted small-text">${status}</p>
      <button class="small" onClick=${onLeave} data-testid="consulted-leave">${t('consulted.leave')}</button>
    </div>`;
}
