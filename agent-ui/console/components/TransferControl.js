// In an active chat: send it to another queue (a blind transfer). The customer keeps their place
// by arrival time and the next agent sees the whole conversation.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';

export function TransferControl({ queues, currentQueueId, onTransfer }) {
  const [queueId, setQueueId] = useState('');
  const others = queues.filter((q) => q.id !== currentQueueId);
  if (others.length === 0) return null;
  return html`
    <form class="transfer" data-testid="transfer-form"
      onSubmit=${(e) => { e.preventDefault(); if (queueId) onTransfer(queueId); }}>
      <select value=${queueId} onChange=${(e) => setQueueId(e.currentTarget.value)} aria-label=${t('chat.transfer_to')} data-testid="transfer-queue">
        <option value="" disabled>${t('chat.transfer_to')}</option>
        ${others.map((q) => html`<option key=${q.id} value=${q.id}>${q.name}</option>`)}
      </select>
      <button type="submit" disabled=${!queueId} data-testid="transfer-submit">${t('chat.transfer')}</button>
    </form>
  `;
}
