// Staffing from a queue's history: per interval, contacts offered, the AHT used, agents needed for
// the target (Erlang C, or A when abandonment was significant) and agents actually staffed
// (GET /staffing/{queue}).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, formatDuration } from '../i18n.js';
import { intervalLabel, reportQuery } from '../reports.js';

export function StaffingTable({ queues, range }) {
  const [chosen, setQueue] = useState('');
  // Until one is chosen, the first queue: shown in the select as well as asked for.
  const queue = chosen || (queues[0] ? queues[0].id : '');
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);

  async function load(e) {
    e.preventDefault();
    setError(null);
    try {
      const granularity = range.granularity === '15m' ? '15m' : 'hour';
      setData(await api.staffing(queue, reportQuery({ ...range, granularity })));
    } catch (err) {
      setError(err.message || t('error.generic'));
    }
  }

  return html`
    <section class="report-section" data-testid="staffing">
      <h2 class="section-title">${t('staffing.title')}</h2>
      <form class="inline-form" onSubmit=${load}>
        <select aria-label=${t('staffing.queue')} value=${queue} onChange=${(e) => setQueue(e.currentTarget.value)} data-testid="staffing-queue">
          ${queues.map((q) => html`<option key=${q.id} value=${q.id}>${q.name}</option>`)}
        </select>
        <button class="primary" type="submit" disabled=${!queues.length} data-testid="staffing-load">${t('staffing.show')}</button>
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${data && html`
        <p class="muted small-text">${t(`staffing.model.${data.model}`)}</p>
        <div class="table-scroll"><table class="table">
          <thead><tr><th>${t('reports.interval')}</th><th>${t('reports.col.offered')}</th><th>${t('reports.col.aht_ms')}</th>
            <th>${t('staffing.needed_col')}</th><th>${t('staffing.staffed')}</th></tr></thead>
          <tbody>${data.intervals.filter((i) => i.offered > 0 || i.staffed > 0).map((i) => {
            const short = i.needed && i.staffed + 0.5 < i.needed.agents;
            return html`<tr key=${i.interval.start} class=${short ? 'row-short' : ''} data-testid="staffing-row">
              <td>${intervalLabel(i.interval.label, '15m')}</td><td>${i.offered}</td>
              <td>${i.aht_secs == null ? '—' : formatDuration(i.aht_secs * 1000)}</td>
              <td>${i.needed ? i.needed.agents : '—'}</td><td>${i.staffed.toFixed(1)}</td></tr>`;
          })}</tbody>
        </table></div>`}
    </section>
  `;
}
