// Book a callback for a customer (POST /customers/{id}/callbacks): a queue, a time and the number
// (theirs by default). It waits in the queue, offered to nobody until due (then to the agent who
// booked it first, when they ask), and the agent who accepts it has the hub call the number.
// Only where the hub can call out.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';

export function CallbackForm({ customer, me, queues, onBooked }) {
  const [queue, setQueue] = useState('');
  const [due, setDue] = useState('');
  const [number, setNumber] = useState(customer.phone || '');
  const [mine, setMine] = useState(true);
  const [error, setError] = useState(null);
  const [booked, setBooked] = useState(false);

  async function book(e) {
    e.preventDefault();
    setError(null);
    setBooked(false);
    try {
      await api.scheduleCallback(customer.id, { queue_id: queue, due_at: new Date(due).getTime(), number: number.trim() || null, agent_id: mine && me ? me.id : null });
      setDue('');
      setBooked(true);
      onBooked();
    } catch (err) {
      setError(errorText(err));
    }
  }

  return html`
    <form class="edit-form" onSubmit=${book} data-testid="callback-form">
      <label><span>${t('callback.queue')}</span>
        <select required value=${queue} onChange=${(e) => setQueue(e.currentTarget.value)} data-testid="callback-queue">
          <option value="">—</option>
          ${queues.map((q) => html`<option key=${q.id} value=${q.id}>${q.name}</option>`)}
        </select></label>
      <label><span>${t('callback.when')}</span>
        <input type="datetime-local" required value=${due} onInput=${(e) => setDue(e.currentTarget.value)} data-testid="callback-when" /></label>
      <label><span>${t('callback.number')}</span>
        <input type="tel" required value=${number} onInput=${(e) => setNumber(e.currentTarget.value)} data-testid="callback-number" /></label>
      <label class="check"><input type="checkbox" checked=${mine} onChange=${(e) => setMine(e.currentTarget.checked)} data-testid="callback-mine" />${t('callback.mine')}</label>
      <button class="small" type="submit" data-testid="callback-book">${t('callback.book')}</button>
      ${booked && html`<p class="notice" role="status" data-testid="callback-booked">${t('callback.booked')}</p>`}
      ${error && html`<p class="form-error" role="alert" data-testid="callback-error">${error}</p>`}
    </form>
  `;
}
