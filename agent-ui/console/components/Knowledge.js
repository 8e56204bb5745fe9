// The knowledge base (#/knowledge, #/knowledge/<id>): a search box (Chinese or English, as the hub
// tokenises it), a category filter, the articles the agent's queues show and one article's text
// as the hub rendered and sanitised it. Supervisors and admins also write, edit and delete
// articles (KnowledgeEditor).
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { KnowledgeEditor } from './KnowledgeEditor.js';
import { ArticleBody } from './ArticleBody.js';

const SEARCH_DELAY_MS = 250;

export function articleHref(id) {
  return `#/knowledge/${encodeURIComponent(id)}`;
}

export function Knowledge({ id, role, queues }) {
  const writer = role === 'supervisor' || role === 'admin';
  const [q, setQ] = useState('');
  const [category, setCategory] = useState('');
  const [list, setList] = useState(null);
  const [categories, setCategories] = useState([]);
  const [open, setOpen] = useState(null);
  const [editing, setEditing] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  const timer = useRef(null);

  useEffect(() => {
    api.articles().then((all) => setCategories([...new Set(all.map((a) => a.category).filter(Boolean))].sort()), () => {});
  }, [tick]);

  useEffect(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      api.articles({ q: q.trim(), category }).then((l) => { setList(l); setError(null); }, (err) => setError(errorText(err)));
    }, q ? SEARCH_DELAY_MS : 0);
    return () => clearTimeout(timer.current);
  }, [q, category, tick]);

  useEffect(() => {
    setEditing(null);
    if (!id) { setOpen(null); return; }
    api.article(id).then(setOpen, (err) => { setOpen(null); setError(errorText(err)); });
  }, [id, tick]);

  async function remove(a) {
    if (!window.confirm(t('knowledge.delete_confirm', { title: a.title }))) return;
    try {
      await api.deleteArticle(a.id);
      location.hash = '#/knowledge';
      setTick(tick + 1);
    } catch (err) {
      setError(errorText(err));
    }
  }

  function saved(a) {
    setEditing(null);
    setTick(tick + 1);
    location.hash = articleHref(a.id);
  }

  const queueName = (qid) => (queues.find((x) => x.id === qid) || {}).name || qid;

  return html`
    <div class="wide-page knowledge" data-testid="knowledge">
      <div class="page-head">
        <h1>${t('nav.knowledge')}</h1>
        ${writer && html`<button class="primary" onClick=${() => setEditing({})} data-testid="article-new">${t('knowledge.new')}</button>`}
      </div>
      ${error && html`<p class="form-error" role="alert" data-testid="knowledge-error">${error}</p>`}
      ${editing
        ? html`<${KnowledgeEditor} article=${editing.id ? editing : null} queues=${queues} onSaved=${saved} onCancel=${() => setEditing(null)} />`
        : html`<div class="knowledge-layout">
        <section class="knowledge-list" aria-label=${t('knowledge.results')}>
          <div class="knowledge-filters">
            <input type="search" value=${q} placeholder=${t('knowledge.search')} aria-label=${t('knowledge.search')}
              onInput=${(e) => setQ(e.currentTarget.value)} data-testid="knowledge-search" />
            <select value=${category} aria-label=${t('knowledge.category')} onChange=${(e) => setCategory(e.currentTarget.value)} data-testid="knowledge-category">
              <option value="">${t('knowledge.all_categories')}</option>
              ${categories.map((c) => html`<option key=${c} value=${c}>${c}</option>`)}
            </select>
          </div>
          ${list && list.length === 0 && html`<p class="muted" data-testid="knowledge-empty">${t('knowledge.none')}</p>`}
          <ul class="plain-list">
            ${(list || []).map((a) => html`<li key=${a.id} class=${open && open.id === a.id ? 'active' : ''}>
              <a href=${articleHref(a.id)} data-testid="article-result">
                <strong>${a.title}</strong>${a.category && html` <span class="tag">${a.category}</span>`}
                <div class="muted small-text">${a.excerpt}</div>
              </a>
            </li>`)}
          </ul>
        </section>
        <article class="knowledge-article" data-testid="article-view">
          ${open ? html`
            <h2 data-testid="article-title">${open.title}</h2>
            <p class="muted small-text">
              ${open.category && html`<span class="tag">${open.category}</span> `}
              ${open.tags.map((tag) => html`<span key=${tag} class="tag">#${tag}</span> `)}
              ${t('knowledge.by', { name: open.author_name || '', date: new Date(open.updated_at).toLocaleString() })}
            </p>
            ${(open.queues.length > 0 || open.stages.length > 0) && html`<p class="muted small-text" data-testid="article-visibility">
              ${open.queues.length > 0 && t('knowledge.for_queues', { queues: open.queues.map(queueName).join(', ') })}
              ${open.stages.length > 0 && ` ${t('knowledge.for_stages', { stages: open.stages.join(', ') })}`}
            </p>`}
            <${ArticleBody} html=${open.html} />
            ${writer && html`<div class="form-actions">
              <button onClick=${() => setEditing(open)} data-testid="article-edit">${t('action.edit')}</button>
              <button class="danger" onClick=${() => remove(open)} data-testid="article-delete">${t('action.delete')}</button>
            </div>`}`
          : html`<p class="muted">${t('knowledge.pick')}</p>`}
        </article>
      </div>`}
    </div>
  `;
}
