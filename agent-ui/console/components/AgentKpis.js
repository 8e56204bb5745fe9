// Agents' KPIs and customer satisfaction over the report's days (supervisors: their teams):
// contacts handled, average handle time, follow-ups done and on time, customers owned, the
// ratings of their contacts and the opportunities they won (GET /reports/agent-kpis, with a CSV
// download); then satisfaction per queue (GET /reports/csat).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, formatDuration, errorText } from '../i18n.js';
import { totalsText } from '../pipeline.js';

const share = (v) => (v == null ? '—' : `${Math.round(v * 100)}%`);
const average = (v) => (v == null ? '—' : v.toFixed(2));

export function AgentKpis({ range }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function load(e) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const [kpis, csat] = await Promise.all([api.agentKpis(range.from, range.to), api.csatReport(range.from, range.to)]);
      setData({ kpis, csat });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  async function download() {
    setError(null);
    try {
      const blob = await api.agentKpisCsv(range.from, range.to);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `plugboard-agent-kpis-${range.from}-${range.to}.csv`;
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (err) {
      setError(errorText(err));
    }
  }

  return html`
    <section class="report-section" data-testid="agent-kpis">
      <h2 class="section-title">${t('kpis.title')}</h2>
      <p class="muted small-text">${t('kpis.range', { from: range.from, to: range.to })}</p>
      <form class="inline-form" onSubmit=${load}>
        <button class="primary" type="submit" disabled=${busy} data-testid="kpis-show">${t('kpis.show')}</button>
        <button type="button" onClick=${download} data-testid="kpis-csv">${t('reports.csv')}</button>
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${data && data.kpis.agents.length === 0 && html`<p class="muted" data-testid="kpis-empty">${t('reports.empty')}</p>`}
      ${data && data.kpis.agents.length > 0 && html`
        <div class="table-scroll" tabindex="0" role="region" aria-label=${t('kpis.title')}><table class="table report-table" data-testid="kpis-table">
          <thead><tr>
            <th>${t('reports.by.agent')}</th><th>${t('kpis.handled')}</th><th>${t('reports.col.aht_ms')}</th>
            <th>${t('kpis.follow_ups_done')}</th><th>${t('kpis.follow_ups_on_time')}</th><th>${t('kpis.owned')}</th>
            <th>${t('kpis.csat_count')}</th><th>${t('kpis.csat_average')}</th><th>${t('kpis.csat_satisfied')}</th><th>${t('kpis.opportunities_won')}</th>
          </tr></thead>
          <tbody>${data.kpis.agents.map((k) => html`<tr key=${k.agent_id} data-testid="kpis-row" data-name=${k.name}>
            <td>${k.name}</td>
            <td data-figure="contacts_handled">${k.contacts_handled}</td>
            <td data-figure="aht">${k.aht_secs == null ? '—' : formatDuration(k.aht_secs * 1000)}</td>
            <td data-figure="follow_ups_done">${k.follow_ups_done}</td>
            <td data-figure="follow_ups_on_time">${k.follow_ups_on_time}</td>
            <td data-figure="customers_owned">${k.customers_owned}</td>
            <td data-figure="csat_count">${k.csat.count}</td>
            <td data-figure="csat_average">${average(k.csat.average)}</td>
            <td data-figure="csat_satisfied">${share(k.csat.satisfied)}</td>
            <td data-figure="opportunities_won">${k.opportunities_won}${k.opportunities_won ? ` · ${totalsText(k.won_amounts)}` : ''}</td>
          </tr>`)}</tbody>
        </table></div>`}
      ${data && html`
        <h3 class="section-title">${t('kpis.csat_by_queue')}</h3>
        <p class="muted small-text" data-testid="csat-total">${t('kpis.csat_total', { count: data.csat.total.count, average: average(data.csat.total.average), satisfied: share(data.csat.total.satisfied) })}</p>
        ${data.csat.queues.length > 0 && html`
          <div class="table-scroll" tabindex="0" role="region" aria-label=${t('kpis.csat_by_queue')}><table class="table report-table" data-testid="csat-queues">
            <thead><tr><th>${t('reports.by.queue')}</th><th>${t('kpis.csat_count')}</th><th>${t('kpis.csat_average')}</th><th>${t('kpis.csat_satisfied')}</th></tr></thead>
            <tbody>${data.csat.queues.map((q) => html`<tr key=${q.key} data-testid="csat-queue-row" data-name=${q.name}>
              <td>${q.name}</td><td>${q.count}</td><td>${average(q.average)}</td><td>${share(q.satisfied)}</td>
            </tr>`)}</tbody>
          </table></div>`}`}
    </section>
  `;
}
