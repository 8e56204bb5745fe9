// In an active chat or call: send it to another queue, or to a named colleague who is Available
// (a blind transfer). The customer keeps their place by arrival time and the next agent sees the
// whole conversation; a colleague who does not take it leaves it to anyone in the queue.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';

export function TransferControl({ queues, currentQueueId, onTransfer }) {
  const [target, setTarget] = useState('');
  const [people, setPeople] = useState([]);
  const others = queues.filter((q) => q.id !== currentQueueId);
  const loadPeople = () => api.colleagues().then(setPeople, () => setPeople([]));
  useEffect(() => {
    loadPeople();
  }, []);
  if (others.length === 0 && people.length === 0) return null;
  return html`
    <form class="transfer" data-testid="transfer-form"
      onSubmit=${(e) => { e.preventDefault(); if (target) onTransfer(target); }}>
      <select value=${target} onFocus=${loadPeople} onChange=${(e) => setTarget(e.currentTarget.value)} aria-label=${t('chat.transfer_to')} data-testid="transfer-queue">
        <option value="" disabled>${t('chat.transfer_to')}</option>
        ${others.length > 0 && html`<optgroup label=${t('chat.transfer_queues')}>
          ${others.map((q) => html`<option key=${q.id} value=${`queue:${q.id}`}>${q.name}</option>`)}
        </optgroup>`}
        ${people.length > 0 && html`<optgroup label=${t('chat.transfer_people')}>
          ${people.map((a) => html`<option key=${a.id} value=${`agent:${a.id}`}>${a.name}</option>`)}
        </optgroup>`}
      </select>
      <button type="submit" disabled=${!target} data-testid="transfer-submit">${t('chat.transfer')}</button>
    </form>
  `;
}
