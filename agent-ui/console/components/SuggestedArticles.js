// Beside a conversation: the knowledge base articles that may help with the customer's last
// message (GET /knowledge/suggestions, in the conversation's queue), as links that open the
// article. Nothing shows when none matches.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { articleHref } from './Knowledge.js';

export function SuggestedArticles({ text, queueId }) {
  const [list, setList] = useState([]);
  useEffect(() => {
    if (!text || !text.trim()) { setList([]); return undefined; }
    let live = true;
    api.suggestArticles(text, queueId).then((l) => { if (live) setList(l); }, () => {});
    return () => { live = false; };
  }, [text, queueId]);
  if (list.length === 0) return null;
  return html`
    <nav class="suggested-articles small-text" aria-label=${t('knowledge.suggested')} data-testid="suggested-articles">
      <span class="muted">${t('knowledge.suggested')}:</span>
      ${list.map((a) => html`<a key=${a.id} href=${articleHref(a.id)} data-testid="suggested-article">${a.title}</a>`)}
    </nav>
  `;
}
