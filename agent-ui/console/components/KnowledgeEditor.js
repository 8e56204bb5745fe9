// Writing an article (supervisors and admins): title, category, tags, the queues and lifecycle
// stages it is for (none: all), and the Markdown, with a preview the hub renders exactly as the
// article will show (the same sanitiser).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { ArticleBody } from './ArticleBody.js';

const words = (s) => s.split(/[,，\n]/).map((w) => w.trim()).filter(Boolean);

export function KnowledgeEditor({ article, queues, onSaved, onCancel }) {
  const a = article || {};
  const [title, setTitle] = useState(a.title || '');
  const [category, setCategory] = useState(a.category || '');
  const [tags, setTags] = useState((a.tags || []).join(', '));
  const [stages, setStages] = useState((a.stages || []).join(', '));
  const [chosen, setChosen] = useState(a.queues || []);
  const [body, setBody] = useState(a.body || '');
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);

  async function showPreview() {
    try {
      setPreview((await api.previewArticle(body)).html);
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function save(e) {
    e.preventDefault();
    setError(null);
    const draft = { title, category, tags: words(tags), stages: words(stages), queues: chosen, body };
    try {
      onSaved(article ? await api.updateArticle(article.id, draft) : await api.createArticle(draft));
    } catch (err) {
      setError(errorText(err));
    }
  }

  const toggle = (id) => setChosen(chosen.includes(id) ? chosen.filter((x) => x !== id) : [...chosen, id]);

  return html`
    <form class="knowledge-editor" onSubmit=${save} data-testid="article-editor">
      <h2>${article ? t('knowledge.edit') : t('knowledge.new')}</h2>
      <label>${t('knowledge.title')}<input required value=${title} onInput=${(e) => setTitle(e.currentTarget.value)} data-testid="article-title-input" /></label>
      <label>${t('knowledge.category')}<input value=${category} onInput=${(e) => setCategory(e.currentTarget.value)} data-testid="article-category-input" /></label>
      <label>${t('knowledge.tags')}<input value=${tags} placeholder=${t('knowledge.list_hint')} onInput=${(e) => setTags(e.currentTarget.value)} data-testid="article-tags-input" /></label>
      <fieldset>
        <legend>${t('knowledge.queues')}</legend>
        <p class="muted small-text">${t('knowledge.queues_hint')}</p>
        ${queues.map((q) => html`<label key=${q.id} class="check">
          <input type="checkbox" checked=${chosen.includes(q.id)} onChange=${() => toggle(q.id)} data-testid="article-queue" /> ${q.name}</label>`)}
      </fieldset>
      <label>${t('knowledge.stages')}<input value=${stages} placeholder=${t('knowledge.stages_hint')} onInput=${(e) => setStages(e.currentTarget.value)} data-testid="article-stages-input" /></label>
      <label>${t('knowledge.body')}<textarea rows="12" value=${body} onInput=${(e) => { setBody(e.currentTarget.value); setPreview(null); }} data-testid="article-body-input"></textarea></label>
      <p class="muted small-text">${t('knowledge.markdown_hint')}</p>
      ${preview !== null && html`<section class="article-preview" aria-label=${t('knowledge.preview')}><${ArticleBody} html=${preview} testid="article-preview" /></section>`}
      <div class="form-actions">
        <button type="button" onClick=${showPreview} data-testid="article-preview-button">${t('knowledge.preview')}</button>
        <button class="primary" type="submit" data-testid="article-save">${t('action.save')}</button>
        <button type="button" onClick=${onCancel} data-testid="article-cancel">${t('action.cancel')}</button>
      </div>
      ${error && html`<p class="form-error" role="alert" data-testid="article-error">${error}</p>`}
    </form>
  `;
}
