// Staffing from a queue's history: per interval, contacts offered (or, for a forecast, the average
// of the same weekday's interval over the weeks before: tomorrow's needs), the AHT used, agents
// needed for the target (Erlang C, or A when abandonment was significant) and agents actually
// staffed (GET /staffing/{queue}).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, formatDuration, errorText } from '../i18n.js';
import { intervalLabel, isoDate, reportQuery } from '../reports.js';

export function StaffingTable({ queues, range }) {
  const [chosen, setQueue] = useState('');
  // Until one is chosen, the first queue: shown in the select as well as asked for.
  const queue = chosen || (queues[0] ? queues[0].id : '');
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  // `actual`: the report's range as it happened; `forecast`: that range forecast from the weeks
  // before it; `tomorrow`: tomorrow, forecast.
  const [basis, setBasis] = useState('actual');
  const [weeks, setWeeks] = useState(4);

  async function load(e) {
    e.preventDefault();
    setError(null);
    try {
      const granularity = range.granularity === '15m' ? '15m' : 'hour';
      let dates = range;
      if (basis === 'tomorrow') {
        const day = isoDate(new Date(Date.now() + 86_400_000));
        dates = { from: day, to: day };
      }
      const extra = basis === 'actual' ? {} : { weeks };
      setData(await api.staffing(queue, reportQuery({ ...dates, granularity }, extra)));
    } catch (err) {
      setError(errorText(err));
    }
  }
  const forecast = data && data.forecast_weeks != null;
  const contacts = (i) => (forecast ? i.forecast : i.offered);

  return html`
    <section class="report-section" data-testid="staffing">
      <h2 class="section-title">${t('staffing.title')}</h2>
      <form class="inline-form" onSubmit=${load}>
        <select aria-label=${t('staffing.queue')} value=${queue} onChange=${(e) => setQueue(e.currentTarget.value)} data-testid="staffing-queue">
          ${queues.map((q) => html`<option key=${q.id} value=${q.id}>${q.name}</option>`)}
        </select>
        <select aria-label=${t('staffing.basis')} value=${basis} onChange=${(e) => setBasis(e.currentTarget.value)} data-testid="staffing-basis">
          ${['actual', 'forecast', 'tomorrow'].map((b) => html`<option key=${b} value=${b}>${t(`staffing.basis.${b}`)}</option>`)}
        </select>
        ${basis !== 'actual' && html`<label>${t('staffing.weeks')}
          <input type="number" min="1" max="12" value=${weeks} onInput=${(e) => setWeeks(Number(e.currentTarget.value))} data-testid="staffing-weeks" /></label>`}
        <button class="primary" type="submit" disabled=${!queues.length} data-testid="staffing-load">${t('staffing.show')}</button>
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${data && html`
        <p class="muted small-text">${t(`staffing.model.${data.model}`)}${forecast ? ` ${t('staffing.forecast_note', { weeks: data.forecast_weeks })}` : ''}</p>
        <div class="table-scroll" tabindex="0" role="region" aria-label=${t('staffing.title')}><table class="table">
          <thead><tr><th>${t('reports.interval')}</th><th>${forecast ? t('staffing.forecast_col') : t('reports.col.offered')}</th><th>${t('reports.col.aht_ms')}</th>
            <th>${t('staffing.needed_col')}</th><th>${t('staffing.staffed')}</th></tr></thead>
          <tbody>${data.intervals.filter((i) => contacts(i) > 0 || i.staffed > 0).map((i) => {
            const short = i.needed && i.staffed + 0.5 < i.needed.agents;
            return html`<tr key=${i.interval.start} class=${short ? 'row-short' : ''} data-testid="staffing-row">
              <td>${intervalLabel(i.interval.label, '15m')}</td><td>${forecast ? i.forecast.toFixed(1) : i.offered}</td>
              <td>${i.aht_secs == null ? '—' : formatDuration(i.aht_secs * 1000)}</td>
              <td>${i.needed ? i.needed.agents : '—'}</td><td>${i.staffed.toFixed(1)}</td></tr>`;
          })}</tbody>
        </table></div>`}
    </section>
  `;
}
