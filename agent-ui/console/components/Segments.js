// A supervisor's segments on the customers page: saved customer searches (GET/POST/PUT/DELETE
// /segments) with how many customers each holds now; one opened shows its newest customers and
// can be exported as CSV or given to another owner at once (POST /customers/reassign with the
// segment). A new one takes the search box's words and the tiers, tags, regions, owner and
// lifecycle stage chosen here.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { saveBlob } from './AttachmentList.js';
import { customerHref } from '../route.js';
import { OwnerControl } from './OwnerControl.js';
import { segmentDefinition, describeSegment } from '../segments.js';

const EMPTY = { name: '', tiers: '', tags: '', regions: '', owner: '', stage: '' };
const STAGES = ['lead', 'prospect', 'customer', 'churned'];

export function Segments({ q }) {
  const [segments, setSegments] = useState([]);
  const [agents, setAgents] = useState([]);
  const [open, setOpen] = useState(null); // {segment, members}
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState(null);

  async function load() {
    try {
      setSegments(await api.listSegments());
    } catch (err) {
      setError(errorText(err));
    }
  }
  useEffect(() => {
    load();
    api.listAgents().then(setAgents).catch(() => {});
  }, []);

  async function show(segment) {
    setError(null);
    try {
      setOpen({ segment, members: await api.segmentCustomers(segment.id) });
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function save(e) {
    e.preventDefault();
    setError(null);
    try {
      const saved = await api.createSegment({ name: form.name.trim(), ...segmentDefinition(q, form) });
      setForm(EMPTY);
      await load();
      show(saved);
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function remove(segment) {
    setError(null);
    try {
      await api.deleteSegment(segment.id);
      setOpen(null);
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function exportOpen() {
    setError(null);
    try {
      const { blob, filename } = await api.exportSegment(open.segment.id);
      saveBlob(blob, filename);
    } catch (err) {
      setError(errorText(err));
    }
  }

  const field = (name) => ({ value: form[name], onInput: (e) => setForm({ ...form, [name]: e.currentTarget.value }) });
  const names = Object.fromEntries(agents.map((a) => [a.id, a.name]));
  const count = (s) => (s.more ? t('segments.count_more', { n: s.count }) : t('segments.count', { n: s.count }));

  return html`
    <section class="segments" aria-labelledby="segments-title" data-testid="segments">
      <h2 id="segments-title" class="section-title">${t('segments.title')}</h2>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${segments.length === 0 && html`<p class="muted">${t('segments.none')}</p>`}
      <ul class="result-list">
        ${segments.map((s) => html`
          <li key=${s.id} class="result-row">
            <button class="link" type="button" onClick=${() => show(s)} aria-expanded=${open?.segment.id === s.id}
              data-testid="segment" data-segment-id=${s.id}>${s.name}</button>
            <span class="muted small-text">${describeSegment(s, names, t)}</span>
            <span class="badge" data-testid="segment-count">${count(s)}</span>
          </li>`)}
      </ul>
      ${open && html`
        <div class="segment-open" data-testid="segment-open">
          <h3>${open.segment.name} · ${count(open.members)}</h3>
          <ul class="result-list">
            ${open.members.customers.map((c) => html`
              <li key=${c.id}><a class="result" href=${customerHref(c.id)} data-testid="segment-member">
                <span class="result-name">${c.name}</span>
                ${c.tier && html`<span class="badge badge-tier">${c.tier}</span>`}
                <span class="muted small-text">${c.owner_name || ''}</span></a></li>`)}
          </ul>
          <div class="form-actions">
            <button type="button" onClick=${exportOpen} data-testid="segment-export">${t('customers.export')}</button>
            <button type="button" class="danger" onClick=${() => remove(open.segment)} data-testid="segment-delete">${t('segments.delete')}</button>
          </div>
          <${OwnerControl} segmentId=${open.segment.id} customerIds=${[]} onChanged=${() => { load(); show(open.segment); }} />
        </div>`}
      <form class="edit-form grid-form" onSubmit=${save} data-testid="segment-form">
        <h3 class="full">${t('segments.save_search')}</h3>
        <p class="muted small-text full">${q.trim() ? t('segments.with_words', { q: q.trim() }) : t('segments.every_customer')}</p>
        <label><span>${t('segments.name')}</span><input required ...${field('name')} data-testid="segment-name" /></label>
        <label><span>${t('segments.tiers')}</span><input placeholder="vip, gold" ...${field('tiers')} data-testid="segment-tiers" /></label>
        <label><span>${t('segments.tags')}</span><input ...${field('tags')} data-testid="segment-tags" /></label>
        <label><span>${t('segments.regions')}</span><input placeholder="CN, US" ...${field('regions')} data-testid="segment-regions" /></label>
        <label><span>${t('owner.new')}</span>
          <select value=${form.owner} onChange=${(e) => setForm({ ...form, owner: e.currentTarget.value })} data-testid="segment-owner">
            <option value="">${t('segments.anyone')}</option>
            <option value="none">${t('owner.nobody')}</option>
            ${agents.map((a) => html`<option key=${a.id} value=${a.id}>${a.name}</option>`)}
          </select></label>
        <label><span>${t('lifecycle.label')}</span>
          <select value=${form.stage} onChange=${(e) => setForm({ ...form, stage: e.currentTarget.value })} data-testid="segment-stage">
            <option value="">${t('segments.any_stage')}</option>
            ${STAGES.map((k) => html`<option key=${k} value=${k}>${t(`lifecycle.${k}`)}</option>`)}
          </select></label>
        <div class="form-actions full"><button class="primary" type="submit" data-testid="segment-save">${t('segments.save')}</button></div>
      </form>
    </section>
  `;
}
