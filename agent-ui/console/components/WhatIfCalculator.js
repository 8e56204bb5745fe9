// Staffing what-if: contacts per interval, AHT, target and (optionally) patience → agents needed,
// with the service level, ASA and occupancy a few agents fewer or more would give (Erlang C, or
// Erlang A with a patience; POST /staffing/what-if).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, formatDuration, errorText } from '../i18n.js';
import { formatFigure } from '../reports.js';

export function WhatIfCalculator() {
  const [form, setForm] = useState({ contacts: '100', interval_secs: '1800', aht_secs: '180', target: '80', threshold_secs: '20', patience_secs: '' });
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState(null);
  const field = (name) => ({
    value: form[name],
    onInput: (e) => setForm({ ...form, [name]: e.currentTarget.value }),
  });

  async function compute(e) {
    e.preventDefault();
    setError(null);
    try {
      const load = {
        contacts: Number(form.contacts),
        interval_secs: Number(form.interval_secs),
        aht_secs: Number(form.aht_secs),
        target: Number(form.target) / 100,
        threshold_secs: Number(form.threshold_secs),
      };
      if (form.patience_secs) load.patience_secs = Number(form.patience_secs);
      setAnswer(await api.whatIf(load));
    } catch (err) {
      setError(errorText(err));
    }
  }

  const ratio = (v) => formatFigure('ratio', v, formatDuration);
  return html`
    <section class="report-section" data-testid="what-if">
      <h2 class="section-title">${t('staffing.what_if')}</h2>
      <form class="inline-form wrap" onSubmit=${compute}>
        ${[
          ['contacts', 'staffing.contacts'],
          ['interval_secs', 'staffing.interval_secs'],
          ['aht_secs', 'staffing.aht_secs'],
          ['target', 'staffing.target'],
          ['threshold_secs', 'staffing.threshold_secs'],
          ['patience_secs', 'staffing.patience_secs'],
        ].map(([name, key]) => html`<label key=${name} class="stacked">${t(key)}
          <input type="number" min="0" step="any" required=${name !== 'patience_secs'} ...${field(name)} data-testid=${`what-if-${name}`} /></label>`)}
        <button class="primary" type="submit" data-testid="what-if-compute">${t('staffing.compute')}</button>
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${answer && html`
        <p data-testid="what-if-answer">${answer.needed
          ? t('staffing.needed', { agents: answer.needed.agents, erlangs: answer.erlangs.toFixed(2) })
          : t('staffing.beyond')}</p>
        <table class="table">
          <thead><tr><th>${t('staffing.agents')}</th><th>${t('reports.col.service_level')}</th><th>${t('reports.col.asa_ms')}</th>
            <th>${t('reports.col.occupancy')}</th><th>${t('reports.col.abandon_rate')}</th></tr></thead>
          <tbody>${answer.around.map((o) => html`<tr key=${o.agents} class=${answer.needed && o.agents === answer.needed.agents ? 'row-chosen' : ''} data-testid="what-if-row">
            <td>${o.agents}</td><td>${ratio(o.service_level)}</td><td>${o.asa_secs == null ? '—' : formatDuration(o.asa_secs * 1000)}</td>
            <td>${ratio(o.occupancy)}</td><td>${ratio(o.abandon_rate)}</td></tr>`)}</tbody>
        </table>`}
    </section>
  `;
}
