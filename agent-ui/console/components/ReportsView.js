// Reports for supervisors and managers: per queue, agent or channel over a date range, in 15-minute,
// hourly, daily or weekly intervals of the account's time zone; a table of totals, the intervals
// of the chosen row with a chart, a CSV download, then agents' KPIs and satisfaction, staffing and
// the what-if calculator.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, formatDuration, errorText } from '../i18n.js';
import { columnsFor, formatFigure, intervalLabel, isoDate, reportQuery } from '../reports.js';
import { ReportChart } from './ReportChart.js';
import { StaffingTable } from './StaffingTable.js';
import { WhatIfCalculator } from './WhatIfCalculator.js';
import { AgentKpis } from './AgentKpis.js';

function defaultRange() {
  const to = new Date();
  const from = new Date(to.getTime() - 6 * 86400000);
  return { from: isoDate(from), to: isoDate(to), granularity: 'day' };
}

export function ReportsView({ queues }) {
  const [dimension, setDimension] = useState('queue');
  const [range, setRange] = useState(defaultRange);
  const [data, setData] = useState(null);
  const [chosen, setChosen] = useState(0);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  // The queues this supervisor oversees (their teams'), as the live figures list them.
  const [overseen, setOverseen] = useState(null);
  useEffect(() => {
    api.queueStats().then((s) => setOverseen(new Set(s.queues.map((q) => q.id)))).catch(() => setOverseen(null));
  }, []);

  async function show(e) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      setData(await api.report(dimension, reportQuery(range)));
      setChosen(0);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  async function download() {
    setError(null);
    try {
      const blob = await api.reportCsv(dimension, reportQuery(range));
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `plugboard-${dimension}-${range.from}-${range.to}.csv`;
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (err) {
      setError(errorText(err));
    }
  }

  const columns = columnsFor(data ? data.dimension : dimension);
  const cell = (figures, c) => formatFigure(c.kind, figures[c.key], formatDuration);
  const row = data && data.rows[chosen];
  return html`
    <div class="wide-page" data-testid="reports-view">
      <h1>${t('reports.title')}</h1>
      <form class="inline-form wrap" onSubmit=${show}>
        <label class="stacked">${t('reports.dimension')}
          <select value=${dimension} onChange=${(e) => setDimension(e.currentTarget.value)} data-testid="report-dimension">
            ${['queue', 'agent', 'channel'].map((d) => html`<option key=${d} value=${d}>${t(`reports.by.${d}`)}</option>`)}
          </select></label>
        <label class="stacked">${t('reports.granularity')}
          <select value=${range.granularity} onChange=${(e) => setRange({ ...range, granularity: e.currentTarget.value })} data-testid="report-granularity">
            ${['15m', 'hour', 'day', 'week'].map((g) => html`<option key=${g} value=${g}>${t(`reports.every.${g}`)}</option>`)}
          </select></label>
        <label class="stacked">${t('reports.from')}
          <input type="date" required value=${range.from} onInput=${(e) => setRange({ ...range, from: e.currentTarget.value })} data-testid="report-from" /></label>
        <label class="stacked">${t('reports.to')}
          <input type="date" required value=${range.to} onInput=${(e) => setRange({ ...range, to: e.currentTarget.value })} data-testid="report-to" /></label>
        <button class="primary" type="submit" disabled=${busy} data-testid="report-show">${t('reports.show')}</button>
        <button type="button" onClick=${download} data-testid="report-csv">${t('reports.csv')}</button>
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${data && html`
        <p class="muted small-text" data-testid="report-zone">${t('reports.time_zone', { zone: data.time_zone })}</p>
        ${data.rows.length === 0 && html`<p class="muted" data-testid="report-empty">${t('reports.empty')}</p>`}
        ${data.rows.length > 0 && html`
          <div class="table-scroll"><table class="table report-table" data-testid="report-table">
            <thead><tr><th>${t(`reports.by.${data.dimension}`)}</th>${columns.map((c) => html`<th key=${c.key}>${t(`reports.col.${c.key}`)}</th>`)}</tr></thead>
            <tbody>${data.rows.map((r, i) => html`<tr key=${r.key} class=${i === chosen ? 'row-chosen' : ''} data-testid="report-row" data-name=${r.name}>
              <td><button class="link" onClick=${() => setChosen(i)} data-testid="report-row-pick">${r.name}</button></td>
              ${columns.map((c) => html`<td key=${c.key} data-figure=${c.key}>${cell(r.total, c)}</td>`)}
            </tr>`)}</tbody>
          </table></div>
          ${row && html`
            <h2 class="section-title">${row.name}</h2>
            <${ReportChart} row=${row} />
            <div class="table-scroll" tabindex="0" role="region" aria-label=${row.name}><table class="table report-table" data-testid="report-intervals">
              <thead><tr><th>${t('reports.interval')}</th>${columns.map((c) => html`<th key=${c.key}>${t(`reports.col.${c.key}`)}</th>`)}</tr></thead>
              <tbody>${row.intervals.map((f, i) => html`<tr key=${data.intervals[i].start}>
                <td>${intervalLabel(data.intervals[i].label, data.granularity)}</td>
                ${columns.map((c) => html`<td key=${c.key}>${cell(f, c)}</td>`)}
              </tr>`)}</tbody>
            </table></div>`}`}`}
      <${AgentKpis} range=${range} />
      <${StaffingTable} queues=${overseen ? queues.filter((q) => overseen.has(q.id)) : queues} range=${range} />
      <${WhatIfCalculator} />
    </div>
  `;
}
