// An article's text as the hub rendered it from Markdown and sanitised it (crate::knowledge):
// no script, event handler or javascript: link reaches this, and the page's CSP runs none.
import { html } from '../html.js';

export function ArticleBody({ html: safe, testid }) {
  return html`<div class="article-body" data-testid=${testid || 'article-body'} dangerouslySetInnerHTML=${{ __html: safe }}></div>`;
}
