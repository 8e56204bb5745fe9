// The pipeline board (#/pipeline): a column per stage of the account with its cards, each
// column's total per currency and weighted value, and the weighted forecast of the whole board.
// A card is moved by dragging it onto another column or with its "Move to" list; either is one
// REST call. The board reads itself again when the hub says an opportunity it may show changed
// (`pipeline.changed`, counted in `tick`) and when the window gets the focus back.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { columns, owners, stageLabel, totalsText } from '../pipeline.js';
import { OpportunityCard } from './OpportunityCard.js';

export function PipelineBoard({ tick = 0 }) {
  const [board, setBoard] = useState(null);
  const [owner, setOwner] = useState('');
  const [allOwners, setAllOwners] = useState([]);
  const [error, setError] = useState(null);
  const [over, setOver] = useState(null);

  async function load() {
    try {
      const b = await api.pipelineBoard(owner);
      setBoard(b);
      if (!owner) setAllOwners(owners(b));
      setError(null);
    } catch (e) {
      setError(e.message || t('error.generic'));
    }
  }

  useEffect(() => { load(); }, [owner, tick]);
  useEffect(() => {
    const onFocus = () => load();
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, [owner]);

  async function drop(e, to) {
    e.preventDefault();
    setOver(null);
    let moved;
    try {
      moved = JSON.parse(e.dataTransfer.getData('text/plain'));
    } catch {
      return;
    }
    if (!moved || !moved.id || moved.from === to) return;
    try {
      await api.moveOpportunity(moved.id, to, moved.from);
    } catch (err) {
      setError(err.status === 409 ? t('pipeline.moved_meanwhile') : err.message || t('error.generic'));
    }
    load();
  }

  if (!board) {
    return html`<div class="narrow-page">${error ? html`<p class="form-error" role="alert">${error}</p>` : html`<p class="muted">${t('common.loading')}</p>`}</div>`;
  }
  const settings = board.settings;
  return html`
    <div class="pipeline-page" data-testid="pipeline">
      <div class="pipeline-head">
        <h1>${t('pipeline.title')}</h1>
        <label for="pipeline-owner">${t('pipeline.owner_filter')}</label>
        <select id="pipeline-owner" value=${owner} onChange=${(e) => setOwner(e.target.value)} data-testid="pipeline-owner">
          <option value="">${t('pipeline.everyone')}</option>
          ${allOwners.map((a) => html`<option key=${a.id} value=${a.id}>${a.name}</option>`)}
        </select>
        <p class="pipeline-forecast" data-testid="pipeline-forecast">${t('pipeline.forecast')}: <strong>${totalsText(board.forecast.weighted)}</strong></p>
      </div>
      ${error && html`<p class="form-error" role="alert" data-testid="pipeline-error">${error}</p>`}
      <div class="pipeline-columns">
        ${columns(board).map(({ stage, cards, totals }) => html`
          <section key=${stage.key} class=${`pipeline-column${over === stage.key ? ' drop-target' : ''}`}
            data-testid="pipeline-column" data-stage=${stage.key} aria-label=${stageLabel(settings, stage.key)}
            onDragOver=${(e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; setOver(stage.key); }}
            onDragLeave=${() => setOver((k) => (k === stage.key ? null : k))}
            onDrop=${(e) => drop(e, stage.key)}>
            <h2 class="section-title">${stageLabel(settings, stage.key)} <span class="muted small-text">${stage.probability}% · ${cards.length}</span></h2>
            <p class="small-text" data-testid="pipeline-total">${t('pipeline.total')}: ${totalsText(totals.total)}</p>
            <p class="small-text muted" data-testid="pipeline-weighted">${t('pipeline.weighted')}: ${totalsText(totals.weighted)}</p>
            ${cards.map((o) => html`<${OpportunityCard} key=${o.id} o=${o} settings=${settings} draggable=${true} onChanged=${() => load()} />`)}
          </section>`)}
      </div>
    </div>
  `;
}
