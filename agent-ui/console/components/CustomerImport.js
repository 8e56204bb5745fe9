// A supervisor imports customers from a spreadsheet saved as CSV (POST /customers/import): the
// file is first tried dry, showing what each column is taken as (changeable: the preview runs
// again) and what would happen to the rows, every refused one with its line and why; then
// imported, known customers skipped or updated as chosen.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { columnValue, columnsParam, columnChoices } from '../imports.js';

export function CustomerImport({ onImported }) {
  const [file, setFile] = useState(null);
  const [columns, setColumns] = useState(null); // select values, in the file's order
  const [duplicates, setDuplicates] = useState('skip');
  const [report, setReport] = useState(null);
  const [fields, setFields] = useState([]);
  const [error, setError] = useState(null);

  useEffect(() => { api.customerFields().then(setFields).catch(() => {}); }, []);

  async function run(chosen, cols, dups, dryRun) {
    setError(null);
    try {
      const got = await api.importCustomers(chosen, { columns: cols && columnsParam(cols), duplicates: dups, dryRun });
      setColumns(got.columns.map((c) => columnValue(c.taken_as)));
      setReport(got);
      if (!dryRun) onImported?.();
    } catch (err) {
      setReport(null);
      setError(errorText(err));
    }
  }

  const choose = (e) => {
    const chosen = e.currentTarget.files[0] || null;
    setFile(chosen);
    setColumns(null);
    setReport(null);
    if (chosen) run(chosen, null, duplicates, true);
  };
  const retake = (i, value) => {
    const next = columns.map((c, j) => (j === i ? value : c));
    run(file, next, duplicates, true);
  };
  const choices = columnChoices(fields, t);

  return html`
    <section class="customer-import" aria-labelledby="import-title" data-testid="customer-import">
      <h2 id="import-title" class="section-title">${t('import.title')}</h2>
      <label class="file-field"><span>${t('import.file')}</span>
        <input type="file" accept=".csv,text/csv" onChange=${choose} data-testid="import-file" /></label>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${report && html`
        <table class="table" data-testid="import-columns">
          <thead><tr><th>${t('import.header')}</th><th>${t('import.taken_as')}</th></tr></thead>
          <tbody>${report.columns.map((c, i) => html`<tr key=${i}>
            <td>${c.header}</td>
            <td><select value=${columns[i]} aria-label=${c.header} onChange=${(e) => retake(i, e.currentTarget.value)} data-testid="import-column">
              ${choices.map((o) => html`<option key=${o.value} value=${o.value}>${o.label}</option>`)}
            </select></td></tr>`)}</tbody>
        </table>
        <p role="status" data-testid="import-summary">${t(report.dry_run ? 'import.would' : 'import.did', {
          rows: report.rows, created: report.created, known: report.updated + report.skipped.length, rejected: report.rejected.length })}</p>
        ${report.rejected.length > 0 && html`
          <ul class="import-rejected" data-testid="import-rejected">
            ${report.rejected.slice(0, 50).map((r) => html`<li key=${r.line}>${t('import.line', { line: r.line, reason: r.reason })}</li>`)}
          </ul>`}
        ${report.dry_run && html`
          <div class="form-actions">
            <label><span>${t('import.duplicates')}</span>
              <select value=${duplicates} onChange=${(e) => setDuplicates(e.currentTarget.value)} data-testid="import-duplicates">
                <option value="skip">${t('import.skip')}</option>
                <option value="update">${t('import.update')}</option>
              </select></label>
            <button class="primary" type="button" onClick=${() => run(file, columns, duplicates, false)} data-testid="import-run">${t('import.run')}</button>
          </div>`}`}
    </section>
  `;
}
